import type { KeyState } from '../key-state.js';

export interface StoredWindow {
  readonly state: KeyState;
  /** Optimistic-concurrency version; a save must name the version it read. */
  readonly version: number;
}

export type SaveOutcome = { saved: true; writeUnits: number } | { saved: false; conflict: true };

/** Per-key window state: one small item per key, written with a version condition. */
export interface WindowStore {
  loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>>;
  load(key: string): Promise<StoredWindow | undefined>;
  /** `expectedVersion` undefined means "create; fail if someone else already did". */
  save(state: KeyState, expectedVersion: number | undefined): Promise<SaveOutcome>;
}
