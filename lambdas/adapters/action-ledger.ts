import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { episodeKeyOf, oldestFirst, withoutIntents } from '../core/mitigation/journal.js';
import type { ActionLedger, JournalEntry, LedgerEntry } from '../core/ports/action-ledger.js';
import { DAY_S } from '../core/time.js';

const HALT_SK = 'halt';
/**
 * The halt marker lives in its own partition (`halt#rb-<hash>`), not in the ledger's: the operator
 * API's rollback role may PutItem there (IAM dynamodb:LeadingKeys `halt#rb-*`) and only read
 * `ledger#rb-*`, so it cannot forge ledger entries.
 */
export const HALT_PK_PREFIX = 'halt#';

const KEEP_LEDGER_S = 400 * DAY_S;

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
        Item: {
          pk: `ledger#${episodeKeyOf(entry.action.rollbackKey)}`,
          sk,
          ...entry,
          expiresAt: Math.floor(entry.at / 1000) + KEEP_LEDGER_S,
        },
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
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `ledger#${episodeRollbackKey}` },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      // sk 'halt': a marker written by an earlier version into the ledger partition.
      for (const i of out.Items ?? [])
        if (i.sk !== HALT_SK)
          items.push({
            event: i.event,
            at: i.at,
            action: i.action,
            execution: i.execution,
            note: i.note,
            by: i.by,
          } as JournalEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return oldestFirst(items);
  }

  async halt(episodeRollbackKey: string, by: string, at: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `${HALT_PK_PREFIX}${episodeRollbackKey}`,
          sk: HALT_SK,
          by,
          at,
          expiresAt: Math.floor(at / 1000) + KEEP_LEDGER_S,
        },
      }),
    );
  }

  async halted(episodeRollbackKey: string): Promise<boolean> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `${HALT_PK_PREFIX}${episodeRollbackKey}`, sk: HALT_SK },
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
    return out.Item !== undefined;
  }
}
