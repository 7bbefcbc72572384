/**
 * Novelty against the series' own history ("new min / max" in NAB terms), measured on residuals
 * at several horizons: the point itself and the median of the last few residuals (a sustained
 * shift that no single point shows). Each horizon keeps the envelope [lo, hi] of the residuals
 * it has seen, in two time buckets (current and previous), so the envelope spans between one
 * and two bucket lengths of history in full; at each rotation a share of how far the older bucket
 * reached beyond the newer one is carried, so older extremes fade geometrically instead of vanishing.
 * Novelty = how far beyond the envelope, in envelope widths (0 inside).
 */

import type { BadDirection } from '../signals.js';
import { fadeToward, roundSig } from './numeric.js';

/**
 * Flattened per horizon h: [hiCur, loCur, hiPrev, loPrev] at 4h..4h+3; the bucket start time
 * (ms) is kept by the caller.
 */
export type Envelope = readonly number[];

export interface NoveltyReading {
  /** Largest novelty above the envelope over horizons (≥ 0). */
  readonly up: number;
  /** Largest novelty below the envelope over horizons (≥ 0). */
  readonly down: number;
}

/**
 * The novelty on the signal's bad side (both: the larger).
 *
 * @example
 * onBadSide({ up: 0.2, down: 0.5 }, 'up'); // 0.2
 */
export function onBadSide(n: NoveltyReading, direction: BadDirection): number {
  return direction === 'up' ? n.up : direction === 'down' ? n.down : Math.max(n.up, n.down);
}

/** Median of the last `m - 1` entries of `recent` and `latest`. */
function tailMedian(recent: readonly number[], latest: number, m: number): number {
  if (m <= 1) return latest;
  const take = Math.min(m - 1, recent.length);
  const w: number[] = recent.slice(recent.length - take);
  w.push(latest);
  w.sort((a, b) => a - b);
  const mid = w.length >> 1;
  return w.length % 2 ? (w[mid] as number) : ((w[mid - 1] as number) + (w[mid] as number)) / 2;
}

/**
 * Residual seen at each horizon for this point: `residual` itself, or the median of it and the
 * last `m - 1` recent residuals, each taken minus `bias` (the latest is passed already net of it).
 */
export function horizonResiduals(
  recent: readonly number[],
  residual: number,
  horizons: readonly number[],
  bias = 0,
): number[] {
  return horizons.map((m) => (m <= 1 ? residual : tailMedian(recent, residual + bias, m) - bias));
}

/** How far horizon `h` of a bucketed envelope reaches, over both buckets. */
export function reach(env: Envelope, h = 0): { readonly hi: number; readonly lo: number } {
  return {
    hi: Math.max(env[4 * h] ?? 0, env[4 * h + 2] ?? 0),
    lo: Math.min(env[4 * h + 1] ?? 0, env[4 * h + 3] ?? 0),
  };
}

/**
 * Novelty of `atHorizon` (each shifted by `offset`) against the envelope, over horizons `from`
 * and up; envelopes narrower than `minWidth` count as that wide. At the first horizon a residual
 * must break the envelope by more than `margin` [above, below] to count (then in full).
 */
export function readNovelty(
  env: Envelope,
  atHorizon: readonly number[],
  minWidth: number,
  offset = 0,
  from = 0,
  margin: readonly number[] = [],
): NoveltyReading {
  let up = 0;
  let down = 0;
  for (let h = from; h < atHorizon.length; h++) {
    const { hi, lo } = reach(env, h);
    const width = Math.max(hi - lo, minWidth);
    if (!(width > 0)) continue;
    const r = (atHorizon[h] as number) + offset;
    const above = h === 0 ? (margin[0] ?? 0) : 0;
    const below = h === 0 ? (margin[1] ?? 0) : 0;
    if (r > hi + above) up = Math.max(up, (r - hi) / width);
    else if (r < lo - below) down = Math.max(down, (lo - r) / width);
  }
  return { up, down };
}

/** Weight of each new record in the typical overshoot (about the last five records). */
const OVERSHOOT_WEIGHT = 0.2;

/**
 * Typical record overshoot [above, below] at the first horizon: by how much a residual that breaks
 * the envelope usually breaks it (an EWMA over records; 0 until the first one on that side).
 *
 * @example
 * learnOvershoot([0, 0], [2, -2, 1, -1], 3, 3); // [1, 0]: the first record above, 1 beyond
 */
export function learnOvershoot(ov: readonly number[], env: Envelope, residual: number, digits: number): number[] {
  const out = [ov[0] ?? 0, ov[1] ?? 0];
  const { hi, lo } = reach(env);
  const side = residual > hi ? 0 : residual < lo ? 1 : -1;
  if (side < 0) return out;
  const by = side === 0 ? residual - hi : lo - residual;
  const was = out[side] as number;
  out[side] = roundSig(was > 0 ? was + OVERSHOOT_WEIGHT * (by - was) : by, digits);
  return out;
}

/**
 * Widens the current bucket to include this point's horizon residuals (rounded to `digits`);
 * with `rotate`, the current bucket becomes the previous one (plus `carry` of the old previous
 * bucket's reach beyond it) and a new bucket starts here.
 */
export function widenEnvelope(
  env: Envelope,
  atHorizon: readonly number[],
  rotate: boolean,
  digits: number,
  carry = 0,
): number[] {
  const next = new Array<number>(atHorizon.length * 4);
  for (let h = 0; h < atHorizon.length; h++) {
    const r = roundSig(atHorizon[h] as number, digits);
    const hiCur = env[4 * h] ?? r;
    const loCur = env[4 * h + 1] ?? r;
    if (rotate) {
      const round = (x: number) => roundSig(x, digits);
      next[4 * h] = r;
      next[4 * h + 1] = r;
      next[4 * h + 2] = fadeToward(hiCur, env[4 * h + 2] ?? hiCur, carry, 1, round);
      next[4 * h + 3] = fadeToward(loCur, env[4 * h + 3] ?? loCur, carry, -1, round);
    } else {
      next[4 * h] = Math.max(hiCur, r);
      next[4 * h + 1] = Math.min(loCur, r);
      next[4 * h + 2] = env[4 * h + 2] ?? r;
      next[4 * h + 3] = env[4 * h + 3] ?? r;
    }
  }
  return next;
}

/**
 * Episode memory: what open alert episodes reached, per horizon [hi, lo, ...], is kept apart
 * from the envelope (so one incident does not hide the next for weeks) but still counts while
 * it is remembered. Returns the envelope as seen with the episode overlaid.
 */
export function withEpisode(env: Envelope, episode: readonly number[]): Envelope {
  if (episode.length === 0 || 2 * env.length !== 4 * episode.length) return env;
  const out = env.slice();
  for (let h = 0; 2 * h < episode.length; h++) {
    out[4 * h + 2] = Math.max(out[4 * h + 2] as number, episode[2 * h] as number);
    out[4 * h + 3] = Math.min(out[4 * h + 3] as number, episode[2 * h + 1] as number);
  }
  return out;
}

export function widenEpisode(episode: readonly number[], atHorizon: readonly number[], digits: number): number[] {
  const fresh = episode.length !== 2 * atHorizon.length;
  const out = new Array<number>(2 * atHorizon.length);
  for (let h = 0; h < atHorizon.length; h++) {
    const r = roundSig(atHorizon[h] as number, digits);
    out[2 * h] = fresh ? r : Math.max(episode[2 * h] as number, r);
    out[2 * h + 1] = fresh ? r : Math.min(episode[2 * h + 1] as number, r);
  }
  return out;
}

export interface Remembered {
  readonly env: readonly number[];
  readonly envSince: number;
  readonly epi: readonly number[];
  /** The envelope's buckets rotated at this point. */
  readonly rotated?: boolean;
}

/**
 * What this point teaches the history: outside alert episodes it widens the envelope (rotating
 * buckets every half `memoryMs`); inside one it widens the episode memory instead, which is
 * dropped once `quiet` reaches `episodeMemory` points.
 */
export function remember(
  prev: Remembered,
  atHorizon: readonly number[],
  ts: number,
  o: {
    learns: boolean;
    inEpisode: boolean;
    quiet: number;
    episodeMemory: number;
    memoryMs: number;
    digits: number;
    /** Share of the older bucket's reach beyond the newer one kept at a rotation (`envelopeCarry`). */
    carry: number;
  },
): Remembered {
  const ready = prev.env.length === 4 * atHorizon.length;
  let { env, envSince, epi } = prev;
  let rotated = false;
  if (o.inEpisode) epi = widenEpisode(epi, atHorizon, o.digits);
  else if (epi.length > 0 && o.quiet >= o.episodeMemory) epi = [];
  if (o.learns && !o.inEpisode) {
    const rotate = ready && o.memoryMs > 0 && ts - envSince >= o.memoryMs / 2;
    env = widenEnvelope(ready ? env : [], atHorizon, rotate, o.digits, o.carry);
    if (rotate || !ready) envSince = ts;
    rotated = rotate;
  }
  return { env, envSince, epi, rotated };
}
