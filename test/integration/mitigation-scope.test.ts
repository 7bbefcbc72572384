/**
 * Issue 18 (items 2–4) on the stand-ins: how wide an incident is comes from the stored anomalies
 * (dynalite); platform-wide and irreversible steps wait for an incident on several tenants; platform
 * flags land under `flags#*`; every applied action names the control that really acted; a dry run
 * lists the steps whose target is not configured.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../lambdas/core/anomaly.js';
import { DynamoDbAnomalyStore } from '../../lambdas/adapters/anomaly-store.js';
import { DynamoDbActionLedger } from '../../lambdas/adapters/action-ledger.js';
import { readFlags, readTenantFlags } from '../../lambdas/adapters/targets/index.js';
import type { ApiHandler } from '../../lambdas/handlers/api/http.js';
import { localMitigation } from '../../local/mitigation.js';
import { LocalAlertTopic } from '../../local/notifier.js';
import { localOperatorApi } from '../../local/operator-api.js';
import { anomaly as baseAnomaly } from '../unit/core/mitigation/fixtures.js';
import { stackTemplate, startHarness, type Harness } from './harness.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');
const NOW = T0 + 6 * MIN;

/** One tenant's origin-latency anomaly (the unit tests' builder, on an infra signal). */
function anomaly(tenant: string, over: Partial<Anomaly> = {}): Anomaly {
  return baseAnomaly({
    tenant,
    signal: 'edge_p95_ms',
    regions: ['kr'],
    class: 'infra',
    expected: 180,
    observed: 420,
    band: { lo: 150, hi: 220 },
    change: '+133%',
    ...over,
  });
}

let h: Harness;
let alerts: LocalAlertTopic;
beforeEach(async () => {
  h = await startHarness();
  alerts = new LocalAlertTopic(() => {});
});
afterEach(() => h.close());

const store = () => new DynamoDbAnomalyStore(h.standIns.dynamo, h.table);

describe('incident width from the anomaly store (dynalite)', () => {
  it('counts distinct tenants with an anomaly on the given signals that started in the window', async () => {
    const s = store();
    await s.open(anomaly('acme'));
    await s.open(anomaly('acme', { signal: 'origin_p95_ms' })); // same tenant, second signal: still one tenant
    await s.open(anomaly('globex', { signal: 'origin_p95_ms', start: T0 + 2 * MIN }));
    await s.open(anomaly('initech', { signal: 'cqs_p95', class: 'app' })); // another signal
    await s.open(anomaly('hooli', { start: T0 - 40 * MIN })); // long before
    const over = anomaly('umbrella', { start: T0 - 10 * MIN });
    await s.open(over);
    // over already: still the same fault
    await s.markRecovered({ id: over.id, start: over.start, key: over.key }, T0 - 5 * MIN);
    const signals = ['cache_hit_ratio', 'edge_p95_ms', 'origin_p95_ms'];
    expect(await s.tenantsWithAnomaly(signals, T0 - 15 * MIN, NOW)).toEqual(['acme', 'globex', 'umbrella']);
    expect(await s.tenantsWithAnomaly(signals, T0, NOW)).toEqual(['acme', 'globex']);
    expect(await s.tenantsWithAnomaly(['cqs_p95'], T0 - 15 * MIN, NOW)).toEqual(['initech']);
    expect(await s.tenantsWithAnomaly(signals, T0 - 45 * MIN, NOW)).toEqual(['acme', 'globex', 'hooli', 'umbrella']);
    // Across a day boundary: both day partitions are read.
    const late = Date.parse('2026-11-22T23:58:00Z');
    await s.open(anomaly('acme', { start: late }));
    await s.open(anomaly('globex', { start: late + 4 * MIN }));
    expect(await s.tenantsWithAnomaly(signals, late - 15 * MIN, late + 15 * MIN)).toEqual(['acme', 'globex']);
  });
});

describe(
  "one tenant's edge latency vs. an origin incident on every tenant (synthesized workflow, flag table on " +
    'dynalite)',
  () => {
    function workflow() {
      const m = localMitigation({
        template: stackTemplate(),
        dynamo: h.standIns.dynamo,
        tableName: h.table,
        notifier: alerts,
        deploymentRegion: 'kr',
        timings: { observationSeconds: 0, finalCheckSeconds: 0, rollbackIntervalSeconds: 0, approvalTimeoutSeconds: 1 },
        now: () => NOW,
      });
      return m;
    }
    const alertBodies = () =>
      alerts.published
        .peekAll()
        .map((a) => ({ subject: a.subject, body: JSON.parse(a.body) as { mitigation?: Record<string, unknown> } }));

    it(
      'a single tenant: no CDN invalidation, cache-key change, failover or challenge is applied by itself; they wait ' +
        'for an approval, and with no answer nothing of them is applied',
      async () => {
        const a = anomaly('acme');
        await store().open(a);
        const { stepFunctions } = workflow();
        await stepFunctions.start(a);
        await stepFunctions.drain();
        const [x] = [...stepFunctions.executions.values()];
        expect(x!.path).toEqual(['Plan', 'Apply', 'Await approval', 'Approval expired', 'Notify hand-off']);
        expect(x!.result!.outcome).toBe('handed-off');
        expect(x!.result!.applied).toEqual([]);
        expect(x!.result!.plan!.handedOff.map((s) => [s.stepId, s.approvable])).toEqual([
          ['origin-bottleneck/cache-key-normalise', true],
          ['origin-bottleneck/cdn-invalidate', true],
          ['origin-bottleneck/read-only-failover', true],
          ['origin-bottleneck/challenge', true],
        ]);
        expect((await readFlags(h.standIns.dynamo, h.table, '*')).size).toBe(0);
        expect((await readFlags(h.standIns.dynamo, h.table, 'acme')).size).toBe(0);
        // The page asks for the soft stage's two steps and says why each waits.
        const asked = alertBodies().find((b) => b.subject.includes('approval needed'))!;
        expect(asked.subject).toMatch(/^\[SEV\d\] acme edge_p95_ms: approval needed for 2 step\(s\)$/);
        const steps = (asked.body as { approval: { steps: { step: string; reason: string; rollbackKey: string }[] } })
          .approval.steps;
        expect(steps.map((st) => st.step)).toEqual([
          'origin-bottleneck/cache-key-normalise',
          'origin-bottleneck/cdn-invalidate',
        ]);
        expect(steps[1]!.reason).toMatch(/irreversible-step-needs-multi-tenant-incident/);
        expect(steps[1]!.rollbackKey).toMatch(/^rb-[0-9a-z]+-origin-bottleneck\.cdn-invalidate$/);
        const outcome = alertBodies().at(-1)!;
        expect(outcome.subject).toMatch(/mitigation handed-off/);
        expect(outcome.body.mitigation!.detail).toMatch(/no answer to rb-[0-9a-z]+-approve-soft in time/);
      },
    );

    it(
      'three tenants with stored anomalies: the soft stage is applied under flags#*, every tenant reads it, and ' +
        'each action names what acted',
      async () => {
        for (const t of ['acme', 'globex']) await store().open(anomaly(t));
        const a = anomaly('initech', { signal: 'origin_p95_ms', start: T0 + MIN });
        await store().open(a);
        const { stepFunctions } = workflow();
        await stepFunctions.start(a);
        await stepFunctions.drain();
        const [x] = [...stepFunctions.executions.values()];
        const soft = x!.result!.applied.filter((s) => s.step.level === 'soft');
        expect(soft.map((s) => s.step.id)).toEqual([
          'origin-bottleneck/cache-key-normalise',
          'origin-bottleneck/cdn-invalidate',
        ]);
        expect(soft.map((s) => s.actedVia?.description)).toEqual([
          'flag written for the service to read',
          'flag written for the service to read (cdn-invalidation is not configured: no cdn-invalidation control was ' +
            'changed)',
        ]);
        // The ledger keeps it too.
        const entries = await new DynamoDbActionLedger(h.standIns.dynamo, h.table).entries(
          x!.result!.plan!.rollbackKey,
        );
        expect(
          entries.find((e) => e.event === 'applied' && e.action.step.id === 'origin-bottleneck/cdn-invalidate')!.action
            .actedVia,
        ).toMatchObject({ control: 'flag', fallbackFor: 'cdn-invalidation' });
        // The stage alert names the control, not just the intended target.
        const stage = alertBodies().find((b) => b.subject.includes('soft stage applied'))!;
        expect(stage.body.mitigation!.detail).toContain(
          'Invalidate the fragmented cache entries — flag written for the service to read (cdn-invalidation is not ' +
            'configured: no cdn-invalidation control was changed)',
        );
        // Applied as the platform's flag, which a tenant that had no anomaly reads too.
        expect(x!.result!.applied[0]!.targetRef).toBe('flags#*/cdn.cache_key.normalise');
        expect(x!.result!.outcome).not.toBe('blocked');
      },
    );
  },
);

describe('dry run (local operator API): the steps whose target is not configured', () => {
  async function dryRun(key: string) {
    const m = localMitigation({
      template: stackTemplate(),
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      notifier: alerts,
      now: () => NOW,
    });
    const api: Record<string, ApiHandler> = localOperatorApi({
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      stepFunctions: m.stepFunctions,
      mitigationDeps: m.deps,
      targets: m.targets,
      now: () => NOW,
    });
    const res = await api.mitigate!({
      body: JSON.stringify({ key, dry_run: true }),
      isBase64Encoded: false,
      headers: { 'content-type': 'application/json' },
      queryStringParameters: null,
    });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  }

  it('lists each step whose control is not configured and that it would only be written as a flag', async () => {
    const a = anomaly('acme', {
      signal: 'ingest_rpm',
      class: 'tenant',
      expected: 6000,
      observed: 30000,
      band: { lo: 5000, hi: 7000 },
    });
    await store().open(a);
    const res = await dryRun(a.id);
    expect(res.status).toBe(200);
    expect(res.body.unconfiguredTargets).toEqual([
      {
        step: 'ingest-surge/burst-credit',
        target: 'usage-plan',
        control: 'tenant/acme/usage-plan:@tenant',
        handling: 'flag-table',
        reason: expect.stringContaining('actionTargets.usagePlans'),
      },
      {
        step: 'ingest-surge/rate-limit',
        target: 'usage-plan',
        control: 'tenant/acme/usage-plan:@tenant',
        handling: 'flag-table',
        reason: expect.stringContaining('actionTargets.usagePlans'),
      },
    ]);
    expect(await readTenantFlags(h.standIns.dynamo, h.table, 'acme')).toEqual(new Map());
  });

  it("a one-tenant origin anomaly's dry run shows the handed-off steps", async () => {
    const a = anomaly('acme');
    await store().open(a);
    const res = await dryRun(a.id);
    // Allowed to start: it would ask an operator for every step, and apply none by itself.
    expect(res.body.decision.allowed).toBe(true);
    expect(res.body.plan.stages.flatMap((s: { actions: unknown[] }) => s.actions)).toEqual([]);
    expect(
      res.body.handedOff.map((s: { step: string; awaitsApproval: boolean }) => [s.step, s.awaitsApproval]),
    ).toEqual([
      ['origin-bottleneck/cache-key-normalise', true],
      ['origin-bottleneck/cdn-invalidate', true],
      ['origin-bottleneck/read-only-failover', true],
      ['origin-bottleneck/challenge', true],
    ]);
  });
});
