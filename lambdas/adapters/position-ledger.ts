import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PositionLedger } from '../core/ports/position-ledger.js';
import { batchGetAll, batchPutAll } from './dynamodb-batch.js';
import { DAY_S } from '../core/time.js';

/** Outlives the stream's longest retention (7 days) so no redelivery can miss its marker. */
const LEDGER_TTL_S = 8 * DAY_S;

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
    const items = await batchGetAll(
      this.doc,
      this.tableName,
      groups.map((g) => this.key(g)),
    );
    return new Map(items.map((item) => [item.group as string, item.seq as string]));
  }

  async markDone(done: ReadonlyMap<string, string>): Promise<void> {
    const expiresAt = Math.floor(this.now() / 1000) + LEDGER_TTL_S;
    await batchPutAll(
      this.doc,
      this.tableName,
      [...done].map(([group, seq]) => ({ ...this.key(group), group, seq, expiresAt })),
    );
  }
}
