import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStreamFromTemplate, localDynamoClient, localKinesisClient } from '../../local/stand-ins.js';
import { putRecordsReliably } from '../../lambdas/adapters/stream-producer.js';
import { readStream } from './kinesis-faults.js';
import { createStreamConsumer, toRawRecord } from '../../lambdas/handlers/stream-consumer.js';
import { processStreamBatch, type BatchOutcome } from '../../lambdas/usecases/stream-batch.js';
import { kinesisEvent, metric, stackTemplate, startHarness, type Harness } from './harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const KEY = 'acme#cqs_p95';

describe('stream consumer on kinesalite + dynalite', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('folds records into one state item per key and emits the windows the watermark has passed', async () => {
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(h.deps(), { onOutcome: (o) => void outcomes.push(o) });
    // 40 records 5 s apart: 10:00:00 .. 10:03:15. Watermark = 10:03:15 - 2 min lateness, so only minute 10:00 is
    // complete.
    const response = await consumer(kinesisEvent(Array.from({ length: 40 }, (_, i) => metric(i))), context);
    expect(response.batchItemFailures).toEqual([]);
    const [outcome] = outcomes;
    expect(outcome).toMatchObject({ received: 40, processed: 40, keys: 1, stateWrites: 1 });
    expect(outcome!.windows).toHaveLength(1);
    expect(outcome!.windows[0]).toMatchObject({
      key: KEY,
      start: Date.parse('2026-11-22T09:51:00Z'),
      end: Date.parse('2026-11-22T10:01:00Z'),
      n: 12,
      activeMinutes: 1,
      region: 'kr',
    });
    const stored = await h.readState(KEY);
    expect(stored?.version).toBe(1);
    expect(stored!.state.buckets.map((b) => b.n)).toEqual([12, 12, 12, 4]);
    expect(stored!.state.maxTs).toBe(Date.parse('2026-11-22T10:03:15Z'));
  });

  it('a batch delivered twice leaves the state exactly as after the first delivery', async () => {
    const consumer = createStreamConsumer(h.deps());
    const event = kinesisEvent(Array.from({ length: 60 }, (_, i) => metric(i)));
    await consumer(event, context);
    const first = await h.readState(KEY);
    const again = await processStreamBatch(event.Records.map(toRawRecord), h.deps());
    const second = await h.readState(KEY);
    expect(second).toEqual(first);
    expect(again).toMatchObject({ processed: 0, redelivered: 60, stateWrites: 0 });
  });

  it('dead-letters poison records with the reason, folds the valid ones, and the counts add up', async () => {
    const farFuture = Date.parse('2026-11-22T10:00:00Z') + 3 * 3600_000;
    const poison = [
      '{"v":1,"type":"metric"',
      JSON.stringify(metric(100, { value: 'high' })),
      JSON.stringify(metric(101, { tenant: 'a#b' })),
      '\u00ff\u00fe',
      metric(102, { ts: farFuture }),
    ];
    const valid = Array.from({ length: 20 }, (_, i) => metric(i));
    const event = kinesisEvent([...valid.slice(0, 10), ...poison, ...valid.slice(10)]);
    const outcome = await processStreamBatch(event.Records.map(toRawRecord), h.deps());
    expect(outcome.failed).toEqual([]);
    expect(outcome.received).toBe(25);
    expect(outcome.processed).toBe(20);
    expect(outcome.deadLettered).toBe(5);
    expect(outcome.processed + outcome.deadLettered).toBe(outcome.received);
    const letters = h.deadLetters.peekAll();
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/not JSON/),
      expect.stringMatching(/^value:/),
      expect.stringMatching(/^tenant:/),
      expect.stringMatching(/not JSON/),
      expect.stringMatching(/^ts: 120 min after the record reached the stream/),
    ]);
    expect(letters[1]!.data).toContain('"value":"high"');
    expect(letters.every((l) => l.shardId && l.sequenceNumber && l.source === 'test')).toBe(true);

    // Lambda redelivers the whole tail after a partial failure: poison records must not be dead-lettered twice.
    const redelivery = await processStreamBatch(event.Records.map(toRawRecord), h.deps());
    expect(redelivery.deadLettered).toBe(0);
    expect(h.deadLetters.length).toBe(5);
  });

  it('two concurrent invocations on the same key lose no update', async () => {
    const a = kinesisEvent(
      Array.from({ length: 30 }, (_, i) =>
        metric(i, { id: `a-${i}`, ts: Date.parse('2026-11-22T10:00:00Z') + i * 1000 }),
      ),
      'shardId-a',
    );
    const b = kinesisEvent(
      Array.from({ length: 30 }, (_, i) =>
        metric(i, { id: `b-${i}`, ts: Date.parse('2026-11-22T10:00:00Z') + i * 1000 + 500 }),
      ),
      'shardId-b',
    );
    const [ra, rb] = await Promise.all([
      processStreamBatch(a.Records.map(toRawRecord), h.deps()),
      processStreamBatch(b.Records.map(toRawRecord), h.deps()),
    ]);
    expect(ra.failed).toEqual([]);
    expect(rb.failed).toEqual([]);
    // Both read 'no item' before either wrote: exactly one create loses, re-reads and re-folds.
    expect(ra.conflicts + rb.conflicts).toBe(1);
    const stored = await h.readState(KEY);
    // All 60 records fall in minute 0 (within lateness), so they all sit in open buckets.
    expect(stored!.state.buckets.reduce((n, x) => n + x.n, 0)).toBe(60);
    expect(stored!.version).toBe(2);
  });

  it('retries throttled writes and loses nothing', async () => {
    const dynamo = localDynamoClient(h.standIns.dynamoEndpoint);
    let throttled = 0;
    dynamo.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === 'PutItemCommand' && throttled < 2) {
          throttled++;
          throw new ProvisionedThroughputExceededException({ message: 'injected throttle', $metadata: {} });
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'injectThrottle' },
    );
    const outcome = await processStreamBatch(
      kinesisEvent(Array.from({ length: 10 }, (_, i) => metric(i))).Records.map(toRawRecord),
      h.deps({ dynamo }),
    );
    expect(throttled).toBe(2);
    expect(outcome.failed).toEqual([]);
    expect(outcome.processed).toBe(10);
    expect((await h.readState(KEY))!.state.buckets.reduce((n, x) => n + x.n, 0)).toBe(10);
  });

  it(
    'reports the records of a key whose write keeps ' + 'failing, and a redelivery then folds every record once',
    async () => {
      const dynamo = localDynamoClient(h.standIns.dynamoEndpoint);
      dynamo.middlewareStack.add(
        (next, ctx) => async (args) => {
          const raw = (args.input as { Item?: { pk?: string | { S?: string } } }).Item?.pk;
          const pk = (typeof raw === 'string' ? raw : raw?.S) ?? '';
          if (ctx.commandName === 'PutItemCommand' && pk.startsWith('w#acme'))
            throw new ProvisionedThroughputExceededException({ message: 'injected throttle', $metadata: {} });
          return next(args);
        },
        { step: 'initialize', name: 'throttleAcme' },
      );
      const globex = Array.from({ length: 5 }, (_, i) => metric(50 + i, { tenant: 'globex' }));
      const acme = Array.from({ length: 5 }, (_, i) => metric(i));
      const event = kinesisEvent([globex[0]!, ...acme, ...globex.slice(1)]);
      const seqs = event.Records.map((r) => r.kinesis.sequenceNumber);

      const broken = createStreamConsumer({ ...h.deps({ dynamo }), maxConflictRetries: 0 });
      const response = await broken(event, context);
      expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(seqs.slice(1, 6));
      expect(await h.readState(KEY)).toBeUndefined();

      // Lambda resumes from the lowest reported sequence number: the tail, globex records included, comes again.
      const tail = { Records: event.Records.slice(1) };
      const healthy = createStreamConsumer(h.deps());
      expect((await healthy(tail, context)).batchItemFailures).toEqual([]);
      const count = async (key: string) => (await h.readState(key))!.state.buckets.reduce((n, x) => n + x.n, 0);
      expect(await count(KEY)).toBe(5);
      expect(await count('globex#cqs_p95')).toBe(5);

      // When every record fails, the invocation fails as a whole, so Lambda retries (and bisects) the batch.
      await expect(broken(kinesisEvent(Array.from({ length: 3 }, (_, i) => metric(200 + i))), context)).rejects.toThrow(
        /All records failed/,
      );
    },
  );

  it(
    'a 500-record producer chunk on one key, resent whole ' +
      'after an ambiguous failure, is folded once (issue 18.11)',
    async () => {
      await createStreamFromTemplate(h.standIns.kinesis, stackTemplate(), 'resend', 1);
      const kinesis = localKinesisClient(h.standIns.kinesisEndpoint);
      // The first PutRecords reaches the stream, but the client sees a timeout: produce resends the whole chunk.
      let calls = 0;
      kinesis.middlewareStack.add(
        (next, ctx) => async (args) => {
          const out = await next(args);
          if (ctx.commandName === 'PutRecordsCommand' && ++calls === 1)
            throw Object.assign(new Error('socket timed out after the request was sent'), { name: 'TimeoutError' });
          return out;
        },
        { step: 'initialize', name: 'ambiguousFailure' },
      );
      const start = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
      const records = Array.from({ length: 500 }, (_, i) => metric(i, { ts: start + i * 5_000, value: 1 }));
      const produced = await putRecordsReliably(
        kinesis,
        'resend',
        records.map((r) => ({ Data: Buffer.from(JSON.stringify(r)), PartitionKey: 'acme' })),
        { baseDelayMs: 1 },
      );
      expect(produced).toMatchObject({ sent: 500, failed: [], attempts: 2 });
      const landed = await readStream(h.standIns.kinesis, 'resend');
      expect(landed).toHaveLength(1000);

      const totals = { processed: 0, late: 0, duplicate: 0, deadLettered: 0 };
      const windows: BatchOutcome['windows'] = [];
      for (let i = 0; i < landed.length; i += 100) {
        const batch = landed.slice(i, i + 100).map((r) => ({
          data: r.Data!,
          partitionKey: r.PartitionKey!,
          arrivedAt: r.ApproximateArrivalTimestamp!.getTime(),
          position: { shardId: 'shardId-000000000000', sequenceNumber: r.SequenceNumber! },
        }));
        const o = await processStreamBatch(batch, h.deps());
        expect(o.failed).toEqual([]);
        for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += o[k];
        windows.push(...o.windows);
      }
      // Every record folded once: the 500 resent ones are dropped as duplicates (open minutes) or late (closed
      // minutes).
      expect(totals.deadLettered).toBe(0);
      expect(totals.processed - totals.late - totals.duplicate).toBe(500);
      expect(totals.duplicate).toBeGreaterThan(0);
      // 12 records a minute, never more: full windows hold exactly 120.
      const full = windows.filter((w) => w.activeMinutes === 10);
      expect(full.length).toBeGreaterThan(20);
      expect(full.every((w) => w.n === 120 && w.sum === 120)).toBe(true);
      const stored = await h.readState(KEY);
      expect(stored!.state.buckets.every((b) => b.n <= 12)).toBe(true);
    },
  );

  describe('under a tumbling window (the synthesized default)', () => {
    const tumbling = (records: (Record<string, unknown> | string)[], state: object, final = false) => ({
      ...kinesisEvent(records),
      window: { start: '2026-11-22T11:00:00Z', end: '2026-11-22T11:01:00Z' },
      state: state as Record<string, unknown>,
      shardId: 'shardId-000000000000',
      isFinalInvokeForWindow: final,
      isWindowTerminatedEarly: false,
    });

    it(
      'returns the aggregate as state without touching the table, then folds and writes each key once at ' +
        'the final invocation, the same item as the per-batch path',
      async () => {
        const outcomes: BatchOutcome[] = [];
        const consumer = createStreamConsumer(h.deps(), { onOutcome: (o) => void outcomes.push(o) });
        const other = (i: number) => metric(i, { signal: 'search_qps', id: `q-${i}` });
        let state: object = {};
        for (let b = 0; b < 4; b++) {
          const batch = Array.from({ length: 10 }, (_, i) => [metric(b * 10 + i), other(b * 10 + i)]).flat();
          const r = await consumer(tumbling(batch, state), context);
          expect(r.batchItemFailures).toEqual([]);
          state = JSON.parse(JSON.stringify(r.state));
        }
        expect(outcomes.map((o) => o.stateWrites)).toEqual([0, 0, 0, 0]);
        expect(await h.readState(KEY)).toBeUndefined();
        const fin = await consumer(tumbling([], state, true), context);
        expect(fin).toEqual({ state: {}, batchItemFailures: [] });
        expect(outcomes.at(-1)).toMatchObject({ processed: 80, keys: 2, stateWrites: 2 });
        const stored = await h.readState(KEY);
        expect(stored?.version).toBe(1);
        expect(stored!.state.buckets.map((b) => b.n)).toEqual([12, 12, 12, 4]);
        expect(stored!.state.buckets.every((b) => b.i === undefined)).toBe(true);
        expect(outcomes.at(-1)!.windows.filter((w) => w.key === KEY)).toHaveLength(1);
        // A retried final invocation (same state) changes nothing.
        await consumer(tumbling([], state, true), context);
        expect(outcomes.at(-1)).toMatchObject({ processed: 0, stateWrites: 0, redelivered: 80 });
        expect((await h.readState(KEY))?.version).toBe(1);
      },
    );
  });
});
