/**
 * How the scenario suite's mitigations end: every execution the consumer started (one per
 * `mitigate` episode) is replayed in event time through the synthesized state machine
 * (`state-machine.ts`) with the workflow's own task code (`runMitigationOp`: planStep →
 * decideStages + planMitigation, applyStep, checkStep → assessRegression + recoveryCriteria +
 * nextStage, rollbackStep → planRollback, notifyStep), the bundled Cedar guardrails and the change
 * records the consumer stored. What is simulated:
 * - time: the execution starts when the consumer can first act on the confirming minute
 *   (detectedAt + 1 min + the allowed lateness); Wait states advance the clock by the execution
 *   input's timings (DEFAULT_MITIGATION_TIMINGS: 900 s, 2700 s, 300 s); tasks take no time;
 * - the window store the Check task reads: the key's state as the consumer holds it at the check
 *   time, folded (`foldObservations`, the consumer's fold) from the scenario's records stamped up to
 *   then — the Check task reads its newest minute bucket, so a minute still filling counts;
 * - the action targets: in memory. OPEN LOOP: the simulated services do not react to the applied
 *   flags; an incident ends when its generated duration is over, whatever was applied. "Recovered"
 *   means the regression check found the signal back inside its recovery criteria at the check
 *   time, not that the mitigation brought it back.
 */
import type { Anomaly } from '../../lambdas/core/anomaly.js';
import type { ActionLevel, AppliedAction, PlannedAction, TargetKind } from '../../lambdas/core/mitigation/actions.js';
import type { Guardrails } from '../../lambdas/core/ports/guardrails.js';
import {
  assessRegression,
  recoveryCriteria,
  type RegressionOutcome,
} from '../../lambdas/core/mitigation/regression.js';
import type { Observation } from '../../lambdas/core/observations.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../../lambdas/core/window-settings.js';
import { foldObservations, type KeyState } from '../../lambdas/core/key-state.js';
import { InMemoryActionLedger } from '../../lambdas/adapters/in-memory/action-ledger.js';
import { InMemoryApprovalStore } from '../../lambdas/adapters/in-memory/approval-store.js';
import { episodeRollbackKey } from '../../lambdas/core/mitigation/keys.js';
import type { ActionTarget } from '../../lambdas/core/ports/action-target.js';
import type { ChangeStore } from '../../lambdas/core/ports/change-store.js';
import type { IncidentReader } from '../../lambdas/core/ports/anomaly-store.js';
import { bundledGuardrails } from '../../lambdas/adapters/guardrails.js';
import {
  DEFAULT_MITIGATION_TIMINGS,
  executionName,
  mitigationInput,
} from '../../lambdas/adapters/mitigation-starter.js';
import type { MitigationTimings } from '../../lambdas/core/ports/mitigation-starter.js';
import type { StoredWindow, WindowStore } from '../../lambdas/core/ports/window-store.js';
import {
  runMitigationOp,
  type MitigationDeps,
  type MitigationOp,
  type WorkflowState,
} from '../../lambdas/usecases/mitigation-steps.js';
import type { Label } from './scenario.js';
import { walkStateMachine, type AslDefinition } from './state-machine.js';

const MIN = 60_000;

/** Step Functions Standard, per state transition (us-east-1 list price). */
export const PRICE_PER_TRANSITION = 0.025 / 1000;

export type MitigationOutcomeKind = 'recovered' | 'escalated-recovered' | 'handed-off' | 'blocked' | 'failed';
export const OUTCOME_ORDER: readonly MitigationOutcomeKind[] = [
  'recovered',
  'escalated-recovered',
  'handed-off',
  'blocked',
  'failed',
];

/** What the mitigated episode was, judged against the scenario labels. */
export type MitigationGroup = 'high-cost' | 'other-label' | 'no-label';

// ---- the signal as the Check task reads it -----------------------------------------------------

/** The consumer's window state of a key at an event time. */
export interface SeriesSource {
  stateAt(key: string, at: number): KeyState | undefined;
}

/**
 * Per-key observations (in stream order) and the window state the consumer holds at a given event
 * time: everything stamped at or before it folded, starting `lookbackMs` earlier (longer than the
 * window plus the lateness, so the open buckets are the ones the consumer has).
 */
export class KeySeries implements SeriesSource {
  /** Per key: observations sorted by event time, each with its stream position (fold order). */
  private readonly byTs = new Map<string, { ts: number[]; obs: { ob: Observation; seq: number }[] }>();

  constructor(
    byKey: ReadonlyMap<string, readonly Observation[]>,
    private readonly settings: WindowSettings = DEFAULT_WINDOW_SETTINGS,
    private readonly lookbackMs = 30 * MIN,
  ) {
    for (const [key, list] of byKey) {
      const obs = list.map((ob, seq) => ({ ob, seq })).sort((a, b) => a.ob.ts - b.ob.ts || a.seq - b.seq);
      this.byTs.set(key, { ts: obs.map((o) => o.ob.ts), obs });
    }
  }

  /**
   * The metric records of `keys` among the scenario's envelopes (in stream order), as the
   * consumer's `toObservation` makes them. The generator writes only valid metric records for these
   * keys, so the schema pass is skipped (the replay dead-letters none; the e2e test asserts it).
   */
  static fromLines(
    lines: readonly string[],
    keys: ReadonlySet<string>,
    settings: WindowSettings = DEFAULT_WINDOW_SETTINGS,
  ): KeySeries {
    const byKey = new Map<string, Observation[]>();
    const wanted = new Map([...keys].map((k) => [`"tenant":"${k.split('#')[0]}","signal":"${k.split('#')[1]}"`, k]));
    const re = /"tenant":"[^"]*","signal":"[^"]*"/;
    lines.forEach((line, i) => {
      const m = re.exec(line);
      const key = m && wanted.get(m[0]);
      if (!key) return;
      const r = JSON.parse(line) as {
        type: string;
        id?: string;
        ts: string;
        tenant: string;
        signal: string;
        value: number;
        region?: string;
      };
      if (r.type !== 'metric') return;
      const ob: Observation = {
        key,
        tenant: r.tenant,
        signal: r.signal,
        ts: Date.parse(r.ts),
        value: r.value,
        position: { shardId: 'series', sequenceNumber: String(i + 1) },
        ...(r.id !== undefined && { id: r.id }),
        ...(r.region !== undefined && { region: r.region }),
      };
      const list = byKey.get(key) ?? [];
      list.push(ob);
      byKey.set(key, list);
    });
    return new KeySeries(byKey, settings);
  }

  stateAt(key: string, at: number): KeyState | undefined {
    const k = this.byTs.get(key);
    if (!k) return undefined;
    const from = upperBound(k.ts, at - this.lookbackMs);
    const to = upperBound(k.ts, at);
    if (to <= from) return undefined;
    // Fold in stream order, as the consumer received them.
    const obs = k.obs
      .slice(from, to)
      .sort((a, b) => a.seq - b.seq)
      .map((o) => o.ob);
    return foldObservations(undefined, obs, this.settings).state;
  }
}

/** First index whose value is > x (ascending array). */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the Check task would read as "after" at `at`: the newest minute bucket's mean. */
export function latestMinute(
  series: SeriesSource,
  key: string,
  at: number,
): { ts: number; observed: number; n: number } | undefined {
  const last = series.stateAt(key, at)?.buckets.at(-1);
  return last ? { ts: last.m * MIN, observed: last.sum / last.n, n: last.n } : undefined;
}

// ---- one execution ---------------------------------------------------------------------------

/**
 * The consumer's delay between a record's event time and the batch that folds it: delivery
 * (the scenario's producers deliver 0.1–3 s after the stamp) and the batching window
 * (`consumer.maxBatchingWindowSeconds`, 5 s in cdk.json).
 */
export const CONSUMER_DELAY_MS = 5_000;

/**
 * Event time at which the consumer starts the execution: the confirming minute has closed once a
 * record stamped 1 min + the allowed lateness after its start is folded, a batch later.
 */
export function triggerTime(
  anomaly: Pick<Anomaly, 'detectedAt'>,
  settings: WindowSettings = DEFAULT_WINDOW_SETTINGS,
  delayMs = CONSUMER_DELAY_MS,
): number {
  return anomaly.detectedAt + MIN + settings.allowedLatenessMs + delayMs;
}

export interface MitigationCase {
  anomaly: Anomaly;
  /** Event time the execution starts (default `triggerTime`). */
  startedAt?: number;
  /** The scenario label the episode matches, if any. */
  label?: Label;
}

export interface CheckRecord {
  at: number;
  /**
   * The minute bucket the Check task read (undefined: the key had no recent data; the check compares the anomaly with
   * itself).
   */
  observed?: number;
  /** Start of that minute, and how many records it held. */
  minuteTs?: number;
  points?: number;
  /** The minute was still filling at the check (the Check task reads the newest bucket, complete or not). */
  partial?: boolean;
  /** The same assessment recomputed from that reading (for the report): which criterion decided. */
  regression: RegressionOutcome;
  inBand: boolean;
  targetMet?: boolean;
  /** Recovered only by the absolute target (e.g. edge p95 ≤ 300 ms), neither back in band nor the relative rule. */
  targetOnly: boolean;
  stage: ActionLevel;
  transition: NonNullable<WorkflowState['transition']>;
  reason: string;
}

export interface MitigationOutcome {
  execution: string;
  anomaly: Pick<
    Anomaly,
    'id' | 'tenant' | 'signal' | 'class' | 'start' | 'detectedAt' | 'observed' | 'expected' | 'band' | 'softOnly'
  >;
  playbook?: string;
  label?: Pick<Label, 'id' | 'kind' | 'start' | 'end' | 'highCost'>;
  group: MitigationGroup;
  outcome: MitigationOutcomeKind;
  startedAt: number;
  /** Stages applied, in order, with the number of actions each. */
  stages: { level: ActionLevel; at: number; actions: number }[];
  checks: CheckRecord[];
  /** The check that found the signal recovered. */
  recoveryDecisionAt?: number;
  /** Staged rollback: actions undone (one per interval, newest first) and when the last one was. */
  rollbackSteps: number;
  lastRollbackAt?: number;
  /** The hand-off (or blocked) notice. */
  endedAt: number;
  reason?: string;
  /** States entered, in order; transitions = path.length. */
  path: string[];
  transitions: number;
  /** Task states in order, compressed (`Plan → Apply soft → Check: escalate → ...`). */
  pathSummary: string;
}

export interface ReplayEnvironment {
  definition: AslDefinition;
  /** Consumer delay added to the trigger time when a case gives no `startedAt` (default CONSUMER_DELAY_MS). */
  consumerDelayMs?: number;
  series: SeriesSource;
  /** The change records (the consumer's store): Plan and Check read them for the release guard. */
  changes: ChangeStore;
  guardrails?: Guardrails;
  timings?: MitigationTimings;
  settings?: WindowSettings;
  /** Kill switch state (off in the scenario). */
  killSwitch?: boolean;
  deploymentRegion?: string;
  /**
   * The anomalies the consumer stored (every decision): how many tenants an incident spans, as the Plan task counts
   * them.
   */
  anomalies?: IncidentReader;
  /**
   * The on-call operator who answers approval requests: approves every one this many seconds after it is asked.
   * Absent: nobody answers, the steps that wait for a person are never applied (what automatic mitigation alone does).
   */
  operator?: { approvesAfterSeconds: number };
}

/** The action targets of the replay: every control accepts the action; nothing downstream reacts (open loop). */
class OpenLoopTarget implements ActionTarget {
  constructor(readonly kind: TargetKind) {}
  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    return { ...action, previous: null, appliedAt: now };
  }
  async rollback(): Promise<void> {}
}

function groupOf(label: Label | undefined): MitigationGroup {
  if (!label) return 'no-label';
  return label.highCost ? 'high-cost' : 'other-label';
}

/** Replay one execution in event time through the synthesized definition with the workflow's task code. */
export async function replayMitigation(c: MitigationCase, env: ReplayEnvironment): Promise<MitigationOutcome> {
  const settings = env.settings ?? DEFAULT_WINDOW_SETTINGS;
  const startedAt = c.startedAt ?? triggerTime(c.anomaly, settings, env.consumerDelayMs ?? CONSUMER_DELAY_MS);
  let now = startedAt;
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const windows: WindowStore = {
    load: async (key) => {
      const state = env.series.stateAt(key, now);
      return state ? ({ state, version: 1 } satisfies StoredWindow) : undefined;
    },
    loadMany: async (keys) => {
      const out = new Map<string, StoredWindow>();
      for (const k of keys) {
        const state = env.series.stateAt(k, now);
        if (state) out.set(k, { state, version: 1 });
      }
      return out;
    },
    save: async () => {
      throw new Error('the mitigation workflow never writes window state');
    },
  };
  const targets = new Map<TargetKind, ActionTarget>();
  const execution = executionName(c.anomaly);
  const deps: MitigationDeps = {
    guardrails: env.guardrails ?? bundledGuardrails(),
    targetFor: (kind) => targets.get(kind) ?? targets.set(kind, new OpenLoopTarget(kind)).get(kind)!,
    ledger: new InMemoryActionLedger(),
    approvals: new InMemoryApprovalStore(),
    events: { publish: async () => {} },
    notifier: { publish: async () => {} },
    windows,
    changes: env.changes,
    killSwitch: async () => env.killSwitch === true,
    now: clock.now,
    execution,
    ...(env.deploymentRegion !== undefined && { deploymentRegion: env.deploymentRegion }),
    ...(env.anomalies && { anomalies: env.anomalies }),
  };
  const stages: MitigationOutcome['stages'] = [];
  const checks: CheckRecord[] = [];
  const summary: string[] = [];
  let rollbackSteps = 0;
  let lastRollbackAt: number | undefined;
  const task = async (params: Record<string, unknown>, state: WorkflowState): Promise<WorkflowState> => {
    const op = params.op as MitigationOp;
    const outcome = params.outcome as WorkflowState['outcome'];
    const token = params.taskToken as string | undefined;
    const out = await runMitigationOp(
      { op, state: params.state as WorkflowState, ...(outcome && { outcome }), ...(token && { taskToken: token }) },
      deps,
    );
    switch (op) {
      case 'plan':
        summary.push(`Plan (${out.plan?.allowed ? 'allowed' : 'not allowed'})`);
        break;
      case 'apply':
        stages.push({ level: out.stage!, at: now, actions: out.applied.length - state.applied.length });
        summary.push(`Apply ${out.stage}`);
        break;
      case 'apply-approved': {
        const approved = out.applied.length - state.applied.length;
        const stage = stages.at(-1);
        if (stage) stage.actions += approved;
        summary.push(`Apply ${approved} approved`);
        break;
      }
      case 'check': {
        const read = latestMinute(env.series, c.anomaly.key, now);
        const a = c.anomaly;
        const before = state.before ?? { ts: a.detectedAt, observed: a.observed, expected: a.expected };
        const criteria = recoveryCriteria(a.signal);
        const r = assessRegression(
          before,
          read ? { ts: read.ts, observed: read.observed, expected: a.expected, band: a.band } : before,
          criteria,
        );
        const relative = r.improvement >= criteria.minImprovement && r.excessRemoved >= criteria.minExcessRemoved;
        const rec: CheckRecord = {
          at: now,
          stage: state.stage ?? 'soft',
          transition: out.transition!,
          reason: out.reason ?? '',
          regression: r.outcome,
          inBand: r.inBand,
          targetOnly: r.outcome === 'recovered' && !r.inBand && !relative,
        };
        if (r.targetMet !== undefined) rec.targetMet = r.targetMet;
        if (read)
          Object.assign(rec, {
            observed: read.observed,
            minuteTs: read.ts,
            points: read.n,
            partial: read.ts + MIN > now,
          });
        checks.push(rec);
        summary.push(`Check: ${out.transition}`);
        break;
      }
      case 'rollback-one':
      case 'rollback-all': {
        const n = out.rolledBack.length - state.rolledBack.length;
        rollbackSteps += n;
        if (n > 0) lastRollbackAt = now;
        const prev = summary.at(-1);
        const m = prev && /^Roll back ×(\d+)$/.exec(prev);
        if (op === 'rollback-one' && m) summary[summary.length - 1] = `Roll back ×${Number(m[1]) + 1}`;
        else summary.push(op === 'rollback-one' ? 'Roll back ×1' : 'Roll back everything');
        break;
      }
      case 'notify':
        summary.push(`Notify ${outcome}`);
        break;
    }
    return out;
  };
  const input = mitigationInput(c.anomaly, env.timings ?? DEFAULT_MITIGATION_TIMINGS, {
    automatic: true,
  }) as WorkflowState;
  const walked = await walkStateMachine<WorkflowState>(env.definition, input, task, clock, 500, async (params) => {
    if (!env.operator) return undefined;
    const afterSeconds = env.operator.approvesAfterSeconds;
    // Answered as the approve route does: the store first (the workflow reads the answer there), then the task resumes.
    const asked = await deps.approvals.ofEpisode(episodeRollbackKey(c.anomaly.id));
    for (const r of asked.filter((x) => x.token === params.taskToken))
      await deps.approvals.decide(r.key, {
        status: 'approved',
        by: 'bench operator',
        at: clock.now() + afterSeconds * 1000,
        reason: 'the simulated on-call approves every request',
      });
    return { output: { decision: 'approve', by: 'bench operator' }, afterSeconds };
  });
  const final = walked.state;
  const escalated = stages.some((s) => s.level === 'hard');
  const outcome: MitigationOutcomeKind =
    walked.end === 'Fail' || final.outcome === 'failed'
      ? 'failed'
      : final.outcome === 'recovered'
        ? escalated
          ? 'escalated-recovered'
          : 'recovered'
        : final.outcome === 'blocked'
          ? 'blocked'
          : 'handed-off';
  const a = c.anomaly;
  const result: MitigationOutcome = {
    execution,
    anomaly: {
      id: a.id,
      tenant: a.tenant,
      signal: a.signal,
      class: a.class,
      start: a.start,
      detectedAt: a.detectedAt,
      observed: a.observed,
      expected: a.expected,
      band: a.band,
      softOnly: a.softOnly,
    },
    group: groupOf(c.label),
    outcome,
    startedAt,
    stages,
    checks,
    rollbackSteps,
    endedAt: now,
    path: walked.path,
    transitions: walked.transitions,
    pathSummary: summary.join(' → '),
  };
  if (final.plan) result.playbook = final.plan.playbook.id;
  if (c.label)
    result.label = {
      id: c.label.id,
      kind: c.label.kind,
      start: c.label.start,
      end: c.label.end,
      highCost: c.label.highCost,
    };
  const recovery = checks.find((k) => k.transition === 'rollback');
  if (recovery) result.recoveryDecisionAt = recovery.at;
  if (lastRollbackAt !== undefined) result.lastRollbackAt = lastRollbackAt;
  const reason =
    outcome === 'blocked'
      ? final.plan?.reasons.join('; ')
      : outcome === 'failed'
        ? `${final.error?.Error ?? 'error'}: ${final.error?.Cause ?? ''}`
        : final.reason;
  if (reason) result.reason = reason;
  return result;
}

export async function replayMitigations(
  cases: readonly MitigationCase[],
  env: ReplayEnvironment,
): Promise<MitigationOutcome[]> {
  const out: MitigationOutcome[] = [];
  for (const c of cases) out.push(await replayMitigation(c, env));
  return out;
}

// ---- summary ---------------------------------------------------------------------------------

export interface OutcomeCounts {
  n: number;
  counts: Record<MitigationOutcomeKind, number>;
  shares: Record<MitigationOutcomeKind, number>;
}

export interface PathRow {
  outcome: MitigationOutcomeKind;
  path: string;
  n: number;
  transitions: number;
  costUsd: number;
}

export interface MitigationOutcomeSummary extends OutcomeCounts {
  byGroup: Record<MitigationGroup, OutcomeCounts>;
  /** Trigger → the check that found the signal recovered (recovered + escalated-recovered), event time. */
  toRecoveryDecisionMs: { n: number; p50?: number; max?: number };
  /** Trigger → the last action rolled back. */
  toLastRollbackMs: { n: number; p50?: number; max?: number };
  /** Trigger → the hand-off notice. */
  toHandOffMs: { n: number; p50?: number; max?: number };
  /** Distinct paths through the state machine with their transition counts. */
  paths: PathRow[];
  transitions: { total: number; mean: number; costUsd: number };
  /** Regression checks run, and how many read a minute bucket still filling (mean records in it). */
  checks: { n: number; partial: number; partialMeanPoints: number; noData: number; recoveredByTargetOnly: number };
  /**
   * Per labelled incident (several executions when several keys or tenants were mitigated): the
   * worst ending — any hand-off, else any escalation, else all recovered.
   */
  incidents: { n: number; allRecovered: number; escalatedThenRecovered: number; handedOff: number; blocked: number };
  /** Open-loop diagnostics against the labels: what the incident was doing at the decisive check. */
  openLoop: {
    /** Recovered while the labelled injection (ramp-down included) was still running at the recovery check. */
    recoveredWhileIncidentRunning: number;
    /** Handed off although the labelled injection had ended before the last check. */
    handedOffAfterIncidentEnded: number;
    /** Incidents (labelled) that had ended by the first check. */
    endedByFirstCheck: number;
    /** ... of which recovered at the first check. */
    endedByFirstCheckRecovered: number;
    labelled: number;
  };
  outcomes: MitigationOutcome[];
}

function counts(os: readonly MitigationOutcome[]): OutcomeCounts {
  const c = Object.fromEntries(OUTCOME_ORDER.map((k) => [k, 0])) as Record<MitigationOutcomeKind, number>;
  for (const o of os) c[o.outcome]++;
  const shares = Object.fromEntries(OUTCOME_ORDER.map((k) => [k, os.length ? c[k] / os.length : 0])) as Record<
    MitigationOutcomeKind,
    number
  >;
  return { n: os.length, counts: c, shares };
}

function median(values: readonly number[]): { n: number; p50?: number; max?: number } {
  const s = [...values].sort((a, b) => a - b);
  const out: { n: number; p50?: number; max?: number } = { n: s.length };
  if (s.length) {
    // Nearest rank, as the detection latencies.
    out.p50 = s[Math.max(0, Math.ceil(0.5 * s.length) - 1)]!;
    out.max = s[s.length - 1]!;
  }
  return out;
}

export function summarizeOutcomes(outcomes: readonly MitigationOutcome[]): MitigationOutcomeSummary {
  const byGroup = Object.fromEntries(
    (['high-cost', 'other-label', 'no-label'] as const).map((g) => [g, counts(outcomes.filter((o) => o.group === g))]),
  ) as Record<MitigationGroup, OutcomeCounts>;
  const recovered = outcomes.filter((o) => o.recoveryDecisionAt !== undefined);
  const rows = new Map<string, PathRow>();
  for (const o of outcomes) {
    const key = `${o.outcome}|${o.pathSummary}`;
    const row = rows.get(key) ?? {
      outcome: o.outcome,
      path: o.pathSummary,
      n: 0,
      transitions: o.transitions,
      costUsd: o.transitions * PRICE_PER_TRANSITION,
    };
    row.n++;
    rows.set(key, row);
  }
  const paths = [...rows.values()].sort(
    (a, b) =>
      OUTCOME_ORDER.indexOf(a.outcome) - OUTCOME_ORDER.indexOf(b.outcome) || b.n - a.n || a.transitions - b.transitions,
  );
  const total = outcomes.reduce((s, o) => s + o.transitions, 0);
  const labelled = outcomes.filter((o) => o.label);
  const endedBy = (o: MitigationOutcome, at: number | undefined) =>
    at !== undefined && o.label !== undefined && o.label.end <= at;
  const endedByFirst = labelled.filter((o) => endedBy(o, o.checks[0]?.at));
  const allChecks = outcomes.flatMap((o) => o.checks);
  const partial = allChecks.filter((k) => k.partial);
  const byIncident = new Map<string, MitigationOutcome[]>();
  for (const o of labelled) byIncident.set(o.label!.id, [...(byIncident.get(o.label!.id) ?? []), o]);
  const worst = [...byIncident.values()].map((os) =>
    os.some((o) => o.outcome === 'handed-off' || o.outcome === 'failed')
      ? 'handed-off'
      : os.some((o) => o.outcome === 'blocked')
        ? 'blocked'
        : os.some((o) => o.outcome === 'escalated-recovered')
          ? 'escalated-recovered'
          : 'recovered',
  );
  return {
    ...counts(outcomes),
    byGroup,
    toRecoveryDecisionMs: median(recovered.map((o) => o.recoveryDecisionAt! - o.startedAt)),
    toLastRollbackMs: median(
      recovered.flatMap((o) => (o.lastRollbackAt === undefined ? [] : [o.lastRollbackAt - o.startedAt])),
    ),
    toHandOffMs: median(outcomes.filter((o) => o.outcome === 'handed-off').map((o) => o.endedAt - o.startedAt)),
    paths,
    transitions: { total, mean: outcomes.length ? total / outcomes.length : 0, costUsd: total * PRICE_PER_TRANSITION },
    checks: {
      n: allChecks.length,
      partial: partial.length,
      partialMeanPoints: partial.length ? partial.reduce((a, k) => a + (k.points ?? 0), 0) / partial.length : 0,
      noData: allChecks.filter((k) => k.observed === undefined).length,
      recoveredByTargetOnly: allChecks.filter((k) => k.transition === 'rollback' && k.targetOnly).length,
    },
    incidents: {
      n: worst.length,
      allRecovered: worst.filter((w) => w === 'recovered').length,
      escalatedThenRecovered: worst.filter((w) => w === 'escalated-recovered').length,
      handedOff: worst.filter((w) => w === 'handed-off').length,
      blocked: worst.filter((w) => w === 'blocked').length,
    },
    openLoop: {
      recoveredWhileIncidentRunning: labelled.filter(
        (o) => o.recoveryDecisionAt !== undefined && !endedBy(o, o.recoveryDecisionAt),
      ).length,
      handedOffAfterIncidentEnded: labelled.filter((o) => o.outcome === 'handed-off' && endedBy(o, o.checks.at(-1)?.at))
        .length,
      endedByFirstCheck: endedByFirst.length,
      endedByFirstCheckRecovered: endedByFirst.filter((o) => o.checks[0]?.transition === 'rollback').length,
      labelled: labelled.length,
    },
    outcomes: [...outcomes],
  };
}

// ---- printing --------------------------------------------------------------------------------

const mmss = (ms: number | undefined) => {
  if (ms === undefined) return '-';
  const s = Math.round(Math.abs(ms) / 1000);
  return `${ms < 0 ? '-' : ''}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const LABEL: Record<MitigationOutcomeKind, string> = {
  recovered: 'recovered',
  'escalated-recovered': 'escalated, then recovered',
  'handed-off': 'handed off',
  blocked: 'blocked',
  failed: 'failed',
};

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatMitigationOutcomes(
  s: MitigationOutcomeSummary,
  opts: { timings?: MitigationTimings; coldStart?: number; consumerDelayMs?: number; examples?: number } = {},
): string {
  const t = opts.timings ?? DEFAULT_MITIGATION_TIMINGS;
  const delay = opts.consumerDelayMs ?? CONSUMER_DELAY_MS;
  const out: string[] = [];
  out.push(
    `   Mitigation outcomes: every execution the consumer started (${s.n}` +
      `${opts.coldStart ? `; ${opts.coldStart} cold-start ones not counted` : ''}) replayed in event time through ` +
      `the synthesized`,
    `   state machine with the workflow's task code (plan/apply/check/rollback/notify), the Cedar guardrails and ` +
      `the stored change records;`,
    `   started at detectedAt + 1 min + allowed lateness + ${delay / 1000} s (delivery + batching window); checks ` +
      `${t.observationSeconds} s after each Apply, the final one ${t.finalCheckSeconds} s after an`,
    `   "improving" check; staged rollback one action per ${t.rollbackIntervalSeconds} s; tasks take no time;`,
    "   the Check task reads the key's newest minute bucket as the consumer holds it then (folded from the " +
      "scenario's records).",
    '   OPEN LOOP: the simulated services do not react to the applied flags (incidents end after their generated ' +
      'duration), so "recovered"',
    '   means the regression check found the signal back inside its recovery criteria at the check time, not that ' +
      'the mitigation fixed it.',
  );
  const groups: [string, OutcomeCounts][] = [
    ['all mitigations', s],
    ['  on high-cost incidents', s.byGroup['high-cost']],
    ['  on other labels (campaign, ...)', s.byGroup['other-label']],
    ['  matching no incident (false)', s.byGroup['no-label']],
  ];
  const kinds = OUTCOME_ORDER.filter((k) => k !== 'failed' || s.counts.failed > 0);
  out.push(
    table(
      ['executions', 'n', ...kinds.map((k) => LABEL[k])],
      groups.map(([name, g]) => [name, g.n, ...kinds.map((k) => (g.n ? `${g.counts[k]} (${pct(g.shares[k])})` : '-'))]),
    ),
  );
  out.push(
    table(
      ['time from trigger (event time)', 'p50', 'max', 'n'],
      [
        [
          'to the recovery decision (check found it recovered)',
          mmss(s.toRecoveryDecisionMs.p50),
          mmss(s.toRecoveryDecisionMs.max),
          s.toRecoveryDecisionMs.n,
        ],
        [
          'to the last action rolled back (staged rollback)',
          mmss(s.toLastRollbackMs.p50),
          mmss(s.toLastRollbackMs.max),
          s.toLastRollbackMs.n,
        ],
        [
          'to the hand-off (actions stay, on-call takes over)',
          mmss(s.toHandOffMs.p50),
          mmss(s.toHandOffMs.max),
          s.toHandOffMs.n,
        ],
      ],
    ),
  );
  out.push(
    table(
      ['outcome', 'n', 'transitions', 'cost', 'path (Task states; every Choice/Wait/Succeed counted in transitions)'],
      s.paths.map((p) => [LABEL[p.outcome], p.n, p.transitions, `$${p.costUsd.toFixed(6)}`, p.path]),
    ),
  );
  const inc = s.incidents;
  out.push(
    `   per labelled incident (${inc.n}; an incident can start several executions, one per mitigated key): all ` +
      `recovered ${inc.allRecovered}, escalated then recovered ${inc.escalatedThenRecovered}, handed off ` +
      `${inc.handedOff}, blocked ${inc.blocked}`,
  );
  out.push(
    `   state transitions: ${s.transitions.total} in all, ${s.transitions.mean.toFixed(1)} per execution ($` +
      `${s.transitions.costUsd.toFixed(5)} at $0.025 per 1,000)`,
  );
  const ol = s.openLoop;
  out.push(
    `   regression checks: ${s.checks.n}; ${s.checks.partial} read a minute still filling (` +
      `${s.checks.partialMeanPoints.toFixed(1)} records on average), ${s.checks.noData} found no recent data; ` +
      `${s.checks.recoveredByTargetOnly} recoveries decided only by an absolute target (edge p95 ≤ 300 ms), the ` +
      `signal still outside its band`,
  );
  out.push(
    `   against the labels (${ol.labelled} labelled): ${ol.endedByFirstCheck} incidents were over by the first ` +
      `check (${ol.endedByFirstCheckRecovered} of them recovered there); ` +
      `${ol.recoveredWhileIncidentRunning} recovered while the injection was still running; ` +
      `${ol.handedOffAfterIncidentEnded} handed off although it had ended by the last check`,
  );
  const ex = opts.examples ?? 0;
  if (ex > 0) {
    const notable = s.outcomes.filter((o) => o.outcome !== 'recovered').slice(0, ex);
    for (const o of notable) {
      const labelInfo = o.label
        ? `${o.label.id} ${o.label.kind} ends ${mmss(o.label.end - o.startedAt)} after trigger`
        : 'no label';
      out.push(
        `   - ${LABEL[o.outcome]} ${o.anomaly.tenant}#${o.anomaly.signal} (${o.playbook ?? '-'}; ${labelInfo}): ` +
          `${o.checks.map((k) => `+${mmss(k.at - o.startedAt)} ${k.stage} ${k.transition}`).join(', ')}` +
          `${o.reason ? ` — ${o.reason}` : ''}`,
      );
    }
  }
  return out.join('\n');
}
