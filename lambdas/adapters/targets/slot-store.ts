import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  effectiveValue,
  owner,
  type Compose,
  type Layer,
  type RolledBackLayer,
  type SlotState,
  type SlotValue,
} from './layers.js';
import { isConditionFailure } from '../dynamodb-errors.js';

/** Where one slot's layered state lives in the state table. */
export interface SlotKey {
  pk: string;
  sk: string;
}

export interface StoredSlot {
  state: SlotState;
  /** What the item says the slot's value and owner are (an external writer may have changed these). */
  value: SlotValue;
  setBy: string | null;
  /** A push to the live control was started and not yet confirmed (AWS controls only). */
  pending: boolean;
  version: number;
  updatedAt: number;
}

export interface SlotWrite {
  state: SlotState;
  pending: boolean;
  now: number;
  /** Extra plain attributes stored on the item (tenant, flag, kind ...). */
  attributes?: Record<string, unknown>;
}

/**
 * Single-item conditional storage for slots. `put` succeeds only when the item is still at
 * `expectedVersion` (undefined: the item must not exist) and returns the new version, or
 * `undefined` on a conflict so the caller can re-read and retry.
 */
export interface SlotStore {
  get(key: SlotKey): Promise<StoredSlot | undefined>;
  put(
    key: SlotKey,
    write: SlotWrite,
    expectedVersion: number | undefined,
    compose?: Compose,
  ): Promise<number | undefined>;
}

/** The item as stored: the brief's `value, setBy, previous, updatedAt, version` plus the layer stack. */
export function slotItem(key: SlotKey, write: SlotWrite, version: number, compose?: Compose): Record<string, unknown> {
  const top = write.state.layers.at(-1);
  return {
    ...write.attributes,
    ...key,
    value: effectiveValue(write.state, compose),
    setBy: owner(write.state),
    previous: top ? top.previous : null,
    updatedAt: write.now,
    version,
    base: write.state.base,
    baseSetBy: write.state.baseSetBy,
    layers: write.state.layers,
    done: write.state.done,
    pending: write.pending,
  };
}

export function storedFromItem(item: Record<string, unknown>): StoredSlot {
  return {
    state: {
      base: (item.base ?? null) as SlotValue,
      baseSetBy: (item.baseSetBy ?? null) as string | null,
      layers: (item.layers ?? []) as Layer[],
      done: (item.done ?? []) as RolledBackLayer[],
    },
    value: (item.value ?? null) as SlotValue,
    setBy: (item.setBy ?? null) as string | null,
    pending: item.pending === true,
    version: Number(item.version ?? 0),
    updatedAt: Number(item.updatedAt ?? 0),
  };
}

export class DynamoDbSlotStore implements SlotStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(key: SlotKey): Promise<StoredSlot | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return out.Item ? storedFromItem(out.Item) : undefined;
  }

  async put(
    key: SlotKey,
    write: SlotWrite,
    expectedVersion: number | undefined,
    compose?: Compose,
  ): Promise<number | undefined> {
    const version = (expectedVersion ?? 0) + 1;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: slotItem(key, write, version, compose),
          // Version 0 is also an item no action wrote yet (an operator's direct write from an earlier release has no
          // version).
          ConditionExpression:
            expectedVersion === undefined
              ? 'attribute_not_exists(pk)'
              : expectedVersion === 0
                ? '(#v = :v OR attribute_not_exists(#v))'
                : '#v = :v',
          ExpressionAttributeNames: expectedVersion === undefined ? undefined : { '#v': 'version' },
          ExpressionAttributeValues: expectedVersion === undefined ? undefined : { ':v': expectedVersion },
        }),
      );
      return version;
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw e;
    }
  }
}

/** Jittered exponential backoff between optimistic-concurrency retries. */
export function conflictBackoff(attempt: number): Promise<void> {
  const ms = Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((r) => setTimeout(r, ms));
}

export const MAX_CONFLICT_RETRIES = 12;
