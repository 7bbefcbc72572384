/**
 * Irregular spacing: smoothing weights are defined per nominal interval (the series' typical
 * spacing, learned), so a gap of k intervals counts as k steps and a burst as a fraction of one.
 */
import { clamp } from './numeric.js';

/** Gaps longer than this many nominal intervals count as this many. */
const MAX_STEPS = 288;
const MIN_STEPS = 0.05;
/** How fast the typical spacing follows the observed one. */
const SPACING_ALPHA = 0.05;

export interface Step {
  /** Nominal intervals since the previous point (1 for duplicates / out-of-order points). */
  readonly k: number;
  /** Updated typical spacing, ms (0 while unknown). */
  readonly typicalMs: number;
}

export function stepFrom(typicalMs: number, gapMs: number): Step {
  if (!(gapMs > 0)) return { k: 1, typicalMs };
  if (!(typicalMs > 0)) return { k: 1, typicalMs: gapMs };
  const k = clamp(gapMs / typicalMs, MIN_STEPS, MAX_STEPS);
  // A single long gap or burst must not redefine "typical": clip what it can teach.
  const seen = clamp(gapMs, typicalMs / 4, typicalMs * 4);
  return { k, typicalMs: typicalMs + SPACING_ALPHA * (seen - typicalMs) };
}

/**
 * `points`, but never more than `maxMs` of event time at the typical spacing: counts chosen for
 * minute or 5-minute data would otherwise last weeks on hourly data. `maxMs` 0 or an unknown
 * spacing leave `points` as they are.
 */
export function pointsWithin(points: number, maxMs: number, typicalMs: number): number {
  return maxMs > 0 && typicalMs > 0 ? Math.min(points, Math.ceil(maxMs / typicalMs)) : points;
}
