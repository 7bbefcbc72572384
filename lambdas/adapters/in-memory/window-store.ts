import type { KeyState } from '../../core/key-state.js';
import type { SaveOutcome, StoredWindow, WindowStore } from '../../core/ports/window-store.js';

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

  async save(state: KeyState, expectedVersion: number | undefined): Promise<SaveOutcome> {
    const current = this.items.get(state.key);
    if (current?.version !== expectedVersion) return { saved: false, conflict: true };
    this.items.set(state.key, { state, version: (expectedVersion ?? 0) + 1 });
    return { saved: true, writeUnits: 0 };
  }
}
