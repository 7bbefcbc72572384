/** Order statistics of a small sample: median, quartiles and the median absolute deviation. */

export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  /** Median absolute deviation from the median (unscaled). */
  readonly mad: number;
}

const EMPTY: Spread = { median: 0, q1: 0, q3: 0, mad: 0 };

/** Quantile of an ascending-sorted array, linear interpolation between order statistics. */
export function sortedQuantile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, n - 1)] as number;
  return a + (h - lo) * (b - a);
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) return EMPTY;
  const sorted = Float64Array.from(values).sort();
  const arr = sorted as unknown as readonly number[];
  const median = sortedQuantile(arr, 0.5);
  const dev = sorted.map((v) => Math.abs(v - median)).sort();
  return {
    median,
    q1: sortedQuantile(arr, 0.25),
    q3: sortedQuantile(arr, 0.75),
    mad: sortedQuantile(dev as unknown as readonly number[], 0.5),
  };
}

/** Gaussian-consistent scale factor for the MAD. */
export const MAD_TO_SIGMA = 1.4826;
/** Gaussian-consistent scale factor for the IQR. */
export const IQR_TO_SIGMA = 1 / 1.349;
