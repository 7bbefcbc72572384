import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { AppliedAction } from '../core/mitigation/actions.js';

/** One line of the action ledger: what was applied or rolled back, when, by which execution. */
export interface LedgerEntry {
  event: 'applied' | 'rolled-back' | 'rollback-skipped';
  at: number;
  action: AppliedAction;
  execution?: string;
  note?: string;
}

/**
 * A line of the write-ahead journal: the ledger's entries plus `intent`, written before a target is
 * called. An intent with no later `rolled-back` may have changed the control (the call may have
 * landed before a timeout, a throttled ledger put or a failed confirmation), so every rollback treats
 * it as applied. Its `action.previous` is not known yet (null): the targets keep the value they
 * replaced themselves (layer stacks, see lambdas/adapters/targets/layers.ts) and undo only their own.
 */
export interface JournalEntry extends Omit<LedgerEntry, 'event'> {
  event: LedgerEntry['event'] | 'intent';
}

/** Every applied and rolled-back action, per episode: what a rollback, the report and the dashboard read. */
export interface ActionLedger {
  record(entry: JournalEntry): Promise<void>;
  /** What happened to the episode's actions (by its rollback key, `rb-<hash>`), oldest first; no intents. */
  entries(episodeRollbackKey: string): Promise<LedgerEntry[]>;
  /** The same with the intents: what rollbacks read to find everything that may be in effect. */
  journal(episodeRollbackKey: string): Promise<JournalEntry[]>;
  /**
   * An operator rolled the episode back: nothing more may be applied for it. Stopping an execution
   * does not stop a task already running, so the apply task checks this before every action.
   */
  halt(episodeRollbackKey: string, by: string, at: number): Promise<void>;
  halted(episodeRollbackKey: string): Promise<boolean>;
}

/** Same `at`: intent before applied before rolled-back (a fixed clock, or one millisecond). */
const EVENT_ORDER: Record<JournalEntry['event'], number> = { intent: 0, applied: 1, 'rolled-back': 2, 'rollback-skipped': 3 };

function oldestFirst<E extends JournalEntry>(entries: E[]): E[] {
  return entries.sort((a, b) => a.at - b.at || EVENT_ORDER[a.event] - EVENT_ORDER[b.event]);
}

function withoutIntents(entries: JournalEntry[]): LedgerEntry[] {
  return entries.filter((e): e is LedgerEntry => e.event !== 'intent');
}

/**
 * Actions the journal shows started (intent) or applied and not rolled back since: what a rollback
 * must undo, or verify (the targets' rollback of a change that never landed leaves the control
 * alone). `known` (the execution's own list) is included unless the journal shows it rolled back.
 */
export function outstandingActions(journal: readonly JournalEntry[], known: readonly AppliedAction[] = []): AppliedAction[] {
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

const HALT_SK = 'halt';
/**
 * The halt marker lives in its own partition (`halt#rb-<hash>`), not in the ledger's: the operator
 * API's rollback role may PutItem there (IAM dynamodb:LeadingKeys `halt#rb-*`) and only read
 * `ledger#rb-*`, so it cannot forge ledger entries.
 */
export const HALT_PK_PREFIX = 'halt#';

const KEEP_LEDGER_S = 400 * 24 * 3600;

/** `rb-<hash>-<step>` → `rb-<hash>`: the episode every action key starts with. */
export function episodeKeyOf(rollbackKey: string): string {
  const m = /^(rb-[0-9a-z]+)/.exec(rollbackKey);
  return m ? m[1]! : rollbackKey;
}

export class DynamoDbActionLedger implements ActionLedger {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async record(entry: JournalEntry): Promise<void> {
    // Keyed by action and event: recording the same event twice (a retried task) overwrites itself.
    const sk = `${entry.action.rollbackKey}#${entry.event}#${entry.action.appliedAt}`;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `ledger#${episodeKeyOf(entry.action.rollbackKey)}`, sk, ...entry, expiresAt: Math.floor(entry.at / 1000) + KEEP_LEDGER_S },
      }),
    );
  }

  async entries(episodeRollbackKey: string): Promise<LedgerEntry[]> {
    return withoutIntents(await this.journal(episodeRollbackKey));
  }

  async journal(episodeRollbackKey: string): Promise<JournalEntry[]> {
    const items: JournalEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `ledger#${episodeRollbackKey}` }, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      // sk 'halt': a marker written by an earlier version into the ledger partition.
      for (const i of out.Items ?? []) if (i.sk !== HALT_SK) items.push({ event: i.event, at: i.at, action: i.action, execution: i.execution, note: i.note } as JournalEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return oldestFirst(items);
  }

  async halt(episodeRollbackKey: string, by: string, at: number): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: `${HALT_PK_PREFIX}${episodeRollbackKey}`, sk: HALT_SK, by, at, expiresAt: Math.floor(at / 1000) + KEEP_LEDGER_S } }));
  }

  async halted(episodeRollbackKey: string): Promise<boolean> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `${HALT_PK_PREFIX}${episodeRollbackKey}`, sk: HALT_SK }, ConsistentRead: true, ProjectionExpression: 'pk' }));
    return out.Item !== undefined;
  }
}

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
    const same = this.all.findIndex((e) => e.event === entry.event && e.action.rollbackKey === entry.action.rollbackKey && e.action.appliedAt === entry.action.appliedAt);
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
