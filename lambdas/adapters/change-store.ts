import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchPutAll } from './dynamodb-batch.js';
import type { ChangeRecord } from '../core/envelope.js';
import { hashId } from '../core/window-state.js';

/** Change records (releases, flags, maintenance, campaigns) kept per tenant for the correlator. */
export interface ChangeStore {
  put(changes: readonly ChangeRecord[]): Promise<void>;
}

const KEEP_CHANGES_MS = 30 * 24 * 3600_000;

/** A change's identity: its id, or its content when the producer gave none, so re-puts overwrite. */
export function changeItemKey(c: ChangeRecord): { pk: string; sk: string } {
  return { pk: `chg#${c.tenant}`, sk: `${new Date(c.ts).toISOString()}#${c.id ?? hashId(JSON.stringify(c))}` };
}

export class DynamoDbChangeStore implements ChangeStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async put(changes: readonly ChangeRecord[]): Promise<void> {
    const unique = new Map(changes.map((c) => [JSON.stringify(changeItemKey(c)), c]));
    const expiresAt = (c: ChangeRecord) => Math.floor(((c.until ?? c.ts) + KEEP_CHANGES_MS) / 1000);
    await batchPutAll(this.doc, this.tableName, [...unique.values()].map((c) => ({ ...changeItemKey(c), ...c, expiresAt: expiresAt(c) })));
  }
}
