import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../lambdas/core/anomaly.js';
import type { SeriesPoint } from '../../lambdas/core/report/index.js';
import { DynamoDbActionLedger } from '../../lambdas/adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../lambdas/adapters/change-store.js';
import { S3ReportStore } from '../../lambdas/adapters/report-store.js';
import { createReportGenerator } from '../../lambdas/handlers/report-generator.js';
import { localMitigation } from '../../local/mitigation.js';
import { LocalAlertTopic } from '../../local/notifier.js';
import { statusChangeDetail } from '../../local/reports.js';
import { stackTemplate, startHarness, type Harness } from './harness.js';
import { anomaly as seedAnomaly } from '../unit/core/mitigation/fixtures.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const KEY = 'acme#cqs_p95@2026-11-22T10:00Z';

/** The shared seed-style fixture on this test's clock and figures. */
const anomaly = (over: Partial<Anomaly> = {}): Anomaly =>
  seedAnomaly({
    start: T0,
    expected: 0.0025,
    observed: 0.00378,
    band: { lo: 0.002, hi: 0.003 },
    change: '+51%',
    evidence: ['cqs_p95 +51% over its expected value'],
    ...over,
  });

/** Another tenant's cqs_p95 anomaly `minutes` after T0 (the other members of a search-cost incident). */
function member(tenant: string, minutes: number, over: Partial<Anomaly> = {}): Anomaly {
  const start = T0 + minutes * 60_000;
  return anomaly({
    id: `${tenant}#cqs_p95@${new Date(start).toISOString().slice(0, 16)}Z`,
    key: `${tenant}#cqs_p95`,
    tenant,
    start,
    detectedAt: start + 3 * 60_000,
    ...over,
  });
}

/** 30 minutes before, the spike, and the recovery after the soft stage. */
function series(): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let m = -30; m < 60; m++) {
    const observed = m < 0 ? 0.0025 : m < 27 ? 0.00378 : 0.0024;
    points.push({ ts: T0 + m * 60_000, observed, expected: 0.0025, band: { lo: 0.002, hi: 0.003 } });
  }
  return points;
}

describe('report generator over the local stand-ins (dynalite, s3rver)', () => {
  let h: Harness;
  let alerts: LocalAlertTopic;
  const bucket = 'reports-test';

  beforeEach(async () => {
    h = await startHarness();
    alerts = new LocalAlertTopic(() => {});
    await h.standIns.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterEach(() => h.close());

  function generator() {
    return createReportGenerator({
      anomalies: new DynamoDbAnomalyStore(h.standIns.dynamo, h.table),
      ledger: new DynamoDbActionLedger(h.standIns.dynamo, h.table),
      changes: new DynamoDbChangeStore(h.standIns.dynamo, h.table),
      traces: { series: async (id) => (id === KEY ? series() : []) },
      executions: { describe: async () => ({}) },
      reports: new S3ReportStore(h.standIns.s3, bucket),
      notifier: alerts,
      location: (key) => `s3://${bucket}/${key}`,
    });
  }

  async function objects(): Promise<Map<string, string>> {
    const listed = await h.standIns.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const out = new Map<string, string>();
    for (const o of listed.Contents ?? [])
      out.set(
        o.Key!,
        Buffer.from(
          await (
            await h.standIns.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))
          ).Body!.transformToByteArray(),
        ).toString('latin1'),
      );
    return out;
  }

  /** A real execution of the synthesized workflow for the anomaly, as the status-change event reports it. */
  async function endedExecution(a: Anomaly = anomaly(), now?: () => number) {
    await new DynamoDbAnomalyStore(h.standIns.dynamo, h.table).open(a);
    await new DynamoDbChangeStore(h.standIns.dynamo, h.table).put([
      {
        v: 1,
        type: 'change',
        id: 'rel-381',
        ts: T0 - 45 * 60_000,
        tenant: 'acme',
        change: 'release',
        title: 'search ranking 3.8',
      },
    ]);
    const m = localMitigation({
      template: stackTemplate(),
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      notifier: alerts,
      // The hard stage waits for an approval nobody gives here: it expires after a second.
      timings: { observationSeconds: 0, finalCheckSeconds: 0, rollbackIntervalSeconds: 0, approvalTimeoutSeconds: 1 },
      ...(now && { now }),
    });
    await m.stepFunctions.start(a);
    await m.stepFunctions.drain();
    return [...m.stepFunctions.executions.values()][0]!;
  }

  it(
    'writes report.json, report.md, report.html and the evidence bundle under reports/YYYY/MM/DD/<id>/ and tells ' +
      'on-call',
    async () => {
      const x = await endedExecution();
      const out = await generator()({
        'detail-type': 'Step Functions Execution Status Change',
        detail: statusChangeDetail(x),
      });
      expect(out.id).toMatch(/^rca-/);
      const stored = await objects();
      const prefix = `reports/2026/11/22/${out.id}/`;
      expect([...stored.keys()].sort()).toEqual([
        `${prefix}evidence.tar.gz`,
        `${prefix}report.html`,
        `${prefix}report.json`,
        `${prefix}report.md`,
      ]);
      const json = JSON.parse(stored.get(`${prefix}report.json`)!);
      expect(json).toMatchObject({
        kind: 'episode',
        episode: { id: KEY, tenant: 'acme', signal: 'cqs_p95' },
        execution: { name: x.name, status: 'SUCCEEDED' },
      });
      expect(json.actions.length).toBeGreaterThan(0);
      expect(json.actions[0].rollbackKey).toMatch(/^rb-/);
      expect(json.policy.reasons.length).toBeGreaterThan(0);
      expect(json.savings.method.length).toBeGreaterThan(0);
      const md = stored.get(`${prefix}report.md`)!;
      expect(md).toContain('+51');
      expect(md).toContain('rel-381');
      // The hard stage waited for an approval nobody gave: the timeline says so, step by step.
      expect(md).toMatch(/\| approval requested for hard step "Block expensive queries" \(tenant\/acme\/[^|]+\| `rb-/);
      expect(md).toContain(
        'hard step "Block expensive queries" (tenant/acme/search.queries.block_expensive): no answer within the ' +
          'approval time: nothing applied',
      );
      expect(json.actions.map((a: { level: string }) => a.level)).not.toContain('hard');
      const html = stored.get(`${prefix}report.html`)!;
      expect(html).toContain('<svg');
      expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:/i);
      const notice = alerts.published.peekAll().find((m) => m.attributes.decision === 'report')!;
      expect(notice.subject).toContain('RCA report');
      expect(JSON.parse(notice.body).reportLink).toBe(`s3://${bucket}/${prefix}report.html`);
    },
  );

  it('is idempotent: the same execution event again rewrites the same objects byte for byte', async () => {
    const x = await endedExecution();
    const event = { 'detail-type': 'Step Functions Execution Status Change' as const, detail: statusChangeDetail(x) };
    await generator()(event);
    const first = await objects();
    await generator()(event);
    expect(await objects()).toEqual(first);
  });

  it('download links answer the object as an attachment named after the report; plain links open it', async () => {
    const x = await endedExecution();
    await generator()({ 'detail-type': 'Step Functions Execution Status Change', detail: statusChangeDetail(x) });
    const store = new S3ReportStore(h.standIns.s3, bucket);
    const [key] = [...(await objects()).keys()].filter((k) => k.endsWith('report.md'));
    const download = await fetch(await store.link(key!, 60, 'ep-1 report.md'));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="ep-1_report.md"');
    expect(await download.text()).toMatch(/^# /);
    const open = await fetch(await store.link(key!, 60));
    expect(open.headers.get('content-disposition')).toBeNull();
  });

  it("the daily digest lists the day's episodes and links their reports", async () => {
    const x = await endedExecution();
    const episode = await generator()({
      'detail-type': 'Step Functions Execution Status Change',
      detail: statusChangeDetail(x),
    });
    const daily = await generator()({ 'detail-type': 'Scheduled Event', time: '2026-11-23T00:15:00Z' });
    expect(daily.id).toBe('daily-2026-11-22');
    const stored = await objects();
    const md = stored.get('reports/2026/11/22/daily-2026-11-22/report.md')!;
    expect(md).toContain('acme');
    expect(stored.get('reports/2026/11/22/daily-2026-11-22/report.html')).toContain(episode.id);
    expect(
      alerts.published
        .peekAll()
        .some(
          (m) =>
            m.attributes.decision === 'daily-report' &&
            m.subject.includes('2026-11-22: 1 incident, 1 anomalies, 1 mitigated'),
        ),
    ).toBe(true);
  });

  it('the episode report judges the §F targets from the trace; the digest counts them, has a cost card', async () => {
    // The workflow's clock starts at 10:04:05, as in the seed example: the trace covers the 10 minutes after it.
    const shift = Date.now() - (T0 + 4 * 60_000 + 5_000);
    const x = await endedExecution(anomaly(), () => Date.now() - shift);
    const episode = await generator()({
      'detail-type': 'Step Functions Execution Status Change',
      detail: statusChangeDetail(x),
    });
    await generator()({ 'detail-type': 'Scheduled Event', time: '2026-11-23T00:15:00Z' });
    const stored = await objects();
    const json = JSON.parse(stored.get(`reports/2026/11/22/${episode.id}/report.json`)!);
    // Still 0.00378 at 10:14 (it falls to 0.0024 at 10:27): −20 % of 0.00378 is 0.003024, missed.
    expect(json.controlTarget).toMatchObject({
      verdict: 'missed',
      before: 0.00378,
      target: { value: 0.003024 },
      after: { value: 0.00378, at: '2026-11-22T10:14:00.000Z', minute: 10 },
    });
    // +51.2 % before 10:04; over 24 h: 23 × 0.00378 + 33 × 0.0024 measured + 1,384 × 0.0025 = 3.62614 against
    // 1,440 × 0.00378 = 5.4432 had the excess gone on: −33.4 %, met.
    expect(json.costCorrection).toMatchObject({
      verdict: 'met',
      forecastOveragePercent: 51.2,
      window: { measuredMinutes: 56, projectedMinutes: 1384 },
      changePercent: -33.4,
    });
    expect(json.costCorrection.actual).toBeCloseTo(3.62614, 9);
    expect(json.costCorrection.unmitigated).toBeCloseTo(5.4432, 9);
    const md = stored.get(`reports/2026/11/22/${episode.id}/report.md`)!;
    expect(md).toContain('10-minute control target: **missed**: cqs_p95 was 0.00378 USD at 10:14 UTC');

    const digest = JSON.parse(stored.get('reports/2026/11/22/daily-2026-11-22/report.json')!);
    expect(digest.control).toMatchObject({ mitigations: 1, met: 0, missed: 1, metPercent: 0 });
    expect(digest.control.costCorrection).toEqual({ applicable: 1, met: 1, missed: 0, notJudged: 0 });
    // The day's cost card counts the 90 traced minutes: 90 × 0.0025 forecast; 30 × 0.0025 + 27 × 0.00378 +
    // 33 × 0.0024 actual (no volume in a trace: per-unit sums).
    expect(digest.costCard.periods[0].all).toMatchObject({ minutes: 90, series: 1, weightedSeries: 0 });
    expect(digest.costCard.periods[0].all.forecast).toBeCloseTo(0.225, 9);
    expect(digest.costCard.periods[0].all.actual).toBeCloseTo(0.25626, 9);
    expect(digest.costCard.mitigations).toEqual([
      expect.objectContaining({ tenant: 'acme', signal: 'cqs_p95', before: { perMinute: 0.00378, minutes: 4 } }),
    ]);
    const latin1 = stored.get('reports/2026/11/22/daily-2026-11-22/report.md')!;
    const daily = Buffer.from(latin1, 'latin1').toString('utf8');
    expect(daily).toContain('- 10-minute control target: met by **0 of 1 mitigation** judged (0%)');
    expect(daily).toContain('## Cost card');
  });

  it("the episode report lists its incident's members from the anomaly store; the digest groups them", async () => {
    const INCIDENT = 'inc-search7';
    const store = new DynamoDbAnomalyStore(h.standIns.dynamo, h.table);
    await store.open(member('globex', 4, { incident: INCIDENT, severity: 'SEV1' }));
    await store.open(member('initech', 9, { incident: INCIDENT }));
    // Same time, same signal, another incident (and one before incidents existed): not members.
    await store.open(member('umbrella', 2, { incident: 'inc-other1' }));
    await store.open(member('hooli', 5));
    const x = await endedExecution(anomaly({ incident: INCIDENT }));
    const episode = await generator()({
      'detail-type': 'Step Functions Execution Status Change',
      detail: statusChangeDetail(x),
    });
    const stored = await objects();
    const prefix = `reports/2026/11/22/${episode.id}/`;
    const json = JSON.parse(stored.get(`${prefix}report.json`)!);
    expect(json.incident).toEqual({
      id: INCIDENT,
      members: [
        { key: KEY, tenant: 'acme', signal: 'cqs_p95', start: '2026-11-22T10:00:00.000Z', severity: 'SEV2' },
        {
          key: 'globex#cqs_p95@2026-11-22T10:04Z',
          tenant: 'globex',
          signal: 'cqs_p95',
          start: '2026-11-22T10:04:00.000Z',
          severity: 'SEV1',
        },
        {
          key: 'initech#cqs_p95@2026-11-22T10:09Z',
          tenant: 'initech',
          signal: 'cqs_p95',
          start: '2026-11-22T10:09:00.000Z',
          severity: 'SEV2',
        },
      ],
      tenants: ['acme', 'globex', 'initech'],
      signals: ['cqs_p95'],
    });
    const md = stored.get(`${prefix}report.md`)!;
    expect(md).toContain('Incident `inc-search7`: 3 anomalies on 3 tenants (`acme`, `globex`, `initech`)');
    expect(md).toContain('| `globex` | `cqs_p95` | SEV1 | `globex#cqs_p95@2026-11-22T10:04Z` |');
    expect(md).not.toContain('umbrella');

    await generator()({ 'detail-type': 'Scheduled Event', time: '2026-11-23T00:15:00Z' });
    const latin1 = (await objects()).get('reports/2026/11/22/daily-2026-11-22/report.md')!;
    const daily = Buffer.from(latin1, 'latin1').toString('utf8');
    expect(daily.split('\n')[0]).toMatch(/^# Anomaly digest 2026-11-22: 3 incidents, 5 anomalies, /);
    expect(daily).toContain(
      '`inc-search7`: SEV1, 3 anomalies · tenants `acme`, `globex`, `initech` · signal `cqs_p95`',
    );
    const notice = alerts.published.peekAll().find((m) => m.attributes.decision === 'daily-report')!;
    expect(notice.subject).toContain('2026-11-22: 3 incidents, 5 anomalies, ');
  });
});
