/**
 * Issue 20 (incidents) on the stand-ins: anomalies sharing a cause fold into one incident with one
 * id, one page and one mitigation, whatever the delivery order, concurrency or redelivery.
 */
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbActionLedger } from '../../lambdas/adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../lambdas/adapters/anomaly-store.js';
import { DynamoDbIncidentStore } from '../../lambdas/adapters/incident-store.js';
import { readFlags } from '../../lambdas/adapters/targets/index.js';
import { createStreamConsumer } from '../../lambdas/handlers/stream-consumer.js';
import { incidentPage, type Anomaly } from '../../lambdas/core/anomaly.js';
import { localMitigation } from '../../local/mitigation.js';
import { kinesisEvent, NO_WAIT, stackTemplate, startHarness, type Harness } from './harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const MIN = 60_000;
const T0 = Date.parse('2026-11-22T06:00:00Z');
const SPIKE_MINUTE = 150;

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.close());

const member = (tenant: string, minute: number, signal = 'edge_p95_ms') => ({
  anomalyId: `${tenant}#${signal}@${new Date(T0 + minute * MIN).toISOString()}`,
  tenant,
  signal,
  start: T0 + minute * MIN,
  family: 'origin-bottleneck',
});

describe('DynamoDbIncidentStore (dynalite, conditional writes only)', () => {
  it('concurrent joins, redelivery and out-of-order arrival give every member the same incident id', async () => {
    const store = () => new DynamoDbIncidentStore(h.standIns.dynamo, h.table);
    // Out of order: the latest episode arrives first; then 20 members at once from separate invocations.
    const late = await store().join(member('t-late', 9), 10 * MIN);
    const members = Array.from({ length: 20 }, (_, i) => member(`t-${i}`, i % 8));
    const joined = await Promise.all(members.map((m) => store().join(m, 10 * MIN)));
    // Redelivered: each member again, concurrently.
    const again = await Promise.all(members.map((m) => store().join(m, 10 * MIN)));
    expect(new Set([late, ...joined, ...again].map((v) => v.id))).toEqual(new Set([late.id]));
    const view = await store().get(late.id);
    expect(view).toMatchObject({ members: 21, signals: ['edge_p95_ms'], family: 'origin-bottleneck' });
    expect(view!.tenants).toHaveLength(21);
    expect(await store().members(late.id)).toHaveLength(21);
    // A member after a gap longer than the window founds the next incident.
    const next = await store().join(member('t-next', 30), 10 * MIN);
    expect(next.id).not.toBe(late.id);
    // One claimant per purpose, however many race; its own retry still holds it.
    const claims = await Promise.all(members.map((m) => store().claim(late.id, 'page', m.anomalyId)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = members[claims.indexOf(true)]!;
    expect(await store().claim(late.id, 'page', winner.anomalyId)).toBe(true);
  });
});

/** `tenants` tenants' edge latency every 30 s, ±2 % noise, +90 % for 20 minutes from minute 150 (+ a stagger). */
function series(tenants: number) {
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < 180 * 2; i++)
    for (let t = 0; t < tenants; t++) {
      const minute = i / 2;
      const from = SPIKE_MINUTE + (t % 4);
      const spike = minute >= from && minute < from + 20 ? 1.9 : 1;
      records.push({
        v: 1,
        type: 'metric',
        id: `m-${t}-${i}`,
        ts: T0 + i * 30_000,
        tenant: `tenant-${String(t).padStart(2, '0')}`,
        signal: t % 5 === 0 ? 'origin_p95_ms' : 'edge_p95_ms',
        region: 'kr',
        value: 180 * (1 + 0.02 * (rnd() * 2 - 1)) * spike,
      });
    }
  return records;
}

/** The synthesized workflow on the stand-ins in region kr, at a fixed time, with no waits (approvals wait 1 s). */
function workflowAt(now: number) {
  return localMitigation({
    template: stackTemplate(),
    dynamo: h.standIns.dynamo,
    tableName: h.table,
    notifier: h.alerts,
    deploymentRegion: 'kr',
    timings: NO_WAIT,
    now: () => now,
  });
}

function batches<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

describe('a shared origin spike on 50 tenants through the consumer and the synthesized workflow', () => {
  it('pages once, starts one execution, applies each platform step once, also on redelivery', async () => {
    const m = workflowAt(T0 + 200 * MIN);
    const deps = () => ({
      ...h.deps(),
      incidents: new DynamoDbIncidentStore(h.standIns.dynamo, h.table),
      mitigations: m.stepFunctions,
    });
    // Two shards, each with its own consumer (concurrent invocations), every batch delivered twice.
    const records = series(50);
    const shards = [0, 1].map((s) => records.filter((r) => Number(String(r.tenant).slice(-2)) % 2 === s));
    await Promise.all(
      shards.map(async (shard, s) => {
        const consumer = createStreamConsumer(deps());
        for (const b of batches(shard, 500)) {
          const event = kinesisEvent(b, `shardId-00000000000${s}`);
          expect((await consumer(event, context)).batchItemFailures).toEqual([]);
          expect((await consumer(event, context)).batchItemFailures).toEqual([]);
        }
      }),
    );
    await m.stepFunctions.drain();

    const anomalies = await new DynamoDbAnomalyStore(h.standIns.dynamo, h.table).between(T0, T0 + 200 * MIN);
    expect(anomalies.length).toBeGreaterThanOrEqual(45);
    const incidents = new Set(anomalies.map((a) => a.incident));
    expect(incidents.size).toBe(1);
    const [incident] = incidents;

    const published = h.alerts.published.peekAll();
    const pages = published.filter((p) => p.attributes.decision === 'mitigate' || p.attributes.decision === 'alert');
    const updates = published.filter((p) => p.attributes.decision === 'incident-update');
    expect(pages).toHaveLength(1);
    expect(pages[0]!.attributes.incident).toBe(incident);
    expect(updates).toHaveLength(anomalies.length - 1);
    expect(new Set(updates.map((u) => u.attributes.incident))).toEqual(new Set([incident]));
    // The page names every tenant known when it was sent; the last update names all of them.
    const lastUpdate = JSON.parse(updates.at(-1)!.body) as { incidentDetail: { tenants: string[] } };
    expect(lastUpdate.incidentDetail.tenants).toHaveLength(anomalies.length);

    const executions = [...m.stepFunctions.executions.values()];
    expect(executions).toHaveLength(1);
    const [x] = executions;
    expect(x!.status).toBe('SUCCEEDED');
    // The execution is named from the incident (its first member's episode hash).
    expect(x!.name).toBe(`mit-${incident!.slice('inc-'.length)}`);
    const entries = await new DynamoDbActionLedger(h.standIns.dynamo, h.table).entries(x!.result!.plan!.rollbackKey);
    const applied = entries.filter((e) => e.event === 'applied').map((e) => e.action.step.id);
    expect(applied).toContain('origin-bottleneck/cache-key-normalise');
    expect(applied.length).toBe(new Set(applied).size);
    // Platform steps only: no tenant got a flag of its own.
    expect((await readFlags(h.standIns.dynamo, h.table, 'tenant-00')).size).toBe(0);
    expect(incidentPage(anomalies[0]!, undefined).attributes.incident).toBe(incident);
  }, 240_000);
});

describe('a tenant-scoped incident (ingest surge on 8 tenants): one execution mitigates every member', () => {
  const surge = (tenant: string, minute: number, over: Partial<Anomaly> = {}): Anomaly => ({
    id: `${tenant}#ingest_rpm@${new Date(T0 + minute * MIN).toISOString().slice(0, 16)}Z`,
    key: `${tenant}#ingest_rpm`,
    tenant,
    signal: 'ingest_rpm',
    region: 'kr',
    class: 'tenant',
    severity: 'SEV1',
    start: T0 + minute * MIN,
    detectedAt: T0 + (minute + 3) * MIN,
    score: 0.97,
    expected: 1200,
    observed: 3600,
    band: { lo: 1000, hi: 1400 },
    change: '+200%',
    trigger: 'high-confidence',
    evidence: ['ingest_rpm +200%'],
    correlatedChanges: [],
    decision: 'mitigate',
    recommendation: 'start the playbook',
    softOnly: false,
    incident: 'inc-shared',
    ...over,
  });

  it('plans soft steps for each member tenant and platform steps once, decides each member by its own guardrails, ' +
    'and asks one approval for every tenant’s hard steps', async () => {
    const anomalies = new DynamoDbAnomalyStore(h.standIns.dynamo, h.table);
    const tenants = Array.from({ length: 8 }, (_, i) => `tenant-${i}`);
    const members = tenants.map((t, i) =>
      surge(t, 100 + (i % 3), {
        // One member is a whitelisted campaign (soft only); one was only alerted, not mitigated.
        ...(t === 'tenant-6' && { softOnly: true }),
        ...(t === 'tenant-7' && { decision: 'alert' as const }),
      }),
    );
    for (const a of members) await anomalies.open(a);
    // Another incident's anomaly on the same signal: not a member.
    await anomalies.open(surge('outsider', 101, { incident: 'inc-other' }));
    const m = workflowAt(T0 + 110 * MIN);
    await m.stepFunctions.start(members[0]!);
    await m.stepFunctions.drain();
    const [x] = [...m.stepFunctions.executions.values()];
    expect(x!.status, x!.error).toBe('SUCCEEDED');
    const plan = x!.result!.plan!;
    expect(plan.peers!.map((p) => p.tenant).sort()).toEqual(tenants.slice(1, 7));
    // Soft, tenant-scoped: every mitigated member's own flags, applied by this one execution.
    for (const t of tenants.slice(0, 7)) {
      const flags = await readFlags(h.standIns.dynamo, h.table, t);
      expect([...flags.keys()].sort(), t).toEqual([
        'ingest.fields.mode',
        'ingest.sampling.low_priority_keep',
        'usage-plan:@tenant',
      ]);
    }
    expect((await readFlags(h.standIns.dynamo, h.table, 'tenant-7')).size).toBe(0);
    expect((await readFlags(h.standIns.dynamo, h.table, 'outsider')).size).toBe(0);
    // One approval request for the incident's hard steps: every member but the campaign tenant.
    const approvals = h.alerts.published.peekAll().filter((p) => p.attributes.decision === 'approval-requested');
    expect(approvals).toHaveLength(1);
    const asked = JSON.parse(approvals[0]!.body).approval.steps as { step: string; control: string }[];
    expect(asked).toHaveLength(2 * 6);
    const handedOff = plan.handedOff.filter((h) => !h.approvable).map((h) => [h.level, h.action.tenant]);
    expect(handedOff).toEqual([
      ['hard', 'tenant-6'],
      ['hard', 'tenant-6'],
    ]);
    // Each member's action has its own rollback key in the episode's ledger: the episode key undoes them all.
    const keys = x!.result!.applied.map((a) => a.rollbackKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.every((k) => k.startsWith(plan.rollbackKey))).toBe(true);
  }, 120_000);
});
