/** Shared builders for the mitigation unit tests (not a test file itself). */
import type { Anomaly } from '../../../../lambdas/core/anomaly.js';
import type {
  GuardrailContext,
  GuardrailDecision,
  StageDecisions,
} from '../../../../lambdas/core/mitigation/guardrail-request.js';

export const MINUTE = 60_000;
/** 2026-11-22T10:00:00Z */
export const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

/** A confirmed mitigation candidate: the seed's KR search cost spike unless overridden. */
export function anomaly(over: Partial<Anomaly> = {}): Anomaly {
  const tenant = over.tenant ?? 'acme';
  const signal = over.signal ?? 'cqs_p95';
  const start = over.start ?? T0;
  return {
    id: `${tenant}#${signal}@${new Date(start).toISOString().slice(0, 16)}Z`,
    key: `${tenant}#${signal}`,
    tenant,
    signal,
    region: 'kr',
    class: 'app',
    severity: 'SEV2',
    start,
    detectedAt: start + 3 * MINUTE,
    score: 0.97,
    expected: 0.0037,
    observed: 0.0056,
    band: { lo: 0.003, hi: 0.0044 },
    change: '+51%',
    trigger: 'high-confidence',
    evidence: [],
    correlatedChanges: [],
    decision: 'mitigate',
    recommendation: 'start the playbook for this class, soft steps first',
    softOnly: false,
    ...over,
  };
}

export const ALLOW: GuardrailDecision = {
  allowed: true,
  reasons: ['permit-soft-apply: soft steps may be applied'],
  policies: ['permit-soft-apply'],
  errors: [],
};
export const DENY_HARD: GuardrailDecision = {
  allowed: false,
  reasons: ['campaign-soft-only: whitelisted campaign tenant: soft steps only'],
  policies: ['campaign-soft-only'],
  errors: [],
};

export const BOTH_ALLOWED: StageDecisions = {
  soft: ALLOW,
  hard: {
    ...ALLOW,
    reasons: ['permit-hard-apply: hard steps may be applied where no guardrail forbids them'],
    policies: ['permit-hard-apply'],
  },
};

/** A soft-stage context where nothing forbids anything: one tenant in the deployment's region (kr). */
export const QUIET: GuardrailContext = {
  level: 'soft',
  automatic: true,
  crossRegion: false,
  regionKnown: true,
  anomalyRegions: ['kr'],
  tenantsAffected: 1,
  platformMinTenants: 3,
  releaseWithin30m: false,
  whitelistedCampaign: false,
  killSwitch: false,
  approved: false,
};
