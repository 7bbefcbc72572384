import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchPutAll } from './dynamodb-batch.js';

/**
 * Remembers, per (shard, partition key), the last sequence number whose side effect was done.
 * Lambda redelivers everything after the lowest failed record, so records without key state
 * (dead letters) need this to be sent once, not once per delivery.
 */
export interface PositionLedger {
  lastDone(groups: readonly string[]): Promise<Map<string, string>>;
  markDone(done: ReadonlyMap<string, string>): Promise<void>;
}

export class InMemoryPositionLedger implements PositionLedger {
  private readonly done = new Map<string, string>();
  async lastDone(groups: readonly string[]): Promise<Map<string, string>> {
    return new Map(groups.flatMap((g) => (this.done.has(g) ? [[g, this.done.get(g)!] as const] : [])));
  }
  async markDone(done: ReadonlyMap<string, string>): Promise<void> {
    for (const [g, s] of done) this.done.set(g, s);
  }
}

/** Outlives the stream's longest retention (7 days) so no redelivery can miss its marker. */
const LEDGER_TTL_S = 8 * 24 * 3600;

export class DynamoDbPositionLedger implements PositionLedger {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly purpose: string,
    private readonly now: () => number = Date.now,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  private key(group: string) {
    return { pk: `pos#${this.purpose}#${group}`, sk: 'pos' };
  }

  async lastDone(groups: readonly string[]): Promise<Map<string, string>> {
    const items = await batchGetAll(this.doc, this.tableName, groups.map((g) => this.key(g)));
    return new Map(items.map((item) => [item.group as string, item.seq as string]));
  }

  async markDone(done: ReadonlyMap<string, string>): Promise<void> {
    const expiresAt = Math.floor(this.now() / 1000) + LEDGER_TTL_S;
    await batchPutAll(this.doc, this.tableName, [...done].map(([group, seq]) => ({ ...this.key(group), group, seq, expiresAt })));
  }
}
