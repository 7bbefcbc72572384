import type { AppliedAction } from './actions.js';
import type { JournalEntry, LedgerEntry } from '../ports/action-ledger.js';

/** Same `at`: intent before applied before rolled-back (a fixed clock, or one millisecond). */
const EVENT_ORDER: Record<JournalEntry['event'], number> = {
  'approval-requested': -2,
  approved: -1,
  denied: -1,
  'approval-expired': -1,
  intent: 0,
  applied: 1,
  'rolled-back': 2,
  'rollback-skipped': 3,
};

export function oldestFirst<E extends JournalEntry>(entries: E[]): E[] {
  return entries.sort((a, b) => a.at - b.at || EVENT_ORDER[a.event] - EVENT_ORDER[b.event]);
}

export function withoutIntents(entries: JournalEntry[]): LedgerEntry[] {
  return entries.filter((e): e is LedgerEntry => e.event !== 'intent');
}

/**
 * Actions the journal shows started (intent) or applied and not rolled back since: what a rollback
 * must undo, or verify (the targets' rollback of a change that never landed leaves the control
 * alone). `known` (the execution's own list) is included unless the journal shows it rolled back.
 */
export function outstandingActions(
  journal: readonly JournalEntry[],
  known: readonly AppliedAction[] = [],
): AppliedAction[] {
  const byKey = new Map(known.map((a) => [a.rollbackKey, a]));
  for (const entry of oldestFirst([...journal])) {
    const key = entry.action.rollbackKey;
    // An intent never replaces what an `applied` entry recorded (previous value, target reference).
    if (entry.event === 'intent') {
      if (!byKey.has(key)) byKey.set(key, entry.action);
    } else if (entry.event === 'applied') byKey.set(key, entry.action);
    else if (entry.event === 'rolled-back') byKey.delete(key);
  }
  return [...byKey.values()];
}

/** `rb-<hash>-<step>` → `rb-<hash>`: the episode every action key starts with. */
export function episodeKeyOf(rollbackKey: string): string {
  const m = /^(rb-[0-9a-z]+)/.exec(rollbackKey);
  return m ? m[1]! : rollbackKey;
}
