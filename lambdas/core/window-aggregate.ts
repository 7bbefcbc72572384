import { addToBuckets, compareSequence, watermarkMinute, watermarkTsOf, type MinuteBucket } from './key-state.js';
import { cyrb53Into } from './id-hash.js';
import type { Observation } from './observations.js';
import { MINUTE_MS } from './time.js';
import type { WindowSettings } from './window-settings.js';

/**
 * One key's records of one tumbling window on one shard, aggregated: what Lambda carries between the
 * invocations of the window (the `state` of a tumbling-window event) until the final invocation folds it
 * into the key's item with foldBuckets (lambdas/core/key-state.ts). Short field names: the whole shard's
 * state travels with every invocation and is capped at 1 MB.
 */
export interface KeyAggregate {
  /** The first accepted record's watermark time (a new key's state starts from it, as foldObservations does). */
  f: number;
  /** Newest watermark time of the window's records (held to arrival + lead like foldObservations). */
  mx: number;
  /** Minute buckets of the accepted records, ascending; never carry ids. */
  b: MinuteBucket[];
  /** Region of the last accepted record that named one, and each region's last minute. */
  r?: string;
  rg?: Record<string, number>;
  /** 6-character hashes of the ids accepted in this window, concatenated: resends within the window are dropped. */
  i?: string;
  /** Records late against the window's own watermark (dropped here, counted at the fold). */
  l?: number;
  /** Producer resends dropped (counted at the fold). */
  d?: number;
}

/**
 * The tumbling window's state: every key the shard carried in the window (the map's keys are the keys:
 * tenant, signal and subject come from them, keyIdentity).
 */
export interface WindowAggregate {
  v: 1;
  /** The shard the window belongs to (windows are per shard). */
  sh?: string;
  /**
   * Last sequence number aggregated: anything at or below it is a redelivery. An invocation aggregates only
   * the records before its first failed one, so a single position per shard is enough.
   */
  p?: string;
  /** First sequence number aggregated: names the window (the id cache is per window). */
  o?: string;
  /** Per key. */
  k: Record<string, KeyAggregate>;
}

export interface AggregateStats {
  /** Records taken into the window (folded at the final invocation). */
  accepted: number;
  late: number;
  duplicate: number;
  /** Records at or below a key's last aggregated position: a redelivery after a partial failure. */
  redelivered: number;
}

/** Ids remembered per key and window (6 characters each); resends beyond it are folded (docs: the bound). */
export const MAX_WINDOW_IDS_PER_KEY = 20_000;
const ID_HASH_CHARS = 6;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function emptyAggregate(): WindowAggregate {
  return { v: 1, k: {} };
}

/** The window state as Lambda hands it over: `{}` at a window's first invocation. */
export function aggregateFromState(state: unknown): WindowAggregate {
  const s = state as Partial<WindowAggregate> | undefined;
  if (s?.v !== 1 || typeof s.k !== 'object' || s.k === null) return emptyAggregate();
  return s as WindowAggregate;
}

/**
 * Aggregate one invocation's observations (per key, in stream order) into the window state, in place.
 * Pure apart from mutating `agg`; no I/O. A record is late when its minute is at or before the watermark
 * minute of the records the window already holds for its key (the stored item's `closedThrough` is checked
 * at the fold), exactly the test foldObservations applies record by record.
 *
 * @example
 * const agg = aggregateFromState(event.state);
 * aggregateObservations(agg, decodeBatch(records).byKey, settings);
 * return { state: agg, batchItemFailures: [] };
 */
export function aggregateObservations(
  agg: WindowAggregate,
  byKey: ReadonlyMap<string, readonly Observation[]>,
  settings: WindowSettings,
): AggregateStats {
  const aggregator = new WindowAggregator(agg, settings);
  for (const observations of byKey.values()) for (const ob of observations) aggregator.add(ob);
  return aggregator.finish();
}

/**
 * Ids already in a key's aggregate, decoded, per container: the state comes back from Lambda as JSON with
 * every invocation, and decoding a busy key's ids each time would cost more than the records. Validated by
 * the id string's length and last hash (ids are only appended; a retry with an earlier state is shorter).
 */
const idCache = new Map<string, { length: number; last: string; ids: IdSet }>();
const MAX_CACHED_KEYS = 50_000;

/** Takes one invocation's observations, one at a time, into the window state; `finish` writes the new ids. */
export class WindowAggregator {
  readonly stats: AggregateStats = { accepted: 0, late: 0, duplicate: 0, redelivered: 0 };
  private readonly dedupe: boolean;
  /** Per key touched in this invocation: its aggregate, its known ids and the ids it accepted now. */
  private readonly touched = new Map<string, Touched>();

  constructor(
    readonly agg: WindowAggregate,
    private readonly settings: WindowSettings,
  ) {
    this.dedupe = settings.dedupeIds > 0;
  }

  add(ob: Observation): void {
    const { agg, stats } = this;
    if (ob.position) {
      agg.sh ??= ob.position.shardId;
      if (agg.p !== undefined && compareSequence(ob.position.sequenceNumber, agg.p) <= 0) {
        stats.redelivered++;
        return;
      }
      agg.p = ob.position.sequenceNumber;
      agg.o ??= agg.p;
    }
    const wm = watermarkTsOf(ob);
    let t = this.touched.get(ob.key);
    if (!t) {
      let ka = agg.k[ob.key];
      if (!ka) {
        ka = { f: wm, mx: wm, b: [] };
        agg.k[ob.key] = ka;
      }
      t = {
        key: ob.key,
        ka,
        closedThrough: watermarkMinute(ka.mx, this.settings),
        added: [],
        region: undefined,
        regionMinute: 0,
      };
      this.touched.set(ob.key, t);
    }
    const { ka } = t;
    const minute = Math.floor(ob.ts / MINUTE_MS);
    if (minute <= t.closedThrough) {
      ka.l = (ka.l ?? 0) + 1;
      stats.late++;
      return;
    }
    if (this.dedupe && ob.id !== undefined) {
      hashId36(ob.id);
      const known = (t.known ??= this.knownIds(ka, ob.key));
      // One probe for both the test and the insert while the key has room.
      const full = known.size >= MAX_WINDOW_IDS_PER_KEY;
      if (full ? known.has(hashLo, hashHi) : !known.add(hashLo, hashHi)) {
        ka.d = (ka.d ?? 0) + 1;
        stats.duplicate++;
        return;
      }
      if (!full) t.added.push(hashLo, hashHi);
    }
    addToBuckets(ka.b, minute, ob);
    // A key's records nearly always name the same region: its last minute is kept on `t`, so the region map is
    // only read and written when the region changes or the minute advances.
    if (ob.region !== undefined && (ob.region !== t.region || minute > t.regionMinute)) {
      ka.r = ob.region;
      const rg = (ka.rg ??= {});
      const last = rg[ob.region] ?? Number.NEGATIVE_INFINITY;
      if (last < minute) rg[ob.region] = minute;
      t.region = ob.region;
      t.regionMinute = Math.max(last, minute);
    }
    if (wm > ka.mx) {
      ka.mx = wm;
      t.closedThrough = watermarkMinute(wm, this.settings);
    }
    stats.accepted++;
  }

  /** Appends the ids accepted in this invocation to their keys' `i`; returns the counts. */
  finish(): AggregateStats {
    for (const t of this.touched.values()) {
      if (!t.added.length || !t.known) continue;
      t.ka.i = (t.ka.i ?? '') + encodeHashes(t.added);
      if (idCache.size >= MAX_CACHED_KEYS) idCache.clear();
      idCache.set(this.cacheKey(t.key), { length: t.ka.i.length, last: t.ka.i.slice(-ID_HASH_CHARS), ids: t.known });
    }
    this.touched.clear();
    return this.stats;
  }

  private cacheKey(key: string): string {
    return `${this.agg.sh ?? ''}|${this.agg.o ?? ''}|${key}`;
  }

  /** The key's ids of this window so far (decoded once per container and key, then kept up to date). */
  private knownIds(ka: KeyAggregate, key: string): IdSet {
    const ids = ka.i ?? '';
    const cached = ids ? idCache.get(this.cacheKey(key)) : undefined;
    if (cached && cached.length === ids.length && cached.last === ids.slice(-ID_HASH_CHARS)) {
      // Taken out until finish(): an invocation that fails after adding to it must not leave it behind.
      idCache.delete(this.cacheKey(key));
      return cached.ids;
    }
    return decodeHashes(ids);
  }
}

interface Touched {
  key: string;
  ka: KeyAggregate;
  /** The watermark minute of the key's records so far: records at or before it are late. */
  closedThrough: number;
  known?: IdSet;
  /** (low 30 bits, high 6 bits) of each id hash accepted now, flat. */
  added: number[];
  /** The region this invocation last recorded for the key (`ka.r`), and its minute in `ka.rg`. */
  region: string | undefined;
  regionMinute: number;
}

/** Records a key's aggregate holds (accepted, late and duplicate). */
export function aggregateRecords(ka: KeyAggregate): number {
  return ka.b.reduce((n, b) => n + b.n, 0) + (ka.l ?? 0) + (ka.d ?? 0);
}

/**
 * An upper bound of the serialised size of a key's aggregate in bytes (without serialising it): what the
 * 1 MB state limit is checked against before the exact size is needed.
 */
export function keyAggregateBytes(key: string, ka: KeyAggregate): number {
  let n = 110 + key.length + (ka.i?.length ?? 0) + (ka.r?.length ?? 0);
  for (const b of ka.b) n += 110 + (b.a ? 20 * Object.keys(b.a).length : 0);
  if (ka.rg) n += 24 * Object.keys(ka.rg).length;
  return n;
}

export function aggregateBytes(agg: WindowAggregate): number {
  let n = 100;
  for (const [key, ka] of Object.entries(agg.k)) n += keyAggregateBytes(key, ka);
  return n;
}

/**
 * The keys to fold now so the state falls to `targetBytes`: the largest first. Spilled keys are written
 * more than once in the window (rare: a shard's window holds at most 60,000 records' ids, ≈ 360 KB).
 */
export function keysToSpill(agg: WindowAggregate, targetBytes: number): string[] {
  let size = aggregateBytes(agg);
  if (size <= targetBytes) return [];
  const bySize = Object.entries(agg.k)
    .map(([key, ka]) => ({ key, bytes: keyAggregateBytes(key, ka) }))
    .sort((a, b) => b.bytes - a.bytes);
  const out: string[] = [];
  for (const { key, bytes } of bySize) {
    if (size <= targetBytes) break;
    out.push(key);
    size -= bytes;
  }
  return out;
}

const ID_CODES = Array.from(ID_ALPHABET, (c) => c.charCodeAt(0));
const ID_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ID_ALPHABET.length; i++) ID_VALUES[ID_ALPHABET.charCodeAt(i)] = i;

/**
 * A set of 36-bit id hashes: an open-addressing table in one Int32Array (slot j: [2j] low 30 bits, -1 when
 * free; [2j+1] high 6 bits), so no heap number or Map entry per id on the hot path, and nothing for the
 * garbage collector to scan or copy (the sets stay cached per key between invocations).
 */
export class IdSet {
  private slots: Int32Array;
  /** Slot count - 1 (a power of two); a hash starts at its low bits, which cyrb53 has already mixed. */
  private mask: number;
  size = 0;

  /** `expected`: how many ids it will hold, so a key's set is sized once (it grows past that). */
  constructor(expected = 0) {
    let capacity = 64;
    while (capacity < expected * 2) capacity *= 2;
    this.slots = new Int32Array(capacity * 2).fill(-1);
    this.mask = capacity - 1;
  }

  has(lo: number, hi: number): boolean {
    const { slots, mask } = this;
    for (let at = lo & mask; ; at = (at + 1) & mask) {
      const l = slots[at * 2]!;
      if (l === -1) return false;
      if (l === lo && slots[at * 2 + 1] === hi) return true;
    }
  }

  /** Adds the hash; false when it was already there. */
  add(lo: number, hi: number): boolean {
    const { slots, mask } = this;
    let at = lo & mask;
    for (; ; at = (at + 1) & mask) {
      const l = slots[at * 2]!;
      if (l === -1) break;
      if (l === lo && slots[at * 2 + 1] === hi) return false;
    }
    slots[at * 2] = lo;
    slots[at * 2 + 1] = hi;
    // At most half full: probes stay short.
    if (++this.size * 4 > slots.length) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = old.length; // twice the slot count
    const slots = new Int32Array(capacity * 2).fill(-1);
    const mask = capacity - 1;
    for (let i = 0; i < old.length; i += 2) {
      const lo = old[i]!;
      if (lo === -1) continue;
      let at = lo & mask;
      while (slots[at * 2] !== -1) at = (at + 1) & mask;
      slots[at * 2] = lo;
      slots[at * 2 + 1] = old[i + 1]!;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** The last hashId36 result: low 30 and high 6 bits of a 36-bit hash of the id (cyrb53's). */
let hashLo = 0;
let hashHi = 0;
const hashScratch = new Int32Array(2);

/** cyrb53 (as idHash), cut to 36 bits and left in hashLo/hashHi: no allocation per record. */
function hashId36(id: string): void {
  cyrb53Into(id, hashScratch);
  const h1 = hashScratch[0]!;
  const h2 = hashScratch[1]!;
  hashLo = h1 & 0x3fffffff;
  hashHi = ((h2 & 0xf) << 2) | ((h1 >>> 30) & 3);
}

/** (low, high) pairs as 6 base64url characters each (high 6 bits first), concatenated. */
export function encodeHashes(pairs: readonly number[]): string {
  const codes = new Array<number>((pairs.length / 2) * ID_HASH_CHARS);
  let at = 0;
  for (let j = 0; j < pairs.length; j += 2) {
    const lo = pairs[j]!;
    codes[at++] = ID_CODES[pairs[j + 1]! & 63]!;
    codes[at++] = ID_CODES[(lo >>> 24) & 63]!;
    codes[at++] = ID_CODES[(lo >>> 18) & 63]!;
    codes[at++] = ID_CODES[(lo >>> 12) & 63]!;
    codes[at++] = ID_CODES[(lo >>> 6) & 63]!;
    codes[at++] = ID_CODES[lo & 63]!;
  }
  let s = '';
  for (let from = 0; from < codes.length; from += 6_000) s += String.fromCharCode(...codes.slice(from, from + 6_000));
  return s;
}

export function decodeHashes(ids: string): IdSet {
  // Room for as many again: the window's next invocation adds about as many ids as the last.
  const out = new IdSet((2 * ids.length) / ID_HASH_CHARS);
  for (let at = 0; at + ID_HASH_CHARS <= ids.length; at += ID_HASH_CHARS) {
    const hi = ID_VALUES[ids.charCodeAt(at)]!;
    let lo = 0;
    for (let k = 1; k < ID_HASH_CHARS; k++) lo = (lo << 6) | ID_VALUES[ids.charCodeAt(at + k)]!;
    out.add(lo, hi);
  }
  return out;
}
