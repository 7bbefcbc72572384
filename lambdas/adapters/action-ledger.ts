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

/** Every applied and rolled-back action, per episode: what a rollback, the report and the dashboard read. */
export interface ActionLedger {
  record(entry: LedgerEntry): Promise<void>;
  /** Entries of an episode (by its rollback key, `rb-<hash>`), oldest first. */
  entries(episodeRollbackKey: string): Promise<LedgerEntry[]>;
  /**
   * An operator rolled the episode back: nothing more may be applied for it. Stopping an execution
   * does not stop a task already running, so the apply task checks this before every action.
   */
  halt(episodeRollbackKey: string, by: string, at: number): Promise<void>;
  halted(episodeRollbackKey: string): Promise<boolean>;
}

const HALT_SK = 'halt';

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

  async record(entry: LedgerEntry): Promise<void> {
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
    const items: LedgerEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `ledger#${episodeRollbackKey}` }, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      for (const i of out.Items ?? []) if (i.sk !== HALT_SK) items.push({ event: i.event, at: i.at, action: i.action, execution: i.execution, note: i.note } as LedgerEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.at - b.at);
  }

  async halt(episodeRollbackKey: string, by: string, at: number): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: `ledger#${episodeRollbackKey}`, sk: HALT_SK, by, at, expiresAt: Math.floor(at / 1000) + KEEP_LEDGER_S } }));
  }

  async halted(episodeRollbackKey: string): Promise<boolean> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `ledger#${episodeRollbackKey}`, sk: HALT_SK }, ConsistentRead: true, ProjectionExpression: 'pk' }));
    return out.Item !== undefined;
  }
}

export class InMemoryActionLedger implements ActionLedger {
  readonly all: LedgerEntry[] = [];
  readonly halts = new Set<string>();
  async halt(episodeRollbackKey: string): Promise<void> {
    this.halts.add(episodeRollbackKey);
  }
  async halted(episodeRollbackKey: string): Promise<boolean> {
    return this.halts.has(episodeRollbackKey);
  }
  async record(entry: LedgerEntry): Promise<void> {
    const same = this.all.findIndex((e) => e.event === entry.event && e.action.rollbackKey === entry.action.rollbackKey && e.action.appliedAt === entry.action.appliedAt);
    if (same >= 0) this.all[same] = entry;
    else this.all.push(entry);
  }
  async entries(episodeRollbackKey: string): Promise<LedgerEntry[]> {
    return this.all.filter((e) => episodeKeyOf(e.action.rollbackKey) === episodeRollbackKey).sort((a, b) => a.at - b.at);
  }
}
