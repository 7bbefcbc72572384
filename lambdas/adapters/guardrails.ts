import {
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  validate,
  type DetailedError,
  type EntityJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import type { GuardrailDecision, GuardrailRequest } from '../core/mitigation/guardrail-request.js';
import type { Guardrails } from '../core/ports/guardrails.js';
import { GUARDRAILS_POLICY, GUARDRAILS_SCHEMA } from '../../policies/embedded.js';

/**
 * The guardrail policies (policies/guardrails.cedar, validated against policies/schema.cedarschema)
 * evaluated in-process with Cedar. Loading fails loudly on a policy that does not parse, does not
 * validate against the schema, or lacks a unique `@id`.
 *
 * Bundling: the policy text comes from policies/embedded.ts (a string constant esbuild inlines).
 * `@cedar-policy/cedar-wasm/nodejs` reads its .wasm file next to itself at import time, so a Lambda
 * using this adapter must ship that package as a node module (not bundled).
 */

const NS = 'AnomalyGuard';
/** Each loaded instance preparses under its own name in Cedar's (per-thread) cache. */
let instances = 0;

export class GuardrailPolicyError extends Error {
  constructor(
    message: string,
    readonly details: string[],
  ) {
    super(`${message}:\n  ${details.join('\n  ')}`);
    this.name = 'GuardrailPolicyError';
  }
}

export interface GuardrailSource {
  policies: string;
  schema: string;
}

export const BUNDLED_GUARDRAILS: GuardrailSource = { policies: GUARDRAILS_POLICY, schema: GUARDRAILS_SCHEMA };

export class CedarGuardrails implements Guardrails {
  /** Policy text by `@id`. */
  private readonly policies: Record<string, string>;
  /** `@reason` by `@id`. */
  private readonly reasonOf: Record<string, string>;
  /** Name of the preparsed schema and policy set (parsing them on every call costs ~8 ms). */
  private readonly cacheName = `anomaly-guard-guardrails-${++instances}`;

  constructor(source: GuardrailSource = BUNDLED_GUARDRAILS) {
    const { policies, reasons } = splitById(source.policies);
    this.policies = policies;
    this.reasonOf = reasons;
    const answer = validate({
      schema: source.schema,
      policies: { staticPolicies: policies },
      validationSettings: { mode: 'strict' },
    });
    if (answer.type === 'failure')
      throw new GuardrailPolicyError('guardrail policies or schema do not parse', answer.errors.map(describeError));
    const problems = [...answer.validationErrors, ...answer.validationWarnings].map(
      (e) => `${e.policyId}: ${describeError(e.error)}`,
    );
    if (problems.length)
      throw new GuardrailPolicyError('guardrail policies do not validate against the schema', problems);
    for (const parsed of [
      preparseSchema(this.cacheName, source.schema),
      preparsePolicySet(this.cacheName, { staticPolicies: policies }),
    ]) {
      if (parsed.type === 'failure')
        throw new GuardrailPolicyError('guardrail policies or schema do not parse', parsed.errors.map(describeError));
    }
  }

  get policyIds(): string[] {
    return Object.keys(this.policies);
  }

  evaluate(request: GuardrailRequest): GuardrailDecision {
    const tenant = { type: `${NS}::Tenant`, id: request.resource.tenant };
    const entities: EntityJson[] = [{ uid: tenant, attrs: {}, parents: [] }];
    let resource = tenant;
    if (request.resource.target) {
      resource = { type: `${NS}::Target`, id: request.resource.target.flag };
      const { kind, scope, reversible, regionBound, regions, needsApproval } = request.resource.target;
      entities.push({
        uid: resource,
        attrs: { kind, scope, reversible, regionBound, regions, needsApproval },
        parents: [tenant],
      });
    }
    const answer = statefulIsAuthorized({
      principal: { type: `${NS}::${request.principal.type}`, id: request.principal.id },
      action: { type: `${NS}::Action`, id: request.action },
      resource,
      context: { ...request.context },
      preparsedSchemaName: this.cacheName,
      validateRequest: true,
      preparsedPolicySetId: this.cacheName,
      entities,
    });
    if (answer.type === 'failure') {
      return {
        allowed: false,
        reasons: [`invalid request, denied: ${answer.errors.map((e) => e.message).join('; ')}`],
        policies: [],
        errors: answer.errors.map(describeError),
      };
    }
    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((e) => `${e.policyId}: ${describeError(e.error)}`);
    const policies = [...diagnostics.reason].sort();
    const reasons = policies.map((id) => `${id}: ${this.reasonOf[id] ?? id}`);
    if (!policies.length && decision === 'deny')
      reasons.push(
        `default-deny: no policy permits ${request.action}` +
          `${request.action === 'apply' ? ` at level "${request.context.level}"` : ''}`,
      );
    // An erroring policy is skipped by Cedar; a guardrail that could not be evaluated must not let an action through.
    return { allowed: decision === 'allow' && errors.length === 0, reasons, policies, errors };
  }
}

/**
 * Split a policy set into policies keyed by their `@id` annotation (Cedar itself numbers them policy0, policy1, ...).
 */
function splitById(text: string): { policies: Record<string, string>; reasons: Record<string, string> } {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure')
    throw new GuardrailPolicyError('guardrail policies do not parse', parts.errors.map(describeError));
  if (parts.policy_templates.length)
    throw new GuardrailPolicyError('guardrail policies must be static', [
      `${parts.policy_templates.length} template(s) found`,
    ]);
  if (!parts.policies.length)
    throw new GuardrailPolicyError('guardrail policies are empty', ['no policy found: everything would be denied']);
  const policies: Record<string, string> = {};
  const reasons: Record<string, string> = {};
  for (const policy of parts.policies) {
    const json = policyToJson(policy);
    if (json.type === 'failure')
      throw new GuardrailPolicyError('guardrail policy does not parse', json.errors.map(describeError));
    const id = json.json.annotations?.id;
    if (!id)
      throw new GuardrailPolicyError('every guardrail policy needs an @id("...") annotation', [
        policy.split('\n').find((l) => /^\s*(permit|forbid)/.test(l)) ?? policy,
      ]);
    if (id in policies) throw new GuardrailPolicyError('duplicate guardrail policy @id', [id]);
    policies[id] = policy;
    reasons[id] = json.json.annotations?.reason ?? id;
  }
  return { policies, reasons };
}

function describeError(e: DetailedError): string {
  return e.help ? `${e.message} (${e.help})` : e.message;
}

let shared: CedarGuardrails | undefined;

/** The bundled guardrails, loaded (and validated) once per Lambda container. */
export function bundledGuardrails(): CedarGuardrails {
  shared ??= new CedarGuardrails();
  return shared;
}
