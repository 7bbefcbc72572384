/**
 * Lone spikes and dips: a point that stands out from both of its neighbours on the same side, judged
 * one point late (once the next point shows it did not stay). A level switch stands out from the
 * point before it only, a ramp from neither, so on series whose level moves (utilisation steps,
 * random walks, daily rhythms) this measure stays small while the residual envelope is wide from
 * the moves, and a spike that stays inside the series' range still breaks its own record here.
 */
import { readNovelty, widenEnvelope, type Envelope, type NoveltyReading } from './novelty.js';

/**
 * How far the middle value stands out from both neighbours: positive by the smaller rise above
 * them, negative by the smaller drop below them, 0 when it lies between them.
 *
 * @example
 * loneDeviation(0, 5, 1); // 4: up by 5 from before, down by 4 after
 * loneDeviation(0, 5, 5); // 0: a step, the next point stayed
 */
export function loneDeviation(before: number, middle: number, after: number): number {
  const above = middle - Math.max(before, after);
  if (above > 0) return above;
  const below = middle - Math.min(before, after);
  return Math.min(below, 0);
}

/**
 * Novelty of a lone deviation against the spike envelope, in envelope widths, counted only beyond
 * `gate` widths (then in full): the spikes of noise break their record by small amounts all the time.
 */
export function readSpike(env: Envelope, deviation: number, minWidth: number, gate: number): NoveltyReading {
  const n = readNovelty(env, [deviation], minWidth);
  return { up: n.up > gate ? n.up : 0, down: n.down > gate ? n.down : 0 };
}

/** The spike envelope after this deviation (rotating its buckets with the residual envelope's). */
export function widenSpikes(
  env: Envelope,
  deviation: number,
  rotate: boolean,
  digits: number,
  carry: number,
): number[] {
  return widenEnvelope(env.length === 4 ? env : [], [deviation], rotate, digits, carry);
}
