import { foldBuckets, idHash, type FoldResult, type FoldStats, type KeyState } from './key-state.js';
import type { KeyAggregate } from './window-aggregate.js';
import type { WindowSettings } from './window-settings.js';

/**
 * A key's share of a tumbling window that was not written to its item at the window's end: it is
 * folded, with the next window's records, into the item at the key's next write. Ids are not kept:
 * resends are checked within a window only (the documented bound).
 */
export type CarriedAggregate = Omit<KeyAggregate, 'i'>;

/**
 * What one shard's final invocation left for the next one: the quiet keys it scored but did not write.
 * One item per shard, replaced as a whole at every window's end (an atomic put), so a retried final
 * invocation sees either the previous window's carry or its own, never a mix.
 */
export interface WindowCarry {
  v: 1;
  /** The shard whose window wrote it. */
  sh: string;
  /** Names the window segment that wrote it: a retry of that segment's final invocation finds its own carry. */
  tag: string;
  /** The segment's last sequence number: the position its keys are folded at. */
  p?: string;
  /** Start of the window (epoch ms). */
  at: number;
  k: Record<string, CarriedAggregate>;
}

/** One step of a key's fold: a window's (or a carried window's) aggregate, at its shard position. */
export interface FoldLink {
  readonly agg: CarriedAggregate;
  readonly shardId: string;
  readonly position: string | undefined;
  /** False for a carried window: its records were counted when the carry was saved. */
  readonly counted: boolean;
}

/**
 * A window written only every other window per key halves the state table's writes: a key is deferred
 * in the windows where this is true, unless it is busy (see `isQuietFold`) or was deferred in the
 * previous window. The key's hash spreads the writes over both windows of each pair.
 */
export function defersInWindow(key: string, windowIndex: number): boolean {
  return ((idHash(key) + windowIndex) & 1) === 0;
}

/** The window a final invocation closes, counted from the epoch (its parity picks the deferred keys). */
export function windowIndexOf(windowStartMs: number, windowMs: number): number {
  return Math.floor(windowStartMs / Math.max(1, windowMs));
}

/** Names one state segment of a window (an early-terminated window has several). */
export function carryTag(windowStartMs: number, firstSequence: string | undefined): string {
  return `${windowStartMs}/${firstSequence ?? '-'}`;
}

/**
 * A fold that may wait for the key's next write: nothing to announce (no episode event, no trace point),
 * no episode open or being traced, and no side effects the stored item still owes. Re-folding the same
 * windows from the same item at the next write gives the same result (the fold and the detector are
 * pure), so a deferred window is scored now and written later without being scored differently.
 */
export function isQuietFold(stored: KeyState | undefined, folded: KeyState, events: number, traces: number): boolean {
  return (
    stored !== undefined &&
    !stored.fx?.length &&
    events === 0 &&
    traces === 0 &&
    folded.trk?.episode === undefined &&
    folded.trc === undefined
  );
}

/**
 * Folds a key's links in order (a carried window first, then this window), exactly as if each had been
 * written in turn: every link's minutes are checked against what the previous link closed, and a link at
 * or below the item's position for its shard is skipped (a retry). Windows are concatenated (all are scored);
 * counts come from the counted links only, and the carried links' windows are marked `repeated` (they were
 * reported when they were scored the first time).
 *
 * @example
 * const r = foldChain(stored?.state, key, [
 *   { agg: carry.k[key], shardId: carry.sh, position: carry.p, counted: false },
 *   { agg: aggregate.k[key], shardId: aggregate.sh, position: aggregate.p, counted: true },
 * ], settings);
 */
export function foldChain(
  prev: KeyState | undefined,
  key: string,
  links: readonly FoldLink[],
  settings: WindowSettings,
): FoldResult {
  const stats: FoldStats = { folded: 0, late: 0, duplicate: 0, redelivered: 0 };
  const windows: FoldResult['windows'] = [];
  let state = prev;
  let changed = false;
  let repeated = 0;
  for (const link of links) {
    const r = foldBuckets(state, key, link.agg, link.shardId, link.position, settings);
    state = r.state;
    windows.push(...r.windows);
    changed ||= r.changed;
    if (!link.counted) {
      repeated += r.windows.length;
      continue;
    }
    stats.folded += r.stats.folded;
    stats.late += r.stats.late;
    stats.duplicate += r.stats.duplicate;
    stats.redelivered += r.stats.redelivered;
  }
  if (!state) throw new Error(`no fold link for ${key}`);
  return { state, windows, stats, changed, ...(repeated > 0 && { repeated }) };
}

/** A window aggregate as it is carried: without its ids. */
export function toCarried(ka: KeyAggregate): CarriedAggregate {
  const { i: _ids, ...rest } = ka;
  return rest;
}
