import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  MergeShardsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KinesisShardLineage } from '../../lambdas/adapters/shard-lineage.js';
import { DynamoDbWindowCarryStore } from '../../lambdas/adapters/window-carry-store.js';
import { startStandIns, type StandIns } from '../../local/stand-ins.js';
import type { KeyState, WindowResult } from '../../lambdas/core/key-state.js';
import type { ShardLineage, WindowCarryStore } from '../../lambdas/core/ports/window-carry-store.js';
import type { WindowCarry } from '../../lambdas/core/window-carry.js';
import { createStreamConsumer, type ConsumerEvent } from '../../lambdas/handlers/stream-consumer.js';
import type { BatchOutcome, StreamBatchDeps } from '../../lambdas/usecases/stream-batch.js';
import { kinesisEvent, metric, startHarness, type Harness } from './harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const PARENT = 'shardId-000000000000';
const CHILD = 'shardId-000000000001';
const OTHER_CHILD = 'shardId-000000000002';
const TENANTS = Array.from({ length: 20 }, (_, t) => `t${String(t).padStart(2, '0')}`);
const BASE = Date.parse('2026-11-22T10:00:00Z');

/** Minute `w`'s records (12 per tenant, 5 s apart), one tumbling window per minute. */
function minuteRecords(w: number): Record<string, unknown>[] {
  return TENANTS.flatMap((tenant, t) =>
    Array.from({ length: 12 }, (_, j) =>
      metric(w * 12 + j, { tenant, id: `${tenant}-${w}-${j}`, value: 10 + t + (j % 3) }),
    ),
  );
}

function windowEvent(
  records: Record<string, unknown>[],
  w: number,
  state: object,
  final: boolean,
  shardId = PARENT,
): ConsumerEvent {
  return {
    ...kinesisEvent(records, shardId),
    window: { start: new Date(BASE + w * 60_000).toISOString(), end: new Date(BASE + (w + 1) * 60_000).toISOString() },
    state: state as Record<string, unknown>,
    shardId,
    isFinalInvokeForWindow: final,
    isWindowTerminatedEarly: false,
  };
}

/** One window on one shard: its records in one invocation, then the final invocation. */
async function runWindow(
  consumer: ReturnType<typeof createStreamConsumer>,
  w: number,
  shardId = PARENT,
  records = minuteRecords(w),
): Promise<void> {
  const r = await consumer(windowEvent(records, w, {}, false, shardId), context);
  expect(r.batchItemFailures).toEqual([]);
  const fin = await consumer(windowEvent([], w, JSON.parse(JSON.stringify(r.state)), true, shardId), context);
  expect(fin).toEqual({ state: {}, batchItemFailures: [] });
}

const keyOf = (tenant: string) => `${tenant}#cqs_p95`;
const windowsOf = (outcomes: BatchOutcome[]) =>
  outcomes
    .flatMap((o) => o.windows)
    .map((w: WindowResult) => `${w.key}@${w.end}:${w.n}/${w.sum}`)
    .sort();

/** The state without positions (the two runs put the same records on the stream at different sequence numbers). */
function comparable(s: KeyState): unknown {
  const { fx: _fx, pos: _pos, ...rest } = s;
  return rest;
}

describe('quiet keys written every other tumbling window (window carry) on dynalite', () => {
  let plain: Harness;
  let carried: Harness;
  beforeEach(async () => {
    [plain, carried] = await Promise.all([startHarness(), startHarness()]);
  });
  afterEach(async () => {
    await Promise.all([plain.close(), carried.close()]);
  });

  const withCarry = (h: Harness, lineage?: ShardLineage): StreamBatchDeps => ({
    ...h.deps(),
    carry: { store: new DynamoDbWindowCarryStore(h.standIns.dynamo, h.table), ...(lineage && { lineage }) },
  });
  const carryOf = (shardId: string) =>
    new DynamoDbWindowCarryStore(carried.standIns.dynamo, carried.table).load(shardId);

  /** Both runs' items, key by key, once a last window has written every key (it carries none). */
  async function expectSameItems(flush: () => Promise<void>): Promise<void> {
    await flush();
    for (const tenant of TENANTS) {
      const every = await plain.readState(keyOf(tenant));
      const other = await carried.readState(keyOf(tenant));
      expect(comparable(other!.state), tenant).toEqual(comparable(every!.state));
    }
  }

  it('halves the key writes, emits the windows of the every-window path, ends with the same items', async () => {
    const plainOutcomes: BatchOutcome[] = [];
    const carryOutcomes: BatchOutcome[] = [];
    const a = createStreamConsumer(plain.deps(), { onOutcome: (o) => void plainOutcomes.push(o) });
    const b = createStreamConsumer(withCarry(carried), { onOutcome: (o) => void carryOutcomes.push(o) });
    const WINDOWS = 8;
    for (let w = 0; w < WINDOWS; w++) {
      await runWindow(a, w);
      await runWindow(b, w);
    }
    expect(windowsOf(carryOutcomes)).toEqual(windowsOf(plainOutcomes));
    const sum = (os: BatchOutcome[], k: 'stateWrites' | 'processed' | 'deferred') => os.reduce((n, o) => n + o[k], 0);
    expect(sum(plainOutcomes, 'stateWrites')).toBe(TENANTS.length * WINDOWS);
    // Every key written at its first window, then each quiet key every other window; one carry per window.
    const keyWrites = sum(carryOutcomes, 'stateWrites') - WINDOWS;
    expect(keyWrites).toBeLessThanOrEqual(TENANTS.length * (1 + Math.ceil((WINDOWS - 1) / 2)));
    expect(sum(carryOutcomes, 'deferred')).toBeGreaterThanOrEqual(TENANTS.length * Math.floor((WINDOWS - 1) / 2));
    // Every record is counted once.
    expect(sum(carryOutcomes, 'processed')).toBe(TENANTS.length * 12 * WINDOWS);
    expect(sum(plainOutcomes, 'processed')).toBe(TENANTS.length * 12 * WINDOWS);
    expect(Object.keys((await carryOf(PARENT))!.k).length).toBeGreaterThan(0);

    const flushing = createStreamConsumer(withCarry(carried), {}, { carryMaxBytes: 0 });
    await expectSameItems(async () => {
      await runWindow(a, WINDOWS);
      await runWindow(flushing, WINDOWS);
    });
    expect((await carryOf(PARENT))!.k).toEqual({});
  });

  it('keeps the carry under its size cap: keys beyond it are written at once', async () => {
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(
      withCarry(carried),
      { onOutcome: (o) => void outcomes.push(o) },
      { carryMaxBytes: 1_000 },
    );
    for (let w = 0; w < 4; w++) await runWindow(consumer, w);
    const carry = (await carryOf(PARENT))!;
    const carriedKeys = Object.keys(carry.k).length;
    expect(carriedKeys).toBeGreaterThan(0);
    expect(Buffer.byteLength(JSON.stringify(carry.k))).toBeLessThanOrEqual(1_000);
    // 20 keys, about half of them due to wait: the cap holds most of them back.
    expect(outcomes.at(-1)!.deferred).toBe(carriedKeys);
    expect(carriedKeys).toBeLessThan(TENANTS.length / 2);
  });

  it('a final invocation retried after its carry was saved writes nothing again', async () => {
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(withCarry(carried), { onOutcome: (o) => void outcomes.push(o) });
    for (let w = 0; w < 3; w++) await runWindow(consumer, w);
    const r = await consumer(windowEvent(minuteRecords(3), 3, {}, false), context);
    const state = JSON.parse(JSON.stringify(r.state)) as object;
    await consumer(windowEvent([], 3, state, true), context);
    expect(outcomes.at(-1)!.stateWrites).toBeGreaterThan(1);
    const items = await Promise.all(TENANTS.map((t) => carried.readState(keyOf(t))));
    const carry = await carryOf(PARENT);
    await consumer(windowEvent([], 3, state, true), context);
    expect(outcomes.at(-1)).toMatchObject({ stateWrites: 0, processed: 0, deferred: 0 });
    expect(await Promise.all(TENANTS.map((t) => carried.readState(keyOf(t))))).toEqual(items);
    expect(await carryOf(PARENT)).toEqual(carry);
  });

  it('a carry that cannot be saved fails the final invocation; its retry loses and double-counts nothing', async () => {
    const store = new DynamoDbWindowCarryStore(carried.standIns.dynamo, carried.table);
    let failSaves = 0;
    const flaky: WindowCarryStore = {
      load: (shardId) => store.load(shardId),
      remove: (shardId, tag) => store.remove(shardId, tag),
      save: async (c: WindowCarry) => {
        if (failSaves > 0) {
          failSaves--;
          throw new Error('ProvisionedThroughputExceededException');
        }
        return store.save(c);
      },
    };
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(
      { ...carried.deps(), carry: { store: flaky } },
      { onOutcome: (o) => void outcomes.push(o) },
    );
    const reference = createStreamConsumer(plain.deps());
    for (let w = 0; w < 4; w++) {
      await runWindow(reference, w);
      if (w < 3) {
        await runWindow(consumer, w);
        continue;
      }
      const r = await consumer(windowEvent(minuteRecords(w), w, {}, false), context);
      const state = JSON.parse(JSON.stringify(r.state)) as object;
      failSaves = 1;
      await expect(consumer(windowEvent([], w, state, true), context)).rejects.toThrow(/final invocation/);
      await consumer(windowEvent([], w, state, true), context);
    }
    expect((await store.load(PARENT))?.tag.startsWith(`${BASE + 3 * 60_000}/`)).toBe(true);
    const flushing = createStreamConsumer({ ...carried.deps(), carry: { store } }, {}, { carryMaxBytes: 0 });
    await expectSameItems(async () => {
      await runWindow(reference, 4);
      await runWindow(flushing, 4);
    });
  });

  it("a reshard: the first child to close a window folds its parent's last carry, once", async () => {
    const reference = createStreamConsumer(plain.deps());
    const lineage: ShardLineage = {
      parentsOf: async (shardId) => (shardId === CHILD || shardId === OTHER_CHILD ? [PARENT] : []),
    };
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(withCarry(carried, lineage), { onOutcome: (o) => void outcomes.push(o) });
    for (let w = 0; w < 4; w++) {
      await runWindow(reference, w);
      await runWindow(consumer, w);
    }
    expect(Object.keys((await carryOf(PARENT))!.k).length).toBeGreaterThan(0);
    // After the split, the first half of the tenants goes to CHILD, the rest to OTHER_CHILD.
    const half = TENANTS.length / 2;
    const onChild = (records: Record<string, unknown>[], child: string) =>
      records.filter((r) => TENANTS.indexOf(r.tenant as string) < half === (child === CHILD));
    const flushing = createStreamConsumer(
      withCarry(carried, lineage),
      { onOutcome: (o) => void outcomes.push(o) },
      {
        carryMaxBytes: 0,
      },
    );
    await expectSameItems(async () => {
      await runWindow(reference, 4);
      await runWindow(flushing, 4, CHILD, onChild(minuteRecords(4), CHILD));
      expect(await carryOf(PARENT)).toBeUndefined();
      await runWindow(flushing, 4, OTHER_CHILD, onChild(minuteRecords(4), OTHER_CHILD));
    });
    expect(outcomes.reduce((n, o) => n + o.processed, 0)).toBe(TENANTS.length * 12 * 5);
  });

  it('a key spilled early folds its carried window first, so nothing of it is late', async () => {
    const reference = createStreamConsumer(plain.deps());
    const consumer = createStreamConsumer(withCarry(carried));
    const spilling = createStreamConsumer(withCarry(carried), {}, { spillAboveBytes: 1, spillToBytes: 0 });
    for (let w = 0; w < 3; w++) {
      await runWindow(reference, w);
      await runWindow(consumer, w);
    }
    expect(Object.keys((await carryOf(PARENT))!.k).length).toBeGreaterThan(0);
    await expectSameItems(async () => {
      await runWindow(reference, 3);
      await runWindow(spilling, 3);
    });
    expect((await carryOf(PARENT))!.k).toEqual({});
  });
});

describe('KinesisShardLineage on kinesalite', () => {
  let standIns: StandIns;
  beforeEach(async () => {
    standIns = await startStandIns();
  });
  afterEach(async () => {
    await standIns.close();
  });

  async function waitActive(name: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const d = await standIns.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${name} did not become ACTIVE`);
  }

  it("names a split shard's parent and a merged shard's two parents; an original shard has none", async () => {
    const name = 'lineage';
    await standIns.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    await waitActive(name);
    const lineage = new KinesisShardLineage(standIns.kinesis, `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`);
    expect(await lineage.parentsOf(PARENT)).toEqual([]);
    await standIns.kinesis.send(
      new SplitShardCommand({ StreamName: name, ShardToSplit: PARENT, NewStartingHashKey: (2n ** 126n).toString() }),
    );
    await waitActive(name);
    // shardId-000000000002 and -000000000003 are the split's children (a container learns them on first use).
    expect(await lineage.parentsOf('shardId-000000000002')).toEqual([PARENT]);
    expect(await lineage.parentsOf('shardId-000000000003')).toEqual([PARENT]);
    await standIns.kinesis.send(
      new MergeShardsCommand({
        StreamName: name,
        ShardToMerge: 'shardId-000000000003',
        AdjacentShardToMerge: 'shardId-000000000001',
      }),
    );
    await waitActive(name);
    expect((await lineage.parentsOf('shardId-000000000004')).sort()).toEqual([
      'shardId-000000000001',
      'shardId-000000000003',
    ]);
  });
});
