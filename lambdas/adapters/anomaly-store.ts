import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { Anomaly } from '../core/anomaly.js';
import type { AnomalyReader, AnomalyStore, IncidentReader, StoredAnomaly } from '../core/ports/anomaly-store.js';
import { DAY_MS, DAY_S } from '../core/time.js';
import { isConditionFailure } from './dynamodb-errors.js';

/** Shared by both stores: the filter of `tenantsWithAnomaly`. */
export function incidentTenants(
  anomalies: readonly Pick<StoredAnomaly, 'tenant' | 'signal' | 'start'>[],
  signals: readonly string[],
  from: number,
  to: number,
): string[] {
  const wanted = new Set(signals);
  const tenants = new Set<string>();
  for (const a of anomalies) if (wanted.has(a.signal) && a.start >= from && a.start <= to) tenants.add(a.tenant);
  return [...tenants].sort();
}

/** The episode key names its start minute and its key (everything before the last `@`). */
function episodeRef(id: string): { start: number; key: string } | undefined {
  const at = id.lastIndexOf('@');
  const start = Date.parse(id.slice(at + 1));
  return at > 0 && Number.isFinite(start) ? { start, key: id.slice(0, at) } : undefined;
}

const KEEP_ANOMALIES_S = 400 * DAY_S;

/** Items are grouped per day of the episode start so a time range is a few queries, never a scan. */
export function anomalyItemKey(a: { start: number; key: string }): { pk: string; sk: string } {
  const iso = new Date(a.start).toISOString();
  return { pk: `anom#${iso.slice(0, 10)}`, sk: `${iso}#${a.key}` };
}

export class DynamoDbAnomalyStore implements AnomalyStore, AnomalyReader, IncidentReader {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async open(anomaly: Anomaly): Promise<{ notify: boolean; stored: Anomaly }> {
    const Key = anomalyItemKey(anomaly);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, ...anomaly, expiresAt: Math.floor(anomaly.start / 1000) + KEEP_ANOMALIES_S },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { notify: true, stored: anomaly };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const existing = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
      if (!existing.Item) return { notify: true, stored: anomaly };
      const { notifiedAt, recoveredAt: _r, ...stored } = stripKeys(existing.Item);
      return { notify: notifiedAt === undefined, stored };
    }
  }

  async get(id: string): Promise<StoredAnomaly | undefined> {
    const ref = episodeRef(id);
    if (!ref) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: anomalyItemKey(ref) }));
    return out.Item ? stripKeys(out.Item) : undefined;
  }

  async between(from: number, to: number): Promise<StoredAnomaly[]> {
    const days: string[] = [];
    for (let d = Math.floor(from / DAY_MS) * DAY_MS; d <= to; d += DAY_MS)
      days.push(new Date(d).toISOString().slice(0, 10));
    const lists = await Promise.all(
      days.map((day) => this.queryDay(day, new Date(from).toISOString(), `${new Date(to).toISOString()}#\uffff`)),
    );
    return lists.flat().sort((a, b) => a.start - b.start);
  }

  async tenantsWithAnomaly(signals: readonly string[], from: number, to: number): Promise<string[]> {
    if (!signals.length || to < from) return [];
    const days: string[] = [];
    for (let d = Math.floor(from / DAY_MS) * DAY_MS; d <= to; d += DAY_MS)
      days.push(new Date(d).toISOString().slice(0, 10));
    // Only the three attributes the count needs: a few minutes of anomalies, a few hundred bytes each.
    const lists = await Promise.all(
      days.map((day) =>
        this.queryDay(day, new Date(from).toISOString(), `${new Date(to).toISOString()}#\uffff`, '#t, #g, #s'),
      ),
    );
    return incidentTenants(lists.flat(), signals, from, to);
  }

  private async queryDay(day: string, fromSk: string, toSk: string, projection?: string): Promise<StoredAnomaly[]> {
    const items: StoredAnomaly[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': `anom#${day}`, ':from': fromSk, ':to': toSk },
          ExclusiveStartKey: start,
          ...(projection !== undefined && {
            ProjectionExpression: projection,
            ExpressionAttributeNames: { '#t': 'tenant', '#g': 'signal', '#s': 'start' },
          }),
        }),
      );
      for (const i of out.Items ?? []) items.push(stripKeys(i));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async markNotified(anomaly: Anomaly, at: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: anomalyItemKey(anomaly),
        UpdateExpression: 'SET notifiedAt = :t',
        ExpressionAttributeValues: { ':t': at },
      }),
    );
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
      if (!isConditionFailure(e)) throw e;
    }
  }
}

function stripKeys(item: Record<string, unknown>): StoredAnomaly {
  const { pk: _pk, sk: _sk, expiresAt: _e, ...anomaly } = item;
  return anomaly as unknown as StoredAnomaly;
}
