import { CHANGE_LOOKBACK_MS } from '../../core/correlator.js';
import type { ChangeRecord } from '../../core/envelope.js';
import type {
  ChangeStore,
  OperatorChange,
  OperatorChangeOutcome,
  OperatorChangeStore,
  StoredChange,
  WhitelistStore,
  WhitelistWindow,
} from '../../core/ports/change-store.js';
import { changeItemKey, runsWithin, sameOperatorChange } from '../change-store.js';

/** For replay and backtests: changes seen in the replayed stream, kept in memory. */
export class InMemoryChangeStore implements ChangeStore, WhitelistStore, OperatorChangeStore {
  private readonly changes = new Map<string, StoredChange>();
  private readonly operatorChanges = new Map<string, OperatorChange>();
  private readonly whitelist: WhitelistWindow[] = [];

  async put(changes: readonly ChangeRecord[]): Promise<void> {
    for (const c of changes) this.changes.set(JSON.stringify(changeItemKey(c)), c);
  }
  async startedBetween(tenant: string, from: number, to: number): Promise<ChangeRecord[]> {
    return [...this.changes.values()].filter(
      (c) => (c.tenant === tenant || c.tenant === '*') && c.ts >= from && c.ts <= to,
    );
  }
  async affecting(tenant: string, from: number, to: number): Promise<StoredChange[]> {
    return [...this.changes.values()].filter(
      (c) => (c.tenant === tenant || c.tenant === '*') && c.ts >= from - CHANGE_LOOKBACK_MS && runsWithin(c, from, to),
    );
  }
  async putOperatorChange(change: OperatorChange): Promise<OperatorChangeOutcome> {
    const before = this.operatorChanges.get(change.id);
    if (before && !sameOperatorChange(before, change)) return { outcome: 'conflict', stored: before };
    const stored = before ?? change;
    this.operatorChanges.set(change.id, stored);
    this.changes.set(JSON.stringify(changeItemKey(stored)), stored);
    return { outcome: before ? 'replayed' : 'created', stored };
  }
  async whitelisted(tenant: string, at: number): Promise<boolean> {
    return this.whitelist.some((w) => w.tenant === tenant && w.from <= at && at <= w.to);
  }
  async addWhitelist(entry: WhitelistWindow): Promise<void> {
    const same = this.whitelist.findIndex(
      (w) => w.tenant === entry.tenant && w.from === entry.from && w.to === entry.to,
    );
    if (same >= 0) this.whitelist[same] = entry;
    else this.whitelist.push(entry);
  }
  async whitelists(tenant: string, from: number, to: number): Promise<WhitelistWindow[]> {
    return this.whitelist.filter((w) => w.tenant === tenant && w.to >= from && w.from <= to);
  }
}
