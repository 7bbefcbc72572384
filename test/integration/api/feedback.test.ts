import type { Context } from 'aws-lambda';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAnomalyStore } from '../../../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../../lambdas/adapters/change-store.js';
import { DynamoDbFeedbackStore } from '../../../lambdas/adapters/feedback-store.js';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import type { RouteId } from '../../../lambdas/core/api/routes.js';
import type { ApiEvent, ApiHandler } from '../../../lambdas/handlers/api/http.js';
import { createStreamConsumer } from '../../../lambdas/handlers/stream-consumer.js';
import { routesFromTemplate } from '../../../local/api-server.js';
import { replayEnvelopes } from '../../../local/replay-envelopes.js';
import { kinesisEvent, localApi, stackTemplate, startHarness, type Harness } from '../harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const T0 = Date.parse('2026-11-22T06:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;
const ONCALL = 'arn:aws:iam::123456789012:user/oncall';

function event(input: unknown, caller: string | null = ONCALL): ApiEvent {
  return {
    body: JSON.stringify(input),
    isBase64Encoded: false,
    headers: { 'content-type': 'application/json' },
    queryStringParameters: null,
    requestContext: {
      requestId: 'req-1',
      identity: { userArn: caller, caller: caller ? 'AIDAEXAMPLE' : null, sourceIp: '10.0.0.1' },
    },
  };
}

function anomaly(tenant: string, start: number, over: Partial<Anomaly> = {}): Anomaly {
  const key = `${tenant}#search_qps`;
  return {
    id: `${key}@${new Date(start).toISOString().slice(0, 16)}Z`,
    key,
    tenant,
    signal: 'search_qps',
    class: 'infra',
    severity: 'SEV2',
    start,
    detectedAt: start + 3 * MIN,
    score: 0.9,
    expected: 100,
    observed: 130,
    band: { lo: 95, hi: 105 },
    change: '+30%',
    trigger: 'sustained',
    evidence: [],
    correlatedChanges: [],
    decision: 'alert',
    recommendation: 'investigate',
    softOnly: false,
    ...over,
  };
}

/** Three hours of search_qps every 10 s with ±2 % noise, times `spike` for minutes 150..170. */
function series(tenant: string, spike: number, seed = 11) {
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: 180 * 6 }, (_, i) => {
    const minute = Math.floor(i / 6);
    return {
      v: 1,
      type: 'metric',
      id: `${tenant}-${i}`,
      ts: T0 + i * 10_000,
      tenant,
      signal: 'search_qps',
      value: 100 * (1 + 0.02 * (rnd() * 2 - 1)) * (minute >= 150 && minute < 170 ? spike : 1),
    };
  });
}

function batches<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

describe('POST /v1/anomaly/feedback over the local stand-ins', () => {
  let h: Harness;
  let clock: number;
  let api: Record<RouteId, ApiHandler>;
  let anomalies: DynamoDbAnomalyStore;
  let feedback: DynamoDbFeedbackStore;
  const call = async (route: RouteId, input: unknown, caller?: string | null) => {
    const res = await api[route](event(input, caller));
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  beforeEach(async () => {
    h = await startHarness();
    clock = T0;
    ({ api } = localApi(h, { now: () => clock }));
    anomalies = new DynamoDbAnomalyStore(h.standIns.dynamo, h.table);
    feedback = new DynamoDbFeedbackStore(h.standIns.dynamo, h.table);
  });
  afterEach(() => h.close());

  it('stores the verdict with the caller; the same verdict again is 200; a changed one is a new entry', async () => {
    const a = anomaly('acme', T0 - DAY);
    await anomalies.open(a);
    clock = T0;
    const first = await call('feedback', { key: a.id, verdict: 'false_positive', note: 'load test' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      key: a.id,
      verdict: 'false_positive',
      by: ONCALL,
      at: new Date(T0).toISOString(),
      note: 'load test',
      recorded: true,
      previous: null,
      entries: 1,
      sensitivity: { key: 'acme#search_qps', falsePositives: 1, requiredConfidence: 0.9, alwaysPagesAt: 0.95 },
    });
    expect(first.body.sensitivity.until).toBe(new Date(T0 + 7 * DAY).toISOString());

    clock = T0 + MIN;
    const again = await call('feedback', { key: a.id, verdict: 'false_positive' }, 'arn:aws:iam::1:user/other');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ recorded: false, by: ONCALL, at: new Date(T0).toISOString(), entries: 1 });

    clock = T0 + 2 * MIN;
    const changed = await call('feedback', { key: a.id, verdict: 'true_positive' });
    expect(changed.status).toBe(201);
    expect(changed.body).toMatchObject({
      verdict: 'true_positive',
      previous: { verdict: 'false_positive', by: ONCALL },
      entries: 2,
      // Reversing the false positive gives the key its sensitivity back.
      sensitivity: { falsePositives: 0, requiredConfidence: 0.8, until: null },
    });
    // Nothing deleted: both entries are kept, in order.
    expect((await feedback.ofAnomaly(a)).map((e) => [e.verdict, e.by])).toEqual([
      ['false_positive', ONCALL],
      ['true_positive', ONCALL],
    ]);
    // The anomaly record itself is unchanged.
    expect(await anomalies.get(a.id)).toMatchObject({ decision: 'alert', score: 0.9 });
  });

  it('expected answers with the whitelist request covering the span, without creating it', async () => {
    const a = anomaly('acme', T0 - 30 * MIN, { class: 'tenant' });
    await anomalies.open(a);
    await anomalies.markRecovered(a, T0 - 10 * MIN);
    clock = T0;
    const res = await call('feedback', { key: a.id, verdict: 'expected' });
    expect(res.status).toBe(201);
    expect(res.body.suggested).toEqual({
      route: 'POST /v1/anomaly/policy/whitelist',
      body: {
        tenant: 'acme',
        window: { from: new Date(a.start).toISOString(), to: new Date(T0 + 60 * MIN).toISOString() },
        reason: `expected: ${a.id}`,
      },
    });
    expect(res.body.alternative.route).toBe('POST /v1/anomaly/changes');
    const changes = new DynamoDbChangeStore(h.standIns.dynamo, h.table);
    expect(await changes.whitelists('acme', T0 - DAY, T0 + DAY)).toEqual([]);
    // What it suggests is what the routes accept.
    expect((await call('whitelist', res.body.suggested.body)).status).toBe(201);
    expect((await call('changes', res.body.alternative.body)).status).toBe(201);
  });

  it('answers 404 for an unknown anomaly and 400 naming the field, storing nothing', async () => {
    const missing = await call('feedback', { key: 'acme#search_qps@2026-11-20T10:00Z', verdict: 'true_positive' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: 'NotFound',
      details: { key: 'acme#search_qps@2026-11-20T10:00Z' },
    });
    const ok = { key: 'acme#search_qps@2026-11-20T10:00Z', verdict: 'false_positive' };
    const cases: [unknown, string][] = [
      [{ ...ok, verdict: 'wrong' }, 'verdict'],
      [{ ...ok, verdict: undefined }, 'verdict'],
      [{ ...ok, key: 'acme' }, 'key'],
      [{ ...ok, key: undefined }, 'key'],
      [{ ...ok, note: 'x'.repeat(1001) }, 'note'],
      [{ ...ok, note: 7 }, 'note'],
      [{ ...ok, by: 'me' }, 'by'],
    ];
    for (const [input, field] of cases) {
      const res = await call('feedback', input);
      expect(res.status, JSON.stringify(input)).toBe(400);
      expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(res.body.error.message).toContain(field);
    }
    expect(await feedback.givenBetween('acme#search_qps', 0, T0 + DAY)).toEqual([]);
  });

  it('is served on the route read from the synthesized template', () => {
    expect(routesFromTemplate(stackTemplate())).toContainEqual({
      method: 'POST',
      path: '/v1/anomaly/feedback',
      route: 'feedback',
    });
  });

  it('two false positives: the consumer holds back a borderline page, still pages a strong one, and the effect ends ' +
    'after 7 days', async () => {
    // Two earlier anomalies per key, judged false positives through the route 3 and 2 days before.
    for (const tenant of ['acme', 'beta', 'gamma']) {
      const judgedAt = tenant === 'gamma' ? T0 - 9 * DAY : T0 - 3 * DAY;
      for (const [i, start] of [T0 - 10 * DAY, T0 - 9 * DAY - 60 * MIN].entries()) {
        const a = anomaly(tenant, start);
        await anomalies.open(a);
        clock = judgedAt + i * DAY;
        expect((await call('feedback', { key: a.id, verdict: 'false_positive' })).status).toBe(201);
      }
    }
    clock = T0 + 3 * 3_600_000;
    const consumer = createStreamConsumer({ ...h.deps(), feedback, now: () => clock });
    // acme: a borderline +8 % (confidence ~0.9); beta: a strong +30 %; gamma: +8 %, verdicts older than 7 days.
    const records = [...series('acme', 1.08), ...series('beta', 1.3, 7), ...series('gamma', 1.08)].sort(
      (a, b) => a.ts - b.ts,
    );
    for (const b of batches(records, 300))
      expect((await consumer(kinesisEvent(b), context)).batchItemFailures).toEqual([]);

    const paged = h.alerts.published.peekAll().map((m) => JSON.parse(m.body) as { tenant: string });
    expect(paged.map((p) => p.tenant).sort()).toEqual(['beta', 'gamma']);
    const stored = (await anomalies.between(T0, T0 + 3 * 3_600_000)).filter((a) => a.tenant === 'acme');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.score).toBeLessThan(0.95);
    expect(stored[0]).toMatchObject({ decision: 'suppressed', severity: 'SEV4' });
    expect(stored[0]!.recommendation).toMatch(/held back by operator feedback: 2 false-positive/);
    const beta = (await anomalies.between(T0, T0 + 3 * 3_600_000)).find((a) => a.tenant === 'beta')!;
    expect(beta.score).toBeGreaterThanOrEqual(0.95);
  }, 120_000);

  it('a verdict line on the stream is dead-lettered by the consumer (verdicts are replay-only)', async () => {
    const consumer = createStreamConsumer(h.deps());
    const verdict = { verdict: 'false_positive', key: 'acme#search_qps@2026-11-22T08:30Z', tenant: 'acme' };
    expect((await consumer(kinesisEvent([verdict]), context)).batchItemFailures).toEqual([]);
    expect(h.deadLetters.peekAll()).toHaveLength(1);
  });
});

describe('replay precision from verdict lines', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ag-precision-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes precision.json by tenant and signal, and the CLI prints a summary line', async () => {
    const records = [...series('acme', 1.6), ...series('beta', 1.3, 7)].sort((a, b) => a.ts - b.ts);
    const lines = records.map((r) => JSON.stringify(r));
    const input = join(dir, 'in.jsonl');
    const out = join(dir, 'out');
    // The episodes' keys, from a replay without verdicts.
    const first = await replayEnvelopes({ input: await write(input, lines), out });
    expect(first.precision).toBeUndefined();
    const keys = (await readFile(join(out, 'alerts.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; tenant: string });
    const acme = keys.find((k) => k.tenant === 'acme')!.key;
    const beta = keys.find((k) => k.tenant === 'beta')!.key;
    const verdicts = [
      { verdict: 'true_positive', key: acme },
      { verdict: 'false_positive', key: beta },
      { verdict: 'false_positive', key: acme },
      { verdict: 'true_positive', key: acme, note: 'changed my mind' },
      { verdict: 'expected', key: 'acme#cqs_p95@2026-11-22T06:00Z' },
    ].map((v) => JSON.stringify(v));
    const r = await replayEnvelopes({ input: await write(input, [...lines, ...verdicts]), out });
    expect(r.records).toBe(records.length);
    expect(r.verdicts).toBe(5);
    expect(r.deadLettered).toBe(0);
    const precision = JSON.parse(await readFile(join(out, 'precision.json'), 'utf8'));
    expect(precision).toEqual({
      byTenantSignal: [
        {
          tenant: 'acme',
          signal: 'search_qps',
          alerts: 1,
          truePositive: 1,
          falsePositive: 0,
          expected: 0,
          precision: 1,
        },
        {
          tenant: 'beta',
          signal: 'search_qps',
          alerts: 1,
          truePositive: 0,
          falsePositive: 1,
          expected: 0,
          precision: 0,
        },
      ],
      verdicts: 3,
      unmatched: ['acme#cqs_p95@2026-11-22T06:00Z'],
    });

    const cli = await promisify(execFile)(
      'npx',
      ['tsx', 'bin/anomaly-guard.ts', 'replay', '--input', input, '--out', join(dir, 'cli')],
      { cwd: process.cwd() },
    );
    expect(cli.stdout).toMatch(/precision 0\.500 over 2 judged of 2 paged episodes \(5 verdict lines, 1 on episodes/);
    expect(JSON.parse(await readFile(join(dir, 'cli', 'precision.json'), 'utf8'))).toEqual(precision);

    // A malformed verdict line stops the replay, naming the field.
    await write(input, [...lines.slice(0, 10), JSON.stringify({ verdict: 'maybe', key: acme })]);
    await expect(replayEnvelopes({ input, out })).rejects.toThrow(/verdict/);
  }, 120_000);
});

async function write(file: string, lines: string[]): Promise<string> {
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}
