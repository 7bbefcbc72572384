import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
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
}

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
      for (const i of out.Items ?? []) items.push({ event: i.event, at: i.at, action: i.action, execution: i.execution, note: i.note } as LedgerEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.at - b.at);
  }
}

export class InMemoryActionLedger implements ActionLedger {
  readonly all: LedgerEntry[] = [];
  async record(entry: LedgerEntry): Promise<void> {
    const same = this.all.findIndex((e) => e.event === entry.event && e.action.rollbackKey === entry.action.rollbackKey && e.action.appliedAt === entry.action.appliedAt);
    if (same >= 0) this.all[same] = entry;
    else this.all.push(entry);
  }
  async entries(episodeRollbackKey: string): Promise<LedgerEntry[]> {
    return this.all.filter((e) => episodeKeyOf(e.action.rollbackKey) === episodeRollbackKey).sort((a, b) => a.at - b.at);
  }
}
