import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from './dynamodb-batch.js';
import { decodeState, encodeState, type KeyState } from '../core/key-state.js';
import type { SaveOutcome, StoredWindow, WindowStore } from '../core/ports/window-store.js';
import { isConditionFailure } from './dynamodb-errors.js';

const WINDOW_SK = 'window';

export function windowItemKey(key: string): { pk: string; sk: string } {
  return { pk: `w#${key}`, sk: WINDOW_SK };
}

/** Window state in the state table: one item per key, `ver` guards every write. */
export class DynamoDbWindowStore implements WindowStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>> {
    const items = await batchGetAll(this.doc, this.tableName, keys.map(windowItemKey), {
      expression: 'ver, #s, z',
      names: { '#s': 'state' },
    });
    return new Map(
      items.map((item) => {
        const stored = windowFromItem(item);
        return [stored.state.key, stored];
      }),
    );
  }

  async load(key: string): Promise<StoredWindow | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: windowItemKey(key), ConsistentRead: true }),
    );
    return out.Item ? windowFromItem(out.Item) : undefined;
  }

  async save(state: KeyState, expectedVersion: number | undefined): Promise<SaveOutcome> {
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...windowItemKey(state.key),
            ver: (expectedVersion ?? 0) + 1,
            tenant: state.tenant,
            signal: state.signal,
            z: compressState(state, itemBytesBesidesState(state, expectedVersion)),
          },
          ConditionExpression: expectedVersion === undefined ? 'attribute_not_exists(pk)' : 'ver = :v',
          ExpressionAttributeValues: expectedVersion === undefined ? undefined : { ':v': expectedVersion },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return { saved: true, writeUnits: out.ConsumedCapacity?.CapacityUnits ?? 0 };
    } catch (e) {
      if (isConditionFailure(e)) return { saved: false, conflict: true };
      throw e;
    }
  }
}

/** DynamoDB bills a write per started KB of the item (attribute names and values). */
const WRITE_UNIT_BYTES = 1024;
/** How much smaller Brotli's slowest setting may make a key's state (≈ 12 % measured on mature keys). */
const SLOW_SAVING = 0.12;

/**
 * The key's state as stored: its JSON, Brotli-compressed in the binary attribute `z`. Quality 5 (≈ 0.2 ms)
 * unless that leaves the item just past a KB boundary, where quality 11 (≈ 3 ms, ≈ 12 % smaller) may save a
 * write unit: a key whose detector has matured (days of history) compresses to about 1 KB at quality 5
 * (docs/architecture.md, "What the state costs"). `besides` is the rest of the item's size.
 */
export function compressState(state: KeyState, besides: number): Uint8Array {
  const text = encodeState(state);
  const quick = compressText(text, 16);
  const units = (z: number) => Math.ceil((z + besides) / WRITE_UNIT_BYTES);
  if (units(quick.length) === units(quick.length * (1 - SLOW_SAVING))) return quick;
  const slow = compressText(text, 16, 11);
  return slow.length < quick.length ? slow : quick;
}

/** The window item's size without `z`'s value: its other attributes, names included (a number ≤ 21 bytes). */
export function itemBytesBesidesState(state: KeyState, expectedVersion: number | undefined): number {
  const { pk, sk } = windowItemKey(state.key);
  const text = ['pk', pk, 'sk', sk, 'ver', 'tenant', state.tenant, 'signal', state.signal, 'z'];
  const version = String((expectedVersion ?? 0) + 1).length;
  return text.reduce((n, t) => n + Buffer.byteLength(t), 0) + Math.ceil(version / 2) + 1;
}

/**
 * Text (JSON) Brotli-compressed for a binary attribute, at quality 5 unless told; `windowBits` 16 (64 KiB) suits
 * a key's item, the default (4 MiB) a larger one such as a shard's carry.
 */
export function compressText(text: string, windowBits?: number, quality = 5): Uint8Array {
  const bytes = Buffer.from(text);
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: quality,
      ...(windowBits !== undefined && { [constants.BROTLI_PARAM_LGWIN]: windowBits }),
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

export function decompressText(z: Uint8Array): string {
  return brotliDecompressSync(z).toString('utf8');
}

/** A window item as stored now (`z`) or by an earlier version (the JSON text in `state`). */
export function windowFromItem(item: Record<string, unknown>): StoredWindow {
  const state = item.z instanceof Uint8Array ? decodeState(decompressText(item.z)) : decodeState(item.state as string);
  return { state, version: Number(item.ver) };
}

/**
 * Remembers the items this container wrote (and read), so a key it saved last is folded without a read:
 * the version condition on the save still guards the write, and a conflict (another container wrote the key
 * since, e.g. around a reshard) reloads it from the table (`load` always reads). Only the consumer writes
 * window items, so a cached item is stale only when another consumer container wrote the key.
 */
export class CachingWindowStore implements WindowStore {
  private readonly cache = new Map<string, StoredWindow>();
  /** Items served from memory instead of a read (for the bench and metrics). */
  hits = 0;

  constructor(
    private readonly inner: WindowStore,
    private readonly maxKeys = 20_000,
  ) {}

  async loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>> {
    const out = new Map<string, StoredWindow>();
    const missing: string[] = [];
    for (const k of keys) {
      const cached = this.cache.get(k);
      if (cached) {
        out.set(k, cached);
        this.hits++;
      } else missing.push(k);
    }
    if (missing.length)
      for (const [k, stored] of await this.inner.loadMany(missing)) {
        out.set(k, stored);
        this.remember(k, stored);
      }
    return out;
  }

  async load(key: string): Promise<StoredWindow | undefined> {
    const stored = await this.inner.load(key);
    if (stored) this.remember(key, stored);
    else this.cache.delete(key);
    return stored;
  }

  async save(state: KeyState, expectedVersion: number | undefined): Promise<SaveOutcome> {
    const out = await this.inner.save(state, expectedVersion);
    if (out.saved) this.remember(state.key, { state, version: (expectedVersion ?? 0) + 1 });
    else this.cache.delete(state.key);
    return out;
  }

  private remember(key: string, stored: StoredWindow): void {
    this.cache.delete(key);
    // Oldest first out: a Map iterates in insertion order.
    if (this.cache.size >= this.maxKeys) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, stored);
  }
}
