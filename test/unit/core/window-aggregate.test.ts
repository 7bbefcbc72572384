import { describe, expect, it } from 'vitest';
import { foldBuckets, foldObservations, type KeyState, type WindowResult } from '../../../lambdas/core/key-state.js';
import type { Observation } from '../../../lambdas/core/observations.js';
import {
  aggregateBytes,
  aggregateObservations,
  emptyAggregate,
  keysToSpill,
  WindowAggregator,
  type WindowAggregate,
} from '../../../lambdas/core/window-aggregate.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../lambdas/core/window-settings.js';
import { MINUTE, SHARD, T0, ob, pos, rng } from './fixtures.js';

const D = DEFAULT_WINDOW_SETTINGS;

/** A key's records, with jitter (some late), resends (same id and ts) and one fast clock. */
function stream(count: number, seed: number, perMinute = 20): Observation[] {
  const r = rng(seed);
  const out: Observation[] = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    const ts = T0 + Math.floor((i / perMinute) * MINUTE + (r() - 0.85) * 4 * MINUTE);
    const o = ob(ts, Math.round(r() * 1000) / 10, {
      id: `e-${i}`,
      region: r() < 0.1 ? 'us' : 'kr',
      position: pos(++n),
    });
    out.push(o);
    if (r() < 0.05) out.push({ ...o, position: pos(++n) });
  }
  return out;
}

/**
 * Cut a key's records into tumbling windows of about `size` records each, never between a record and its
 * resend (a resend in a later window is the documented bound, tested apart).
 */
function windowsOf(all: readonly Observation[], size: number): Observation[][] {
  const out: Observation[][] = [];
  let from = 0;
  while (from < all.length) {
    let to = Math.min(all.length, from + size);
    while (to < all.length && all[to]!.id === all[to - 1]!.id) to++;
    out.push(all.slice(from, to));
    from = to;
  }
  return out;
}

function sequential(all: readonly Observation[], windows: readonly Observation[][]) {
  let state: KeyState | undefined;
  const emitted: WindowResult[] = [];
  const stats = { folded: 0, late: 0, duplicate: 0 };
  for (const w of windows) {
    const r = foldObservations(state, w, { ...D, dedupeIds: 128 });
    state = r.state;
    emitted.push(...r.windows);
    stats.folded += r.stats.folded;
    stats.late += r.stats.late;
    stats.duplicate += r.stats.duplicate;
  }
  expect(all.length).toBeGreaterThan(0);
  return { state: state!, emitted, stats };
}

function windowed(windows: readonly Observation[][], invocationsPerWindow = 3) {
  let state: KeyState | undefined;
  const emitted: WindowResult[] = [];
  const stats = { folded: 0, late: 0, duplicate: 0 };
  for (const w of windows) {
    const agg: WindowAggregate = emptyAggregate();
    const step = Math.ceil(w.length / invocationsPerWindow);
    for (let i = 0; i < w.length; i += step) {
      // Each invocation gets the state as JSON, as Lambda passes it.
      const carried = JSON.parse(JSON.stringify(agg)) as WindowAggregate;
      aggregateObservations(carried, new Map([[w[0]!.key, w.slice(i, i + step)]]), D);
      Object.assign(agg, carried);
    }
    const r = foldBuckets(state, w[0]!.key, agg.k[w[0]!.key]!, SHARD, agg.p, D);
    state = r.state;
    emitted.push(...r.windows);
    stats.folded += r.stats.folded;
    stats.late += r.stats.late;
    stats.duplicate += r.stats.duplicate;
  }
  return { state: state!, emitted, stats };
}

/** Ids are kept per open minute by the per-record fold, only in the window state by the window fold. */
const withoutIds = (s: KeyState) => ({ ...s, buckets: s.buckets.map(({ i: _i, ...b }) => b) });
/**
 * `region` on a window is the key's last record's region when the window was emitted: the per-record fold
 * emits mid-batch, the window fold at its end (the anomaly's regions come from `rg`, which both keep alike).
 */
const noRegion = (ws: readonly WindowResult[]) => ws.map(({ region: _r, ...w }) => rounded(w));
/** Sums are added in another order (per bucket, then bucket to bucket): equal to 10 significant digits. */
const rounded = <T>(o: T): T =>
  JSON.parse(
    JSON.stringify(o, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(10)) : v,
    ),
  ) as T;

describe('tumbling-window aggregation + foldBuckets', () => {
  for (const [seed, size] of [
    [1, 200],
    [2, 57],
    [3, 1000],
  ] as const) {
    it(`gives the state and windows of the record-by-record fold (seed ${seed}, ${size} records per window)`, () => {
      const all = stream(3000, seed);
      const windows = windowsOf(all, size);
      const a = sequential(all, windows);
      const b = windowed(windows);
      expect(noRegion(b.emitted)).toEqual(noRegion(a.emitted));
      expect(rounded(withoutIds(b.state))).toEqual(rounded(withoutIds(a.state)));
      expect(b.stats.folded).toBe(a.stats.folded);
      // A resend that is also late counts as late record by record, as a duplicate here: the sum is the same.
      expect(b.stats.late + b.stats.duplicate).toBe(a.stats.late + a.stats.duplicate);
      expect(b.stats.duplicate).toBeGreaterThan(0);
    });
  }

  it('drops a redelivered tail within the window and a retried final fold of a saved key', () => {
    const all = stream(100, 9);
    const agg = emptyAggregate();
    aggregateObservations(agg, new Map([[all[0]!.key, all.slice(0, 60)]]), D);
    const again = aggregateObservations(agg, new Map([[all[0]!.key, all.slice(40)]]), D);
    expect(again.redelivered).toBe(20);
    const key = all[0]!.key;
    const first = foldBuckets(undefined, key, agg.k[key]!, SHARD, agg.p, D);
    const retried = foldBuckets(first.state, key, agg.k[key]!, SHARD, agg.p, D);
    expect(retried.changed).toBe(false);
    expect(retried.stats.redelivered).toBeGreaterThan(0);
    expect(first.state.buckets.every((b) => b.i === undefined)).toBe(true);
  });

  it('folds a resend again when it arrives in a later window while its minute is open (the documented bound)', () => {
    const a = ob(T0 + 1_000, 5, { id: 'e-1', position: pos(1) });
    const resend = { ...a, position: pos(2) };
    const w1 = emptyAggregate();
    aggregateObservations(w1, new Map([[a.key, [a]]]), D);
    const first = foldBuckets(undefined, a.key, w1.k[a.key]!, SHARD, w1.p, D);
    const w2 = emptyAggregate();
    aggregateObservations(w2, new Map([[a.key, [resend]]]), D);
    const second = foldBuckets(first.state, a.key, w2.k[a.key]!, SHARD, w2.p, D);
    expect(second.state.buckets[0]).toMatchObject({ n: 2, sum: 10 });
    // Within one window the resend is dropped.
    const w = emptyAggregate();
    expect(aggregateObservations(w, new Map([[a.key, [a, resend]]]), D)).toMatchObject({ accepted: 1, duplicate: 1 });
  });

  it('a retry with the previous state does not see the ids of the attempt that failed (the id cache)', () => {
    const all = stream(40, 12).filter((o, i, xs) => i === 0 || o.id !== xs[i - 1]!.id);
    const key = all[0]!.key;
    const first = new WindowAggregator(emptyAggregate(), D);
    for (const o of all.slice(0, 20)) first.add(o);
    first.finish();
    const s1 = JSON.stringify(first.agg);
    // The next invocation takes records 20.. and then fails: nothing of it is returned.
    const failed = new WindowAggregator(JSON.parse(s1) as WindowAggregate, D);
    for (const o of all.slice(20)) failed.add(o);
    // Lambda retries it with the state it had.
    const retry = new WindowAggregator(JSON.parse(s1) as WindowAggregate, D);
    for (const o of all.slice(20)) retry.add(o);
    const stats = retry.finish();
    expect(stats.duplicate).toBe(0);
    expect(stats.accepted + stats.late).toBe(all.length - 20);
    expect(retry.agg.k[key]!.i!.length).toBe(6 * (stats.accepted + first.stats.accepted));
  });

  it('names the largest keys to spill when the state grows past a bound', () => {
    const agg = emptyAggregate();
    const big = stream(2000, 4).map((o) => ({ ...o, key: 'acme#big', signal: 'big' }));
    const small = stream(50, 5);
    aggregateObservations(
      agg,
      new Map([
        ['acme#big', big],
        [small[0]!.key, small],
      ]),
      D,
    );
    const size = aggregateBytes(agg);
    // An upper bound, not far above the serialised size.
    expect(size).toBeGreaterThanOrEqual(JSON.stringify(agg).length);
    expect(size / JSON.stringify(agg).length).toBeLessThan(1.5);
    expect(keysToSpill(agg, size)).toEqual([]);
    expect(keysToSpill(agg, size / 2)).toEqual(['acme#big']);
  });
});
