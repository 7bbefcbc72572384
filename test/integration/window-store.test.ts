import type { Context } from 'aws-lambda';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compressText,
  DynamoDbWindowStore,
  itemBytesBesidesState,
  windowItemKey,
} from '../../lambdas/adapters/window-store.js';
import { scorePoint, type DetectorState } from '../../lambdas/core/detection/index.js';
import { encodeState, type KeyState } from '../../lambdas/core/key-state.js';
import { seededRandom } from '../../local/random.js';
import type { BatchOutcome } from '../../lambdas/usecases/stream-batch.js';
import { createStreamConsumer } from '../../lambdas/handlers/stream-consumer.js';
import { kinesisEvent, metric, startHarness, type Harness } from './harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const T0 = Date.parse('2026-11-20T00:00:00Z');
const MIN = 60_000;

/** DynamoDB's item size: attribute names plus values (strings and binary by bytes, numbers ≈ 1 byte per 2 digits). */
function itemBytes(item: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    n += Buffer.byteLength(k);
    if (typeof v === 'string') n += Buffer.byteLength(v);
    else if (v instanceof Uint8Array) n += v.length;
    else if (typeof v === 'number') n += Math.ceil(String(v).replace(/[-.]/g, '').length / 2) + 1;
  }
  return n;
}

describe('DynamoDbWindowStore: one small item per key', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it('keeps two days of a diurnal usage key under 1 KB (1 write unit), reads it back and old JSON items', async () => {
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(h.deps(), { onOutcome: (o) => void outcomes.push(o) });
    const records = Array.from({ length: 2 * 1440 }, (_, i) => ({
      v: 1,
      type: 'metric',
      id: `m-${i}`,
      ts: T0 + i * MIN,
      tenant: 'acme',
      signal: 'search_qps',
      region: 'kr',
      value: 250 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 1440)) * (1 + 0.03 * Math.sin(i * 12.9898)),
    }));
    for (let i = 0; i < records.length; i += 500)
      expect((await consumer(kinesisEvent(records.slice(i, i + 500)), context)).batchItemFailures).toEqual([]);

    const doc = DynamoDBDocumentClient.from(h.standIns.dynamo);
    const { Item } = await doc.send(new GetCommand({ TableName: h.table, Key: windowItemKey('acme#search_qps') }));
    expect(Item!.state).toBeUndefined();
    expect(Item!.z).toBeInstanceOf(Uint8Array);
    const stored = await h.readState('acme#search_qps');
    const json = Buffer.byteLength(encodeState(stored!.state));
    expect(json).toBeGreaterThan(1500);
    expect(itemBytes(Item!)).toBeLessThan(1024);
    // DynamoDB's own count agrees: the last batches' state writes took one write unit each.
    const last = outcomes.at(-1)!;
    expect(last.writeUnits / last.stateWrites).toBe(1);
    expect(stored!.state.det).toBeDefined();

    // An item written by the previous version (the JSON in `state`) reads back, and the next save rewrites it.
    await doc.send(
      new PutCommand({
        TableName: h.table,
        Item: {
          ...windowItemKey('acme#old'),
          ver: 3,
          tenant: 'acme',
          signal: 'old',
          state: encodeState({ ...stored!.state, key: 'acme#old' }),
        },
      }),
    );
    const store = new DynamoDbWindowStore(h.standIns.dynamo, h.table);
    const old = await store.load('acme#old');
    expect(old).toMatchObject({ version: 3, state: { key: 'acme#old' } });
    expect((await store.loadMany(['acme#old', 'acme#search_qps'])).size).toBe(2);
    expect(await store.save(old!.state, 3)).toMatchObject({ saved: true });
    expect(
      (await doc.send(new GetCommand({ TableName: h.table, Key: windowItemKey('acme#old') }))).Item!.state,
    ).toBeUndefined();
  }, 120_000);

  it('weeks of detector history just past a KB boundary: the state compresses harder, one write unit', async () => {
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(h.deps(), { onOutcome: (o) => void outcomes.push(o) });
    // 5 minutes, 10 points a minute, latencies to 10 µs (8 minutes before the detector's spike part
    // made its state 45 B longer: the item then ends past the boundary even at the harder setting).
    const r = seededRandom(7);
    const values = Array.from({ length: 50 }, (_, i) =>
      metric(i, {
        ts: T0 + i * 6_000,
        signal: 'checkout_latency_p95_ms',
        value: Math.round(180 * (1 + 0.2 * r()) * 100) / 100,
      }),
    );
    expect((await consumer(kinesisEvent(values), context)).batchItemFailures).toEqual([]);
    const key = 'acme#checkout_latency_p95_ms';
    const young = (await h.readState(key))!;

    // Three weeks of noisy minutes through the detector, ending just before the key's own points.
    const days = 21;
    let det: DetectorState | undefined;
    for (let i = -days * 1440; i < 0; i++) {
      const value = 180 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 1440)) * (1 + 0.1 * (r() - 0.5));
      det = scorePoint(det, { ts: T0 + i * MIN, value: Math.round(value * 1000) / 1000 }, 'up').state;
    }
    const mature: KeyState = { ...young.state, det: det! };
    const besides = itemBytesBesidesState(mature, young.version);
    // The quick setting alone would take two write units for this item.
    expect(compressText(encodeState(mature), 16).length + besides).toBeGreaterThan(1024);

    const store = new DynamoDbWindowStore(h.standIns.dynamo, h.table);
    const saved = await store.save(mature, young.version);
    expect(saved).toEqual({ saved: true, writeUnits: 1 });
    const doc = DynamoDBDocumentClient.from(h.standIns.dynamo);
    const { Item } = await doc.send(new GetCommand({ TableName: h.table, Key: windowItemKey(key) }));
    expect(itemBytes(Item!)).toBeLessThanOrEqual(1024);
    expect(itemBytes(Item!)).toBe(besides + (Item!.z as Uint8Array).length);
    const back = await store.load(key);
    expect(back!.state).toEqual(mature);
  }, 120_000);
});
