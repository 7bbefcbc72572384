import { episodeKeyOf, oldestFirst, withoutIntents } from '../../core/mitigation/journal.js';
import type { ActionLedger, JournalEntry, LedgerEntry } from '../../core/ports/action-ledger.js';

/** Keeps the journal in process memory: for replay, backtests and tests. */
export class InMemoryActionLedger implements ActionLedger {
  readonly all: JournalEntry[] = [];
  readonly halts = new Set<string>();
  async halt(episodeRollbackKey: string): Promise<void> {
    this.halts.add(episodeRollbackKey);
  }
  async halted(episodeRollbackKey: string): Promise<boolean> {
    return this.halts.has(episodeRollbackKey);
  }
  async record(entry: JournalEntry): Promise<void> {
    const same = this.all.findIndex(
      (e) =>
        e.event === entry.event &&
        e.action.rollbackKey === entry.action.rollbackKey &&
        e.action.appliedAt === entry.action.appliedAt,
    );
    if (same >= 0) this.all[same] = entry;
    else this.all.push(entry);
  }
  async entries(episodeRollbackKey: string): Promise<LedgerEntry[]> {
    return withoutIntents(await this.journal(episodeRollbackKey));
  }
  async journal(episodeRollbackKey: string): Promise<JournalEntry[]> {
    return oldestFirst(this.all.filter((e) => episodeKeyOf(e.action.rollbackKey) === episodeRollbackKey));
  }
}
