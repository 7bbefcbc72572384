import { describe, expect, it } from 'vitest';
import { InMemoryWindowStore } from '../../../lambdas/adapters/in-memory/window-store.js';
import { CachingWindowStore } from '../../../lambdas/adapters/window-store.js';
import { foldObservations, type KeyState } from '../../../lambdas/core/key-state.js';
import type { StoredWindow } from '../../../lambdas/core/ports/window-store.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../lambdas/core/window-settings.js';
import { T0, ob, pos } from '../core/fixtures.js';

class CountingStore extends InMemoryWindowStore {
  reads = 0;
  override async loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>> {
    this.reads += keys.length;
    return super.loadMany(keys);
  }
}

const state = (n: number): KeyState =>
  foldObservations(undefined, [ob(T0 + n * 1_000, n, { position: pos(n) })], DEFAULT_WINDOW_SETTINGS).state;

describe('CachingWindowStore', () => {
  it('serves what this container saved without a read, and reads a key it does not hold', async () => {
    const inner = new CountingStore();
    const store = new CachingWindowStore(inner);
    expect((await store.save(state(1), undefined)).saved).toBe(true);
    const loaded = await store.loadMany(['acme#cqs_p95', 'other#x']);
    expect(loaded.get('acme#cqs_p95')?.version).toBe(1);
    expect(inner.reads).toBe(1);
    expect(store.hits).toBe(1);
  });

  it('drops a stale item on a version conflict; the re-read (load) goes to the table', async () => {
    const inner = new CountingStore();
    const mine = new CachingWindowStore(inner);
    const other = new CachingWindowStore(inner);
    await mine.save(state(1), undefined);
    const theirs = await other.load('acme#cqs_p95');
    expect((await other.save(state(2), theirs!.version)).saved).toBe(true);
    const cached = (await mine.loadMany(['acme#cqs_p95'])).get('acme#cqs_p95')!;
    expect(cached.version).toBe(1);
    expect(await mine.save(state(3), cached.version)).toEqual({ saved: false, conflict: true });
    const fresh = await mine.load('acme#cqs_p95');
    expect(fresh?.version).toBe(2);
    expect((await mine.save(state(3), fresh!.version)).saved).toBe(true);
  });

  it('keeps at most maxKeys items, the oldest out first', async () => {
    const inner = new CountingStore();
    const store = new CachingWindowStore(inner, 2);
    for (const t of ['a', 'b', 'c']) await store.save({ ...state(1), key: `${t}#s`, tenant: t }, undefined);
    await store.loadMany(['a#s', 'b#s', 'c#s']);
    expect(inner.reads).toBe(1);
  });
});
