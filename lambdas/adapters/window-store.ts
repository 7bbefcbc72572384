import type { WindowState } from '../core/window-state.js';

export interface StoredWindow {
  readonly state: WindowState;
  /** Optimistic-concurrency version; a save must name the version it read. */
  readonly version: number;
}

export type SaveOutcome = { saved: true; writeUnits: number } | { saved: false; conflict: true };

/** Per-key window state: one small item per key, written with a version condition. */
export interface WindowStore {
  loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>>;
  load(key: string): Promise<StoredWindow | undefined>;
  /** `expectedVersion` undefined means "create; fail if someone else already did". */
  save(state: WindowState, expectedVersion: number | undefined): Promise<SaveOutcome>;
}

/** Keeps state in process memory: for replay and backtests, where no table is involved. */
export class InMemoryWindowStore implements WindowStore {
  private readonly items = new Map<string, StoredWindow>();

  async loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>> {
    const found = new Map<string, StoredWindow>();
    for (const k of keys) {
      const item = this.items.get(k);
      if (item) found.set(k, item);
    }
    return found;
  }

  async load(key: string): Promise<StoredWindow | undefined> {
    return this.items.get(key);
  }

  async save(state: WindowState, expectedVersion: number | undefined): Promise<SaveOutcome> {
    const current = this.items.get(state.key);
    if (current?.version !== expectedVersion) return { saved: false, conflict: true };
    this.items.set(state.key, { state, version: (expectedVersion ?? 0) + 1 });
    return { saved: true, writeUnits: 0 };
  }
}
