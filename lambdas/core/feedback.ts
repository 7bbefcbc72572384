import type { Anomaly } from './anomaly.js';
import { DEFAULT_TRIGGER_SETTINGS } from './episodes.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './time.js';

/**
 * Operator feedback on an anomaly (POST /v1/anomaly/feedback, issue 20): verdicts, their effect on paging, precision.
 */

export const VERDICTS = ['true_positive', 'false_positive', 'expected'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One verdict as stored: feedback never overwrites or deletes, a changed verdict is a new entry. */
export interface FeedbackEntry {
  /** The anomaly's episode key (`<tenant>#<signal>@<start minute>Z`). */
  anomaly: string;
  /** The anomaly's key (`<tenant>#<signal>`), whose sensitivity a false positive lowers. */
  key: string;
  tenant: string;
  signal: string;
  verdict: Verdict;
  /** The caller's IAM principal (`local` on the local runtime). */
  by: string;
  /** When the verdict was given (ms). */
  at: number;
  note?: string;
}

/**
 * The false-positive rule: for `windowMs` after a false-positive verdict on one of a key's
 * anomalies, an anomaly of that key pages only if its confidence (peak score) reaches
 * `baseConfidence` + `raisePerFalsePositive` per such anomaly (at most `maxRaise` more), and always
 * when it reaches `alwaysPagesAt`. Defaults: high confidence (0.8) + 0.1 per false positive in the
 * last 7 days, so one needs 0.9 and two or more need 0.95. Only an anomaly's latest verdict counts;
 * a key without false positives pages as before. A held-back anomaly is still stored (`suppressed`).
 */
export interface FeedbackRule {
  windowMs: number;
  raisePerFalsePositive: number;
  maxRaise: number;
  baseConfidence: number;
  alwaysPagesAt: number;
}

export const FEEDBACK_RULE: FeedbackRule = Object.freeze({
  windowMs: 7 * DAY_MS,
  raisePerFalsePositive: 0.1,
  maxRaise: 0.3,
  baseConfidence: DEFAULT_TRIGGER_SETTINGS.highConfidence,
  alwaysPagesAt: 0.95,
});

/** Each anomaly's latest verdict (a changed verdict supersedes the earlier ones). */
export function latestVerdicts(entries: readonly FeedbackEntry[]): Map<string, FeedbackEntry> {
  const latest = new Map<string, FeedbackEntry>();
  for (const e of [...entries].sort((a, b) => a.at - b.at)) latest.set(e.anomaly, e);
  return latest;
}

/** What storing `verdict` for an anomaly with this history does: nothing when it is already its latest verdict. */
export function feedbackOutcome(history: readonly FeedbackEntry[], anomaly: string, verdict: Verdict) {
  const previous = latestVerdicts(history).get(anomaly);
  if (previous?.verdict === verdict) return { outcome: 'unchanged' as const, previous };
  return { outcome: previous ? ('changed' as const) : ('recorded' as const), ...(previous && { previous }) };
}

export interface Sensitivity {
  /** Anomalies of the key whose latest verdict, given in the window before `at`, is false_positive. */
  falsePositives: string[];
  /** How much more confidence the key needs to page. */
  raise: number;
  /** The confidence it needs to page: base + raise, at most `alwaysPagesAt`. */
  required: number;
}

/**
 * How much less sensitive a key is at `at`, from its verdicts (any older than the window are ignored).
 *
 * @example
 * const s = keySensitivity(verdicts, anomaly.detectedAt);
 * s.required; // with false positives in the last 7 days: 0.9 for one, 0.95 for two or more
 */
export function keySensitivity(
  verdicts: readonly FeedbackEntry[],
  at: number,
  rule: FeedbackRule = FEEDBACK_RULE,
): Sensitivity {
  const inWindow = verdicts.filter((v) => v.at <= at && v.at > at - rule.windowMs);
  const falsePositives = [...latestVerdicts(inWindow).values()]
    .filter((v) => v.verdict === 'false_positive')
    .map((v) => v.anomaly)
    .sort();
  const raise = Math.min(rule.maxRaise, round(falsePositives.length * rule.raisePerFalsePositive));
  return { falsePositives, raise, required: Math.min(rule.alwaysPagesAt, round(rule.baseConfidence + raise)) };
}

/** Whether the feedback rule can hold back this anomaly's page at all: if not, nothing needs reading. */
export function feedbackMayHoldBack(anomaly: Pick<Anomaly, 'decision' | 'score'>, rule = FEEDBACK_RULE): boolean {
  return anomaly.decision !== 'suppressed' && anomaly.score < rule.alwaysPagesAt;
}

/**
 * The paging decision with the key's feedback applied at `at` (when the verdicts were read, on the
 * clock they were given by): an anomaly whose confidence is below what the key's recent false positives require is
 * stored but does not page (decision `suppressed`, with the
 * reason in its recommendation and evidence). Otherwise it is returned unchanged.
 *
 * @example
 * const verdicts = await feedback.givenBetween(a.key, now - FEEDBACK_RULE.windowMs, now);
 * const decided = applyFeedback(a, verdicts, now); // decided.decision === 'suppressed' when held back
 */
export function applyFeedback(
  anomaly: Anomaly,
  verdicts: readonly FeedbackEntry[],
  at: number = anomaly.detectedAt,
  rule: FeedbackRule = FEEDBACK_RULE,
): Anomaly {
  if (!feedbackMayHoldBack(anomaly, rule)) return anomaly;
  const s = keySensitivity(verdicts, at, rule);
  if (!s.falsePositives.length || anomaly.score >= s.required) return anomaly;
  const days = rule.windowMs / DAY_MS;
  const why =
    `${s.falsePositives.length} false-positive verdict(s) on ${anomaly.key} in the last ${days} days raise ` +
    `the confidence it needs to page to ${s.required}; this one has ${anomaly.score}`;
  return {
    ...anomaly,
    decision: 'suppressed',
    severity: 'SEV4',
    recommendation: `held back by operator feedback: ${why}`,
    evidence: [...anomaly.evidence, `feedback: ${why}`],
  };
}

/** What POST /v1/anomaly/feedback answers for `expected`: the request that would declare it, not sent. */
export interface SuggestedRequest {
  route: 'POST /v1/anomaly/policy/whitelist' | 'POST /v1/anomaly/changes';
  body: Record<string, unknown>;
}

/** The whitelist route takes at most 31 days, the changes route 14; both refuse a window that has ended. */
const MAX_SUGGESTED_MS = 14 * DAY_MS;

/**
 * The anomaly's span (start to recovery, or to now while it runs), extended to an hour from now when it
 * has already ended (both routes refuse windows in the past), at most 14 days.
 */
export function anomalySpan(a: Pick<Anomaly, 'start'> & { recoveredAt?: number }, now: number) {
  const end = a.recoveredAt ?? now;
  const to = Math.ceil(Math.max(end, now + HOUR_MS) / MINUTE_MS) * MINUTE_MS;
  const from = Math.max(a.start, to - MAX_SUGGESTED_MS);
  return { from, to, extended: to > end };
}

/**
 * For an `expected` verdict: a tenant surge (class `tenant`, a campaign) → a whitelist window (soft
 * mitigation only); anything else → a maintenance change window (no page inside it). The other is
 * given as the alternative.
 */
export function suggestForExpected(
  a: Pick<Anomaly, 'id' | 'tenant' | 'class' | 'start' | 'region'> & { recoveredAt?: number },
  now: number,
): { suggested: SuggestedRequest; alternative: SuggestedRequest; span: { from: string; to: string } } {
  const span = anomalySpan(a, now);
  const iso = (ms: number) => new Date(ms).toISOString();
  const whitelist: SuggestedRequest = {
    route: 'POST /v1/anomaly/policy/whitelist',
    body: {
      tenant: a.tenant,
      window: { from: iso(span.from), to: iso(span.to) },
      reason: `expected: ${a.id}`.slice(0, 256),
    },
  };
  const change: SuggestedRequest = {
    route: 'POST /v1/anomaly/changes',
    body: {
      id: `expected-${a.id}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128),
      ts: iso(span.from),
      tenant: a.tenant,
      change: 'maintenance',
      until: iso(span.to),
      ...(a.region !== undefined && { region: a.region }),
      title: `expected behaviour (${a.id})`.slice(0, 512),
    },
  };
  const campaign = a.class === 'tenant';
  return {
    suggested: campaign ? whitelist : change,
    alternative: campaign ? change : whitelist,
    span: { from: iso(span.from), to: iso(span.to) },
  };
}

/** One row of replay's precision.json. */
export interface PrecisionRow {
  tenant: string;
  signal: string;
  /** Episodes that paged (not suppressed). */
  alerts: number;
  truePositive: number;
  falsePositive: number;
  expected: number;
  /**
   * truePositive / (truePositive + falsePositive + expected) over the paged episodes with a verdict; null without any.
   */
  precision: number | null;
}

/**
 * Precision per tenant and signal from the episodes a replay paged and the verdicts its input carried
 * (each episode's last verdict counts; verdicts on episodes that did not page are `unmatched`).
 *
 * @example
 * const { byTenantSignal } = precisionByTenantSignal(pagedAnomalies, [{ key: 'acme#cqs_p95@2026-11-22T10:00Z',
 * verdict: 'false_positive' }]);
 */
export function precisionByTenantSignal(
  alerts: readonly Pick<Anomaly, 'id' | 'tenant' | 'signal' | 'decision'>[],
  verdicts: readonly { key: string; verdict: Verdict }[],
): { byTenantSignal: PrecisionRow[]; verdicts: number; unmatched: string[] } {
  const last = new Map<string, Verdict>();
  for (const v of verdicts) last.set(v.key, v.verdict);
  const rows = new Map<string, PrecisionRow>();
  const paged = new Set<string>();
  for (const a of alerts) {
    if (a.decision === 'suppressed') continue;
    paged.add(a.id);
    const id = `${a.tenant}\u0000${a.signal}`;
    const row = rows.get(id) ?? {
      tenant: a.tenant,
      signal: a.signal,
      alerts: 0,
      truePositive: 0,
      falsePositive: 0,
      expected: 0,
      precision: null,
    };
    row.alerts++;
    const v = last.get(a.id);
    if (v === 'true_positive') row.truePositive++;
    else if (v === 'false_positive') row.falsePositive++;
    else if (v === 'expected') row.expected++;
    rows.set(id, row);
  }
  for (const row of rows.values()) {
    const judged = row.truePositive + row.falsePositive + row.expected;
    row.precision = judged ? Number((row.truePositive / judged).toFixed(4)) : null;
  }
  const byTenantSignal = [...rows.values()].sort(
    (a, b) => a.tenant.localeCompare(b.tenant) || a.signal.localeCompare(b.signal),
  );
  return { byTenantSignal, verdicts: last.size, unmatched: [...last.keys()].filter((k) => !paged.has(k)).sort() };
}

function round(v: number): number {
  return Number(v.toFixed(6));
}
