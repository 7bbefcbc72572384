import { describe, expect, it } from 'vitest';
import { foldBuckets, type KeyState } from '../../../lambdas/core/key-state.js';
import type { Observation } from '../../../lambdas/core/observations.js';
import { aggregateObservations, emptyAggregate, type WindowAggregate } from '../../../lambdas/core/window-aggregate.js';
import {
  carryTag,
  defersInWindow,
  foldChain,
  isQuietFold,
  toCarried,
  windowIndexOf,
} from '../../../lambdas/core/window-carry.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../lambdas/core/window-settings.js';
import { MINUTE, SHARD, T0, ob, pos } from './fixtures.js';

const D = DEFAULT_WINDOW_SETTINGS;
const KEY = 'acme#cqs_p95';

/** Minute `m`'s records of the key (10 per minute), aggregated as one tumbling window. */
function windowAt(m: number, from: number): WindowAggregate {
  const obs: Observation[] = Array.from({ length: 10 }, (_, i) =>
    ob(T0 + m * MINUTE + i * 6_000, 5 + ((m + i) % 4), { id: `e-${m}-${i}`, position: pos(from + i) }),
  );
  const agg = emptyAggregate();
  agg.sh = SHARD;
  aggregateObservations(agg, new Map([[KEY, obs]]), D);
  return agg;
}

const link = (agg: WindowAggregate, counted: boolean) => ({
  agg: toCarried(agg.k[KEY]!),
  shardId: SHARD,
  position: agg.p,
  counted,
});

describe('foldChain: a carried window, then this window', () => {
  const w1 = windowAt(0, 1);
  const w2 = windowAt(3, 100);
  const w3 = windowAt(6, 200);
  const first = foldBuckets(undefined, KEY, w1.k[KEY]!, SHARD, w1.p, D).state;

  it('gives the state and windows of writing each window in turn, and counts only this window', () => {
    const a = foldBuckets(first, KEY, w2.k[KEY]!, SHARD, w2.p, D);
    const b = foldBuckets(a.state, KEY, w3.k[KEY]!, SHARD, w3.p, D);
    const chain = foldChain(first, KEY, [link(w2, false), link(w3, true)], D);
    expect(chain.state).toEqual(b.state);
    expect(chain.windows).toEqual([...a.windows, ...b.windows]);
    expect(a.windows.length).toBeGreaterThan(0);
    expect(chain.repeated).toBe(a.windows.length);
    expect(chain.stats).toEqual(b.stats);
    expect(chain.stats.folded).toBe(10);
  });

  it('a late minute in this window is late exactly as if the carried window had been written first', () => {
    // Minute 0 again, after minute 6 closed it: late in both.
    const late = windowAt(0, 300);
    const seqA = foldBuckets(first, KEY, w3.k[KEY]!, SHARD, w3.p, D);
    const seqB = foldBuckets(seqA.state, KEY, late.k[KEY]!, SHARD, late.p, D);
    const chain = foldChain(first, KEY, [link(w3, false), link(late, true)], D);
    expect(chain.state).toEqual(seqB.state);
    expect(chain.stats.late).toBe(seqB.stats.late);
    expect(chain.stats.late).toBe(10);
  });

  it('a retry after the item was written skips both links (the positions), changing nothing', () => {
    const written = foldChain(first, KEY, [link(w2, false), link(w3, true)], D).state;
    const again = foldChain(written, KEY, [link(w2, false), link(w3, true)], D);
    expect(again.changed).toBe(false);
    expect(again.state).toBe(written);
    expect(again.stats).toEqual({ folded: 0, late: 0, duplicate: 0, redelivered: 10 });
  });

  it('a carried window of a key the item does not know yet starts the key from it', () => {
    const chain = foldChain(undefined, KEY, [link(w1, false), link(w2, true)], D);
    const seq = foldBuckets(
      foldBuckets(undefined, KEY, w1.k[KEY]!, SHARD, w1.p, D).state,
      KEY,
      w2.k[KEY]!,
      SHARD,
      w2.p,
      D,
    );
    expect(chain.state).toEqual(seq.state);
  });
});

describe('which keys wait', () => {
  it('a key waits every other window, and about half the keys wait in any one window', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `tenant-${i}#cqs_p95`);
    for (const k of keys.slice(0, 50)) expect(defersInWindow(k, 10)).toBe(!defersInWindow(k, 11));
    const share = keys.filter((k) => defersInWindow(k, 7)).length / keys.length;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });

  it('windows are counted from the epoch; a segment of an early-terminated window has its own tag', () => {
    expect(windowIndexOf(T0, MINUTE)).toBe(T0 / MINUTE);
    expect(windowIndexOf(T0 + MINUTE, MINUTE)).toBe(T0 / MINUTE + 1);
    expect(carryTag(T0, '17')).not.toBe(carryTag(T0, '42'));
    expect(carryTag(T0, undefined)).toBe(`${T0}/-`);
  });

  const stored = foldBuckets(undefined, KEY, windowAt(0, 1).k[KEY]!, SHARD, '1', D).state;
  const quiet = (over: Partial<KeyState> = {}, storedOver: Partial<KeyState> = {}, events = 0, traces = 0) =>
    isQuietFold({ ...stored, ...storedOver }, { ...stored, ...over }, events, traces);

  it('only a quiet fold of a key already stored waits', () => {
    expect(quiet()).toBe(true);
    expect(isQuietFold(undefined, stored, 0, 0)).toBe(false);
    expect(quiet({}, {}, 1)).toBe(false);
    expect(quiet({}, {}, 0, 2)).toBe(false);
    expect(quiet({}, { fx: [{ kind: 'recovered', episode: {} as never, at: T0 }] })).toBe(false);
    expect(quiet({ trk: { episode: {} as never, run: 1, highRun: 0, normalRun: 0, cost: [] } })).toBe(false);
    expect(quiet({ trc: {} as never })).toBe(false);
  });
});
