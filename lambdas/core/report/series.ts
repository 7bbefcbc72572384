import type { BadDirection } from '../signals.js';
import type { SeriesPoint } from './model.js';

/** A minute with the stand-ins filled in: what every figure of the report is computed from. */
export interface MinutePoint {
  ts: number;
  observed: number;
  expected: number;
  lo: number;
  hi: number;
  volume?: number;
}

/** The chart stays small: a day of minutes is 1440 points, twice what a 760-px chart can show. */
export const MAX_CHART_POINTS = 720;

/**
 * Sorted by time, one point per timestamp (the last given wins), non-finite values dropped; the
 * anomaly's expected value and band stand in where a point has none.
 */
export function normaliseSeries(
  series: readonly SeriesPoint[],
  fallback: { expected: number; band: { lo: number; hi: number } },
): MinutePoint[] {
  const byTs = new Map<number, SeriesPoint>();
  for (const p of series) if (Number.isFinite(p.ts) && Number.isFinite(p.observed)) byTs.set(p.ts, p);
  return [...byTs.values()]
    .sort((a, b) => a.ts - b.ts)
    .map((p) => {
      const out: MinutePoint = {
        ts: p.ts,
        observed: p.observed,
        expected: finiteOr(p.expected, fallback.expected),
        lo: finiteOr(p.lo ?? p.band?.lo, fallback.band.lo),
        hi: finiteOr(p.hi ?? p.band?.hi, fallback.band.hi),
      };
      if (p.volume !== undefined && Number.isFinite(p.volume) && p.volume >= 0) out.volume = p.volume;
      return out;
    });
}

function finiteOr(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) ? v : fallback;
}

/** On the good side of the band's bad edge (as the regression check judges), or inside it for a `both` signal. */
export function inBand(p: MinutePoint, bad: BadDirection): boolean {
  if (bad === 'up') return p.observed <= p.hi;
  if (bad === 'down') return p.observed >= p.lo;
  return p.observed >= p.lo && p.observed <= p.hi;
}

/**
 * At most `max` points. Each bucket keeps its point furthest from the expected value (a mean
 * would flatten the spike the report is about) and the widest band.
 */
export function downsample(points: readonly MinutePoint[], max = MAX_CHART_POINTS): MinutePoint[] {
  if (points.length <= max) return [...points];
  const size = Math.ceil(points.length / max);
  const out: MinutePoint[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    let pick = bucket[0]!;
    for (const p of bucket) if (Math.abs(p.observed - p.expected) > Math.abs(pick.observed - pick.expected)) pick = p;
    out.push({ ...pick, lo: Math.min(...bucket.map((p) => p.lo)), hi: Math.max(...bucket.map((p) => p.hi)) });
  }
  return out;
}
