import { incidentOf, type Anomaly } from '../anomaly.js';
import type { ChangeRecord } from '../envelope.js';
import type { AppliedAction } from '../mitigation/actions.js';
import { episodeRollbackKey } from '../mitigation/keys.js';
import { signalSpec } from '../signals.js';
import { MINUTE_MS } from '../time.js';

/**
 * A ledger line as the API reads it (structurally the action ledger's entry); approval events name a step as planned
 * and are read from the approval requests instead.
 */
export interface ActionEvent {
  event: string;
  at: number;
  action: AppliedAction;
  execution?: string;
}

export type AnomalyRecord = Anomaly & { notifiedAt?: number; recoveredAt?: number };

export interface ActionSummary {
  rollbackKey: string;
  episode: string;
  tenant: string;
  step: string;
  title: string;
  level: AppliedAction['step']['level'];
  target: AppliedAction['step']['target'];
  flag: string;
  value: unknown;
  previous: unknown;
  appliedAt: number;
  rolledBackAt: number | null;
  /** Still in effect: roll it back with this key. */
  inEffect: boolean;
}

export interface SavingsEstimate {
  /** Sum over mitigated cost episodes; null when no cost episode was mitigated. */
  amount: number | null;
  unit: string;
  episodes: { id: string; amount: number; minutes: number }[];
  method: string;
  assumptions: string[];
}

/** Every action of the episodes, one line per action with its latest state. */
export function summariseActions(entries: readonly ActionEvent[]): ActionSummary[] {
  const byKey = new Map<string, ActionSummary>();
  for (const e of [...entries].sort((a, b) => a.at - b.at)) {
    const a = e.action;
    const current = byKey.get(a.rollbackKey);
    if (e.event === 'applied') {
      byKey.set(a.rollbackKey, {
        rollbackKey: a.rollbackKey,
        episode: a.episodeId,
        tenant: a.tenant,
        step: a.step.id,
        title: a.step.title,
        level: a.step.level,
        target: a.step.target,
        flag: a.step.flag,
        value: a.step.value,
        previous: a.previous,
        appliedAt: a.appliedAt,
        rolledBackAt: null,
        inEffect: true,
      });
    } else if (e.event === 'rolled-back' && current) {
      current.rolledBackAt = e.at;
      current.inEffect = false;
    }
  }
  return [...byKey.values()].sort((a, b) => a.appliedAt - b.appliedAt);
}

export const SAVINGS_METHOD =
  'for each mitigated episode of a cost signal: the excess at detection (observed − expected, per minute) times ' +
  "the minutes from the first applied action to the episode's recovery (or the end of the range while it is " +
  'still open)';

/**
 * The cost the mitigations kept from accruing, estimated from what is stored: the anomaly's
 * excess at detection and how long actions were in effect. Deliberately simple and stated with
 * its assumptions; the per-episode report integrates the whole minute series instead.
 */
export function estimateRangeSavings(
  anomalies: readonly AnomalyRecord[],
  actions: readonly ActionSummary[],
  rangeEnd: number,
): SavingsEstimate {
  const firstAction = new Map<string, number>();
  for (const a of actions)
    firstAction.set(a.episode, Math.min(firstAction.get(a.episode) ?? Number.POSITIVE_INFINITY, a.appliedAt));
  const episodes: SavingsEstimate['episodes'] = [];
  for (const an of anomalies) {
    const from = firstAction.get(an.id);
    if (from === undefined || signalSpec(an.signal).category !== 'cost') continue;
    const minutes = Math.max(0, Math.round(((an.recoveredAt ?? rangeEnd) - from) / MINUTE_MS));
    const excess = Math.max(0, an.observed - an.expected);
    episodes.push({ id: an.id, amount: round2(excess * minutes), minutes });
  }
  return {
    amount: episodes.length ? round2(episodes.reduce((s, e) => s + e.amount, 0)) : null,
    unit: 'USD',
    episodes,
    method: SAVINGS_METHOD,
    assumptions: [
      'without the actions the excess would have stayed at its level at detection until the episode recovered',
      'cost signals are per-minute amounts in USD (seed 004 §A cost signals)',
      'episodes of usage and infra signals are not priced',
    ],
  };
}

/**
 * The range's cost episodes in $/min at detection: what the detector forecast (expected) and what was billed
 * (observed).
 */
export function costAtDetection(anomalies: readonly AnomalyRecord[]): {
  episodes: number;
  forecastPerMinute: number;
  actualPerMinute: number;
  unit: 'USD';
} {
  const cost = anomalies.filter((a) => signalSpec(a.signal).category === 'cost');
  return {
    episodes: cost.length,
    forecastPerMinute: cost.reduce((t, a) => t + a.expected, 0),
    actualPerMinute: cost.reduce((t, a) => t + a.observed, 0),
    unit: 'USD',
  };
}

/** The anomaly as the API lists it: the stored record plus the key that rolls its actions back and its incident. */
export function anomalyListing(a: AnomalyRecord, actions: readonly ActionSummary[]) {
  const mine = actions.filter((x) => x.episode === a.id);
  return {
    id: a.id,
    tenant: a.tenant,
    signal: a.signal,
    class: a.class,
    severity: a.severity,
    start: a.start,
    detectedAt: a.detectedAt,
    recoveredAt: a.recoveredAt ?? null,
    score: a.score,
    observed: a.observed,
    expected: a.expected,
    band: a.band,
    change: a.change,
    decision: a.decision,
    recommendation: a.recommendation,
    evidence: a.evidence,
    correlatedChanges: a.correlatedChanges,
    rollbackKey: mine.length ? episodeRollbackKey(a.id) : null,
    actions: mine.length,
    // Which incident the anomaly was paged under (its own, for one stored before incidents or not grouped).
    incident: incidentOf(a),
  };
}

/**
 * Changes as the timeline shows them: badges at their start, with their span; `createdBy` is the operator who declared
 * it through the API (null: it came on the stream).
 */
export function changeBadges(changes: readonly (ChangeRecord & { createdBy?: string; createdAt?: number })[]) {
  return [...changes]
    .sort((a, b) => a.ts - b.ts)
    .map((c) => ({
      ts: c.ts,
      until: c.until ?? null,
      tenant: c.tenant,
      change: c.change,
      id: c.id ?? null,
      title: c.title ?? null,
      region: c.region ?? null,
      createdBy: c.createdBy ?? null,
      createdAt: c.createdAt ?? null,
    }));
}

/**
 * What a declared change window does to alerting and mitigation (lambdas/core/correlator.ts,
 * policies/guardrails.cedar), in words for the API's answer.
 */
export function changeEffect(c: Pick<ChangeRecord, 'tenant' | 'change' | 'region'>): string {
  const who = `${c.tenant === '*' ? 'every tenant' : c.tenant}${c.region ? ` in region ${c.region}` : ''}`;
  switch (c.change) {
    case 'maintenance':
      return `anomalies of ${who} that start while the window runs are recorded but do not page (suppressed)`;
    case 'campaign':
      return (
        `automatic mitigation for ${who} is limited to soft steps while the window runs ` +
        '(and 30 minutes either side)'
      );
    default:
      return (
        `anomalies of ${who} that start during the change or within 30 minutes of it page with a ` +
        'recommendation to roll it back, and are not mitigated automatically'
      );
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
