/**
 * Density of exceedances: how often a residual stands out from its neighbours by more than a
 * slowly learned high quantile of such local deviations. A series whose spikes or noise become
 * more frequent or larger for hours need not break any single record, but the share of points
 * beyond that quantile over the last few dozen points rises beyond every share it has had.
 *
 * Bounded: one threshold, one fast rate and a four-number envelope of that rate. The threshold
 * follows the recent residuals' quantile with a time constant of a day.
 */
import type { BadDirection } from '../signals.js';
import { stepWeight } from './numeric.js';

/** Median of three. */
function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

/**
 * How far a residual stands out from its own neighbourhood (the median of it and the two before)
 * on the bad side (both: either side). A lone spike stands out by its size; a level change only
 * at its first point; a trend or the baseline's catch-up after a shift hardly at all.
 */
export function localDeviation(before2: number, before1: number, residual: number, direction: BadDirection): number {
  const d = residual - median3(before2, before1, residual);
  return direction === 'up' ? d : direction === 'down' ? -d : Math.abs(d);
}

/** A point stands out only by more than this many times the median local deviation. */
const TYPICAL_MULTIPLE = 3;

/**
 * The `1 − share` quantile of the local deviations of the `recent` residuals, but at least
 * three times their median size: what the threshold follows (slowly, so that a burst of
 * exceedances does not raise it at once). The floor matters where most points are alike (an
 * intermittent series at rest, whose residuals creep by a tiny step each point).
 */
export function exceedanceQuantile(recent: readonly number[], direction: BadDirection, share: number): number {
  const n = recent.length - 2;
  if (n <= 0) return 0;
  if (scratch.length < n) scratch = new Float64Array(2 * n);
  const devs = scratch.subarray(0, n);
  for (let i = 0; i < n; i++)
    devs[i] = localDeviation(recent[i] as number, recent[i + 1] as number, recent[i + 2] as number, direction);
  devs.sort();
  const quantile = devs[Math.min(n - 1, Math.max(0, Math.ceil((1 - share) * n) - 1))] as number;
  for (let i = 0; i < n; i++) devs[i] = Math.abs(devs[i] as number);
  devs.sort();
  return Math.max(quantile, TYPICAL_MULTIPLE * (devs[n >> 1] as number));
}

/** Reused sort buffer (typed arrays sort numerically, without allocating per point). */
let scratch = new Float64Array(128);

/** Fast share of exceedances: an EWMA over about `points` points. */
export function nextRate(rate: number, exceeded: boolean, points: number, k = 1): number {
  return rate + stepWeight(1 / points, Math.min(k, 4)) * ((exceeded ? 1 : 0) - rate);
}
