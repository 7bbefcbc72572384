import { signalSpec, type BadDirection } from '../signals.js';
import { MINUTE_MS } from '../time.js';

/**
 * The regression check after an observation period (seed 004 §I: 15 and 60 min after mitigation).
 * Seed §F control target: within 10 min `cqs_p95` −20 %, or edge p95 ≤ 300 ms.
 */

/**
 * One reading of a signal: the last minute's mean and what the detector expected then (a
 * `MinuteScore` of the consumer fits as is).
 */
export interface SignalSnapshot {
  ts: number;
  observed: number;
  expected: number;
  band?: { lo: number; hi: number };
}

export interface RecoveryCriteria {
  bad: BadDirection;
  /** Relative move of the observed value against the bad direction that counts as recovered (seed: 0.2). */
  minImprovement: number;
  /**
   * ...provided at least this share of the excess over the expected value is gone. 0 gives the bare
   * seed rule; the default 0.5 keeps a 10x surge cut to 8x from counting as recovered.
   */
  minExcessRemoved: number;
  /** A relative move below this is noise: not even improving. */
  noise: number;
  /** An absolute level at or past which (in the good direction) the signal has recovered. */
  target?: number;
}

/** Seed §F absolute targets. */
export const RECOVERY_TARGETS: Readonly<Record<string, number>> = { edge_p95_ms: 300 };

export const DEFAULT_RECOVERY: Omit<RecoveryCriteria, 'bad'> = {
  minImprovement: 0.2,
  minExcessRemoved: 0.5,
  noise: 0.05,
};

/** The criteria for a known signal: its bad direction, the defaults, and its seed target if any. */
export function recoveryCriteria(signal: string, over: Partial<RecoveryCriteria> = {}): RecoveryCriteria {
  const c: RecoveryCriteria = { bad: signalSpec(signal).bad, ...DEFAULT_RECOVERY };
  const target = RECOVERY_TARGETS[signal];
  if (target !== undefined) c.target = target;
  return { ...c, ...over };
}

export type RegressionOutcome = 'recovered' | 'improving' | 'not-recovered';

export interface RegressionAssessment {
  outcome: RegressionOutcome;
  /** The direction judged: a `both` signal takes the side it was on at mitigation start. */
  direction: 'up' | 'down';
  before: SignalSnapshot;
  after: SignalSnapshot;
  /** Relative move of the observed value in the good direction (0.27 = 27 % better; negative = worse). */
  improvement: number;
  /** Share of the excess over the expected value that is gone (1 = none left). */
  excessRemoved: number;
  /** The observed value is back on the good side of the expected band's bad edge. */
  inBand: boolean;
  /** The absolute target was reached (undefined when the signal has none). */
  targetMet?: boolean;
  elapsedMs: number;
  /** One line with the numbers, for the plan history and the report. */
  summary: string;
}

/**
 * Decide whether a mitigated signal recovered. The baseline keeps learning during a long incident
 * and drifts toward the anomalous level, so the expected value and band used are the stricter of
 * the two snapshots': a drifting baseline never declares recovery on its own.
 *
 * @example
 * const before = { ts: anomaly.detectedAt, observed: anomaly.observed, expected: anomaly.expected };
 * const verdict = assessRegression(
 *   before,
 *   { ts: now, observed: latest, expected: anomaly.expected },
 *   recoveryCriteria(anomaly.signal),
 * );
 * verdict.recovered; // true when enough of the excess is gone
 */
export function assessRegression(
  before: SignalSnapshot,
  after: SignalSnapshot,
  criteria: Pick<RecoveryCriteria, 'bad'> & Partial<RecoveryCriteria>,
): RegressionAssessment {
  const c: RecoveryCriteria = { ...DEFAULT_RECOVERY, ...criteria };
  const direction: 'up' | 'down' = c.bad === 'both' ? (before.observed >= before.expected ? 'up' : 'down') : c.bad;
  const sign = direction === 'up' ? 1 : -1;
  const stricter = (a: number, b: number) => (direction === 'up' ? Math.min(a, b) : Math.max(a, b));
  const expected = stricter(before.expected, after.expected);

  const scale = Math.abs(before.observed) || Math.abs(expected);
  const improvement = scale > 0 ? (sign * (before.observed - after.observed)) / scale : 0;
  const excessBefore = sign * (before.observed - expected);
  const excessAfter = Math.max(0, sign * (after.observed - expected));
  const excessRemoved =
    excessBefore > 0 ? Math.min(1, (excessBefore - excessAfter) / excessBefore) : excessAfter === 0 ? 1 : 0;

  const badEdges = [before.band, after.band]
    .filter((b): b is { lo: number; hi: number } => b !== undefined)
    .map((b) => (direction === 'up' ? b.hi : b.lo));
  const edge = badEdges.length ? badEdges.reduce(stricter) : expected;
  const inBand = direction === 'up' ? after.observed <= edge : after.observed >= edge;
  const targetMet =
    c.target === undefined ? undefined : direction === 'up' ? after.observed <= c.target : after.observed >= c.target;

  let outcome: RegressionOutcome;
  if (inBand || targetMet === true || (improvement >= c.minImprovement && excessRemoved >= c.minExcessRemoved))
    outcome = 'recovered';
  else if (improvement >= c.noise) outcome = 'improving';
  else outcome = 'not-recovered';

  const elapsedMs = after.ts - before.ts;
  const parts = [
    `${fmt(before.observed)} → ${fmt(after.observed)} in ${Math.round(elapsedMs / MINUTE_MS)} min`,
    `${Math.abs(Math.round(improvement * 100))}% ${improvement >= 0 ? 'better' : 'worse'}`,
    `${Math.round(excessRemoved * 100)}% of the excess over ${fmt(expected)} gone`,
    inBand ? 'back in band' : `outside the band edge ${fmt(edge)}`,
  ];
  if (targetMet !== undefined)
    parts.push(`target ${direction === 'up' ? '≤' : '≥'} ${fmt(c.target!)} ${targetMet ? 'met' : 'not met'}`);
  const assessment: RegressionAssessment = {
    outcome,
    direction,
    before,
    after,
    improvement,
    excessRemoved,
    inBand,
    elapsedMs,
    summary: parts.join(', '),
  };
  if (targetMet !== undefined) assessment.targetMet = targetMet;
  return assessment;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
