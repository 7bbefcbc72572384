import type { KinesisStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { putRecordsReliably } from '../../lambdas/adapters/stream-producer.js';
import {
  EventSourcePoller,
  eventSourceSettingsFromTemplate,
  type EventSourceSettings,
  type PollerEvent,
  type PollerOptions,
  type PollerResponse,
  type StreamFailureNotice,
} from '../../local/event-source-poller.js';
import { createStreamFromTemplate, startStandIns, type StandIns } from '../../local/stand-ins.js';
import { stackTemplate } from './harness.js';

const STREAM = 'poller-test';

describe('local event source poller (Lambda delivery semantics on kinesalite)', () => {
  let s: StandIns;
  let settings: EventSourceSettings;
  beforeEach(async () => {
    s = await startStandIns();
    await createStreamFromTemplate(s.kinesis, stackTemplate(), STREAM, 1);
    // Per-batch delivery unless a test turns the template's tumbling window back on.
    settings = { ...eventSourceSettingsFromTemplate(stackTemplate()), batchSize: 10, tumblingWindowMs: 0 };
  });
  afterEach(async () => {
    await s.close();
  });

  async function run(
    n: number,
    handler: (e: PollerEvent) => Promise<PollerResponse>,
    over: Partial<EventSourceSettings> = {},
    until: () => boolean,
    pollerOptions: Partial<PollerOptions> = {},
  ) {
    const failures: StreamFailureNotice[] = [];
    const entries = Array.from({ length: n }, (_, i) => ({
      Data: Buffer.from(JSON.stringify({ i })),
      PartitionKey: `k${i % 3}`,
    }));
    expect((await putRecordsReliably(s.kinesis, STREAM, entries)).sent).toBe(n);
    const poller = new EventSourcePoller({
      kinesis: s.kinesis,
      streamName: STREAM,
      streamArn: 'arn:test',
      functionName: 'f',
      handler,
      settings: { ...settings, ...over },
      batchingWindowMs: 0,
      pollIntervalMs: 5,
      onFailure: (x) => failures.push(x),
      ...pollerOptions,
    });
    await poller.start();
    const deadline = Date.now() + 20_000;
    while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await poller.stop();
    return failures;
  }

  const index = (r: KinesisStreamEvent['Records'][number]) =>
    (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as { i: number }).i;

  it('takes its settings from the synthesized event source mapping', () => {
    const t = eventSourceSettingsFromTemplate(stackTemplate());
    expect(t).toMatchObject({
      reportBatchItemFailures: true,
      bisectOnError: true,
      startingPosition: 'TRIM_HORIZON',
      tumblingWindowMs: 60_000,
    });
    expect(t.maxRetryAttempts).toBeGreaterThan(0);
  });

  it('resumes from the lowest reported batch item failure, redelivering everything after it', async () => {
    const delivered: number[] = [];
    let failedOnce = false;
    await run(
      20,
      async (e) => {
        delivered.push(...e.Records.map(index));
        const bad = e.Records.find((r) => index(r) === 13);
        if (bad && !failedOnce) {
          failedOnce = true;
          return { batchItemFailures: [{ itemIdentifier: bad.kinesis.sequenceNumber }] };
        }
        return { batchItemFailures: [] };
      },
      {},
      () => delivered.filter((i) => i === 19).length >= 1 && failedOnce && delivered.length >= 27,
    );
    // 0..9, then 10..19 with 13 failing, then 13..19 again.
    expect(delivered).toEqual([...Array.from({ length: 20 }, (_, i) => i), 13, 14, 15, 16, 17, 18, 19]);
  });

  it(
    'bisects a batch that throws, and after the retry budget sends only its coordinates to the on-failure ' +
      'destination',
    async () => {
      const succeeded = new Set<number>();
      let calls = 0;
      const failures = await run(
        8,
        async (e) => {
          calls++;
          if (e.Records.some((r) => index(r) === 5)) throw new Error('poison');
          for (const r of e.Records) succeeded.add(index(r));
          return { batchItemFailures: [] };
        },
        { batchSize: 8, maxRetryAttempts: 2 },
        () => succeeded.size === 7,
      );
      expect([...succeeded].sort()).toEqual([0, 1, 2, 3, 4, 6, 7]);
      expect(failures).toHaveLength(1);
      expect(failures[0]!.KinesisBatchInfo).toMatchObject({ batchSize: 1, shardId: 'shardId-000000000000' });
      expect(JSON.stringify(failures[0])).not.toContain('"i"');
      expect(calls).toBeGreaterThan(3);
    },
  );

  describe('tumbling windows (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html)', () => {
    type Call = { records: number[]; state: Record<string, unknown>; final: boolean; early: boolean; window: string };
    const WINDOW = { tumblingWindowMs: 60_000 };
    const idle = { windowIdleCloseMs: 150 };
    const call = (e: PollerEvent): Call => ({
      records: e.Records.map(index),
      state: structuredClone(e.state ?? {}),
      final: e.isFinalInvokeForWindow === true,
      early: e.isWindowTerminatedEarly === true,
      window: `${e.window?.start}..${e.window?.end}`,
    });
    const count = (state: Record<string, unknown>) => (state.n as number | undefined) ?? 0;

    it(
      'passes each invocation the state the previous one returned, windows aligned to their length on the ' +
        'arrival time, and ends the window with a final invocation carrying the state and no records',
      async () => {
        const calls: Call[] = [];
        const arrivals: number[] = [];
        await run(
          25,
          async (e) => {
            calls.push(call(e));
            for (const r of e.Records) arrivals.push(r.kinesis.approximateArrivalTimestamp * 1000);
            expect(e.shardId).toBe('shardId-000000000000');
            return { state: { n: count(e.state ?? {}) + e.Records.length }, batchItemFailures: [] };
          },
          WINDOW,
          () => calls.some((c) => c.final),
          idle,
        );
        const finals = calls.filter((c) => c.final);
        expect(finals).toHaveLength(1);
        expect(finals[0]!.records).toEqual([]);
        expect(finals[0]!.state).toEqual({ n: 25 });
        expect(calls.at(-1)!.final).toBe(true);
        // Batches of 10: 0..9 with {}, 10..19 with {n: 10}, 20..24 with {n: 20}.
        expect(calls.slice(0, 3).map((c) => [c.records.length, count(c.state)])).toEqual([
          [10, 0],
          [10, 10],
          [5, 20],
        ]);
        const [start, end] = calls[0]!.window.split('..').map((t) => Date.parse(t));
        expect(start! % 60_000).toBe(0);
        expect(end! - start!).toBe(60_000);
        for (const a of arrivals) expect(a >= start! && a < end!).toBe(true);
        expect(new Set(calls.map((c) => c.window)).size).toBe(1);
      },
    );

    it('retries a failed final invocation with the same state until it succeeds', async () => {
      const calls: Call[] = [];
      let finalsToFail = 2;
      await run(
        5,
        async (e) => {
          calls.push(call(e));
          if (e.isFinalInvokeForWindow && finalsToFail-- > 0) throw new Error('table throttled');
          return {
            state: e.isFinalInvokeForWindow ? {} : { n: count(e.state ?? {}) + e.Records.length },
            batchItemFailures: [],
          };
        },
        WINDOW,
        () => calls.filter((c) => c.final).length >= 3,
        idle,
      );
      const finals = calls.filter((c) => c.final);
      expect(finals.map((c) => c.state)).toEqual([{ n: 5 }, { n: 5 }, { n: 5 }]);
    });

    it('retries a failed invocation with the state it was given (the failed one returned nothing)', async () => {
      const calls: Call[] = [];
      let failOnce = true;
      await run(
        20,
        async (e) => {
          calls.push(call(e));
          if (!e.isFinalInvokeForWindow && count(e.state ?? {}) === 10 && failOnce) {
            failOnce = false;
            throw new Error('timeout');
          }
          return { state: { n: count(e.state ?? {}) + e.Records.length }, batchItemFailures: [] };
        },
        WINDOW,
        () => calls.some((c) => c.final),
        idle,
      );
      const second = calls.filter((c) => !c.final && c.records[0] === 10);
      expect(second.length).toBeGreaterThanOrEqual(2);
      for (const c of second) expect(c.state).toEqual({ n: 10 });
      expect(calls.find((c) => c.final)!.state).toEqual({ n: 20 });
    });

    it('treats a response without state as a failed invocation', async () => {
      const calls: Call[] = [];
      let first = true;
      await run(
        5,
        async (e) => {
          calls.push(call(e));
          if (first) {
            first = false;
            return { batchItemFailures: [] };
          }
          return { state: { n: count(e.state ?? {}) + e.Records.length }, batchItemFailures: [] };
        },
        WINDOW,
        () => calls.some((c) => c.final),
        idle,
      );
      // Retried (bisected, as the mapping bisects on error) with the same state.
      expect(calls[0]!.records.slice(0, calls[1]!.records.length)).toEqual(calls[1]!.records);
      expect(calls[1]!.records.length).toBeLessThan(calls[0]!.records.length);
      expect(calls[1]!.state).toEqual({});
      expect(calls.find((c) => c.final)!.state).toEqual({ n: 5 });
    });

    it('applies a partial batch response: resumes at the lowest failure with the state returned with it', async () => {
      const calls: Call[] = [];
      let failed = false;
      await run(
        10,
        async (e) => {
          calls.push(call(e));
          const bad = e.Records.find((r) => index(r) === 6);
          const ok = bad && !failed ? e.Records.filter((r) => index(r) < 6) : e.Records;
          const response: PollerResponse = {
            state: { n: count(e.state ?? {}) + ok.length },
            batchItemFailures: bad && !failed ? [{ itemIdentifier: bad.kinesis.sequenceNumber }] : [],
          };
          if (bad) failed = true;
          return response;
        },
        WINDOW,
        () => calls.some((c) => c.final),
        idle,
      );
      expect(calls[0]!.records).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(calls[1]).toMatchObject({ records: [6, 7, 8, 9], state: { n: 6 } });
      expect(calls.find((c) => c.final)!.state).toEqual({ n: 10 });
    });

    it(
      'terminates the window early when the state passes the limit: a final invocation flagged ' +
        'isWindowTerminatedEarly, then the same window goes on with a fresh state',
      async () => {
        const calls: Call[] = [];
        await run(
          20,
          async (e) => {
            calls.push(call(e));
            if (e.isFinalInvokeForWindow) return { state: {}, batchItemFailures: [] };
            return {
              state: { n: count(e.state ?? {}) + e.Records.length, pad: 'x'.repeat(300) },
              batchItemFailures: [],
            };
          },
          WINDOW,
          () => calls.filter((c) => c.final && !c.early).length >= 1,
          { ...idle, maxWindowStateBytes: 200 },
        );
        expect(calls.map((c) => [c.records.length, c.final, c.early, count(c.state)])).toEqual([
          [10, false, false, 0],
          [0, true, true, 10],
          [10, false, false, 0],
          [0, true, true, 10],
          [0, true, false, 0],
        ]);
        expect(new Set(calls.map((c) => c.window)).size).toBe(1);
      },
    );

    it('starts a new window, with a fresh state, for records that arrive after the window ended', async () => {
      const calls: Call[] = [];
      let clock = Date.UTC(2026, 10, 22, 10, 0, 30);
      await run(
        10,
        async (e) => {
          calls.push(call(e));
          // The second batch arrives in the next minute on the arrival clock.
          clock += 60_000;
          return { state: { n: count(e.state ?? {}) + e.Records.length }, batchItemFailures: [] };
        },
        { ...WINDOW, batchSize: 5 },
        () => calls.filter((c) => c.final).length >= 2,
        { ...idle, arrivalClock: () => clock },
      );
      expect(calls.map((c) => [c.records.length, c.final, count(c.state)])).toEqual([
        [5, false, 0],
        [0, true, 5],
        [5, false, 0],
        [0, true, 5],
      ]);
      expect(new Set(calls.map((c) => c.window)).size).toBe(2);
    });
  });
});
