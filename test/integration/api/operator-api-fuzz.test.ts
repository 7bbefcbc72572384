import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAnomalyStore } from '../../../lambdas/adapters/anomaly-store.js';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import { API_ROUTES, type RouteId } from '../../../lambdas/core/api/routes.js';
import type { ApiHandler } from '../../../lambdas/handlers/api/http.js';
import { localApi, startHarness, type Harness } from '../harness.js';

const NOW = Date.now();
/** An anomaly stored before the fuzzing, so valid feedback reaches past the 404. */
const FUZZ_ANOMALY: Anomaly = {
  id: 'beta#cqs_p95@2026-11-22T10:00Z',
  key: 'beta#cqs_p95',
  tenant: 'beta',
  signal: 'cqs_p95',
  class: 'tenant',
  severity: 'SEV2',
  start: Date.parse('2026-11-22T10:00:00Z'),
  detectedAt: Date.parse('2026-11-22T10:03:00Z'),
  score: 0.9,
  expected: 1,
  observed: 2,
  band: { lo: 0.8, hi: 1.2 },
  change: '+100%',
  trigger: 'sustained',
  evidence: [],
  correlatedChanges: [],
  decision: 'alert',
  recommendation: 'investigate',
  softOnly: false,
};

/** Values that look like what the routes want, so the fuzzing reaches past the first check. */
const name = fc.oneof(
  fc.constantFrom('acme', 'beta', 'cqs_p95', 'search_qps', '', ' ', 'a#b', 'x'.repeat(65), '../etc'),
  fc.string({ maxLength: 70 }),
);
const time = fc.oneof(
  fc.integer({ min: NOW - 40 * 86_400_000, max: NOW + 40 * 86_400_000 }),
  fc.constantFrom('2026-11-22T10:00:00Z', 'yesterday', '', 1e20, -1, 0),
  fc.double(),
  fc.string(),
);
const anyValue = fc.oneof(fc.jsonValue(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308));
const signal = fc.record(
  { tenant: name, signal: name, value: fc.oneof(fc.double(), anyValue), ts: time },
  { requiredKeys: [] },
);
const episodeKey = fc.oneof(
  fc.constantFrom(
    'acme#cqs_p95@2026-11-22T10:00Z',
    'acme#engagement@u1@2026-11-22T10:00Z',
    'acme#cqs_p95@2026-13-45T99:99Z',
  ),
  fc.string({ maxLength: 320 }),
);
const rollbackKey = fc.oneof(
  fc.constantFrom('rb-0000abcd', 'rb-1l3k9x0a2bc-search-cost.rows-limit', 'rb-', 'rb-ZZZ'),
  fc.string({ maxLength: 120 }),
);

const shaped: Record<RouteId, fc.Arbitrary<unknown>> = {
  score: fc.record(
    {
      signals: fc.oneof(fc.array(signal, { maxLength: 120 }), anyValue),
      context: fc.oneof(
        fc.record({ region: name, tenantsAffected: fc.oneof(fc.integer(), fc.double()) }, { requiredKeys: [] }),
        anyValue,
      ),
    },
    { requiredKeys: [] },
  ),
  mitigate: fc.record(
    {
      key: fc.oneof(episodeKey, anyValue),
      plan: fc.oneof(fc.constantFrom('search-cost', 'nope', 'INGEST'), anyValue),
      dry_run: fc.oneof(fc.boolean(), anyValue),
    },
    { requiredKeys: [] },
  ),
  rollback: fc.record({ key: fc.oneof(rollbackKey, anyValue) }, { requiredKeys: [] }),
  report: fc.record(
    { range: fc.oneof(fc.constantFrom('24h', '7d', '31d', '32d', '0m', '9999d', '1h'), fc.string({ maxLength: 10 })) },
    { requiredKeys: [] },
  ),
  whitelist: fc.record(
    {
      tenant: name,
      window: fc.oneof(fc.record({ from: time, to: time }, { requiredKeys: [] }), anyValue),
      reason: fc.oneof(fc.string({ maxLength: 300 }), anyValue),
    },
    { requiredKeys: [] },
  ),
  timeline: fc.record(
    { tenant: name, range: fc.oneof(fc.constantFrom('24h', '90m', '40d'), fc.string({ maxLength: 10 })) },
    { requiredKeys: [] },
  ),
  changes: fc.record(
    {
      v: fc.oneof(fc.constant(1), anyValue),
      type: fc.oneof(fc.constant('change'), anyValue),
      id: fc.oneof(fc.constantFrom('mw-1', 'mw-2', '', 'x'.repeat(129)), anyValue),
      ts: time,
      tenant: fc.oneof(fc.constantFrom('*', '**', 'acme'), name),
      change: fc.oneof(fc.constantFrom('maintenance', 'release', 'campaign', 'outage'), anyValue),
      until: time,
      region: fc.oneof(name, anyValue),
      title: fc.oneof(fc.string({ maxLength: 600 }), anyValue),
    },
    { requiredKeys: [] },
  ),
  feedback: fc.record(
    {
      key: fc.oneof(episodeKey, anyValue),
      verdict: fc.oneof(fc.constantFrom('true_positive', 'false_positive', 'expected', 'FALSE', ''), anyValue),
      note: fc.oneof(fc.string({ maxLength: 1100 }), anyValue),
    },
    { requiredKeys: [] },
  ),
  approve: fc.record(
    {
      key: fc.oneof(fc.constantFrom('rb-0000abcd-approve-hard', 'rb-0000abcd-approve-x'), rollbackKey, anyValue),
      decision: fc.oneof(fc.constantFrom('approve', 'deny', 'APPROVE', ''), anyValue),
      reason: fc.oneof(fc.string({ maxLength: 600 }), fc.constant('   '), anyValue),
    },
    { requiredKeys: [] },
  ),
};

const tenant = fc.constantFrom('acme', 'beta', 'gamma');
const validTime = fc.integer({ min: NOW - 86_400_000, max: NOW + 60_000 });
/** Valid input with random values: the fuzzing must also reach the handlers' own logic. */
const valid: Record<RouteId, fc.Arbitrary<unknown>> = {
  score: fc.record({
    signals: fc.array(
      fc.record({
        tenant,
        signal: fc.constantFrom('cqs_p95', 'search_qps', 'cache_hit_ratio', 'custom'),
        value: fc.double({ noNaN: true, noDefaultInfinity: true }),
        ts: validTime,
      }),
      { minLength: 1, maxLength: 20 },
    ),
  }),
  mitigate: fc.record({ key: fc.constantFrom('acme#cqs_p95@2026-11-22T10:00Z'), dry_run: fc.boolean() }),
  rollback: fc.record({ key: fc.constantFrom('rb-0000abcd', 'rb-0000abcd-step') }),
  report: fc.record({ range: fc.constantFrom('24h', '7d', '90m') }),
  whitelist: fc.record({
    tenant,
    window: fc.record({ from: validTime, to: fc.integer({ min: NOW + 60_000, max: NOW + 86_400_000 }) }),
  }),
  timeline: fc.record({ tenant, range: fc.constantFrom('24h', '90m') }),
  // A few ids over random windows: repeats reach the idempotent replay (200) and the conflict (409).
  changes: fc.record({
    id: fc.constantFrom('mw-1', 'mw-2', 'mw-3'),
    ts: validTime,
    tenant: fc.constantFrom('*', 'acme', 'beta'),
    change: fc.constantFrom('maintenance', 'release', 'campaign'),
    until: fc.integer({ min: NOW + 60_000, max: NOW + 3 * 86_400_000 }),
  }),
  // One stored anomaly (beforeAll) and unknown ones: 201, 200 (same verdict again) and 404.
  feedback: fc.record({
    key: fc.constantFrom(FUZZ_ANOMALY.id, 'acme#cqs_p95@2026-11-22T10:00Z'),
    verdict: fc.constantFrom('true_positive', 'false_positive', 'expected'),
    note: fc.string({ maxLength: 100 }),
  }),
  // No request is pending in the fuzz table: 404 past validation.
  approve: fc.record({
    key: fc.constantFrom('rb-0000abcd-approve-hard', 'rb-0000abcd'),
    decision: fc.constantFrom('approve', 'deny'),
    reason: fc.string({ minLength: 1, maxLength: 100 }),
  }),
};

/** A raw body: random text, random JSON, or a near-valid object, sometimes with junk appended. */
function body(route: RouteId): fc.Arbitrary<string | null> {
  return fc.oneof(
    fc.constant(null),
    fc.string({ maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    shaped[route].map((v) => JSON.stringify(v)),
    valid[route].map((v) => JSON.stringify(v)),
    fc.tuple(shaped[route], fc.string({ maxLength: 5 })).map(([v, junk]) => `${JSON.stringify(v)}${junk}`),
  );
}

function query(route: RouteId): fc.Arbitrary<Record<string, string> | null> {
  return fc.oneof(
    fc.constant(null),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
    fc
      .oneof(shaped[route], valid[route])
      .map((v) =>
        typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]))
          : null,
      ),
  );
}

describe('operator API fuzzing: random and malformed input never gets a 5xx', () => {
  let h: Harness;
  let api: Record<RouteId, ApiHandler>;
  beforeAll(async () => {
    h = await startHarness();
    ({ api } = localApi(h));
    await new DynamoDbAnomalyStore(h.standIns.dynamo, h.table).open(FUZZ_ANOMALY);
  });
  afterAll(() => h.close());

  for (const route of API_ROUTES) {
    it(`${route.method} ${route.path}`, async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          route.input.in === 'body' ? body(route.id) : query(route.id),
          fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', undefined),
          async (input, contentType) => {
            const res = await api[route.id]({
              body: route.input.in === 'body' ? (input as string | null) : null,
              isBase64Encoded: false,
              headers: contentType ? { 'content-type': contentType } : {},
              queryStringParameters: route.input.in === 'query' ? (input as Record<string, string> | null) : null,
            });
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            expect(res.statusCode, res.body).toBeLessThan(500);
            const parsed = JSON.parse(res.body);
            if (res.statusCode >= 400) {
              expect(parsed.error.code).toMatch(/^[A-Za-z]+$/);
              expect(parsed.error.message.length).toBeGreaterThan(0);
              expect(typeof parsed.error.details).toBe('object');
            }
          },
        ),
        { numRuns: 300, seed: 20261123 },
      );
      // The generators reach past validation, not only the 400 path.
      expect([...statuses.keys()].some((s) => s < 400 || s === 404 || s === 409 || s === 403)).toBe(true);
    }, 60_000);
  }
});
