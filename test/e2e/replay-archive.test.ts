import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthTemplate } from '../../lib/synth.js';
import { putRecordsReliably } from '../../lambdas/adapters/stream-producer.js';
import { LocalRawArchive } from '../../local/raw-archive.js';
import { replayEnvelopes, splitRecords } from '../../local/replay-envelopes.js';
import {
  createBucketsFromTemplate,
  createStreamFromTemplate,
  startStandIns,
  type CfnTemplate,
  type StandIns,
} from '../../local/stand-ins.js';

const T0 = Date.parse('2026-11-20T00:00:00Z');
const STREAM = 'replay-archive';

function prng(seed: number) {
  return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
}

/** Eight hours of two tenants' cqs_p95 with a 20-minute cost spike each, and a release before the first. */
function recording(): string[] {
  const rnd = prng(11);
  const lines: { ts: number; line: string }[] = [];
  for (let t = 0; t < 8 * 3600_000; t += 10_000) {
    for (const [tenant, from] of [
      ['acme', 4 * 3600_000],
      ['globex', 6 * 3600_000],
    ] as const) {
      const spike = t >= from && t < from + 20 * 60_000 ? 1.6 : 1;
      lines.push({
        ts: T0 + t,
        line: JSON.stringify({
          v: 1,
          type: 'metric',
          ts: T0 + t,
          tenant,
          signal: 'cqs_p95',
          region: 'kr',
          value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * spike,
        }),
      });
    }
  }
  const release = T0 + 4 * 3600_000 - 8 * 60_000;
  lines.push({
    ts: release,
    line: JSON.stringify({
      v: 1,
      type: 'change',
      id: 'rel-381',
      ts: release,
      tenant: 'acme',
      change: 'release',
      region: 'kr',
      title: 'search 2.3',
    }),
  });
  return lines.sort((a, b) => a.ts - b.ts).map((l) => l.line);
}

const read = (file: string) => readFileSync(file, 'utf8');

describe('replay --input <raw archive>', () => {
  let dir: string;
  let lines: string[];
  let archiveDir: string;
  let original: { alerts: string; records: number };
  let s: StandIns;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ag-replay-archive-'));
    lines = recording();
    writeFileSync(join(dir, 'recorded.jsonl'), `${lines.join('\n')}\n`);
    const r = await replayEnvelopes({ input: join(dir, 'recorded.jsonl'), out: join(dir, 'from-jsonl') });
    original = { alerts: read(join(dir, 'from-jsonl', 'alerts.jsonl')), records: r.records };

    // Through the stream and the local Firehose into s3rver, then copied out as `aws s3 cp --recursive` would.
    const template = synthTemplate({}, { bundle: false, nag: false }) as CfnTemplate;
    s = await startStandIns();
    await createStreamFromTemplate(s.kinesis, template, STREAM, 1);
    const buckets = await createBucketsFromTemplate(s.s3, template, 'ag-');
    const archive = new LocalRawArchive({
      kinesis: s.kinesis,
      s3: s.s3,
      streamName: STREAM,
      template,
      buckets,
      pollIntervalMs: 5,
    });
    await archive.start();
    const put = await putRecordsReliably(
      s.kinesis,
      STREAM,
      lines.map((l) => ({ Data: Buffer.from(l), PartitionKey: 'acme' })),
    );
    expect(put.sent).toBe(lines.length);
    const deadline = Date.now() + 30_000;
    while (archive.received < lines.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await archive.stop();
    archiveDir = join(dir, 'archive');
    expect(await archive.copyTo(archiveDir)).toBe(archive.objects);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  const archiveFiles = () =>
    (readdirSync(archiveDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.gz')).sort();

  it('finds an alert to compare (the scenario is not trivially empty)', () => {
    expect(original.alerts.trim().split('\n').length).toBeGreaterThanOrEqual(2);
    expect(archiveFiles()[0]).toMatch(
      /^raw\/\d{4}\/\d\d\/\d\d\/\d\d\/RawArchiveDeliveryStream-1-[\d-]+-[0-9a-f-]{36}\.gz$/,
    );
  });

  it('replaying the archive directory tree gives the same alerts.jsonl as replaying the original JSONL', async () => {
    const r = await replayEnvelopes({ input: archiveDir, out: join(dir, 'from-archive') });
    expect(r).toMatchObject({ records: lines.length, processed: lines.length, deadLettered: 0 });
    expect(read(join(dir, 'from-archive', 'alerts.jsonl'))).toBe(original.alerts);
  });

  it(
    'replaying one archive object by path, and a renamed ' + 'one (gzip found by its magic bytes), gives the same',
    async () => {
      const [first] = archiveFiles();
      const object = join(archiveDir, first!);
      await replayEnvelopes({ input: object, out: join(dir, 'from-object') });
      expect(read(join(dir, 'from-object', 'alerts.jsonl'))).toBe(original.alerts);
      const renamed = join(dir, 'renamed.jsonl');
      writeFileSync(renamed, readFileSync(object));
      await replayEnvelopes({ input: renamed, out: join(dir, 'from-renamed') });
      expect(read(join(dir, 'from-renamed', 'alerts.jsonl'))).toBe(original.alerts);
    },
  );

  it('reads concatenated JSON (Firehose without the delimiter processor) the same way', async () => {
    const records = archiveFiles().flatMap((f) =>
      gunzipSync(readFileSync(join(archiveDir, f)))
        .toString('utf8')
        .split('\n')
        .filter(Boolean),
    );
    const concatenated = join(dir, 'concatenated', 'raw', '2026', '11', '20', '00');
    mkdirSync(concatenated, { recursive: true });
    // Two objects with no delimiter at all: the scanner splits where each object closes.
    const half = Math.floor(records.length / 2);
    writeFileSync(
      join(concatenated, 'RawArchiveDeliveryStream-1-2026-11-20-00-00-00-a.gz'),
      gzipSync(records.slice(0, half).join('')),
    );
    writeFileSync(
      join(concatenated, 'RawArchiveDeliveryStream-1-2026-11-20-00-05-00-b.gz'),
      gzipSync(records.slice(half).join('')),
    );
    const r = await replayEnvelopes({ input: join(dir, 'concatenated'), out: join(dir, 'from-concatenated') });
    expect(r).toMatchObject({ records: lines.length, processed: lines.length, deadLettered: 0 });
    expect(read(join(dir, 'from-concatenated', 'alerts.jsonl'))).toBe(original.alerts);
  });

  it('dead-letters what is not a valid record, with the reason, and replays the rest', async () => {
    const good = lines.slice(0, 3);
    const corrupt =
      `${good[0]}not json at all${good[1]}\n{"v":1,"type":"metric","ts":\n{"v":1,"type":"metric","ts":"soon",` +
      `"tenant":"acme","signal":"cqs_p95","value":1}${good[2]}\n`;
    mkdirSync(join(dir, 'corrupt'), { recursive: true });
    writeFileSync(join(dir, 'corrupt', 'RawArchiveDeliveryStream-1-2026-11-20-00-00-00-c'), gzipSync(corrupt));
    const r = await replayEnvelopes({ input: join(dir, 'corrupt'), out: join(dir, 'from-corrupt') });
    expect(r).toMatchObject({ records: 6, processed: 3, deadLettered: 3 });
    const letters = read(join(dir, 'from-corrupt', 'dead-letters.jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string });
    expect(letters).toHaveLength(3);
    for (const l of letters) expect(l.reason.length).toBeGreaterThan(5);
  });
});

describe('splitRecords', () => {
  it('splits concatenated objects outside strings, honouring escapes, and keeps non-JSON text as a record', () => {
    expect(splitRecords('{"a":"}{"}{"b":"\\"}"}')).toEqual(['{"a":"}{"}', '{"b":"\\"}"}']);
    expect(splitRecords('  {"a":[1,{"b":2}]} {"c":3}  ')).toEqual(['{"a":[1,{"b":2}]}', '{"c":3}']);
    expect(splitRecords('garbage{"a":1}tail')).toEqual(['garbage', '{"a":1}', 'tail']);
    expect(splitRecords('{"unclosed":[1,2}')).toEqual(['{"unclosed":[1,2}']);
    expect(splitRecords('[1,2][3]')).toEqual(['[1,2]', '[3]']);
    expect(splitRecords('   ')).toEqual([]);
  });
});
