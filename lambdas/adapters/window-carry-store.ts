import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { WindowCarry } from '../core/window-carry.js';
import type { WindowCarryStore } from '../core/ports/window-carry-store.js';
import { compressText, decompressText } from './window-store.js';
import { isConditionFailure } from './dynamodb-errors.js';

const CARRY_SK = 'carry';
/** A carry nobody folded (a shard retired without children reading it) leaves the table after a week. */
const KEEP_CARRY_S = 7 * 24 * 3600;

export function carryItemKey(shardId: string): { pk: string; sk: string } {
  return { pk: `c#${shardId}`, sk: CARRY_SK };
}

/**
 * One item per shard in the state table, its JSON Brotli-compressed in the binary attribute `z` (a carried key
 * is ≈ 27 bytes compressed, so 1,000 of them take ≈ 27 write units instead of 1,000 item writes).
 */
export class DynamoDbWindowCarryStore implements WindowCarryStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async load(shardId: string): Promise<WindowCarry | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: carryItemKey(shardId), ConsistentRead: true }),
    );
    if (!(out.Item?.z instanceof Uint8Array)) return undefined;
    return JSON.parse(decompressText(out.Item.z)) as WindowCarry;
  }

  async save(carry: WindowCarry): Promise<{ writeUnits: number }> {
    const z = compressText(JSON.stringify(carry));
    const out = await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...carryItemKey(carry.sh),
          tag: carry.tag,
          keys: Object.keys(carry.k).length,
          z,
          expiresAt: Math.floor(carry.at / 1000) + KEEP_CARRY_S,
        },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return { writeUnits: out.ConsumedCapacity?.CapacityUnits ?? 0 };
  }

  async remove(shardId: string, tag: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: carryItemKey(shardId),
          ConditionExpression: 'tag = :t',
          ExpressionAttributeValues: { ':t': tag },
        }),
      );
    } catch (e) {
      // Someone else folded and removed it (or replaced it): nothing to do.
      if (!isConditionFailure(e)) throw e;
    }
  }
}
