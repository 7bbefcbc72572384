/**
 * The seed's residual rule: robust z of the residual against the recent residuals (median and
 * MAD) and IQR fences (Q1 − k·IQR, Q3 + k·IQR), in the signal's bad direction. Both rules are
 * mapped onto one "effective z" on which zThreshold is the boundary of either, which also
 * gives the band of values that are not out of band.
 */
import type { BadDirection } from '../signals.js';
import { finiteOr } from './numeric.js';
import { IQR_TO_SIGMA, MAD_TO_SIGMA, spreadOf } from './robust-stats.js';

export interface ResidualJudgement {
  /** Signed robust z: (residual − median) / (1.4826·MAD), positive above expectation. */
  readonly z: number;
  /** Effective z in the bad direction (max of the z rule and the fence rule, scaled). */
  readonly zBad: number;
  /** z ≥ zThreshold or outside the IQR fence, in the bad direction. */
  readonly outOfBand: boolean;
  /** Median of the recent residuals (the baseline's current bias). */
  readonly median: number;
  /** Residual scale actually used (MAD-based, floored). */
  readonly scale: number;
  /** Offsets from the expectation bounding the band (lo < 0 < hi, typically). */
  readonly bandLo: number;
  readonly bandHi: number;
}

export function judgeResidual(
  recent: readonly number[],
  residual: number,
  floor: number,
  direction: BadDirection,
  zThreshold: number,
  iqrK: number,
): ResidualJudgement {
  const spread = spreadOf(recent);
  const scale = Math.max(MAD_TO_SIGMA * spread.mad, floor);
  const iqr = Math.max(spread.q3 - spread.q1, floor / IQR_TO_SIGMA);
  const dev = residual - spread.median;
  const z = dev / scale;
  const fenceUp = spread.q3 - spread.median + iqrK * iqr;
  const fenceDown = spread.median - spread.q1 + iqrK * iqr;
  const zUp = Math.max(z, (zThreshold * dev) / fenceUp);
  const zDown = Math.max(-z, (-zThreshold * dev) / fenceDown);
  const zBad = finiteOr(direction === 'up' ? zUp : direction === 'down' ? zDown : Math.max(zUp, zDown), 0);
  return {
    z: finiteOr(z, 0),
    zBad,
    outOfBand: zBad >= zThreshold,
    median: spread.median,
    scale,
    bandLo: spread.median - Math.min(fenceDown, zThreshold * scale),
    bandHi: spread.median + Math.min(fenceUp, zThreshold * scale),
  };
}
