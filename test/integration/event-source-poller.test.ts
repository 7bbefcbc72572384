import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { putRecordsReliably } from '../../lambdas/adapters/stream-producer.js';
import {
  EventSourcePoller,
  eventSourceSettingsFromTemplate,
  type EventSourceSettings,
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
    settings = { ...eventSourceSettingsFromTemplate(stackTemplate()), batchSize: 10 };
  });
  afterEach(async () => {
    await s.close();
  });

  async function run(
    n: number,
    handler: (e: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>,
    over: Partial<EventSourceSettings> = {},
    until: () => boolean,
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
    expect(t).toMatchObject({ reportBatchItemFailures: true, bisectOnError: true, startingPosition: 'TRIM_HORIZON' });
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
});
