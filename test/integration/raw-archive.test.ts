import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOGICAL_IDS } from '../../lib/anomaly-guard-stack.js';
import { putRecordsReliably } from '../../lambdas/adapters/stream-producer.js';
import { archiveSettingsFromTemplate, expandPrefix, LocalRawArchive } from '../../local/raw-archive.js';
import {
  createBucketsFromTemplate,
  createStreamFromTemplate,
  startStandIns,
  type StandIns,
} from '../../local/stand-ins.js';
import { metric, stackTemplate } from './harness.js';

const STREAM = 'archive-test';

describe('local raw archive (Firehose on kinesalite → s3rver, settings from the template)', () => {
  let s: StandIns;
  let buckets: Map<string, string>;
  beforeEach(async () => {
    s = await startStandIns();
    await createStreamFromTemplate(s.kinesis, stackTemplate(), STREAM, 2);
    buckets = await createBucketsFromTemplate(s.s3, stackTemplate(), 'ag-');
  });
  afterEach(async () => {
    await s.close();
  });

  it(
    'reads what deploys: gzip, the raw/ hourly prefix, the delimiter processor, buffering hints and the archive ' +
      'bucket',
    () => {
      expect(archiveSettingsFromTemplate(stackTemplate())).toEqual({
        deliveryStreamName: LOGICAL_IDS.rawArchiveDeliveryStream,
        bucketLogicalId: LOGICAL_IDS.rawArchiveBucket,
        prefix: 'raw/!{timestamp:yyyy/MM/dd/HH}/',
        compression: 'GZIP',
        bufferingIntervalMs: 300_000,
        bufferingSizeBytes: 64 * 1024 * 1024,
        appendDelimiter: true,
      });
      expect(expandPrefix('raw/!{timestamp:yyyy/MM/dd/HH}/', Date.parse('2026-12-05T07:59:59.999Z'))).toBe(
        'raw/2026/12/05/07/',
      );
    },
  );

  async function archived(archive: LocalRawArchive) {
    const listed = await s.s3.send(new ListObjectsV2Command({ Bucket: archive.bucket }));
    const keys = (listed.Contents ?? []).map((c) => c.Key!).sort();
    const lines: string[] = [];
    for (const key of keys) {
      const body = Buffer.from(
        await (
          await s.s3.send(new GetObjectCommand({ Bucket: archive.bucket, Key: key }))
        ).Body!.transformToByteArray(),
      );
      expect(body.subarray(0, 2), `${key} is gzip`).toEqual(Buffer.from([0x1f, 0x8b]));
      const text = gunzipSync(body).toString('utf8');
      expect(text.endsWith('\n'), `${key} ends with a newline`).toBe(true);
      lines.push(...text.slice(0, -1).split('\n'));
    }
    return { keys, lines };
  }

  async function put(n: number, from = 0) {
    const records = Array.from({ length: n }, (_, i) => metric(from + i, { tenant: `t${(from + i) % 5}` }));
    const entries = records.map((r) => ({ Data: Buffer.from(JSON.stringify(r)), PartitionKey: String(r.tenant) }));
    expect((await putRecordsReliably(s.kinesis, STREAM, entries)).sent).toBe(n);
    return records.map((r) => JSON.stringify(r));
  }

  async function until(cond: () => boolean) {
    const deadline = Date.now() + 20_000;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  it('archives every record exactly once, one line each, in gzip objects named the Firehose way under the arrival ' +
    'hour', async () => {
    const before = Date.now();
    const archive = new LocalRawArchive({
      kinesis: s.kinesis,
      s3: s.s3,
      streamName: STREAM,
      template: stackTemplate(),
      buckets,
      pollIntervalMs: 5,
    });
    await archive.start();
    const sent = [...(await put(300)), ...(await put(200, 300))];
    await until(() => archive.received >= sent.length);
    await archive.stop();
    const { keys, lines } = await archived(archive);
    expect(archive.bucket).toBe(buckets.get(LOGICAL_IDS.rawArchiveBucket));
    expect(lines.sort()).toEqual([...sent].sort());
    expect(archive.records).toBe(sent.length);
    // Nothing reached the size limit or the (300 s) interval: stop() wrote one object.
    expect(archive.objects).toBe(1);
    expect(keys).toHaveLength(1);
    const hours = [before, Date.now()].map((t) => new Date(t).toISOString().slice(0, 13).replace(/[-T]/g, '/'));
    const name = new RegExp(
      `^raw/(${hours.join('|')})/${LOGICAL_IDS.rawArchiveDeliveryStream}` +
        `-1-\\d{4}-\\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d\\d-[0-9a-f-]{36}\\.gz$`,
    );
    expect(keys[0]).toMatch(name);
  }, 30_000);

  it('writes a new object whenever the buffer reaches its size limit, still losing and repeating nothing', async () => {
    const archive = new LocalRawArchive({
      kinesis: s.kinesis,
      s3: s.s3,
      streamName: STREAM,
      template: stackTemplate(),
      buckets,
      bufferingSizeBytes: 4096,
      pollIntervalMs: 5,
    });
    await archive.start();
    const sent = await put(400);
    await until(() => archive.received >= sent.length);
    await archive.flush();
    const { keys, lines } = await archived(archive);
    const bytes = sent.reduce((n, l) => n + l.length + 1, 0);
    expect(keys.length).toBeGreaterThanOrEqual(Math.floor(bytes / 4096));
    expect(archive.objects).toBe(keys.length);
    expect(lines.sort()).toEqual([...sent].sort());
    await archive.stop();
    expect(archive.objects, 'nothing left to write on stop').toBe(keys.length);
  }, 30_000);

  it('writes what it buffered once the buffering interval has passed, without a flush', async () => {
    const archive = new LocalRawArchive({
      kinesis: s.kinesis,
      s3: s.s3,
      streamName: STREAM,
      template: stackTemplate(),
      buckets,
      bufferingIntervalMs: 100,
      pollIntervalMs: 5,
    });
    await archive.start();
    const sent = await put(20);
    await until(() => archive.records >= sent.length);
    expect(archive.records).toBe(sent.length);
    expect((await archived(archive)).lines.sort()).toEqual([...sent].sort());
    await archive.stop();
  }, 30_000);
});
