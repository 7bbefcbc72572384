import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbActionLedger } from '../../../lambdas/adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../../lambdas/adapters/anomaly-store.js';
import { DynamoDbEpisodeTraceStore } from '../../../lambdas/adapters/episode-trace-store.js';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import { COST_CARD_METHOD } from '../../../lambdas/core/report/cost-card.js';
import type { RouteId } from '../../../lambdas/core/api/routes.js';
import type { ApiHandler } from '../../../lambdas/handlers/api/http.js';
import { createReportHandler } from '../../../lambdas/handlers/api/operator-api.js';
import { localApi, startHarness, type Harness } from '../harness.js';
import { anomaly as seedAnomaly } from '../../unit/core/mitigation/fixtures.js';

// Real time: the report's day, week and month end at the handler's clock.
const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / MIN) * MIN - 20 * MIN;
const minuteIso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;
const ACME = `acme#cqs_p95@${minuteIso(T0)}`;
const GLOBEX_START = T0 - 3 * DAY;
const GLOBEX = `globex#cir_p95@${minuteIso(GLOBEX_START)}`;

/** The seed-style anomaly of the shared fixture, on this test's clock and figures. */
const anomaly = (over: Partial<Anomaly> = {}): Anomaly =>
  seedAnomaly({ start: T0, expected: 2.5, observed: 4, band: { lo: 2, hi: 3 }, change: '+60%', ...over });

const query = (range: string) => ({
  body: null,
  isBase64Encoded: false,
  headers: {},
  queryStringParameters: { range },
});

describe('GET /v1/anomaly/report: the cost card (seed 004 §G)', () => {
  let h: Harness;
  let api: Record<RouteId, ApiHandler>;

  beforeEach(async () => {
    h = await startHarness();
    ({ api } = localApi(h));
  });
  afterEach(() => h.close());

  async function seed() {
    const anomalies = new DynamoDbAnomalyStore(h.standIns.dynamo, h.table);
    const traces = new DynamoDbEpisodeTraceStore(h.standIns.dynamo, h.table);
    await anomalies.open(anomaly());
    // acme: a context minute before the episode (no forecast: the anomaly's expected 2.5 stands in), then 10 minutes
    // at 4 against 2.5 before the action and 10 at 3 after it.
    await traces.append(ACME, [
      { ts: T0 - MIN, observed: 3 },
      ...Array.from({ length: 20 }, (_, i) => ({ ts: T0 + i * MIN, observed: i < 10 ? 4 : 3, expected: 2.5 })),
    ]);
    // globex, three days ago: in the week and the month, not the day.
    await anomalies.open(anomaly({ tenant: 'globex', signal: 'cir_p95', start: GLOBEX_START }));
    await traces.append(GLOBEX, [
      { ts: GLOBEX_START, observed: 2, expected: 1 },
      { ts: GLOBEX_START + MIN, observed: 2, expected: 1 },
    ]);
    // The soft stage applied at T0 + 10 min, still in effect.
    const planned = JSON.parse(
      (
        await api.mitigate({
          body: JSON.stringify({ key: ACME, dry_run: true }),
          isBase64Encoded: false,
          headers: { 'content-type': 'application/json' },
          queryStringParameters: null,
        })
      ).body,
    ).plan.stages[0].actions[0];
    await new DynamoDbActionLedger(h.standIns.dynamo, h.table).record({
      event: 'applied',
      at: T0 + 10 * MIN,
      action: { ...planned, previous: null, appliedAt: T0 + 10 * MIN },
    });
  }

  it('day, week and month forecast vs actual per tenant and for all, and the mitigation before → after', async () => {
    await seed();
    const res = await api.report(query('7d'));
    expect(res.statusCode).toBe(200);
    const card = JSON.parse(res.body).costCard;
    expect(card.method).toBe(COST_CARD_METHOD);
    expect(card.currency).toBe('USD');
    expect(card.periods.map((p: { period: string }) => p.period)).toEqual(['day', 'week', 'month']);
    const [day, week, month] = card.periods;
    expect(Date.parse(day.to) - Date.parse(day.from)).toBe(DAY);
    expect(Date.parse(month.to) - Date.parse(month.from)).toBe(30 * DAY);
    // acme: forecast 21 × 2.5 = 52.5; actual 3 + 10 × 4 + 10 × 3 = 73.
    const acme = { tenant: 'acme', forecast: 52.5, actual: 73, difference: 20.5, differencePercent: 39, minutes: 21 };
    // globex has a row with no minute in the day.
    expect(day.tenants).toEqual([
      expect.objectContaining(acme),
      expect.objectContaining({ tenant: 'globex', forecast: 0, actual: 0, minutes: 0 }),
    ]);
    expect(day.all).toMatchObject({ forecast: 52.5, actual: 73, minutes: 21, series: 1 });
    // The week adds globex's two minutes at 2 against 1.
    const globex = { tenant: 'globex', forecast: 2, actual: 4, difference: 2, differencePercent: 100, minutes: 2 };
    expect(week.tenants).toEqual([expect.objectContaining(acme), expect.objectContaining(globex)]);
    expect(week.all).toMatchObject({ forecast: 54.5, actual: 77, difference: 22.5, minutes: 23, series: 2 });
    expect(month.all).toEqual(week.all);
    // Before: 4 a minute for 10 minutes; after: 3 for 10. Savings: the 1.5 excess a minute projected over the
    // 10 minutes after the action (15) minus the 0.5 × 10 seen (5).
    expect(card.mitigations).toEqual([
      expect.objectContaining({
        id: ACME,
        tenant: 'acme',
        signal: 'cqs_p95',
        firstActionAt: new Date(T0 + 10 * MIN).toISOString(),
        before: { perMinute: 4, minutes: 10 },
        after: { perMinute: 3, minutes: 10 },
        differencePercent: -25,
        savings: 10,
      }),
    ]);
    expect(card.periods.map((p: { savings: number }) => p.savings)).toEqual([10, 10, 10]);
    // The 24 h range holds only acme's anomaly: globex's minutes are not read, even for the week.
    const dayRange = JSON.parse((await api.report(query('24h'))).body).costCard;
    expect(dayRange.periods[1].tenants.map((t: { tenant: string }) => t.tenant)).toEqual(['acme']);
  });

  it('without a trace store the report has no cost card', async () => {
    await seed();
    const handler = createReportHandler({
      anomalies: new DynamoDbAnomalyStore(h.standIns.dynamo, h.table),
      ledger: new DynamoDbActionLedger(h.standIns.dynamo, h.table),
      now: Date.now,
    });
    const body = JSON.parse((await handler(query('7d'))).body);
    expect(body.totals.anomalies).toBe(2);
    expect(body).not.toHaveProperty('costCard');
  });
});
