import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { putRecordsReliably } from '../../lambdas/adapters/stream-producer.js';
import { createStreamFromTemplate, localKinesisClient, startStandIns, type StandIns } from '../../local/stand-ins.js';
import { stackTemplate } from './harness.js';
import { injectPartialFailures, readStream } from './kinesis-faults.js';

const STREAM = 'producer-test';

async function readAll(s: StandIns): Promise<string[]> {
  return (await readStream(s.kinesis, STREAM)).map((r) => Buffer.from(r.Data!).toString());
}

describe('producer (PutRecords with partial-failure retry) on kinesalite', () => {
  let s: StandIns;
  beforeEach(async () => {
    s = await startStandIns();
    await createStreamFromTemplate(s.kinesis, stackTemplate(), STREAM, 2);
  });
  afterEach(async () => {
    await s.close();
  });

  it('retries only the entries Kinesis rejected: every record lands exactly once', async () => {
    const kinesis = localKinesisClient(s.kinesisEndpoint);
    // The first two calls have every third entry throttled: those entries never reach the stream in that call.
    injectPartialFailures(kinesis, { failCall: (call) => call <= 2, rejects: (i) => i % 3 === 0 });
    const entries = Array.from({ length: 30 }, (_, i) => ({ Data: Buffer.from(`r${i}`), PartitionKey: `p${i % 4}` }));
    const result = await putRecordsReliably(kinesis, STREAM, entries, { baseDelayMs: 1 });
    expect(result).toMatchObject({ sent: 30, failed: [], attempts: 3 });
    const landed = await readAll(s);
    expect(landed.sort()).toEqual(entries.map((e) => e.Data.toString()).sort());
  });

  it('gives up after its attempts and returns the entries that never landed with the error', async () => {
    const kinesis = localKinesisClient(s.kinesisEndpoint);
    kinesis.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName !== 'PutRecordsCommand') return next(args);
        const n = (args.input as PutRecordsCommandInput).Records!.length;
        return {
          response: {},
          output: {
            $metadata: {},
            FailedRecordCount: n,
            Records: Array.from({ length: n }, () => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' })),
          },
        };
      },
      { step: 'initialize', name: 'alwaysFail' },
    );
    const result = await putRecordsReliably(kinesis, STREAM, [{ Data: Buffer.from('x'), PartitionKey: 'p' }], {
      maxAttempts: 3,
      baseDelayMs: 1,
    });
    expect(result.sent).toBe(0);
    expect(result.failed).toEqual([
      { entry: expect.anything(), errorCode: 'InternalFailure', errorMessage: 'injected' },
    ]);
    expect(result.attempts).toBe(3);
  });

  it('`produce` puts a JSONL file on the stream, partitioned per contract 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ag-produce-'));
    const file = join(dir, 'in.jsonl');
    const lines = [
      '{"v":1,"type":"metric","ts":"2026-11-22T10:00:03.120Z","tenant":"acme","signal":"cqs_p95","value":0.0037}',
      '{"v":1,"type":"activity","ts":1795341603120,"key":"user-42","tenant":"podcast","action":"pause"}',
      '',
      '{"v":1,"type":"change","ts":"2026-11-22T09:40:00Z","tenant":"acme","change":"release"}',
    ];
    writeFileSync(file, lines.join('\n'));
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'bin/anomaly-guard.ts', 'produce', '--input', file, '--stream', STREAM, '--endpoint', s.kinesisEndpoint],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    expect(stdout).toMatch(/put 3 of 3 records on producer-test/);
    // Each record without an id gets one derived from its line, the line otherwise unchanged, so a
    // resent chunk (or a second run of the file) is deduplicated by the consumer.
    const landed = await readAll(s);
    const stripped = landed.map((l) => l.replace(/^\{"id":"p-[\w-]{22}",/, '{'));
    expect(stripped.sort()).toEqual(lines.filter(Boolean).sort());
    const ids = landed.map((l) => (JSON.parse(l) as { id: string }).id);
    expect(new Set(ids).size).toBe(3);
    await promisify(execFile)('npx', [
      'tsx',
      'bin/anomaly-guard.ts',
      'produce',
      '--input',
      file,
      '--stream',
      STREAM,
      '--endpoint',
      s.kinesisEndpoint,
    ]);
    const both = (await readAll(s)).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(both.sort()).toEqual([...ids, ...ids].sort());
  });

  it('`produce` names the bad line of a malformed file and puts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ag-produce-'));
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"v":1,"type":"metric","tenant":"acme"}\n{oops\n');
    const run = promisify(execFile)('npx', [
      'tsx',
      'bin/anomaly-guard.ts',
      'produce',
      '--input',
      file,
      '--stream',
      STREAM,
      '--endpoint',
      s.kinesisEndpoint,
    ]);
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/bad\.jsonl:2: not JSON/) });
    expect(await readAll(s)).toEqual([]);
  });
});

describe('producer against a stream that does not exist', () => {
  it('fails at once with the error instead of retrying', async () => {
    const s = await startStandIns();
    try {
      const result = await putRecordsReliably(
        s.kinesis,
        'no-such-stream',
        [{ Data: Buffer.from('x'), PartitionKey: 'p' }],
        { maxAttempts: 5, baseDelayMs: 1 },
      );
      expect(result.attempts).toBe(1);
      expect(result.failed[0]).toMatchObject({ errorCode: 'ResourceNotFoundException' });
    } finally {
      await s.close();
    }
  });
});
