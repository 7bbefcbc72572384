import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbEpisodeTraceStore } from '../../../lambdas/adapters/episode-trace-store.js';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import { scorePoint, type DetectorState } from '../../../lambdas/core/detection/index.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../lambdas/core/window-settings.js';
import { foldObservations } from '../../../lambdas/core/key-state.js';
import { DynamoDbActionLedger } from '../../../lambdas/adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../../lambdas/adapters/change-store.js';
import { DynamoDbWindowStore } from '../../../lambdas/adapters/window-store.js';
import { readFlags } from '../../../lambdas/adapters/targets/index.js';
import type { RouteId } from '../../../lambdas/core/api/routes.js';
import type { ApiHandler } from '../../../lambdas/handlers/api/http.js';
import type { localMitigation } from '../../../local/mitigation.js';
import { localApi, NO_WAIT, startHarness, type Harness } from '../harness.js';
import type { MitigationTimings } from '../../../lambdas/core/ports/mitigation-starter.js';
import { anomaly as seedAnomaly } from '../../unit/core/mitigation/fixtures.js';

// Real time: the workflow stamps actions with the clock, and the report measures against it.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
const NOW = T0 + 20 * 60_000;
const minuteIso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;
const KEY = `acme#cqs_p95@${minuteIso(T0)}`;

/** The shared seed-style fixture on this test's clock and figures. */
const anomaly = (over: Partial<Anomaly> = {}): Anomaly =>
  seedAnomaly({
    start: T0,
    expected: 2.5,
    observed: 3.8,
    band: { lo: 2, hi: 3 },
    change: '+52%',
    evidence: ['cqs_p95 +52%'],
    recommendation: 'start the playbook',
    ...over,
  });

type Call = (
  route: RouteId,
  input?: unknown,
  opts?: { raw?: string; headers?: Record<string, string> },
) => Promise<{ status: number; body: any }>;

describe('operator API handlers over the local stand-ins', () => {
  let h: Harness;
  let api: Record<RouteId, ApiHandler>;
  let m: ReturnType<typeof localMitigation>;
  let call: Call;

  function wire(timings: MitigationTimings = NO_WAIT, deploymentRegion?: string) {
    ({ api, mitigation: m } = localApi(h, { timings, ...(deploymentRegion && { deploymentRegion }) }));
  }

  beforeEach(async () => {
    h = await startHarness();
    wire();
    call = async (route, input, opts = {}) => {
      const query = route === 'report' || route === 'timeline';
      const res = await api[route]({
        body: query ? null : (opts.raw ?? (input === undefined ? null : JSON.stringify(input))),
        isBase64Encoded: false,
        headers: opts.headers ?? { 'content-type': 'application/json' },
        queryStringParameters: query ? ((input as Record<string, string>) ?? null) : null,
      });
      return { status: res.statusCode, body: JSON.parse(res.body) };
    };
  });
  afterEach(() => h.close());

  const anomalies = () => new DynamoDbAnomalyStore(h.standIns.dynamo, h.table);
  const ledger = () => new DynamoDbActionLedger(h.standIns.dynamo, h.table);

  /** A window state whose detector has learned a steady ~100 (what the consumer would have stored). */
  async function trainedBaseline(tenant = 'acme', signal = 'search_qps') {
    let det: DetectorState | undefined;
    for (let i = 0; i < 600; i++)
      det = scorePoint(det, { ts: T0 - (600 - i) * 60_000, value: 100 + ((i * 7) % 5) - 2 }, 'up').state;
    const folded = foldObservations(
      undefined,
      [{ key: `${tenant}#${signal}`, tenant, signal, ts: T0 - 60_000, value: 100 }],
      DEFAULT_WINDOW_SETTINGS,
    );
    await new DynamoDbWindowStore(h.standIns.dynamo, h.table).save({ ...folded.state, det: det! }, undefined);
  }

  describe('POST /v1/anomaly/score', () => {
    it('scores against the stored baseline without changing it', async () => {
      await trainedBaseline();
      const store = new DynamoDbWindowStore(h.standIns.dynamo, h.table);
      const before = await store.load('acme#search_qps');
      const res = await call('score', {
        signals: [
          { tenant: 'acme', signal: 'search_qps', value: 100, ts: T0 },
          { tenant: 'acme', signal: 'search_qps', value: 400, ts: T0 + 60_000 },
        ],
      });
      expect(res.status).toBe(200);
      const [normal, spike] = res.body.results;
      expect(normal).toMatchObject({ baseline: 'stored', anomalous: false });
      expect(normal.band.lo).toBeLessThanOrEqual(100);
      expect(normal.band.hi).toBeGreaterThanOrEqual(100);
      expect(normal.expected).toBeCloseTo(100, -1);
      expect(spike.anomalous).toBe(true);
      expect(spike.score).toBeGreaterThan(0.5);
      expect(spike.causeCandidates[0].class).toMatch(/tenant|abuse|app|infra/);
      // the same evidence a page would carry, with the detector part the score rests on
      expect(spike.causeCandidates[0].evidence.join(' ')).toMatch(/\(detector: (band|shift|stuck|density)\)/);
      expect(await store.load('acme#search_qps')).toEqual(before);
    });

    it('names the correlated change and classifies a spike after a release as app', async () => {
      await trainedBaseline();
      await new DynamoDbChangeStore(h.standIns.dynamo, h.table).put([
        {
          v: 1,
          type: 'change',
          id: 'rel-7',
          ts: T0 - 10 * 60_000,
          tenant: 'acme',
          change: 'release',
          title: 'search 2.3',
        },
      ]);
      const res = await call('score', { signals: [{ tenant: 'acme', signal: 'search_qps', value: 250, ts: T0 }] });
      expect(res.body.results[0].correlatedChanges).toEqual([
        expect.objectContaining({ id: 'rel-7', change: 'release', offsetMinutes: 10 }),
      ]);
      expect(res.body.results[0].causeCandidates[0].class).toBe('app');
    });

    it('says there is no baseline for a key the consumer has never seen', async () => {
      const res = await call('score', {
        signals: [{ tenant: 'newco', signal: 'cqs_p95', value: 3, ts: new Date(T0).toISOString() }],
      });
      expect(res.status).toBe(200);
      expect(res.body.results[0]).toMatchObject({
        baseline: 'none',
        anomalous: false,
        score: 0,
        expected: null,
        band: null,
      });
    });

    it('rejects bad input with 400 naming the field', async () => {
      const res = await call('score', { signals: [{ tenant: 'acme', signal: 'cqs_p95', value: 'high', ts: T0 }] });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'InvalidRequest' });
      expect(res.body.error.message).toContain('signals[0].value');
      expect(res.body.error.details.fields[0].field).toBe('signals[0].value');
      const extra = await call('score', {
        signals: [{ tenant: 'acme', signal: 'x', value: 1, ts: T0 }],
        colour: 'red',
      });
      expect(extra.status).toBe(400);
      expect(extra.body.error.message).toContain('colour: unknown field');
      expect((await call('score', { signals: [] })).body.error.message).toContain('signals');
    });
  });

  describe('POST /v1/anomaly/mitigate', () => {
    it('dry run returns the plan and the policy decision and changes nothing', async () => {
      await anomalies().open(anomaly());
      const res = await call('mitigate', { key: KEY, dry_run: true });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ dryRun: true, key: KEY, decision: { allowed: true } });
      expect(res.body.plan.playbook.id).toBe('search-cost');
      expect(res.body.plan.stages[0].actions.length).toBeGreaterThan(0);
      expect(res.body.rollbackKey).toMatch(/^rb-/);
      expect(await ledger().entries(res.body.rollbackKey)).toEqual([]);
      expect(m.stepFunctions.executions.size).toBe(0);
      expect((await readFlags(h.standIns.dynamo, h.table, 'acme')).size).toBe(0);
    });

    it('starts one execution (202), then 409 while the episode has one', async () => {
      await anomalies().open(anomaly());
      const res = await call('mitigate', { key: KEY });
      expect(res.status).toBe(202);
      expect(res.body.execution).toMatch(/^mit-/);
      expect(res.body.rollbackKey).toMatch(/^rb-/);
      const again = await call('mitigate', { key: KEY });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('Conflict');
      await m.stepFunctions.drain();
      expect(m.stepFunctions.executions.size).toBe(1);
      const x = [...m.stepFunctions.executions.values()][0]!;
      expect(x.status).toBe('SUCCEEDED');
      expect((await ledger().entries(res.body.rollbackKey)).some((e) => e.event === 'applied')).toBe(true);
      expect((await call('mitigate', { key: KEY })).status).toBe(409);
    });

    it('404 for an unknown episode, 400 for a malformed key or an unknown playbook', async () => {
      expect((await call('mitigate', { key: `acme#cqs_p95@${minuteIso(T0 + 3_600_000)}` })).status).toBe(404);
      const bad = await call('mitigate', { key: 'acme' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields[0].field).toBe('key');
      await anomalies().open(anomaly());
      const plan = await call('mitigate', { key: KEY, plan: 'no-such-playbook', dry_run: true });
      expect(plan.status).toBe(400);
      expect(plan.body.error.message).toContain('plan: unknown playbook');
      expect(plan.body.error.details.known).toContain('search-cost');
    });

    it('403 with the reasons when the guardrails deny every stage (cross-region)', async () => {
      wire(undefined, 'kr');
      await anomalies().open(anomaly({ region: 'us' }));
      const res = await call('mitigate', { key: KEY });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('PolicyDenied');
      expect(res.body.error.message).toContain('deny-cross-region');
      expect(m.stepFunctions.executions.size).toBe(0);
    });

    it('a whitelisted campaign tenant gets soft steps only', async () => {
      await anomalies().open(anomaly());
      const wl = await call('whitelist', {
        tenant: 'acme',
        window: { from: NOW - 3_600_000, to: new Date(NOW + 86_400_000).toISOString() },
      });
      expect(wl.status).toBe(201);
      const res = await call('mitigate', { key: KEY, dry_run: true });
      const hard = res.body.plan.stages.find((s: { level: string }) => s.level === 'hard');
      expect(hard?.allowed ?? false).toBe(false);
      expect(res.body.decision.reasons.join(' ')).toContain('campaign-soft-only');
    });
  });

  describe('POST /v1/anomaly/rollback', () => {
    it('rolls back what is in effect (202), and a second call is harmless', async () => {
      await anomalies().open(anomaly());
      const started = await call('mitigate', { key: KEY });
      await m.stepFunctions.drain();
      const key = started.body.rollbackKey as string;
      const first = await call('rollback', { key });
      expect(first.status).toBe(202);
      const inEffect = first.body.outstanding as string[];
      const entries = await ledger().entries(key);
      for (const k of inEffect)
        expect(entries.some((e) => e.event === 'rolled-back' && e.action.rollbackKey === k)).toBe(true);
      const flags = await readFlags(h.standIns.dynamo, h.table, 'acme');
      for (const e of entries.filter(
        (x) =>
          x.event === 'applied' && x.action.step.target === 'flag' && (x.action.step.scope ?? 'tenant') === 'tenant',
      )) {
        expect(flags.get(e.action.step.flag)?.value ?? null).toEqual(e.action.previous);
      }
      const second = await call('rollback', { key });
      expect(second.status).toBe(202);
      expect(second.body).toMatchObject({ status: 'already-rolled-back', outstanding: [] });
      expect((await ledger().entries(key)).length).toBe(entries.length);
    });

    it('stops a running execution so it cannot escalate after the rollback', async () => {
      wire({ observationSeconds: 30, finalCheckSeconds: 30, rollbackIntervalSeconds: 0, approvalTimeoutSeconds: 1 });
      await anomalies().open(anomaly());
      const started = await call('mitigate', { key: KEY });
      const key = started.body.rollbackKey as string;
      // Wait until the soft stage is applied and the execution waits for its regression check.
      for (let i = 0; i < 100 && !(await ledger().entries(key)).length; i++)
        await new Promise((r) => setTimeout(r, 20));
      const res = await call('rollback', { key });
      expect(res.status).toBe(202);
      expect(res.body.stoppedExecution).toBe(true);
      expect(res.body.outstanding.length).toBeGreaterThan(0);
      await m.stepFunctions.drain();
      expect([...m.stepFunctions.executions.values()][0]!.status).toBe('ABORTED');
      const entries = await ledger().entries(key);
      // Every applied action is rolled back (an action the route found only as an intent may carry two rolled-back
      // lines).
      const rolledBack = new Set(entries.filter((e) => e.event === 'rolled-back').map((e) => e.action.rollbackKey));
      for (const e of entries.filter((x) => x.event === 'applied'))
        expect(rolledBack.has(e.action.rollbackKey), e.action.rollbackKey).toBe(true);
      expect((await readFlags(h.standIns.dynamo, h.table, 'acme')).size).toBe(0);
    });

    it('404 for a key nothing was applied under, 400 for a malformed key', async () => {
      expect((await call('rollback', { key: 'rb-0000abcd' })).status).toBe(404);
      const bad = await call('rollback', { key: 'DROP TABLE' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields[0].field).toBe('key');
    });
  });

  describe('GET /v1/anomaly/report and /timeline', () => {
    it('lists anomalies, actions and a savings estimate with its method', async () => {
      await anomalies().open(anomaly());
      const beta = `beta#search_qps@${minuteIso(T0 + 5 * 60_000)}`;
      await anomalies().open(
        anomaly({
          id: beta,
          key: 'beta#search_qps',
          tenant: 'beta',
          signal: 'search_qps',
          start: T0 + 5 * 60_000,
          class: 'abuse',
          decision: 'alert',
        }),
      );
      await anomalies().open(
        anomaly({ id: `acme#cqs_p95@${minuteIso(T0 - 2 * 86_400_000)}`, start: T0 - 2 * 86_400_000 }),
      );
      // The soft stage applied 10 minutes after the start, still in effect.
      const planned = (await call('mitigate', { key: KEY, dry_run: true })).body.plan.stages[0].actions[0];
      await ledger().record({
        event: 'applied',
        at: T0 + 10 * 60_000,
        action: { ...planned, previous: null, appliedAt: T0 + 10 * 60_000 },
      });
      const res = await call('report', { range: '24h' });
      expect(res.status).toBe(200);
      expect(res.body.anomalies.map((a: { id: string }) => a.id)).toEqual([KEY, beta]);
      expect(res.body.totals).toMatchObject({ anomalies: 2, byClass: { app: 1, abuse: 1 }, mitigated: 1 });
      expect(res.body.actions.length).toBeGreaterThan(0);
      expect(res.body.actions[0]).toMatchObject({ episode: KEY, rollbackKey: expect.stringMatching(/^rb-/) });
      expect(res.body.anomalies[0].rollbackKey).toMatch(/^rb-/);
      // Two tenants, two playbook families: two incidents, each named on its anomaly.
      expect(res.body.anomalies.map((a: { incident: string }) => a.incident)).toEqual([
        expect.stringMatching(/^inc-/),
        expect.stringMatching(/^inc-/),
      ]);
      expect(res.body.anomalies[0].incident).not.toBe(res.body.anomalies[1].incident);
      expect(res.body.savings.method).toContain('excess');
      // (3.8 - 2.5) per minute for the ~10 minutes the action has been in effect.
      const [episode] = res.body.savings.episodes;
      expect(episode.id).toBe(KEY);
      expect([10, 11]).toContain(episode.minutes);
      expect(episode.amount).toBeCloseTo(1.3 * episode.minutes, 6);
      expect(res.body.savings.amount).toBe(res.body.savings.episodes[0].amount);
      // The cost card: acme's cqs_p95 episode only (search_qps is a usage signal, not priced).
      expect(res.body.cost).toEqual({ episodes: 1, forecastPerMinute: 2.5, actualPerMinute: 3.8, unit: 'USD' });
      expect(res.body.reports).toEqual([]);
      const week = await call('report', { range: '7d' });
      expect(week.body.anomalies).toHaveLength(3);
      expect((await call('report', undefined)).body.range.label).toBe('24h');
    });

    it('rejects a bad range with 400 naming it', async () => {
      for (const range of ['24', 'forever', '40d', '0h']) {
        const res = await call('report', { range });
        expect(res.status).toBe(400);
        expect(res.body.error.details.fields[0].field).toBe('range');
      }
      expect((await call('report', { range: '24h', tenant: 'x' })).body.error.message).toContain(
        'tenant: unknown field',
      );
    });

    it("timeline: one tenant's signals, anomalies, changes, whitelists and actions", async () => {
      const windows = new DynamoDbWindowStore(h.standIns.dynamo, h.table);
      const folded = foldObservations(
        undefined,
        [0, 1, 2, 3].map((i) => ({
          key: 'acme#cqs_p95',
          tenant: 'acme',
          signal: 'cqs_p95',
          ts: NOW - (4 - i) * 60_000,
          value: 3 + i,
        })),
        DEFAULT_WINDOW_SETTINGS,
      );
      await windows.save(folded.state, undefined);
      await anomalies().open(anomaly());
      await anomalies().open(anomaly({ id: `beta#cqs_p95@${minuteIso(T0)}`, key: 'beta#cqs_p95', tenant: 'beta' }));
      await new DynamoDbChangeStore(h.standIns.dynamo, h.table).put([
        { v: 1, type: 'change', id: 'rel-9', ts: T0 - 5 * 60_000, tenant: 'acme', change: 'release' },
      ]);
      await call('whitelist', {
        tenant: 'acme',
        window: { from: NOW - 60_000, to: NOW + 3_600_000 },
        reason: 'black friday',
      });
      const res = await call('timeline', { tenant: 'acme', range: '1h' });
      expect(res.status).toBe(200);
      expect(res.body.signals).toHaveLength(1);
      expect(res.body.signals[0].points.map((p: { observed: number }) => p.observed)).toEqual([3, 4, 5, 6]);
      expect(res.body.signals[0].trace).toEqual([]);
      // Which way it goes wrong, so a client reads "outside the band" as the detector does (a cost rising is bad).
      expect(res.body.signals[0]).toMatchObject({ signal: 'cqs_p95', unit: 'USD', bad: 'up' });
      // The episode's traced minutes give the expected band under the observed line.
      await new DynamoDbEpisodeTraceStore(h.standIns.dynamo, h.table).append(KEY, [
        { ts: NOW - 3 * 60_000, observed: 4, expected: 2.5, band: { lo: 2, hi: 3 }, score: 0.9 },
        { ts: NOW - 2 * 60_000, observed: 5, score: 0.9 },
      ]);
      const traced = await call('timeline', { tenant: 'acme', range: '1h' });
      expect(traced.body.signals[0].trace).toEqual([
        { ts: NOW - 3 * 60_000, observed: 4, expected: 2.5, lo: 2, hi: 3 },
        { ts: NOW - 2 * 60_000, observed: 5, expected: null, lo: null, hi: null },
      ]);
      expect(res.body.anomalies.map((a: { id: string }) => a.id)).toEqual([KEY]);
      expect(res.body.changes).toEqual([expect.objectContaining({ id: 'rel-9', change: 'release' })]);
      expect(res.body.whitelists).toEqual([{ from: NOW - 60_000, to: NOW + 3_600_000, reason: 'black friday' }]);
      const missing = await call('timeline', { range: '1h' });
      expect(missing.status).toBe(400);
      expect(missing.body.error.details.fields[0].field).toBe('tenant');
    });
  });

  describe('POST /v1/anomaly/policy/whitelist', () => {
    it('201, and the guardrails see the tenant as whitelisted inside the window only', async () => {
      const window = { from: new Date(NOW - 3_600_000).toISOString(), to: new Date(NOW + 2 * 3_600_000).toISOString() };
      const res = await call('whitelist', { tenant: 'acme', window });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ tenant: 'acme', window });
      const changes = new DynamoDbChangeStore(h.standIns.dynamo, h.table);
      expect(await changes.whitelisted('acme', NOW)).toBe(true);
      expect(await changes.whitelisted('acme', NOW + 3 * 3_600_000)).toBe(false);
      expect(await changes.whitelisted('beta', NOW)).toBe(false);
      // Idempotent: the same window again is the same entry.
      expect((await call('whitelist', { tenant: 'acme', window })).status).toBe(201);
      expect(await changes.whitelists('acme', 0, NOW + 86_400_000)).toHaveLength(1);
    });

    it('400 for an inverted, over-long, ended or unparseable window', async () => {
      const cases: [unknown, string][] = [
        [{ from: NOW + 3_600_000, to: NOW }, 'window.to'],
        [{ from: NOW, to: NOW + 40 * 86_400_000 }, 'window.to'],
        [{ from: NOW - 7_200_000, to: NOW - 3_600_000 }, 'window.to'],
        [{ from: 'tomorrow', to: NOW }, 'window.from'],
      ];
      for (const [window, field] of cases) {
        const res = await call('whitelist', { tenant: 'acme', window });
        expect(res.status, JSON.stringify(window)).toBe(400);
        expect(res.body.error.details.fields[0].field).toBe(field);
      }
      expect(
        (await call('whitelist', { tenant: 'a b', window: { from: NOW, to: NOW + 1000 } })).body.error.details.fields[0]
          .field,
      ).toBe('tenant');
    });
  });

  describe('malformed requests', () => {
    const title = '400 for malformed JSON, 413 for an oversize body, 415 for a non-JSON content type, 400 for no body';
    it(title, async () => {
      const malformed = await call('score', undefined, { raw: '{"signals": [' });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('MalformedJson');
      const big = await call('score', undefined, { raw: JSON.stringify({ signals: [], pad: 'x'.repeat(70_000) }) });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('PayloadTooLarge');
      const xml = await call('rollback', undefined, { raw: '<key/>', headers: { 'Content-Type': 'application/xml' } });
      expect(xml.status).toBe(415);
      const empty = await call('whitelist', undefined, { raw: '' });
      expect(empty.status).toBe(400);
      expect(empty.body.error.details.fields[0].field).toBe('body');
      const arr = await call('mitigate', [KEY]);
      expect(arr.status).toBe(400);
    });
  });
});
