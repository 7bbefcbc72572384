import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { FeedbackEntry } from '../core/feedback.js';
import type { FeedbackStore } from '../core/ports/feedback-store.js';
import { DAY_S } from '../core/time.js';
import { isConditionFailure } from './dynamodb-errors.js';

/** Verdicts are kept as long as the anomalies they judge. */
const KEEP_FEEDBACK_S = 400 * DAY_S;

const FEEDBACK_FIELDS = ['anomaly', 'key', 'tenant', 'signal', 'verdict', 'by', 'at', 'note'] as const;

/**
 * One item per verdict in the key's partition (`fb#<tenant>#<signal>`), sorted by when it was given:
 * the consumer reads a key's last days with one query; a verdict is never overwritten.
 */
export function feedbackItemKey(e: Pick<FeedbackEntry, 'key' | 'at' | 'anomaly'>): { pk: string; sk: string } {
  return { pk: `fb#${e.key}`, sk: `${new Date(e.at).toISOString()}#${e.anomaly}` };
}

export class DynamoDbFeedbackStore implements FeedbackStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async add(entry: FeedbackEntry): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...feedbackItemKey(entry), ...entry, expiresAt: Math.floor(entry.at / 1000) + KEEP_FEEDBACK_S },
          // Never overwrite: the same anomaly judged twice in one millisecond keeps the first entry.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async ofAnomaly(anomaly: { id: string; key: string }): Promise<FeedbackEntry[]> {
    return this.query({
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#a = :a',
      ExpressionAttributeNames: { '#a': 'anomaly' },
      ExpressionAttributeValues: { ':pk': `fb#${anomaly.key}`, ':a': anomaly.id },
    });
  }

  async givenBetween(key: string, from: number, to: number): Promise<FeedbackEntry[]> {
    if (to < from) return [];
    return this.query({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': `fb#${key}`,
        ':from': new Date(from).toISOString(),
        ':to': `${new Date(to).toISOString()}#\uffff`,
      },
    });
  }

  private async query(input: Omit<QueryCommandInput, 'TableName'>): Promise<FeedbackEntry[]> {
    const items: FeedbackEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, ...input, ExclusiveStartKey: start }),
      );
      for (const i of out.Items ?? [])
        items.push(
          Object.fromEntries(FEEDBACK_FIELDS.filter((f) => i[f] !== undefined).map((f) => [f, i[f]])) as FeedbackEntry,
        );
      start = out.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.at - b.at);
  }
}
