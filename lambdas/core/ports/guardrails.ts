import type { GuardrailDecision, GuardrailRequest } from '../mitigation/guardrail-request.js';

/** Evaluates requests against the guardrail policies (implemented by the Cedar adapter). */
export interface Guardrails {
  evaluate(request: GuardrailRequest): GuardrailDecision;
}
