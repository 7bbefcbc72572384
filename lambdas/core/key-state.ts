import type { KeyDetection } from './score-windows.js';
import { cyrb53Into } from './id-hash.js';
import type { EpisodeEvent } from './episodes.js';
import { countedAction, keyIdentity, type Observation } from './observations.js';
import type { KeyAggregate } from './window-aggregate.js';
import type { WindowSettings } from './window-settings.js';
import { MINUTE_MS } from './time.js';

/** Shards a key remembers positions for; more than one only around a reshard. */
const MAX_TRACKED_SHARDS = 4;

/** Aggregate of one event-time minute of one key. */
export interface MinuteBucket {
  /** Minute index: floor(epoch ms / 60 000). */
  m: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  /** Activity action counts (engagement keys only). */
  a?: Record<string, number>;
  /** While the minute is open: short hashes (6 characters each) of the ids folded into it, to drop producer resends. */
  i?: string;
}

/** Everything the consumer keeps per key between invocations; one small DynamoDB item. */
export interface KeyState extends KeyDetection {
  key: string;
  tenant: string;
  signal: string;
  subject?: string;
  /** The last folded record's region. */
  region?: string;
  /**
   * Regions seen, each with the last minute (index) a record named it: at most MAX_TRACKED_REGIONS,
   * the least recently seen dropped first. What an anomaly's `regions` come from (`episodeRegions`).
   */
  rg?: Record<string, number>;
  /** Newest last-seen minute of a region dropped from `rg`: an episode since then may miss one. */
  rgx?: number;
  /** Minute buckets still needed by a future window or still open, ascending by `m`. */
  buckets: MinuteBucket[];
  /**
   * Newest event time folded, each record's held to its arrival plus MAX_WATERMARK_LEAD_MS;
   * the watermark is `maxTs - allowedLateness`.
   */
  maxTs: number;
  /** Highest minute whose window has been emitted; records at or before it are late. */
  closedThrough: number;
  /** Last sequence number folded, per shard: anything at or below it is a redelivery. */
  pos: Record<string, string>;
  /**
   * Episode events of the fold that wrote this item, whose side effects (anomaly record, alert,
   * workflow start) follow the save: the next invocation repeats them (idempotently) in case the
   * writer failed after saving, then drops them.
   */
  fx?: EpisodeEvent[];
}

/** One emitted sliding window: the `windowMinutes` minutes ending at `end` (exclusive). */
export interface WindowResult {
  key: string;
  tenant: string;
  signal: string;
  subject?: string;
  region?: string;
  start: number;
  end: number;
  /** Records in the window. */
  n: number;
  sum: number;
  mean: number;
  min: number;
  max: number;
  /** Minutes of the window that had data. */
  activeMinutes: number;
  /** The window's last minute on its own (undefined when that minute had no data). */
  lastMinute?: { n: number; mean: number; min: number; max: number };
  actions?: Record<string, number>;
}

export interface FoldStats {
  folded: number;
  late: number;
  duplicate: number;
  redelivered: number;
}

export interface FoldResult {
  state: KeyState;
  windows: WindowResult[];
  stats: FoldStats;
  /** False when nothing in the batch changed the state (no write needed). */
  changed: boolean;
  /** Leading `windows` already reported when a carried window was scored (lambdas/core/window-carry.ts). */
  repeated?: number;
}

/**
 * Fold one key's observations, in stream order, into its window state.
 * Pure and deterministic: the same state and observations always give the same result,
 * and observations already folded (same shard position) or resent (same id, same open minute)
 * change nothing. A resent record whose minute has closed is counted late, never folded twice.
 *
 * @example
 * const { state, windows, stats, changed } = foldObservations(stored?.state, observations, DEFAULT_WINDOW_SETTINGS);
 * if (changed) await windowStore.save(state, stored?.version); // windows: the 10-minute windows that closed
 */
export function foldObservations(
  prev: KeyState | undefined,
  observations: readonly Observation[],
  settings: WindowSettings,
): FoldResult {
  const stats: FoldStats = { folded: 0, late: 0, duplicate: 0, redelivered: 0 };
  const windows: WindowResult[] = [];
  const first = observations[0];
  if (!first) {
    if (!prev) throw new Error('foldObservations needs a state or at least one observation');
    return { state: prev, windows, stats, changed: false };
  }
  const state: KeyState = prev ? cloneState(prev) : newState(first, settings);
  delete state.fx;
  let changed = false;
  // Ids are remembered per open minute (a resend carries the same ts, so it lands in the same
  // minute): decoded lazily per minute touched, encoded once at the end.
  const seen = new Map<number, Set<number>>();
  // At most `dedupeIds` ids are remembered across the open minutes (the state item stays small).
  let remembered = countOpenIds(state, seen);

  for (const ob of observations) {
    if (ob.key !== state.key) throw new Error(`observation for ${ob.key} folded into ${state.key}`);
    if (ob.position) {
      const seen = state.pos[ob.position.shardId];
      if (seen !== undefined && compareSequence(ob.position.sequenceNumber, seen) <= 0) {
        stats.redelivered++;
        continue;
      }
      rememberPosition(state, ob.position.shardId, ob.position.sequenceNumber);
      changed = true;
    }
    const minute = Math.floor(ob.ts / MINUTE_MS);
    if (minute <= state.closedThrough) {
      stats.late++;
      continue;
    }
    if (ob.id !== undefined && settings.dedupeIds > 0) {
      let ids = seen.get(minute);
      if (!ids) seen.set(minute, (ids = decodeMinuteIds(state.buckets.find((b) => b.m === minute)?.i)));
      const h = shortIdHash(ob.id);
      if (ids.has(h)) {
        stats.duplicate++;
        continue;
      }
      if (remembered < settings.dedupeIds) {
        ids.add(h);
        remembered++;
      }
    }
    addToBucket(state, minute, ob);
    if (ob.region !== undefined) {
      state.region = ob.region;
      noteRegion(state, ob.region, minute);
    }
    stats.folded++;
    changed = true;
    const wm = watermarkTsOf(ob);
    if (wm > state.maxTs) {
      state.maxTs = wm;
      const closedBefore = state.closedThrough;
      closeMinutes(state, settings, windows);
      if (state.closedThrough !== closedBefore) remembered = countOpenIds(state, seen);
    }
  }
  if (changed) {
    for (const b of state.buckets) {
      if (b.m <= state.closedThrough) delete b.i;
      else {
        const ids = seen.get(b.m);
        if (ids?.size) b.i = encodeMinuteIds(ids);
      }
    }
  }
  return { state, windows, stats, changed };
}

/**
 * Fold one key's pre-aggregated tumbling window (`KeyAggregate`, lambdas/core/window-aggregate.ts) into its
 * state: the same state, windows and late/closed/position semantics as folding the window's observations one
 * by one with foldObservations. Records the aggregation found late against the window's own watermark are
 * already counted in `agg.l`; buckets at or before the stored `closedThrough` are late here. A state that has
 * already folded the window's last position on its shard (`pos[shard]` at or beyond `lastPosition`: a retried
 * final invocation after this key was saved) changes nothing. The state keeps no record ids (`i`): a window
 * deduplicates its own records, so the item stays within one write unit.
 *
 * @example
 * const { k, sh, p } = aggregate;
 * const { state, windows, changed } = foldBuckets(stored?.state, key, k[key], sh, p, settings);
 */
export function foldBuckets(
  prev: KeyState | undefined,
  key: string,
  agg: KeyAggregate,
  shardId: string,
  lastPosition: string | undefined,
  settings: WindowSettings,
): FoldResult {
  const stats: FoldStats = { folded: 0, late: agg.l ?? 0, duplicate: agg.d ?? 0, redelivered: 0 };
  const windows: WindowResult[] = [];
  const seen = prev?.pos[shardId];
  if (prev && seen !== undefined && lastPosition !== undefined && compareSequence(lastPosition, seen) <= 0) {
    const total = agg.b.reduce((n, b) => n + b.n, 0) + stats.late + stats.duplicate;
    return { state: prev, windows, stats: { folded: 0, late: 0, duplicate: 0, redelivered: total }, changed: false };
  }
  let state: KeyState;
  if (prev) {
    state = cloneState(prev);
    delete state.fx;
  } else {
    const id = keyIdentity(key);
    state = {
      key,
      tenant: id.tenant,
      signal: id.signal,
      buckets: [],
      maxTs: agg.f,
      closedThrough: watermarkMinute(agg.f, settings),
      pos: {},
    };
    if (id.subject !== undefined) state.subject = id.subject;
  }
  if (lastPosition !== undefined) rememberPosition(state, shardId, lastPosition);
  for (const b of agg.b) {
    if (b.m <= state.closedThrough) {
      stats.late += b.n;
      continue;
    }
    mergeBucket(state.buckets, b);
    stats.folded += b.n;
  }
  if (stats.folded) {
    if (agg.r !== undefined) state.region = agg.r;
    if (agg.rg) for (const [region, minute] of Object.entries(agg.rg)) noteRegion(state, region, minute);
  }
  if (agg.mx > state.maxTs) {
    state.maxTs = agg.mx;
    closeMinutes(state, settings, windows);
  }
  for (const b of state.buckets) delete b.i;
  return { state, windows, stats, changed: true };
}

function mergeBucket(buckets: MinuteBucket[], add: MinuteBucket): void {
  let i = buckets.length - 1;
  while (i >= 0 && buckets[i]!.m > add.m) i--;
  const b = i >= 0 && buckets[i]!.m === add.m ? buckets[i]! : undefined;
  if (!b) {
    const copy: MinuteBucket = { m: add.m, n: add.n, sum: add.sum, min: add.min, max: add.max };
    if (add.a) copy.a = { ...add.a };
    buckets.splice(i + 1, 0, copy);
    return;
  }
  b.n += add.n;
  b.sum += add.sum;
  if (add.min < b.min) b.min = add.min;
  if (add.max > b.max) b.max = add.max;
  if (add.a) {
    b.a ??= {};
    for (const [k, v] of Object.entries(add.a)) b.a[k] = (b.a[k] ?? 0) + v;
  }
}

/** The event time a record may move its key's watermark to (held to its arrival when its clock is ahead). */
export function watermarkTsOf(ob: Observation): number {
  return ob.watermarkTs !== undefined && ob.watermarkTs < ob.ts ? ob.watermarkTs : ob.ts;
}

/** Ids remembered for the minutes still open (closed minutes take no more records, so their ids are dropped). */
function countOpenIds(state: KeyState, seen: ReadonlyMap<number, ReadonlySet<number>>): number {
  let n = 0;
  for (const b of state.buckets) {
    if (b.m <= state.closedThrough) continue;
    n += seen.get(b.m)?.size ?? (b.i ? b.i.length / ID_HASH_CHARS : 0);
  }
  return n;
}

const ID_HASH_CHARS = 6;
const ID_HASH_BITS = 6 * ID_HASH_CHARS;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * 36 bits of the id's hash: a new id is mistaken for one of the n remembered in its key and minute
 * with odds n/2^36 (below 1 in a billion for the default 64).
 */
export function shortIdHash(id: string): number {
  return idHash(id) % 2 ** ID_HASH_BITS;
}

function decodeMinuteIds(s: string | undefined): Set<number> {
  const out = new Set<number>();
  if (!s) return out;
  for (let at = 0; at + ID_HASH_CHARS <= s.length; at += ID_HASH_CHARS) {
    let h = 0;
    for (let k = 0; k < ID_HASH_CHARS; k++) h = h * 64 + ID_ALPHABET.indexOf(s[at + k]!);
    out.add(h);
  }
  return out;
}

function encodeMinuteIds(ids: ReadonlySet<number>): string {
  let s = '';
  for (let h of ids) {
    let chunk = '';
    for (let k = 0; k < ID_HASH_CHARS; k++) {
      chunk = ID_ALPHABET[h % 64] + chunk;
      h = Math.floor(h / 64);
    }
    s += chunk;
  }
  return s;
}

function newState(first: Observation, settings: WindowSettings): KeyState {
  const s: KeyState = {
    key: first.key,
    tenant: first.tenant,
    signal: first.signal,
    buckets: [],
    maxTs: watermarkTsOf(first),
    closedThrough: watermarkMinute(watermarkTsOf(first), settings),
    pos: {},
  };
  if (first.subject !== undefined) s.subject = first.subject;
  return s;
}

/** The last minute that is complete once events up to `maxTs` (less the lateness) have been seen. */
export function watermarkMinute(maxTs: number, settings: WindowSettings): number {
  return Math.floor((maxTs - settings.allowedLatenessMs) / MINUTE_MS) - 1;
}

function addToBucket(state: KeyState, minute: number, ob: Observation): void {
  addToBuckets(state.buckets, minute, ob);
}

/** Adds one observation to the bucket of `minute` in `buckets` (ascending by `m`), creating it in place. */
export function addToBuckets(buckets: MinuteBucket[], minute: number, ob: Pick<Observation, 'value' | 'action'>): void {
  let i = buckets.length - 1;
  while (i >= 0 && buckets[i]!.m > minute) i--;
  let b = i >= 0 && buckets[i]!.m === minute ? buckets[i]! : undefined;
  if (!b) {
    b = { m: minute, n: 0, sum: 0, min: ob.value, max: ob.value };
    buckets.splice(i + 1, 0, b);
  }
  b.n++;
  b.sum += ob.value;
  if (ob.value < b.min) b.min = ob.value;
  if (ob.value > b.max) b.max = ob.value;
  if (ob.action !== undefined) {
    const action = countedAction(ob.action);
    b.a ??= {};
    b.a[action] = (b.a[action] ?? 0) + 1;
  }
}

/** Emit every window whose last minute the watermark has passed, then drop buckets no window needs. */
function closeMinutes(state: KeyState, settings: WindowSettings, out: WindowResult[]): void {
  const closeTo = watermarkMinute(state.maxTs, settings);
  if (closeTo <= state.closedThrough) return;
  const w = settings.windowMinutes;
  // Windows containing no data are not emitted, so after a long gap only the windows near data are visited.
  let m = state.closedThrough + 1;
  for (const b of state.buckets) {
    if (b.m > closeTo) break;
    const from = Math.max(m, b.m);
    const to = Math.min(closeTo, b.m + w - 1);
    for (let end = from; end <= to; end++) {
      if ((end + 1) % settings.slideMinutes === 0) out.push(windowEndingAt(state, end, w));
    }
    m = Math.max(m, to + 1);
  }
  state.closedThrough = closeTo;
  const keepFrom = closeTo - w + 2;
  const firstKept = state.buckets.findIndex((b) => b.m >= keepFrom);
  state.buckets = firstKept < 0 ? [] : state.buckets.slice(firstKept);
}

function windowEndingAt(state: KeyState, lastMinute: number, windowMinutes: number): WindowResult {
  const firstMinute = lastMinute - windowMinutes + 1;
  let n = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let activeMinutes = 0;
  let last: MinuteBucket | undefined;
  let actions: Record<string, number> | undefined;
  for (const b of state.buckets) {
    if (b.m < firstMinute) continue;
    if (b.m > lastMinute) break;
    n += b.n;
    sum += b.sum;
    min = Math.min(min, b.min);
    max = Math.max(max, b.max);
    activeMinutes++;
    if (b.m === lastMinute) last = b;
    if (b.a) {
      actions ??= {};
      for (const [k, v] of Object.entries(b.a)) actions[k] = (actions[k] ?? 0) + v;
    }
  }
  const result: WindowResult = {
    key: state.key,
    tenant: state.tenant,
    signal: state.signal,
    start: firstMinute * MINUTE_MS,
    end: (lastMinute + 1) * MINUTE_MS,
    n,
    sum,
    mean: n ? sum / n : 0,
    min: n ? min : 0,
    max: n ? max : 0,
    activeMinutes,
  };
  if (state.subject !== undefined) result.subject = state.subject;
  if (state.region !== undefined) result.region = state.region;
  if (last) result.lastMinute = { n: last.n, mean: last.sum / last.n, min: last.min, max: last.max };
  if (actions) result.actions = actions;
  return result;
}

function rememberPosition(state: KeyState, shardId: string, seq: string): void {
  if (!(shardId in state.pos)) {
    const shards = Object.keys(state.pos);
    if (shards.length >= MAX_TRACKED_SHARDS) delete state.pos[shards[0]!];
  }
  state.pos[shardId] = seq;
}

/** Kinesis sequence numbers are unbounded decimal strings without leading zeros. */
export function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 53-bit hash (cyrb53) of a record id, as a number: cheap to compare and to keep in a Set. */
export function idHash(id: string): number {
  cyrb53Into(id, idHashScratch);
  return TWO_32 * (2097151 & idHashScratch[1]!) + (idHashScratch[0]! >>> 0);
}
const idHashScratch = new Int32Array(2);

const TWO_32 = 4294967296;

/**
 * A hash in base 36, two halves (Number#toString(36) on a 53-bit value is several times slower): ~11 bytes in the item.
 */
export function encodeIdHash(h: number): string {
  return Math.floor(h / TWO_32).toString(36) + (h % TWO_32).toString(36).padStart(7, '0');
}

export function decodeIdHash(s: string): number {
  return parseInt(s.slice(0, -7) || '0', 36) * TWO_32 + parseInt(s.slice(-7), 36);
}

export function hashId(id: string): string {
  return encodeIdHash(idHash(id));
}

/** Regions a key remembers (a tenant's traffic rarely spans more; the state item stays small). */
export const MAX_TRACKED_REGIONS = 8;
/**
 * Stands for regions an episode touched that `rg` no longer holds: never the deployment's, so it counts as
 * cross-region.
 */
export const UNTRACKED_REGION = '*';

export function noteRegion(state: Pick<KeyState, 'rg' | 'rgx'>, region: string, minute: number): void {
  const rg = (state.rg ??= {});
  if ((rg[region] ?? -Infinity) < minute) rg[region] = minute;
  const names = Object.keys(rg);
  if (names.length <= MAX_TRACKED_REGIONS) return;
  const oldest = names.reduce((a, b) => (rg[b]! < rg[a]! ? b : a));
  state.rgx = Math.max(state.rgx ?? -Infinity, rg[oldest]!);
  delete rg[oldest];
}

/**
 * The regions the key's records named since `sinceMs` (an episode's start), sorted: from `rg`, or
 * for a state written before `rg` existed its last `region`. A region dropped from `rg` during the
 * episode shows as UNTRACKED_REGION. Empty: no record named a region.
 */
export function episodeRegions(state: Pick<KeyState, 'region' | 'rg' | 'rgx'>, sinceMs: number): string[] {
  const since = Math.floor(sinceMs / MINUTE_MS);
  if (!state.rg) return state.region !== undefined ? [state.region] : [];
  const regions = Object.entries(state.rg)
    .filter(([, m]) => m >= since)
    .map(([r]) => r)
    .sort();
  if (state.rgx !== undefined && state.rgx >= since) regions.push(UNTRACKED_REGION);
  return regions;
}

function cloneState(s: KeyState): KeyState {
  return {
    ...s,
    ...(s.rg && { rg: { ...s.rg } }),
    buckets: s.buckets.map((b) => (b.a ? { ...b, a: { ...b.a } } : { ...b })),
    pos: { ...s.pos },
  };
}

/** Serialised form stored in the state item; numbers rounded so the item stays small. */
export function encodeState(s: KeyState): string {
  return JSON.stringify(s, (_k, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v,
  );
}

export function decodeState(text: string): KeyState {
  const s = JSON.parse(text) as KeyState & { ids?: unknown };
  // Items written before ids were kept per open minute held a ring of the last 64.
  delete s.ids;
  return s;
}
