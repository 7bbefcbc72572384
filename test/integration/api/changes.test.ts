import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAnomalyStore } from '../../../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../../lambdas/adapters/change-store.js';
import type { RouteId } from '../../../lambdas/core/api/routes.js';
import type { ApiEvent, ApiHandler } from '../../../lambdas/handlers/api/http.js';
import { createChangesHandler } from '../../../lambdas/handlers/api/operator-api.js';
import { createStreamConsumer } from '../../../lambdas/handlers/stream-consumer.js';
import { routesFromTemplate, serveApi } from '../../../local/api-server.js';
import { kinesisEvent, localApi, stackTemplate, startHarness, type Harness } from '../harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const T0 = Date.parse('2026-11-22T06:00:00Z');
const MIN = 60_000;
const ONCALL = 'arn:aws:iam::123456789012:user/oncall';
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Three hours of cqs_p95 every 10 s for two tenants with ±2 % noise: initech (region us) +60 % for
 * minutes 110..130, globex (region kr) +60 % for minutes 150..170.
 */
function series() {
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const tenants = [
    { tenant: 'initech', region: 'us', spike: [110, 130] },
    { tenant: 'globex', region: 'kr', spike: [150, 170] },
  ] as const;
  return Array.from({ length: 180 * 6 }, (_, i) => {
    const minute = Math.floor(i / 6);
    return tenants.map(({ tenant, region, spike }) => ({
      v: 1,
      type: 'metric',
      id: `${tenant}-${i}`,
      ts: T0 + i * 10_000,
      tenant,
      signal: 'cqs_p95',
      region,
      value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * (minute >= spike[0] && minute < spike[1] ? 1.6 : 1),
    }));
  }).flat();
}

function batches<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function event(route: RouteId, input: unknown, caller: string | null = ONCALL): ApiEvent {
  const query = route === 'timeline' || route === 'report';
  return {
    body: query ? null : JSON.stringify(input),
    isBase64Encoded: false,
    headers: { 'content-type': 'application/json' },
    queryStringParameters: query ? (input as Record<string, string>) : null,
    requestContext: {
      requestId: 'req-1',
      identity: { userArn: caller, caller: caller ? 'AIDAEXAMPLE' : null, sourceIp: '10.0.0.1' },
    },
  };
}

/** What the handlers log, as a Powertools Logger would receive it. */
function captureLogger() {
  const lines: { level: string; message: string; attrs: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, attrs: Record<string, unknown> = {}) =>
      void lines.push({ level, message, attrs });
  return {
    lines,
    logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger,
  };
}

describe('POST /v1/anomaly/changes over the local stand-ins', () => {
  let h: Harness;
  let clock: number;
  let api: Record<RouteId, ApiHandler>;
  const call = async (route: RouteId, input: unknown, caller?: string | null) => {
    const res = await api[route](event(route, input, caller));
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  beforeEach(async () => {
    h = await startHarness();
    clock = T0;
    ({ api } = localApi(h, { now: () => clock }));
  });
  afterEach(() => h.close());

  it('a platform-wide maintenance window declared through the route suppresses paging for another tenant, and the ' +
    'timeline lists it with its creator', async () => {
    const window = {
      id: 'mw-origin-42',
      ts: iso(T0 + 145 * MIN),
      tenant: '*',
      change: 'maintenance',
      until: iso(T0 + 175 * MIN),
      region: 'kr',
      title: 'origin migration',
    };
    const created = await call('changes', window);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      created: true,
      change: {
        id: 'mw-origin-42',
        tenant: '*',
        change: 'maintenance',
        ts: T0 + 145 * MIN,
        until: T0 + 175 * MIN,
        region: 'kr',
        createdBy: ONCALL,
        createdAt: T0,
      },
    });
    expect(created.body.effect).toMatch(/every tenant in region kr .*suppressed/);

    // The consumer reads the window through the same change store: globex (kr) is inside it, initech (us) is not.
    const consumer = createStreamConsumer(h.deps());
    for (const records of batches(series(), 240))
      expect((await consumer(kinesisEvent(records), context)).batchItemFailures).toEqual([]);

    const paged = h.alerts.published.peekAll().map((a) => JSON.parse(a.body) as { tenant: string });
    expect(paged.map((a) => a.tenant)).toEqual(['initech']);
    const anomalies = await new DynamoDbAnomalyStore(h.standIns.dynamo, h.table).between(T0, T0 + 180 * MIN);
    const globex = anomalies.filter((a) => a.tenant === 'globex');
    expect(globex.length).toBeGreaterThan(0);
    for (const a of globex) {
      expect(a.decision).toBe('suppressed');
      expect(a.correlatedChanges).toEqual([
        expect.objectContaining({ id: 'mw-origin-42', tenant: '*', change: 'maintenance' }),
      ]);
    }

    clock = T0 + 180 * MIN;
    const timeline = await call('timeline', { tenant: 'globex', range: '24h' });
    expect(timeline.status).toBe(200);
    expect(timeline.body.changes).toEqual([
      {
        ts: T0 + 145 * MIN,
        until: T0 + 175 * MIN,
        tenant: '*',
        change: 'maintenance',
        id: 'mw-origin-42',
        title: 'origin migration',
        region: 'kr',
        createdBy: ONCALL,
        createdAt: T0,
      },
    ]);
    expect(timeline.body.anomalies.map((a: { decision: string }) => a.decision)).toEqual(
      globex.map(() => 'suppressed'),
    );
  }, 120_000);

  it(
    'the timeline lists a window that started before the range and is still running, and stream changes with no ' +
      'creator',
    async () => {
      clock = T0;
      expect(
        (
          await call('changes', {
            id: 'freeze-1',
            ts: iso(T0 - 3 * 86_400_000),
            tenant: 'acme',
            change: 'campaign',
            until: iso(T0 + 86_400_000),
          })
        ).status,
      ).toBe(201);
      await new DynamoDbChangeStore(h.standIns.dynamo, h.table).put([
        { v: 1, type: 'change', id: 'rel-9', ts: T0 - 10 * MIN, tenant: 'acme', change: 'release' },
      ]);
      // Ended before the range: not listed.
      await new DynamoDbChangeStore(h.standIns.dynamo, h.table).put([
        {
          v: 1,
          type: 'change',
          id: 'rel-old',
          ts: T0 - 5 * 3_600_000,
          until: T0 - 4 * 3_600_000,
          tenant: '*',
          change: 'maintenance',
        },
      ]);
      const res = await call('timeline', { tenant: 'acme', range: '1h' });
      expect(res.body.changes.map((c: { id: string; createdBy: string | null }) => [c.id, c.createdBy])).toEqual([
        ['freeze-1', ONCALL],
        ['rel-9', null],
      ]);
    },
  );

  it(
    'is idempotent by id: a replay answers 200 with the first creator, other content under the id is a 409; every ' +
      'outcome is logged with the caller',
    async () => {
      const store = new DynamoDbChangeStore(h.standIns.dynamo, h.table);
      const { lines, logger } = captureLogger();
      const handler = createChangesHandler({ operatorChanges: store, now: () => T0 }, logger);
      const body = {
        v: 1,
        type: 'change',
        id: 'mw-7',
        ts: T0 + MIN,
        tenant: '*',
        change: 'maintenance',
        until: iso(T0 + 2 * 3_600_000),
      };
      const send = async (b: unknown, caller: string) => {
        const res = await handler(event('changes', b, caller));
        return { status: res.statusCode, body: JSON.parse(res.body) };
      };
      const first = await send(body, ONCALL);
      expect(first.status).toBe(201);
      const again = await send({ ...body, until: T0 + 2 * 3_600_000 }, 'arn:aws:iam::123456789012:user/other');
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ created: false, change: { id: 'mw-7', createdBy: ONCALL } });
      const other = await send({ ...body, tenant: 'acme' }, 'arn:aws:iam::123456789012:user/other');
      expect(other.status).toBe(409);
      expect(other.body.error).toMatchObject({
        code: 'Conflict',
        details: { id: 'mw-7', stored: expect.objectContaining({ tenant: '*', createdBy: ONCALL }) },
      });
      expect(other.body.error.message).toContain('mw-7');
      // A different ts under the same id is a different change too (the item key includes ts).
      expect((await send({ ...body, ts: T0 + 2 * MIN }, ONCALL)).status).toBe(409);

      const stored = await store.affecting('*', T0, T0 + 3_600_000);
      expect(stored).toEqual([expect.objectContaining({ id: 'mw-7', tenant: '*', createdBy: ONCALL, createdAt: T0 })]);
      expect(await store.startedBetween('acme', T0, T0 + 3_600_000)).toEqual([
        expect.objectContaining({ id: 'mw-7', tenant: '*' }),
      ]);
      expect(lines.map((l) => [l.level, l.message, l.attrs.requestedBy, l.attrs.outcome])).toEqual([
        ['info', 'change window declared', ONCALL, 'created'],
        ['info', 'change window already declared', 'arn:aws:iam::123456789012:user/other', 'replayed'],
        ['warn', 'change window refused: id already used', 'arn:aws:iam::123456789012:user/other', 'conflict'],
        ['warn', 'change window refused: id already used', ONCALL, 'conflict'],
      ]);
      expect(lines[0]!.attrs).toMatchObject({
        id: 'mw-7',
        tenant: '*',
        change: 'maintenance',
        from: iso(T0 + MIN),
        until: iso(T0 + 2 * 3_600_000),
        requestId: 'req-1',
      });
    },
  );

  it('rejects invalid windows with a 400 naming the field, and stores nothing', async () => {
    const ok = { id: 'mw-1', ts: T0, tenant: '*', change: 'maintenance', until: T0 + 3_600_000 };
    const cases: [unknown, string, RegExp][] = [
      [{ ...ok, until: T0 }, 'until', /after ts/],
      [{ ...ok, until: T0 - 1 }, 'until', /after ts/],
      [{ ...ok, until: T0 + 15 * 86_400_000 }, 'until', /at most 14 days/],
      [{ ...ok, ts: T0 - 2 * 3_600_000, until: T0 - 3_600_000 }, 'until', /already ended/],
      [{ ...ok, until: undefined }, 'until', /./],
      [{ ...ok, id: undefined }, 'id', /./],
      [{ ...ok, id: '' }, 'id', /./],
      [{ ...ok, tenant: '**' }, 'tenant', /'\*' \(every tenant\) or a tenant name/],
      [{ ...ok, tenant: 'a b' }, 'tenant', /./],
      [{ ...ok, change: 'outage' }, 'change', /./],
      [{ ...ok, ts: 'yesterday' }, 'ts', /ISO-8601/],
      [{ ...ok, type: 'metric' }, 'type', /./],
      [{ ...ok, colour: 'red' }, 'colour', /unknown field/],
      [{ ...ok, title: 'x'.repeat(513) }, 'title', /./],
    ];
    for (const [input, field, message] of cases) {
      const res = await call('changes', input);
      expect(res.status, JSON.stringify(input)).toBe(400);
      expect(res.body.error.code).toBe('InvalidRequest');
      expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await new DynamoDbChangeStore(h.standIns.dynamo, h.table).affecting('*', 0, T0 + 86_400_000)).toEqual([]);
  });

  it('is served by the local API server on the route read from the synthesized template', async () => {
    const routes = routesFromTemplate(stackTemplate());
    expect(routes).toContainEqual({ method: 'POST', path: '/v1/anomaly/changes', route: 'changes' });
    const server = await serveApi({ port: 0, routes, handlers: api });
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/v1/anomaly/changes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'mw-local', ts: T0, tenant: '*', change: 'maintenance', until: T0 + 3_600_000 }),
      });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { change: { createdBy: string } }).change.createdBy).toBe('local');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
