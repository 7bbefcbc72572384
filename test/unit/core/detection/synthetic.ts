/** Deterministic synthetic series for detector tests. */
import type { BadDirection } from '../../../../lambdas/core/signals.js';
import {
  scorePoint,
  type DetectorSettings,
  type DetectorState,
  type PointScore,
} from '../../../../lambdas/core/detection/index.js';
import { gaussian, seededRandom as rng } from '../../../../local/random.js';

export const MINUTE = 60_000;
export const DAY = 1440 * MINUTE;
export const T0 = Date.UTC(2024, 0, 1);

export { gaussian, rng };

export interface Scored extends PointScore {
  readonly i: number;
  readonly ts: number;
  readonly value: number;
}

/** Replays `values` (one per minute unless `times` is given) and returns every result. */
export function replay(
  values: readonly number[],
  direction: BadDirection,
  settings?: Partial<DetectorSettings>,
  times?: readonly number[],
): { results: Scored[]; state: DetectorState | undefined } {
  let state: DetectorState | undefined;
  const results: Scored[] = [];
  values.forEach((value, i) => {
    const ts = times ? (times[i] as number) : T0 + i * MINUTE;
    const r = scorePoint(state, { ts, value }, direction, settings);
    state = r.state;
    results.push({ ...r, i, ts, value });
  });
  return { results, state };
}

/** Noisy flat series: mean 100, sd 2, with `edit` applied per index. */
export function noisy(n: number, seed = 1, edit: (i: number, v: number) => number = (_, v) => v): number[] {
  const g = gaussian(rng(seed));
  return Array.from({ length: n }, (_, i) => edit(i, 100 + 2 * g()));
}

export function alertsIn(results: readonly Scored[], from: number, to = Number.POSITIVE_INFINITY): number[] {
  return results.filter((r) => r.anomalous && r.i >= from && r.i < to).map((r) => r.i);
}
