/** Builders for the report tests (not a test file itself): the seed 004 §4 worked example. */
import type { Anomaly } from '../../../../lambdas/core/anomaly.js';
import { classifyAnomaly } from '../../../../lambdas/core/classifier.js';
import type { AppliedAction } from '../../../../lambdas/core/mitigation/actions.js';
import type { GuardrailDecision } from '../../../../lambdas/core/mitigation/guardrail-request.js';
import { planMitigation, type MitigationPlan } from '../../../../lambdas/core/mitigation/plan.js';
import type {
  ActionLedgerRecord,
  EpisodeReportInput,
  ReportChangeInput,
  SeriesPoint,
} from '../../../../lambdas/core/report/index.js';

export const MINUTE = 60_000;
/** 2026-11-22T10:00:00Z: the spike's first minute. */
export const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
export const at = (minutes: number, seconds = 0) => T0 + minutes * MINUTE + seconds * 1000;

const SOFT: GuardrailDecision = {
  allowed: true,
  reasons: ['permit-soft-apply: soft steps may be applied'],
  policies: ['permit-soft-apply'],
  errors: [],
};
const HARD: GuardrailDecision = {
  allowed: true,
  reasons: ['permit-hard-apply: hard steps may be applied where no guardrail forbids them'],
  policies: ['permit-hard-apply'],
  errors: [],
};

/** The KR search cost spike: cqs_p95 0.0037 → 0.0056 (+51 %), no release badge, classified app. */
export function seedAnomaly(over: Partial<Anomaly> = {}): Anomaly {
  const tenant = over.tenant ?? 'acme';
  const { class: cls, evidence } = classifyAnomaly({
    tenant,
    signal: 'cqs_p95',
    observed: 0.0056,
    expected: 0.0037,
    changes: { correlated: [] },
    tenantsAffected: 1,
  });
  return {
    id: `${tenant}#cqs_p95@2026-11-22T10:00Z`,
    key: `${tenant}#cqs_p95`,
    tenant,
    signal: 'cqs_p95',
    region: 'kr',
    class: cls,
    severity: 'SEV2',
    start: T0,
    detectedAt: at(3),
    score: 0.97,
    expected: 0.0037,
    observed: 0.0056,
    band: { lo: 0.0035, hi: 0.0039 },
    change: '+51%',
    trigger: 'high-confidence',
    evidence,
    correlatedChanges: [],
    decision: 'mitigate',
    recommendation: 'start the playbook for this class, soft steps first',
    softOnly: false,
    ...over,
  };
}

/**
 * Flat at the baseline for an hour, the spike from 10:00, the soft stage at 10:04, 0.0041 eleven
 * minutes later (seed: "11분 내 p95 0.0041"), the cache-key fix at 10:28 and 0.0036 from 10:31.
 */
export const SEED_VALUES: ReadonlyArray<readonly [minute: number, value: number]> = [
  ...Array.from({ length: 60 }, (_, i) => [i - 60, [0.0037, 0.0036, 0.0038, 0.0037][i % 4]!] as const),
  [0, 0.0052],
  [1, 0.0055],
  [2, 0.0056],
  [3, 0.0056],
  [4, 0.0056],
  [5, 0.0055],
  [6, 0.0053],
  [7, 0.0051],
  [8, 0.0049],
  [9, 0.0047],
  [10, 0.0046],
  [11, 0.0045],
  [12, 0.0044],
  [13, 0.0043],
  [14, 0.0042],
  [15, 0.0041],
  ...Array.from({ length: 12 }, (_, i) => [16 + i, 0.0042] as const),
  [28, 0.0041],
  [29, 0.0041],
  [30, 0.0041],
  ...Array.from({ length: 20 }, (_, i) => [31 + i, 0.0036] as const),
];

/** About 200 queries/s. */
export const QUERIES_PER_MINUTE = 12_000;

export function seedSeries(opts: { volume?: boolean } = {}): SeriesPoint[] {
  return SEED_VALUES.map(([m, v]) => {
    const p: SeriesPoint = { ts: at(m), observed: v, expected: 0.0037, lo: 0.0035, hi: 0.0039 };
    if (opts.volume) p.volume = QUERIES_PER_MINUTE;
    return p;
  });
}

export const SEED_CHANGES: ReportChangeInput[] = [
  { id: 'rel-381', tenant: 'acme', change: 'release', ts: at(-45), until: at(-40), region: 'kr', title: 'search 2.3' },
  {
    id: 'rel-390',
    tenant: 'acme',
    change: 'release',
    ts: at(28),
    region: 'kr',
    title: 'search 2.3.1: cache key includes the template parameter',
  },
];

export function seedPlan(anomaly: Anomaly = seedAnomaly()): MitigationPlan {
  return planMitigation(anomaly, { guardrails: { soft: SOFT, hard: HARD }, now: at(4) });
}

const PREVIOUS: Readonly<Record<string, number>> = {
  'search-cost/cache-ttl': 30,
  'search-cost/rows-limit': 1000,
  'search-cost/facet-limit': 200,
};

/** The soft stage applied at 10:04, then the staged rollback (newest first, 5 min apart) from 10:34. */
export function seedLedger(plan: MitigationPlan): ActionLedgerRecord[] {
  const applied: AppliedAction[] = plan.stages[0]!.actions.map((a, i) => ({
    ...a,
    previous: PREVIOUS[a.step.id] ?? null,
    appliedAt: at(4, 5 + i),
  }));
  const entries: ActionLedgerRecord[] = applied.map((action) => ({
    event: 'applied',
    at: action.appliedAt,
    action,
    execution: plan.id,
  }));
  [...applied]
    .reverse()
    .forEach((action, i) => entries.push({ event: 'rolled-back', at: at(34 + 5 * i), action, execution: plan.id }));
  return entries;
}

export function seedInput(over: Partial<EpisodeReportInput> = {}): EpisodeReportInput {
  const anomaly = over.anomaly ?? seedAnomaly();
  const plan = over.plan ?? seedPlan(anomaly);
  return {
    kind: 'episode',
    generatedAt: at(50, 30),
    anomaly,
    plan,
    ledger: seedLedger(plan),
    outcome: 'recovered',
    execution: { name: plan.id, status: 'SUCCEEDED', startedAt: at(3, 40), stoppedAt: at(44, 10) },
    series: seedSeries({ volume: true }),
    changes: SEED_CHANGES,
    ...over,
  };
}
