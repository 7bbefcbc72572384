import { signalSpec } from '../signals.js';
import { DAY_MS, MINUTE_MS } from '../time.js';
import {
  STABLE_MINUTES,
  badSign,
  minuteExcess,
  preActionRate,
  round6,
  volumeWeighted,
  type ExcessPoint,
} from './figures.js';
import { clock, iso, minuteOf, pct, plural, round, usd, withUnit } from './format.js';
import type { ControlTarget, CostCorrection } from './model.js';

/**
 * Seed 004 §F, the measurable control targets of a mitigation:
 *
 * - control performance: within 10 min of the mitigation, `cqs_p95` −20 % or edge p95 ≤ 300 ms;
 * - billing protection: where the forecast overage is ≥ +20 %, the 24 h cost corrected by ≤ −15 %.
 *
 * Pure: data in, data out. Both are read from the minute series the episode report is built from.
 */

/** "Within 10 min": the minute that starts this long after the first action's minute. */
export const CONTROL_WINDOW_MINUTES = 10;
/** The relative target: this share of the value at detection, toward the good side. */
export const RELATIVE_TARGET_PERCENT = 20;
/** Signals with an absolute target (seed 004 §F: edge p95 ≤ 300 ms). */
export const ABSOLUTE_TARGETS: Readonly<Record<string, number>> = { edge_p95_ms: 300 };
/** The cost correction applies from this forecast overage (percent)… */
export const OVERAGE_THRESHOLD_PERCENT = 20;
/** …and is met when the 24 h cost changed by this much or more (percent). */
export const COST_CORRECTION_TARGET_PERCENT = -15;
export const CORRECTION_WINDOW_MINUTES = DAY_MS / MINUTE_MS;

export const CONTROL_TARGET_METHOD =
  `Seed 004 §F: within ${CONTROL_WINDOW_MINUTES} min of the mitigation, cqs_p95 −${RELATIVE_TARGET_PERCENT}% or ` +
  `edge p95 ≤ ${ABSOLUTE_TARGETS.edge_p95_ms} ms. The value read is that of the minute that starts ` +
  `${CONTROL_WINDOW_MINUTES} min after the first applied action's minute (when that minute has no data, the latest ` +
  'minute with data before it, never one before the action), not the best minute by then: a minute that dips and ' +
  'bounces back is not a recovery. Edge p95 is met at or under 300 ms. Every other signal (cqs_p95, and the cost ' +
  'and latency signals the seed gives no absolute target for) is met when it moved 20% of its value at detection ' +
  'toward the good side (down for a signal whose rise is bad, up for one whose fall is bad), or is back at its ' +
  'expected value when that is nearer (a spike under +25% cannot fall 20% without undershooting its baseline).';

export interface ControlTargetInput {
  signal: string;
  /** The anomaly at detection: the detector's expected value and the observed value it alerted on. */
  expected: number;
  observed: number;
  /** When the first action was applied (epoch ms): its minute is +0. */
  firstActionAt: number;
  /** The signal's minutes, any order: those from the first action's minute to +10 are read. */
  points: readonly { ts: number; observed: number }[];
}

/**
 * Whether the mitigation met the 10-minute control target of seed 004 §F.
 *
 * @example
 * // The seed's KR search-cost spike: 0.0056 at detection, soft stage at 10:04, 0.0042 at 10:14.
 * evaluateControlTarget({ signal: 'cqs_p95', expected: 0.0037, observed: 0.0056, firstActionAt, points });
 * // → { met: true, before: 0.0056, after: { value: 0.0042, minute: 10, … }, changePercent: -25, … }
 */
export function evaluateControlTarget(input: ControlTargetInput): ControlTarget {
  const spec = signalSpec(input.signal);
  const before = input.observed;
  const absolute = ABSOLUTE_TARGETS[input.signal];
  const sign = absolute !== undefined ? 1 : badSign(spec.bad, input);
  const comparison = sign > 0 ? 'at-most' : 'at-least';
  const unit = (v: number) => withUnit(v, spec.unit);
  let value: number;
  let text: string;
  if (absolute !== undefined) {
    value = absolute;
    text = `≤ ${unit(absolute)} (seed 004 §F: edge p95 ≤ ${absolute} ms)`;
  } else {
    const moved = before - (sign * RELATIVE_TARGET_PERCENT * Math.abs(before)) / 100;
    const nearer = sign > 0 ? Math.max(moved, input.expected) : Math.min(moved, input.expected);
    value = round6(nearer);
    const op = sign > 0 ? '≤' : '≥';
    text =
      nearer === moved
        ? `${op} ${unit(value)} (${RELATIVE_TARGET_PERCENT}% ${sign > 0 ? 'below' : 'above'} ${unit(before)} at ` +
          'detection)'
        : `${op} ${unit(value)} (back at its expected value: ${RELATIVE_TARGET_PERCENT}% ` +
          `${sign > 0 ? 'below' : 'above'} ${unit(before)} would overshoot it)`;
  }
  const within = (v: number) => (sign > 0 ? v <= value : v >= value);

  const from = minuteOf(input.firstActionAt);
  const mark = from + CONTROL_WINDOW_MINUTES * MINUTE_MS;
  const points = [...input.points]
    .filter((p) => Number.isFinite(p.ts) && Number.isFinite(p.observed))
    .sort((a, b) => a.ts - b.ts);
  const window = points.filter((p) => p.ts >= from && p.ts <= mark);
  const reachesMark = points.some((p) => p.ts >= mark);
  const read = reachesMark ? window[window.length - 1] : undefined;
  const first = window.find((p) => within(p.observed));
  const minuteOfAction = (ts: number) => Math.round((ts - from) / MINUTE_MS);

  const out: ControlTarget = {
    signal: input.signal,
    rule: absolute !== undefined ? 'absolute' : 'relative',
    target: { comparison, value, text },
    before,
    after: read ? { value: read.observed, at: iso(read.ts), minute: minuteOfAction(read.ts) } : null,
    changePercent: read && before !== 0 ? round(((read.observed - before) / Math.abs(before)) * 100, 1) : null,
    met: read ? within(read.observed) : null,
    firstMet: first ? { at: iso(first.ts), minute: minuteOfAction(first.ts) } : null,
    verdict: !read ? 'not judged' : within(read.observed) ? 'met' : 'missed',
    description: '',
    method: CONTROL_TARGET_METHOD,
  };
  if (!read) {
    const last = points[points.length - 1];
    out.reason = !reachesMark
      ? last === undefined
        ? 'no minute data'
        : `the data ends at ${clock(last.ts, from)}, before the ${CONTROL_WINDOW_MINUTES}-minute mark ` +
          `(${clock(mark, last.ts)})`
      : `no minute with data from the first action's minute (${clock(from)}) to the ` +
        `${CONTROL_WINDOW_MINUTES}-minute mark`;
  }
  out.description = describeControlTarget(out, from, unit);
  return out;
}

function describeControlTarget(t: ControlTarget, from: number, unit: (v: number) => string): string {
  if (t.met === null || !t.after) return t.reason ?? 'no value at the mark';
  const mark =
    t.after.minute === CONTROL_WINDOW_MINUTES
      ? `${CONTROL_WINDOW_MINUTES} min after the first action's minute (${clock(from, from)})`
      : `${t.after.minute} min after the first action's minute (${clock(from, from)}; the ` +
        `${CONTROL_WINDOW_MINUTES}-minute mark has no data)`;
  const first =
    t.firstMet === null
      ? `; no minute up to the mark was within it`
      : t.met
        ? `; first within it at ${clock(t.firstMet.at, from)} (+${t.firstMet.minute} min)`
        : `; it was within it at ${clock(t.firstMet.at, from)} (+${t.firstMet.minute} min) but not at the mark`;
  return (
    `${t.signal} was ${unit(t.after.value)} at ${clock(t.after.at, from)}, ${mark}: ` +
    `${pct(t.changePercent, 1)} from ${unit(t.before)} at detection; target ${t.target.text}${first}`
  );
}

export interface CostCorrectionInput {
  signal: string;
  /**
   * The signal's minutes with their expected value filled in (`normaliseSeries`), any order; `volume` on every
   * minute weights the amounts into dollars.
   */
  points: readonly ExcessPoint[];
  /** The anomaly's first minute. */
  start: number;
  /** When the first action was applied (epoch ms). */
  firstActionAt: number;
}

export const COST_CORRECTION_METHOD =
  `Seed 004 §F: for a cost episode whose forecast overage is ≥ +${OVERAGE_THRESHOLD_PERCENT}%, the 24 h cost is ` +
  `corrected by at least ${-COST_CORRECTION_TARGET_PERCENT}%. Forecast overage = observed against expected (the ` +
  "detector's forecast) summed over the episode's minutes before the first action: the overage the forecast saw " +
  'before anything acted (the minutes after it would let a fast mitigation take its own case out of scope). 24 h ' +
  "cost = the cost of the 24 h from the first action's minute: each minute's observed value where there is data, " +
  'and for every minute without data the mean forecast of the measured minutes plus the excess of the last ' +
  `${STABLE_MINUTES} measured minutes (never below zero). Unmitigated path = the same 24 h at the forecast plus the ` +
  "mean pre-action excess per minute (the rate the episode's savings estimate projects), held for the whole 24 h. " +
  `Met when the 24 h cost is at least ${-COST_CORRECTION_TARGET_PERCENT}% below the unmitigated path.`;

/**
 * Whether the mitigation corrected the 24 h cost of a cost episode as seed 004 §F asks; not applicable to a signal
 * that is not a cost or below a +20 % forecast overage.
 *
 * @example
 * // The seed's spike, 12,000 queries a minute: +48 % over the forecast before the action; −32.2 % over 24 h.
 * evaluateCostCorrection({ signal: 'cqs_p95', points, start: T0, firstActionAt });
 * // → { applicable: true, forecastOveragePercent: 48, changePercent: -32.2, met: true, … }
 */
export function evaluateCostCorrection(input: CostCorrectionInput): CostCorrection {
  const spec = signalSpec(input.signal);
  const from = minuteOf(input.firstActionAt);
  const to = from + CORRECTION_WINDOW_MINUTES * MINUTE_MS;
  const start = minuteOf(input.start);
  const points = [...input.points]
    .filter((p) => Number.isFinite(p.ts) && Number.isFinite(p.observed) && Number.isFinite(p.expected))
    .sort((a, b) => a.ts - b.ts);
  const used = points.filter((p) => p.ts >= start && p.ts < to);
  const cost = spec.category === 'cost';
  const weighted = volumeWeighted(used, cost);
  const w = (p: ExcessPoint) => (weighted ? p.volume! : 1);
  const out: CostCorrection = {
    signal: input.signal,
    applicable: false,
    forecastOveragePercent: null,
    thresholdPercent: OVERAGE_THRESHOLD_PERCENT,
    targetPercent: COST_CORRECTION_TARGET_PERCENT,
    window: null,
    unmitigated: null,
    actual: null,
    saved: null,
    changePercent: null,
    met: null,
    weighted,
    currency: 'USD',
    verdict: 'not applicable',
    description: '',
    method: COST_CORRECTION_METHOD,
    assumptions: correctionAssumptions(input.signal, spec.unit, weighted),
  };
  const done = (reason: string) => {
    out.reason = reason;
    if (out.applicable) out.verdict = 'not judged';
    out.description = describeCostCorrection(out);
    return out;
  };
  if (!cost) return done(`${input.signal} is not a cost signal`);

  const before = used.filter((p) => p.ts < from);
  const forecastBefore = before.reduce((s, p) => s + p.expected * w(p), 0);
  if (!before.length || forecastBefore <= 0)
    return done('no minute with data and a forecast before the first action: no forecast overage');
  const observedBefore = before.reduce((s, p) => s + p.observed * w(p), 0);
  out.forecastOveragePercent = round(((observedBefore - forecastBefore) / forecastBefore) * 100, 1);
  if (out.forecastOveragePercent < OVERAGE_THRESHOLD_PERCENT)
    return done(`forecast overage ${pct(out.forecastOveragePercent, 1)} is under +${OVERAGE_THRESHOLD_PERCENT}%`);
  out.applicable = true;

  const measured = used.filter((p) => p.ts >= from);
  if (!measured.length) return done("no minute with data from the first action's minute on");
  const pre = preActionRate(used, { start, firstAction: from, sign: 1, weighted })!;
  const tail = measured.slice(-STABLE_MINUTES);
  const tailExcess = Math.max(0, tail.reduce((s, p) => s + minuteExcess(p, 1, weighted), 0) / tail.length);
  const meanForecast = measured.reduce((s, p) => s + p.expected * w(p), 0) / measured.length;
  const projectedMinutes = CORRECTION_WINDOW_MINUTES - measured.length;
  const forecast = measured.reduce((s, p) => s + p.expected * w(p), 0) + projectedMinutes * meanForecast;
  const unmitigated = forecast + CORRECTION_WINDOW_MINUTES * pre.rate;
  const actual = measured.reduce((s, p) => s + p.observed * w(p), 0) + projectedMinutes * (meanForecast + tailExcess);
  out.window = { from: iso(from), to: iso(to), measuredMinutes: measured.length, projectedMinutes };
  out.unmitigated = round6(unmitigated);
  out.actual = round6(actual);
  out.saved = round6(unmitigated - actual);
  if (unmitigated <= 0) return done('the unmitigated 24 h cost is not positive');
  out.changePercent = round(((actual - unmitigated) / unmitigated) * 100, 1);
  out.met = out.changePercent <= COST_CORRECTION_TARGET_PERCENT;
  out.verdict = out.met ? 'met' : 'missed';
  out.description = describeCostCorrection(out);
  return out;
}

function describeCostCorrection(c: CostCorrection): string {
  if (!c.applicable) return c.reason ?? `forecast overage under +${c.thresholdPercent}%`;
  const overage = `forecast overage ${pct(c.forecastOveragePercent, 1)} before the first action`;
  if (c.met === null || !c.window || c.unmitigated === null || c.actual === null)
    return `${overage}; ${c.reason ?? 'no 24 h figures'}`;
  return (
    `${overage} (≥ +${c.thresholdPercent}%: it applies); the 24 h from ` +
    `${clock(c.window.from)} cost ${usd(c.actual)} against ${usd(c.unmitigated)} had the pre-action excess gone on ` +
    `for the 24 h: ` +
    `${pct(c.changePercent, 1)} (target ≤ ${pct(c.targetPercent)}), ${usd(c.saved ?? 0)} saved; ` +
    `${plural(c.window.measuredMinutes, 'minute')} measured, ${plural(c.window.projectedMinutes, 'minute')} ` +
    `without data projected`
  );
}

function correctionAssumptions(signal: string, unit: string, weighted: boolean): string[] {
  return [
    'Without the mitigation the pre-action excess would have gone on for the whole 24 h: an upper bound, a spike can ' +
      'end by itself; the +20% / −15% pair fits this reading (removing all of a +20% overage is −16.7%).',
    'Minutes after the data ends cost the mean forecast of the measured minutes plus the excess of the last measured ' +
      'minutes; running under the forecast is not carried forward.',
    weighted
      ? `Each minute's ${signal} is multiplied by that minute's volume: dollars spent.`
      : `${signal} is a per-unit cost (${unit}): each minute counts as one unit's worth of spend; supply per-minute ` +
        'volume in the series to scale it to total dollars.',
  ];
}
