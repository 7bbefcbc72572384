import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { TracePoint } from '../core/episode-trace.js';
import type { EpisodeTraceStore } from '../core/ports/episode-trace-store.js';
import { batchPutAll } from './dynamodb-batch.js';
import { DAY_S } from '../core/time.js';

/** Every trace item's partition key starts with this, so a policy can scope them by leading key. */
export const TRACE_PK_PREFIX = 'trace#';
const KEEP_TRACES_S = 400 * DAY_S;

/** One item per episode minute: `trace#<episode id>` / `<minute ISO>Z` (the episode id's own format). */
export function traceItemKey(episodeId: string, ts: number): { pk: string; sk: string } {
  return { pk: `${TRACE_PK_PREFIX}${episodeId}`, sk: minuteIso(ts) };
}

function minuteIso(ts: number): string {
  return `${new Date(ts).toISOString().slice(0, 16)}Z`;
}

/** The episode's start, from its id (`<key>@<start minute ISO>Z`): all its points expire together. */
function episodeStart(episodeId: string): number | undefined {
  const start = Date.parse(episodeId.slice(episodeId.lastIndexOf('@') + 1));
  return Number.isFinite(start) ? start : undefined;
}

/** Traces in the single state table, next to the anomaly records they belong to. */
export class DynamoDbEpisodeTraceStore implements EpisodeTraceStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async append(episodeId: string, points: readonly TracePoint[]): Promise<void> {
    // One put per minute (BatchWriteItem rejects two writes to one key in a request): the last wins.
    const byMinute = new Map<string, TracePoint>();
    for (const p of points) byMinute.set(minuteIso(p.ts), p);
    const start = episodeStart(episodeId);
    const items = [...byMinute.values()].map((p) => ({
      ...traceItemKey(episodeId, p.ts),
      observed: p.observed,
      expected: p.expected,
      lo: p.band?.lo,
      hi: p.band?.hi,
      score: p.score,
      expiresAt: Math.floor((start ?? p.ts) / 1000) + KEEP_TRACES_S,
    }));
    await batchPutAll(this.doc, this.tableName, items);
  }

  async series(episodeId: string): Promise<TracePoint[]> {
    const points: TracePoint[] = [];
    let from: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `${TRACE_PK_PREFIX}${episodeId}` },
          ExclusiveStartKey: from,
        }),
      );
      for (const item of out.Items ?? []) points.push(fromItem(item));
      from = out.LastEvaluatedKey;
    } while (from);
    return points;
  }
}

function fromItem(item: Record<string, unknown>): TracePoint {
  const p: TracePoint = { ts: Date.parse(item.sk as string), observed: Number(item.observed) };
  if (typeof item.expected === 'number') p.expected = item.expected;
  if (typeof item.lo === 'number' && typeof item.hi === 'number') p.band = { lo: item.lo, hi: item.hi };
  if (typeof item.score === 'number') p.score = item.score;
  return p;
}
