import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileDeadLetterSource,
  redriveDeadLetters,
  SqsDeadLetterSource,
} from '../../lambdas/adapters/dead-letter-source.js';
import type { RawRecord } from '../../lambdas/core/batch.js';
import { processStreamBatch } from '../../lambdas/usecases/stream-batch.js';
import { createStreamFromTemplate } from '../../local/stand-ins.js';
import { kinesisEvent, metric, stackTemplate, startHarness, type Harness } from './harness.js';
import { injectPartialFailures, readStream } from './kinesis-faults.js';

const STREAM = 'redrive-test';
const KEY = 'acme#cqs_p95';
const window = { from: '2026-11-22T10:00:00.000Z', to: '2026-11-22T10:05:00.000Z' };
const line = (i: number) => JSON.stringify(metric(i));
const sourcePut = (i: number) => ({
  reason: 'ProvisionedThroughputExceededException: Rate exceeded',
  kind: 'put',
  source: 'billing',
  window,
  data: line(i),
  partitionKey: 'acme',
});

describe('redrive: dead letters back onto the local stream, processed once', () => {
  let h: Harness;
  let file: string;
  let seq = 0;
  beforeEach(async () => {
    h = await startHarness();
    await createStreamFromTemplate(h.standIns.kinesis, stackTemplate(), STREAM, 1);
    file = join(mkdtempSync(join(tmpdir(), 'redrive-')), 'dead-letters.jsonl');
    seq = 0;
  });
  afterEach(() => h.close());

  /**
   * What the consumer Lambda does with the records now on the stream (every record read once more from the trim horizon
   * is a redelivery it drops).
   */
  async function consumeStream(kinesis: KinesisClient = h.standIns.kinesis) {
    const raw = (await readStream(kinesis, STREAM)).slice(seq);
    seq += raw.length;
    const batch: RawRecord[] = raw.map((r) => ({
      data: r.Data!,
      partitionKey: r.PartitionKey!,
      arrivedAt: r.ApproximateArrivalTimestamp!.getTime(),
      position: { shardId: 'shardId-000000000000', sequenceNumber: r.SequenceNumber! },
    }));
    return processStreamBatch(batch, h.deps());
  }
  const folded = async () => (await h.readState(KEY))?.state.buckets.reduce((n, b) => n + b.n, 0) ?? 0;

  /** The consumer has folded m-0..m-2 and dead-lettered one record; the poller's puts of m-2..m-5 were refused. */
  async function letters(): Promise<string[]> {
    const first = await processStreamBatch(
      kinesisEvent([metric(0), metric(1), metric(2), metric(9, { value: 'high' })]).Records.map((r) => ({
        data: Buffer.from(r.kinesis.data, 'base64'),
        partitionKey: r.kinesis.partitionKey,
        arrivedAt: Number.POSITIVE_INFINITY,
        position: { shardId: 'shardId-test', sequenceNumber: r.kinesis.sequenceNumber },
      })),
      h.deps(),
    );
    expect(first).toMatchObject({ processed: 3, deadLettered: 1 });
    const invalid = h.deadLetters.peekAll()[0]!;
    expect(invalid.reason).toMatch(/value/);
    return [
      JSON.stringify(sourcePut(3)),
      JSON.stringify(invalid),
      JSON.stringify({ reason: 'HTTP 503 after 3 attempts', kind: 'fetch', source: 'billing', window }),
      JSON.stringify(sourcePut(4)),
      JSON.stringify({
        requestContext: {
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:consumer',
          condition: 'RetryAttemptsExhausted',
        },
        KinesisBatchInfo: { shardId: 'shardId-000000000000', startSequenceNumber: '1', endSequenceNumber: '9' },
      }),
      JSON.stringify(sourcePut(2)),
      JSON.stringify(sourcePut(5)),
    ];
  }

  it('a dry run reports what it would put and changes nothing', async () => {
    const all = await letters();
    writeFileSync(file, `${all.join('\n')}\n`);
    const r = await redriveDeadLetters(new FileDeadLetterSource(file), h.standIns.kinesis, STREAM, { dryRun: true });
    expect(r).toMatchObject({ read: 7, redriven: 5, failed: [] });
    expect(r.left.map((l) => l.what)).toEqual([
      expect.stringContaining('not fetched'),
      expect.stringContaining('consumer batch failure'),
    ]);
    expect(r.byReason.get('ProvisionedThroughputExceededException: Rate exceeded')).toBe(4);
    expect(await readStream(h.standIns.kinesis, STREAM)).toHaveLength(0);
    expect(readFileSync(file, 'utf8')).toBe(`${all.join('\n')}\n`);
  });

  it('puts the records back, deletes only their letters, and the consumer counts each record once', async () => {
    const all = await letters();
    writeFileSync(file, `${all.join('\n')}\n`);
    const r = await redriveDeadLetters(new FileDeadLetterSource(file), h.standIns.kinesis, STREAM);
    expect(r).toMatchObject({ read: 7, redriven: 5, failed: [] });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual([all[2], all[4]]);

    const outcome = await consumeStream();
    // m-3, m-4, m-5 are new; m-2 was already folded; the invalid record is still invalid and is dead-lettered again,
    // reason and all.
    expect(outcome).toMatchObject({ received: 5, processed: 4, duplicate: 1, deadLettered: 1 });
    expect(await folded()).toBe(6);
    expect(h.deadLetters.peekAll()).toHaveLength(2);
    const [before, after] = h.deadLetters.peekAll();
    expect(after).toMatchObject({ reason: before!.reason, data: before!.data, partitionKey: 'acme' });

    // The same letters redriven again (an operator runs it twice): nothing is counted twice.
    writeFileSync(file, `${all.join('\n')}\n`);
    await redriveDeadLetters(new FileDeadLetterSource(file), h.standIns.kinesis, STREAM);
    const again = await consumeStream();
    expect(again).toMatchObject({ received: 5, duplicate: 4, deadLettered: 1 });
    expect(await folded()).toBe(6);
  });

  it('`npm run cli -- redrive` on a local queue file: the ' +
    'dry run lists, the run puts, both say what stays and why', async () => {
    const all = await letters();
    writeFileSync(file, `${all.join('\n')}\n`);
    const cli = (...args: string[]) =>
      promisify(execFile)(
        'npx',
        [
          'tsx',
          'bin/anomaly-guard.ts',
          'redrive',
          '--local-file',
          file,
          '--stream',
          STREAM,
          '--endpoint',
          h.standIns.kinesisEndpoint,
          ...args,
        ],
        { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      );
    const dry = await cli('--dry-run');
    expect(dry.stdout).toContain(`${file}: 7 messages read; 5 records would be put back on ${STREAM}`);
    expect(dry.stdout).toMatch(/4 × ProvisionedThroughputExceededException/);
    expect(dry.stdout).toMatch(
      new RegExp(
        String.raw`left in place: 1 × window .* not fetched: HTTP 503 after 3 attempts\n {2}` +
          'next step: backfill it: invoke the poller',
      ),
    );
    expect(await readStream(h.standIns.kinesis, STREAM)).toHaveLength(0);
    const run = await cli();
    expect(run.stdout).toContain(`5 records put back on ${STREAM}`);
    expect(await readStream(h.standIns.kinesis, STREAM)).toHaveLength(5);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    await expect(
      promisify(execFile)('npx', ['tsx', 'bin/anomaly-guard.ts', 'redrive', '--stream', STREAM]),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('give exactly one of --queue-url and --local-file') });
  }, 60_000);

  it('a record Kinesis keeps refusing stays in the queue; the others land and are deleted', async () => {
    const all = [sourcePut(3), sourcePut(4), sourcePut(5)].map((l) => JSON.stringify(l));
    writeFileSync(file, `${all.join('\n')}\n`);
    injectPartialFailures(h.standIns.kinesis, {
      failCall: () => true,
      rejects: (_i, data) => data.includes('"id":"m-4"'),
    });
    const r = await redriveDeadLetters(new FileDeadLetterSource(file), h.standIns.kinesis, STREAM, {
      produce: { maxAttempts: 3, baseDelayMs: 1 },
    });
    expect(r.redriven).toBe(2);
    expect(r.failed).toEqual([{ id: '1', error: expect.stringContaining('ProvisionedThroughputExceededException') }]);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual([all[1]]);
    expect(
      (await readStream(h.standIns.kinesis, STREAM)).map((x) => JSON.parse(Buffer.from(x.Data!).toString()).id),
    ).toEqual(['m-3', 'm-5']);
  });

  it(
    'from SQS: deletes the landed messages, makes the kept ones visible again, and fails loudly when a delete ' +
      'fails',
    async () => {
      // No SQS stand-in exists here (docs/architecture.md, "The local runtime's stand-ins"): a fake client records the
      // calls, and fails one delete.
      const bodies = [
        JSON.stringify(sourcePut(3)),
        JSON.stringify({ reason: 'HTTP 503', kind: 'fetch', source: 'billing', window }),
        JSON.stringify(sourcePut(4)),
      ];
      const calls: { name: string; input: Record<string, unknown> }[] = [];
      let received = false;
      const sqs = {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          calls.push({ name: command.constructor.name, input: command.input });
          if (command.constructor.name === 'ReceiveMessageCommand') {
            if (received) return { Messages: [] };
            received = true;
            return { Messages: bodies.map((Body, i) => ({ MessageId: `msg-${i}`, ReceiptHandle: `rh-${i}`, Body })) };
          }
          if (command.constructor.name === 'DeleteMessageBatchCommand')
            return {
              Successful: [{ Id: '0' }],
              Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', Message: 'expired' }],
            };
          return { Successful: [] };
        },
      };
      await expect(
        redriveDeadLetters(new SqsDeadLetterSource(sqs as never, 'https://sqs.test/q'), h.standIns.kinesis, STREAM),
      ).rejects.toThrow(/could not delete 1 message\(s\) in https:\/\/sqs.test\/q: msg-2: expired/);
      expect(calls.find((c) => c.name === 'ReceiveMessageCommand')!.input).toMatchObject({ VisibilityTimeout: 300 });
      expect(calls.find((c) => c.name === 'DeleteMessageBatchCommand')!.input.Entries).toEqual([
        { Id: '0', ReceiptHandle: 'rh-0' },
        { Id: '1', ReceiptHandle: 'rh-2' },
      ]);
      // The fetch letter is released at once, even though the run failed.
      expect(calls.find((c) => c.name === 'ChangeMessageVisibilityBatchCommand')!.input.Entries).toEqual([
        { Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 0 },
      ]);
      expect(await readStream(h.standIns.kinesis, STREAM)).toHaveLength(2);
    },
  );
});
