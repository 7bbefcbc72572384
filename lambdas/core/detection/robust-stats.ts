/** Order statistics of a small sample: median, quartiles and the median absolute deviation. */

export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  /** Median absolute deviation from the median (unscaled). */
  readonly mad: number;
}

/** Gaussian-consistent scale factor for the MAD. */
export const MAD_TO_SIGMA = 1.4826;
/** Gaussian-consistent scale factor for the IQR. */
export const IQR_TO_SIGMA = 1 / 1.349;

const EMPTY: Spread = { median: 0, q1: 0, q3: 0, mad: 0 };
// Scratch space: the detector is synchronous, so one buffer serves every call (no garbage).
let scratch = new Float64Array(128);

/** Quantile of an ascending-sorted array, linear interpolation between order statistics. */
export function sortedQuantile(sorted: ArrayLike<number>, p: number, n = sorted.length): number {
  if (n === 0) return 0;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, n - 1)] as number;
  return a + (h - lo) * (b - a);
}

export function spreadOf(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return EMPTY;
  if (scratch.length < n) scratch = new Float64Array(2 * n);
  const sorted = scratch.subarray(0, n);
  for (let i = 0; i < n; i++) sorted[i] = values[i] as number;
  sorted.sort();
  const median = sortedQuantile(sorted, 0.5, n);
  return {
    median,
    q1: sortedQuantile(sorted, 0.25, n),
    q3: sortedQuantile(sorted, 0.75, n),
    mad: medianDeviation(sorted, n, median),
  };
}

/**
 * Median of |x − median| over an ascending-sorted sample, in O(n): the deviations grow
 * outward from the median on both sides, so the two runs are merged up to the middle.
 */
function medianDeviation(sorted: Float64Array, n: number, median: number): number {
  let left = 0;
  while (left < n && (sorted[left] as number) < median) left++;
  let l = left - 1; // walks down: deviations median − x, increasing
  let r = left; // walks up: deviations x − median, increasing
  const h = (n - 1) / 2;
  const lo = Math.floor(h);
  let prev = 0;
  for (let k = 0; k <= lo + 1 && k < n; k++) {
    const dl = l >= 0 ? median - (sorted[l] as number) : Number.POSITIVE_INFINITY;
    const dr = r < n ? (sorted[r] as number) - median : Number.POSITIVE_INFINITY;
    const d = Math.min(dl, dr);
    if (dl < dr) l--;
    else r++;
    if (k === lo) {
      if (h === lo || k + 1 >= n) return d;
      prev = d;
    } else if (k === lo + 1) return prev + (h - lo) * (d - prev);
  }
  return prev;
}
