import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engagementKey, engagementWeight, type Observation } from '../../../lambdas/core/observations.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../../../lambdas/core/window-settings.js';
import {
  compareSequence,
  decodeState,
  encodeState,
  foldObservations,
  type FoldResult,
  type WindowResult,
  type KeyState,
} from '../../../lambdas/core/key-state.js';
import { deepFreeze, M0, MINUTE, T0, ob, pos, rng } from './fixtures.js';

const D = DEFAULT_WINDOW_SETTINGS;

/** Fold several batches in turn, as successive invocations would, collecting every emitted window. */
function foldAll(
  batches: readonly (readonly Observation[])[],
  settings: WindowSettings = D,
  start?: KeyState,
): { state: KeyState; windows: WindowResult[]; results: FoldResult[] } {
  let state = start;
  const windows: WindowResult[] = [];
  const results: FoldResult[] = [];
  for (const batch of batches) {
    const r = foldObservations(state, batch, settings);
    state = r.state;
    windows.push(...r.windows);
    results.push(r);
  }
  return { state: state!, windows, results };
}

/** What a window ending with minute `last` must contain, computed directly from the observations. */
function expectedWindow(all: readonly Observation[], last: number, windowMinutes: number) {
  const inWin = all.filter((o) => {
    const m = Math.floor(o.ts / MINUTE);
    return m >= last - windowMinutes + 1 && m <= last;
  });
  const inLast = inWin.filter((o) => Math.floor(o.ts / MINUTE) === last);
  const values = inWin.map((o) => o.value);
  const sum = values.reduce((a, b) => a + b, 0);
  const lastValues = inLast.map((o) => o.value);
  return {
    start: (last - windowMinutes + 1) * MINUTE,
    end: (last + 1) * MINUTE,
    n: values.length,
    sum,
    mean: sum / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    activeMinutes: new Set(inWin.map((o) => Math.floor(o.ts / MINUTE))).size,
    lastMinute: inLast.length
      ? {
          n: inLast.length,
          mean: lastValues.reduce((a, b) => a + b, 0) / inLast.length,
          min: Math.min(...lastValues),
          max: Math.max(...lastValues),
        }
      : undefined,
  };
}

describe('foldObservations — minute buckets', () => {
  it('puts 59.999 s and 60.000 s into different minute buckets', () => {
    const { state } = foldObservations(undefined, [ob(T0 + 59_999, 1), ob(T0 + 60_000, 2)], D);
    expect(state.buckets).toEqual([
      { m: M0, n: 1, sum: 1, min: 1, max: 1 },
      { m: M0 + 1, n: 1, sum: 2, min: 2, max: 2 },
    ]);
  });

  it('aggregates n/sum/min/max of one minute', () => {
    const { state } = foldObservations(undefined, [ob(T0, 5), ob(T0 + 10_000, -2), ob(T0 + 59_000, 9)], D);
    expect(state.buckets).toEqual([{ m: M0, n: 3, sum: 12, min: -2, max: 9 }]);
  });
});

describe('foldObservations — when windows are emitted', () => {
  it('emits a window only once the watermark (max event time − lateness) reaches its end', () => {
    const a = foldObservations(undefined, [ob(T0 + 30_000, 1)], D);
    expect(a.windows).toEqual([]);
    // The window whose last minute is M0 ends at T0+60s; with 2 min lateness that needs max ts ≥ T0+180s.
    const b = foldObservations(a.state, [ob(T0 + 179_999, 2)], D);
    expect(b.windows).toEqual([]);
    const c = foldObservations(b.state, [ob(T0 + 180_000, 3)], D);
    expect(c.windows).toHaveLength(1);
    expect(c.windows[0]).toMatchObject({
      key: 'acme#cqs_p95',
      start: T0 - 9 * MINUTE,
      end: T0 + MINUTE,
      n: 1,
      sum: 1,
      mean: 1,
      min: 1,
      max: 1,
      lastMinute: { n: 1, mean: 1, min: 1, max: 1 },
    });
  });

  it('honours a different allowed lateness', () => {
    const s: WindowSettings = { ...D, allowedLatenessMs: 0 };
    const a = foldObservations(undefined, [ob(T0 + 30_000, 1), ob(T0 + 59_999, 2)], s);
    expect(a.windows).toEqual([]);
    const b = foldObservations(a.state, [ob(T0 + 60_000, 3)], s);
    expect(b.windows.map((w) => w.end)).toEqual([T0 + MINUTE]);
    expect(b.windows[0]).toMatchObject({ n: 2, sum: 3 });
  });

  it(
    'slides every minute: consecutive windows with the right start/end/n/sum/mean/min/max/lastMinute, each ' +
      'emitted once',
    () => {
      const all: Observation[] = [];
      for (let k = 0; k < 15; k++) all.push(ob(T0 + k * MINUTE + 10_000, k), ob(T0 + k * MINUTE + 50_000, 2 * k + 1));
      all.push(ob(T0 + 26 * MINUTE, 100)); // pushes the watermark to T0+24min: windows ending M0..M0+23 close
      // One invocation per minute of data.
      const batches: Observation[][] = [];
      for (let i = 0; i < all.length; i += 2) batches.push(all.slice(i, i + 2));
      const { windows } = foldAll(batches);
      const lasts = Array.from({ length: 24 }, (_, i) => M0 + i);
      expect(windows.map((w) => w.end)).toEqual(lasts.map((m) => (m + 1) * MINUTE));
      for (const [i, w] of windows.entries()) {
        const e = expectedWindow(all, lasts[i]!, 10);
        expect(w).toMatchObject({
          start: e.start,
          end: e.end,
          n: e.n,
          sum: e.sum,
          min: e.min,
          max: e.max,
          activeMinutes: e.activeMinutes,
        });
        expect(w.mean).toBeCloseTo(e.mean, 12);
        expect(w.lastMinute).toEqual(e.lastMinute);
      }
      // Spot-check one by hand: the window of minutes 3..12 holds values 3..12 and 7..25.
      const w12 = windows.find((w) => w.end === T0 + 13 * MINUTE)!;
      expect(w12).toMatchObject({
        start: T0 + 3 * MINUTE,
        n: 20,
        sum: 75 + 160,
        min: 3,
        max: 25,
        activeMinutes: 10,
        lastMinute: { n: 2, mean: 18.5, min: 12, max: 25 },
      });
      // A window whose last minute had no data says so.
      expect(windows.at(-1)!.lastMinute).toBeUndefined();
    },
  );

  it('with slideMinutes = 5 emits only windows ending on 5-minute boundaries, every 5 minutes', () => {
    const s: WindowSettings = { ...D, slideMinutes: 5 };
    const all: Observation[] = [];
    for (let k = 0; k < 30; k++) all.push(ob(T0 + k * MINUTE + 1_000, k));
    all.push(ob(T0 + 60 * MINUTE, 0));
    const { windows } = foldAll(
      all.map((o) => [o]),
      s,
    );
    expect(windows.length).toBeGreaterThan(0);
    for (const w of windows) expect(w.end % (5 * MINUTE)).toBe(0);
    // Data in minutes 0..29 (and 60): windows with data end at T0+5min .. T0+35min (T0+40min holds minutes 30..39:
    // none).
    expect(windows.map((w) => (w.end - T0) / MINUTE)).toEqual([5, 10, 15, 20, 25, 30, 35]);
    const w10 = windows[1]!;
    expect(w10).toMatchObject({ start: T0, n: 10, sum: 45, min: 0, max: 9 });
  });

  it('after long gaps emits only windows that contain data and keeps few buckets', () => {
    const a = foldObservations(undefined, [ob(T0, 1)], D);
    const b = foldObservations(a.state, [ob(T0 + 5 * 3600_000, 2)], D);
    // Minute M0 is in exactly the 10 windows ending M0..M0+9.
    expect(b.windows.map((w) => w.end)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + (i + 1) * MINUTE));
    expect(b.windows.every((w) => w.n === 1 && w.sum === 1)).toBe(true);
    expect(b.state.buckets).toEqual([{ m: M0 + 300, n: 1, sum: 2, min: 2, max: 2 }]);
    const c = foldObservations(b.state, [ob(T0 + 10 * 3600_000, 3)], D);
    expect(c.windows).toHaveLength(10);
    expect(c.windows.every((w) => w.sum === 2)).toBe(true);
    expect(c.state.buckets).toHaveLength(1);
  });

  it('keeps the bucket list bounded over a long steady stream', () => {
    let state: KeyState | undefined;
    let most = 0;
    for (let k = 0; k < 2_000; k++) {
      state = foldObservations(state, [ob(T0 + k * MINUTE + 7_000, k % 13), ob(T0 + k * MINUTE + 40_000, 1)], D).state;
      most = Math.max(most, state.buckets.length);
    }
    // Window (10) + lateness (2) + the open minute.
    expect(most).toBeLessThanOrEqual(13);
  });
});

describe('foldObservations — late and out-of-order records', () => {
  it('folds a record that is out of order but within the lateness into its own minute', () => {
    const a = foldObservations(undefined, [ob(T0 + 5 * MINUTE, 10)], D);
    const b = foldObservations(a.state, [ob(T0 + 3 * MINUTE + 30_000, 4)], D);
    expect(b.stats).toMatchObject({ folded: 1, late: 0 });
    expect(b.state.buckets.map((x) => [x.m - M0, x.n, x.sum])).toEqual([
      [3, 1, 4],
      [5, 1, 10],
    ]);
    const c = foldObservations(b.state, [ob(T0 + 20 * MINUTE, 0)], D);
    expect(c.windows.find((w) => w.end === T0 + 4 * MINUTE)).toMatchObject({ n: 1, sum: 4 });
    expect(c.windows.find((w) => w.end === T0 + 6 * MINUTE)).toMatchObject({ n: 2, sum: 14, min: 4, max: 10 });
  });

  it('accepts a record exactly the lateness behind and counts one 1 ms older as late', () => {
    const a = foldObservations(undefined, [ob(T0 + 10 * MINUTE, 1)], D);
    const b = foldObservations(a.state, [ob(T0 + 8 * MINUTE, 2)], D);
    expect(b.stats).toMatchObject({ folded: 1, late: 0 });
    const c = foldObservations(b.state, [ob(T0 + 8 * MINUTE - 1, 3)], D);
    expect(c.stats).toMatchObject({ folded: 0, late: 1 });
  });

  it('counts a record beyond the lateness as late and leaves the buckets and windows alone', () => {
    const a = foldAll([[ob(T0, 1), ob(T0 + MINUTE, 2)], [ob(T0 + 10 * MINUTE, 3)]]);
    const before = structuredClone(a.state.buckets);
    const late = foldObservations(a.state, [ob(T0 + 30_000, 1000), ob(T0 + 5 * MINUTE, 1000)], D);
    expect(late.stats).toMatchObject({ folded: 0, late: 2 });
    expect(late.windows).toEqual([]);
    expect(late.state.buckets).toEqual(before);
    const after = foldObservations(late.state, [ob(T0 + 30 * MINUTE, 0)], D);
    expect(after.windows.every((w) => w.max < 1000)).toBe(true);
  });
});

describe('foldObservations — duplicates and redelivery', () => {
  it('drops a record whose id was already folded, within a batch and across batches, and counts it', () => {
    const a = foldObservations(
      undefined,
      [ob(T0, 1, { id: 'x', position: pos(1) }), ob(T0 + 1_000, 5, { id: 'x', position: pos(2) })],
      D,
    );
    expect(a.stats).toMatchObject({ folded: 1, duplicate: 1 });
    expect(a.state.buckets).toEqual([{ m: M0, n: 1, sum: 1, min: 1, max: 1, i: expect.stringMatching(/^[\w-]{6}$/) }]);
    const b = foldObservations(
      a.state,
      [ob(T0 + 2_000, 7, { id: 'x', position: pos(3) }), ob(T0 + 3_000, 2, { id: 'y', position: pos(4) })],
      D,
    );
    expect(b.stats).toMatchObject({ folded: 1, duplicate: 1 });
    expect(b.state.buckets).toEqual([{ m: M0, n: 2, sum: 3, min: 1, max: 2, i: expect.stringMatching(/^[\w-]{12}$/) }]);
  });

  it('ignores a redelivered batch (same shard, sequence ≤ last folded): changed=false, same state, no windows', () => {
    const batch = Array.from({ length: 20 }, (_, i) => ob(T0 + i * 30_000, i, { id: `r-${i}`, position: pos(i + 1) }));
    const first = foldObservations(undefined, batch, D);
    expect(first.changed).toBe(true);
    expect(first.windows.length).toBeGreaterThan(0);
    const again = foldObservations(first.state, batch, D);
    expect(again.changed).toBe(false);
    expect(again.stats).toEqual({ folded: 0, late: 0, duplicate: 0, redelivered: 20 });
    expect(again.windows).toEqual([]);
    expect(encodeState(again.state)).toBe(encodeState(first.state));
  });

  it('treats an older sequence number as redelivered even if its content differs', () => {
    const first = foldObservations(undefined, [ob(T0, 1, { position: pos(10) })], D);
    const r = foldObservations(
      first.state,
      [ob(T0 + 1, 99, { position: pos(9) }), ob(T0 + 2, 98, { position: pos(10) })],
      D,
    );
    expect(r.changed).toBe(false);
    expect(r.stats.redelivered).toBe(2);
    expect(r.state.buckets).toEqual(first.state.buckets);
  });

  it('tracks shards separately: the same sequence number on another shard is new', () => {
    const first = foldObservations(undefined, [ob(T0, 1, { position: pos(10, 'shardId-000000000001') })], D);
    const r = foldObservations(first.state, [ob(T0 + 1, 2, { position: pos(10, 'shardId-000000000002') })], D);
    expect(r.stats).toMatchObject({ folded: 1, redelivered: 0 });
  });

  it('a resumed delivery (Lambda restarts from a failed record) folds only the new part', () => {
    const all = Array.from({ length: 15 }, (_, i) => ob(T0 + i * 20_000, i, { position: pos(i + 1) }));
    const once = foldObservations(undefined, all, D);
    const part = foldObservations(undefined, all.slice(0, 10), D);
    const resumed = foldObservations(part.state, all.slice(4), D);
    expect(resumed.stats).toMatchObject({ redelivered: 6, folded: 5 });
    expect(encodeState(resumed.state)).toBe(encodeState(once.state));
    expect([...part.windows, ...resumed.windows]).toEqual(once.windows);
  });

  it('folding the same batch twice on the resulting state gives JSON-identical state', () => {
    const r = rng(7);
    const batch = Array.from({ length: 300 }, (_, i) =>
      ob(T0 + i * 2_000 + Math.floor((r() - 0.5) * 200_000), r() * 100, {
        id: `i-${i % 250}`,
        position: pos(i + 1, `shardId-00000000000${i % 3}`),
      }),
    );
    const once = foldObservations(undefined, batch, D);
    const twice = foldObservations(once.state, batch, D);
    expect(JSON.stringify(twice.state)).toBe(JSON.stringify(once.state));
    expect(twice.changed).toBe(false);
  });
});

/** A stream with jitter (some of it beyond the lateness), retried ids and two shards. */
function messyStream(seed: number, length: number): Observation[] {
  const r = rng(seed);
  const seqs = [0, 0];
  return Array.from({ length }, (_, i) => {
    const shard = r() < 0.5 ? 0 : 1;
    seqs[shard]! += 1 + Math.floor(r() * 5);
    const id = r() < 0.1 && i > 0 ? `e-${Math.floor(r() * i)}` : `e-${i}`;
    return ob(T0 + i * 3_000 + Math.floor((r() - 0.7) * 240_000), Math.round(r() * 1e6) / 100, {
      id,
      position: pos(seqs[shard]!, `shardId-00000000000${shard}`),
      ...(r() < 0.2 ? { region: r() < 0.5 ? 'kr' : 'us' } : {}),
    });
  });
}

/** Numbers equal to 1e-9 relative, everything else exactly. */
function expectAlmostEqual(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(actual - expected) > 1e-9 * Math.max(1, Math.abs(expected)))
      expect.fail(`${path}: ${actual} ≠ ${expected}`);
    return;
  }
  if (expected && typeof expected === 'object') {
    expect(actual, path).toBeTypeOf('object');
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected))
      expectAlmostEqual((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  expect(actual, path).toEqual(expected);
}

describe('foldObservations — batch boundaries do not matter', () => {
  it('splitting a batch into two or three folds gives the same state and windows as one fold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 299 }),
        fc.integer({ min: 1, max: 299 }),
        (seed, c1, c2) => {
          const all = messyStream(seed, 300);
          const [a, b] = c1 <= c2 ? [c1, c2] : [c2, c1];
          const once = foldObservations(undefined, all, D);
          const split = foldAll(
            a === b ? [all.slice(0, a), all.slice(a)] : [all.slice(0, a), all.slice(a, b), all.slice(b)],
          );
          expect(JSON.stringify(split.state)).toBe(JSON.stringify(once.state));
          expect(split.windows).toEqual(once.windows);
          const stats = split.results.reduce(
            (t, r) => ({
              folded: t.folded + r.stats.folded,
              late: t.late + r.stats.late,
              duplicate: t.duplicate + r.stats.duplicate,
              redelivered: t.redelivered + r.stats.redelivered,
            }),
            { folded: 0, late: 0, duplicate: 0, redelivered: 0 },
          );
          expect(stats).toEqual(once.stats);
        },
      ),
      { numRuns: 60, seed: 42 },
    );
  });

  it('also when the state goes through encodeState/decodeState between invocations (as it does via the store)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const all = messyStream(seed, 300);
      const once = foldObservations(undefined, all, D);
      let state: KeyState | undefined;
      const windows: WindowResult[] = [];
      for (let i = 0; i < all.length; i += 37) {
        const r = foldObservations(state, all.slice(i, i + 37), D);
        state = decodeState(encodeState(r.state));
        windows.push(...r.windows);
      }
      expectAlmostEqual(windows, once.windows);
      expectAlmostEqual(state, decodeState(encodeState(once.state)));
    }
  });
});

describe('foldObservations — purity', () => {
  it('does not mutate the input state (deep-frozen) nor the observations', () => {
    const start = foldObservations(undefined, [ob(T0, 1, { id: 'a', position: pos(1) })], D).state;
    const prev = deepFreeze(structuredClone(start));
    const snapshot = JSON.stringify(prev);
    const batch = deepFreeze([
      ob(T0 + 2_000, 3, { id: 'b', position: pos(2) }),
      ob(T0 + 10 * MINUTE, 4, { id: 'c', position: pos(3, 'shardId-000000000009') }),
    ]);
    const r = foldObservations(prev, batch, D);
    expect(JSON.stringify(prev)).toBe(snapshot);
    expect(r.state.buckets[0]).toMatchObject({ m: M0, n: 2, sum: 4 });
    expect(r.windows.length).toBeGreaterThan(0);
  });

  it('does not mutate action counts of the input state of an engagement key', () => {
    const act = (ts: number, action: string, n: number): Observation => ({
      key: engagementKey('podcast', 'user-42'),
      tenant: 'podcast',
      signal: 'engagement',
      subject: 'user-42',
      ts,
      value: engagementWeight(action),
      action,
      position: pos(n),
    });
    const start = foldObservations(undefined, [act(T0, 'listen', 1), act(T0 + 1_000, 'pause', 2)], D).state;
    const prev = deepFreeze(structuredClone(start));
    const r = foldObservations(prev, [act(T0 + 2_000, 'pause', 3), act(T0 + 3_000, 'exit', 4)], D);
    expect(prev.buckets[0]!.a).toEqual({ listen: 1, pause: 1 });
    expect(r.state.buckets[0]!.a).toEqual({ listen: 1, pause: 2, exit: 1 });
  });
});

describe('state size (one DynamoDB item per key, target ≤ 4 KB)', () => {
  const LIMIT = 4096;
  const SHARDS = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];

  /**
   * 100k observations over ~200 minutes, jitter up to 2.4 min back, unique ids, 3 shards, 56-digit sequence numbers.
   */
  function largestState(
    make: (i: number, r: () => number) => Omit<Observation, 'ts' | 'id' | 'position'>,
    count = 100_000,
  ): { bytes: number; buckets: number } {
    const r = rng(11);
    const seqs = [0, 0, 0];
    let state: KeyState | undefined;
    let bytes = 0;
    let buckets = 0;
    for (let start = 0; start < count; start += 500) {
      const batch: Observation[] = [];
      for (let i = start; i < start + 500; i++) {
        const shard = Math.floor(r() * 3);
        seqs[shard]! += 1 + Math.floor(r() * 1000);
        const o = make(i, r);
        batch.push({
          key: o.key,
          tenant: o.tenant,
          signal: o.signal,
          subject: o.subject,
          value: o.value,
          action: o.action,
          region: o.region,
          ts: T0 + i * 120 + Math.floor((r() - 0.8) * 180_000),
          id: `evt-${i}-${Math.floor(r() * 1e9)}`,
          position: {
            shardId: SHARDS[shard]!,
            sequenceNumber: `49590338271490256608559692538361571095921575989${String(seqs[shard]).padStart(9, '0')}`,
          },
        });
      }
      state = foldObservations(state, batch, D).state;
      bytes = Math.max(bytes, Buffer.byteLength(encodeState(state)));
      buckets = Math.max(buckets, state.buckets.length);
    }
    return { bytes, buckets };
  }

  it('stays ≤ 4 KB for a metric key after 100k observations with ids from 3 shards', () => {
    const { bytes, buckets } = largestState((_i, r) => ({
      key: 'acme#cost_per_tb_scanned',
      tenant: 'acme',
      signal: 'cost_per_tb_scanned',
      value: r() * 1000,
      region: 'ap-northeast-2',
    }));
    expect(buckets).toBeLessThanOrEqual(13);
    expect(bytes).toBeLessThanOrEqual(LIMIT);
  });

  it('stays ≤ 4 KB for an engagement key using every known action, with the longest tenant and key', () => {
    const actions = ['listen', 'play', 'resume', 'complete', 'like', 'share', 'seek', 'pause', 'skip', 'exit', 'stop'];
    const tenant = 't'.repeat(64);
    const subject = 'u'.repeat(128);
    const { bytes } = largestState((_i, r) => {
      const action = actions[Math.floor(r() * actions.length)]!;
      return {
        key: engagementKey(tenant, subject),
        tenant,
        signal: 'engagement',
        subject,
        value: engagementWeight(action),
        action,
        region: 'ap-northeast-2',
      };
    }, 20_000);
    expect(bytes).toBeLessThanOrEqual(LIMIT);
  });

  // BUG (reported): per-minute action counts grow with the number of distinct action names,
  // which producers choose freely (any valid name), so one activity key's item has no size bound.
  it('stays ≤ 4 KB for an engagement key whose producer sends many distinct action names', () => {
    const { bytes } = largestState((i) => {
      const action = `custom_action_${i % 40}`;
      return {
        key: engagementKey('podcast', 'user-42'),
        tenant: 'podcast',
        signal: 'engagement',
        subject: 'user-42',
        value: engagementWeight(action),
        action,
      };
    }, 10_000);
    expect(bytes).toBeLessThanOrEqual(LIMIT);
  });
});

describe('compareSequence', () => {
  it('orders decimal strings by numeric value, including different lengths', () => {
    expect(compareSequence('9', '10')).toBeLessThan(0);
    expect(compareSequence('10', '9')).toBeGreaterThan(0);
    expect(compareSequence('100', '100')).toBe(0);
    expect(
      compareSequence(
        '49590338271490256608559692538361571095921575989136588898',
        '4959033827149025660855969253836157109592157598913658889',
      ),
    ).toBeGreaterThan(0);
    expect(
      compareSequence(
        '49590338271490256608559692538361571095921575989136588898',
        '49590338271490256608559692538361571095921575989136588899',
      ),
    ).toBeLessThan(0);
    const sorted = ['2', '10', '9', '1000', '999', '11', '1'].sort(compareSequence);
    expect(sorted).toEqual(['1', '2', '9', '10', '11', '999', '1000']);
  });

  it('agrees with BigInt ordering on random sequence numbers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 60n }), fc.bigInt({ min: 0n, max: 10n ** 60n }), (a, b) => {
        expect(Math.sign(compareSequence(a.toString(), b.toString()))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
      { numRuns: 300, seed: 1 },
    );
  });
});
