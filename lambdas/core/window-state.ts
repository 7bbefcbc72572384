import type { KeyDetection } from './detect.js';
import { countedAction, type Observation } from './observations.js';
import type { WindowSettings } from './window-settings.js';

const MINUTE = 60_000;
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
}

/** Everything the consumer keeps per key between invocations; one small DynamoDB item. */
export interface WindowState extends KeyDetection {
  key: string;
  tenant: string;
  signal: string;
  subject?: string;
  region?: string;
  /** Minute buckets still needed by a future window or still open, ascending by `m`. */
  buckets: MinuteBucket[];
  /** Newest event time folded; the watermark is `maxTs - allowedLateness`. */
  maxTs: number;
  /** Highest minute whose window has been emitted; records at or before it are late. */
  closedThrough: number;
  /** Last sequence number folded, per shard: anything at or below it is a redelivery. */
  pos: Record<string, string>;
  /** Hashes of the most recent record ids, to drop producer retries. */
  ids: string[];
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
  state: WindowState;
  windows: WindowResult[];
  stats: FoldStats;
  /** False when nothing in the batch changed the state (no write needed). */
  changed: boolean;
}

/**
 * Fold one key's observations, in stream order, into its window state.
 * Pure and deterministic: the same state and observations always give the same result,
 * and observations already folded (same shard position) or retried (same id) change nothing.
 */
export function foldObservations(prev: WindowState | undefined, observations: readonly Observation[], settings: WindowSettings): FoldResult {
  const stats: FoldStats = { folded: 0, late: 0, duplicate: 0, redelivered: 0 };
  const windows: WindowResult[] = [];
  const first = observations[0];
  if (!first) {
    if (!prev) throw new Error('foldObservations needs a state or at least one observation');
    return { state: prev, windows, stats, changed: false };
  }
  const state: WindowState = prev ? cloneState(prev) : newState(first, settings);
  let changed = false;
  // Ids are compared as numbers in a ring while folding (a scan of ≤ 128 doubles beats a Set of
  // heap numbers) and encoded once at the end.
  const recent = new IdRing(settings.dedupeIds, state.ids);

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
    if (ob.id !== undefined && settings.dedupeIds > 0) {
      const h = idHash(ob.id);
      if (recent.has(h)) {
        stats.duplicate++;
        continue;
      }
      recent.add(h);
      changed = true;
    }
    const minute = Math.floor(ob.ts / MINUTE);
    if (minute <= state.closedThrough) {
      stats.late++;
      continue;
    }
    addToBucket(state, minute, ob);
    if (ob.region !== undefined) state.region = ob.region;
    stats.folded++;
    changed = true;
    if (ob.ts > state.maxTs) {
      state.maxTs = ob.ts;
      closeMinutes(state, settings, windows);
    }
  }
  if (recent.added) state.ids = recent.encode();
  return { state, windows, stats, changed };
}

/** The last `size` id hashes, oldest first when encoded. It slides one id at a time, so results never depend on batch boundaries. */
class IdRing {
  private readonly ring: Float64Array;
  private count = 0;
  private next = 0;
  added = false;

  constructor(
    private readonly size: number,
    stored: readonly string[],
  ) {
    this.ring = new Float64Array(Math.max(1, size));
    for (const s of stored.slice(-size)) this.push(decodeIdHash(s));
  }

  has(h: number): boolean {
    for (let i = 0; i < this.count; i++) if (this.ring[i] === h) return true;
    return false;
  }

  add(h: number): void {
    this.push(h);
    this.added = true;
  }

  private push(h: number): void {
    this.ring[this.next] = h;
    this.next = (this.next + 1) % this.size;
    if (this.count < this.size) this.count++;
  }

  encode(): string[] {
    const out: string[] = [];
    const start = this.count < this.size ? 0 : this.next;
    for (let i = 0; i < this.count; i++) out.push(encodeIdHash(this.ring[(start + i) % this.size]!));
    return out;
  }
}

function newState(first: Observation, settings: WindowSettings): WindowState {
  const s: WindowState = {
    key: first.key,
    tenant: first.tenant,
    signal: first.signal,
    buckets: [],
    maxTs: first.ts,
    closedThrough: watermarkMinute(first.ts, settings),
    pos: {},
    ids: [],
  };
  if (first.subject !== undefined) s.subject = first.subject;
  return s;
}

/** The last minute that is complete once events up to `maxTs` (less the lateness) have been seen. */
function watermarkMinute(maxTs: number, settings: WindowSettings): number {
  return Math.floor((maxTs - settings.allowedLatenessMs) / MINUTE) - 1;
}

function addToBucket(state: WindowState, minute: number, ob: Observation): void {
  const { buckets } = state;
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
function closeMinutes(state: WindowState, settings: WindowSettings, out: WindowResult[]): void {
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

function windowEndingAt(state: WindowState, lastMinute: number, windowMinutes: number): WindowResult {
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
    start: firstMinute * MINUTE,
    end: (lastMinute + 1) * MINUTE,
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

function rememberPosition(state: WindowState, shardId: string, seq: string): void {
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
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return TWO_32 * (2097151 & h2) + (h1 >>> 0);
}

const TWO_32 = 4294967296;

/** A hash in base 36, two halves (Number#toString(36) on a 53-bit value is several times slower): ~11 bytes in the item. */
export function encodeIdHash(h: number): string {
  return Math.floor(h / TWO_32).toString(36) + (h % TWO_32).toString(36).padStart(7, '0');
}

export function decodeIdHash(s: string): number {
  return parseInt(s.slice(0, -7) || '0', 36) * TWO_32 + parseInt(s.slice(-7), 36);
}

export function hashId(id: string): string {
  return encodeIdHash(idHash(id));
}

function cloneState(s: WindowState): WindowState {
  return {
    ...s,
    buckets: s.buckets.map((b) => (b.a ? { ...b, a: { ...b.a } } : { ...b })),
    pos: { ...s.pos },
    ids: [...s.ids],
  };
}

/** Serialised form stored in the state item; numbers rounded so the item stays small. */
export function encodeState(s: WindowState): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v));
}

export function decodeState(text: string): WindowState {
  return JSON.parse(text) as WindowState;
}
