import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Anomaly } from '../core/anomaly.js';

/** Anomaly records: one per confirmed episode; the record is what makes the alert go out once. */
export interface AnomalyStore {
  /** Store the anomaly unless its episode is already stored; says whether the alert still has to be sent. */
  open(anomaly: Anomaly): Promise<{ notify: boolean }>;
  markNotified(anomaly: Anomaly, at: number): Promise<void>;
  markRecovered(episode: { id: string; start: number; key: string }, at: number): Promise<void>;
}

const KEEP_ANOMALIES_S = 400 * 24 * 3600;

/** Items are grouped per day of the episode start so a time range is a few queries, never a scan. */
export function anomalyItemKey(a: { start: number; key: string }): { pk: string; sk: string } {
  const iso = new Date(a.start).toISOString();
  return { pk: `anom#${iso.slice(0, 10)}`, sk: `${iso}#${a.key}` };
}

export class DynamoDbAnomalyStore implements AnomalyStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async open(anomaly: Anomaly): Promise<{ notify: boolean }> {
    const Key = anomalyItemKey(anomaly);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, ...anomaly, expiresAt: Math.floor(anomaly.start / 1000) + KEEP_ANOMALIES_S },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { notify: true };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException) && (e as Error).name !== 'ConditionalCheckFailedException') throw e;
      const existing = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true, ProjectionExpression: 'notifiedAt' }));
      return { notify: existing.Item?.notifiedAt === undefined };
    }
  }

  async markNotified(anomaly: Anomaly, at: number): Promise<void> {
    await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: anomalyItemKey(anomaly), UpdateExpression: 'SET notifiedAt = :t', ExpressionAttributeValues: { ':t': at } }));
  }

  async markRecovered(episode: { id: string; start: number; key: string }, at: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: anomalyItemKey(episode),
          UpdateExpression: 'SET recoveredAt = :t',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':t': at },
        }),
      );
    } catch (e) {
      // A blip that never paged has no record to close.
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }
}

/** For replay and backtests. */
export class InMemoryAnomalyStore implements AnomalyStore {
  readonly anomalies = new Map<string, Anomaly & { notifiedAt?: number; recoveredAt?: number }>();
  async open(anomaly: Anomaly): Promise<{ notify: boolean }> {
    const existing = this.anomalies.get(anomaly.id);
    if (existing) return { notify: existing.notifiedAt === undefined };
    this.anomalies.set(anomaly.id, { ...anomaly });
    return { notify: true };
  }
  async markNotified(anomaly: Anomaly, at: number): Promise<void> {
    const a = this.anomalies.get(anomaly.id);
    if (a) a.notifiedAt = at;
  }
  async markRecovered(episode: { id: string }, at: number): Promise<void> {
    const a = this.anomalies.get(episode.id);
    if (a) a.recoveredAt = at;
  }
}
