/**
 * Recoveries are not anomalies. When an excursion starts (a sustained horizon breaks the
 * novelty envelope, either direction), the level from before it is held as an anchor for a
 * while. A point that is novel against the current baseline but not against the anchored one is
 * the series going back to where it was — e.g. a dip on an 'up'-bad signal recovering — and its
 * novelty is discounted to what it has against the anchor.
 */
import { readNovelty, type Envelope, type NoveltyReading } from './novelty.js';

export function discountRecovery(
  nov: NoveltyReading,
  env: Envelope,
  atHorizon: readonly number[],
  levelMinusAnchor: number,
  minWidth: number,
): NoveltyReading {
  const vsAnchor = readNovelty(env, atHorizon, minWidth, levelMinusAnchor);
  return { up: Math.min(nov.up, vsAnchor.up), down: Math.min(nov.down, vsAnchor.down) };
}

/** Whether a sustained horizon (every horizon but the first, or the only one) breaks the envelope. */
export function excursionStarts(env: Envelope, atHorizon: readonly number[], minWidth: number): boolean {
  const n = readNovelty(env, atHorizon, minWidth, 0, atHorizon.length > 1 ? 1 : 0);
  return n.up > 0 || n.down > 0;
}

/** Points the anchor stays held after this one. */
export function nextHold(hold: number, excursion: boolean, holdPoints: number): number {
  if (holdPoints <= 0) return 0;
  if (excursion) return holdPoints;
  return Math.max(0, hold - 1);
}
