import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../lambdas/core/anomaly.js';
import type { ActionTarget } from '../../lambdas/adapters/action-target.js';
import { episodeKeyOf } from '../../lambdas/adapters/action-ledger.js';
import { killSwitchState } from '../../lambdas/adapters/kill-switch.js';
import { DynamoDbWindowStore } from '../../lambdas/adapters/dynamodb-window-store.js';
import { FlagTableTarget, readFlags } from '../../lambdas/adapters/targets/index.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../lambdas/core/window-settings.js';
import { foldObservations } from '../../lambdas/core/window-state.js';
import { KILL_SWITCH_FLAG } from '../../lambdas/handlers/mitigation-workflow.js';
import { localMitigation } from '../../local/mitigation.js';
import { LocalAlertTopic } from '../../local/notifier.js';
import { LocalStepFunctions } from '../../local/step-functions.js';
import { stackTemplate, startHarness, type Harness } from './harness.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const NOW = T0 + 20 * 60_000;

function anomaly(over: Partial<Anomaly> = {}): Anomaly {
  return {
    id: 'acme#cqs_p95@2026-11-22T10:00Z',
    key: 'acme#cqs_p95',
    tenant: 'acme',
    signal: 'cqs_p95',
    region: 'kr',
    class: 'app',
    severity: 'SEV1',
    start: T0,
    detectedAt: T0 + 3 * 60_000,
    score: 0.97,
    expected: 0.0025,
    observed: 0.0038,
    band: { lo: 0.002, hi: 0.003 },
    change: '+52%',
    trigger: 'high-confidence',
    evidence: ['cqs_p95 +52%'],
    correlatedChanges: [],
    decision: 'mitigate',
    recommendation: 'start the playbook',
    softOnly: false,
    ...over,
  };
}

describe('mitigation workflow: the synthesized state machine on the local stand-ins', () => {
  let h: Harness;
  let alerts: LocalAlertTopic;
  beforeEach(async () => {
    h = await startHarness();
    alerts = new LocalAlertTopic(() => {});
  });
  afterEach(async () => {
    await h.close();
  });

  /** Put the signal's latest minute at `value` in the key's window state (what the regression check reads). */
  async function signalNow(value: number) {
    const ts = NOW - 60_000;
    const folded = foldObservations(undefined, [0, 1, 2].map((i) => ({ key: 'acme#cqs_p95', tenant: 'acme', signal: 'cqs_p95', ts: ts + i * 1000, value })), DEFAULT_WINDOW_SETTINGS);
    const store = new DynamoDbWindowStore(h.standIns.dynamo, h.table);
    const current = await store.load('acme#cqs_p95');
    await store.save({ ...folded.state }, current?.version);
  }

  function workflow(over: { targetFor?: (kind: Parameters<ActionTarget['apply']>[0]['step']['target']) => ActionTarget } = {}) {
    const m = localMitigation({ template: stackTemplate(), dynamo: h.standIns.dynamo, tableName: h.table, notifier: alerts, timings: { observationSeconds: 0, finalCheckSeconds: 0, rollbackIntervalSeconds: 0 } });
    const deps = { ...m.deps, now: () => NOW, ...(over.targetFor && { targetFor: over.targetFor }) };
    // Same synthesized definition, with the injected dependencies.
    const sfn = new LocalStepFunctions({
      template: stackTemplate(),
      handler: async (event, context) => (await import('../../lambdas/handlers/mitigation-steps.js')).runMitigationOp(event, { ...deps, execution: context.awsRequestId }),
      timings: { observationSeconds: 0, finalCheckSeconds: 0, rollbackIntervalSeconds: 0 },
    });
    return { sfn, bus: m.bus, ledger: deps.ledger };
  }

  /** The tenant's own flags (the kill switch is a platform flag). */
  const flags = () => readFlags(h.standIns.dynamo, h.table, 'acme');

  it('recovered: applies the soft stage, then rolls it back step by step, newest first, and says so', async () => {
    await signalNow(0.0025);
    const { sfn, bus, ledger } = workflow();
    expect((await sfn.start(anomaly())).started).toBe(true);
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.status).toBe('SUCCEEDED');
    expect(x!.result!.outcome).toBe('recovered');
    const applied = x!.result!.applied.map((a) => a.step.id);
    expect(applied).toEqual(['search-cost/cache-ttl', 'search-cost/rows-limit', 'search-cost/facet-limit']);
    expect(x!.result!.applied.every((a) => a.step.level === 'soft')).toBe(true);
    expect(x!.path).toEqual(['Plan', 'Apply', 'Check regression', 'Roll back one step', 'Roll back one step', 'Roll back one step', 'Notify recovered']);
    expect(x!.result!.rolledBack).toEqual([...x!.result!.applied].reverse().map((a) => a.rollbackKey));
    expect((await flags()).size).toBe(0);
    const entries = await ledger.entries(episodeKeyOf(x!.result!.applied[0]!.rollbackKey));
    for (const a of x!.result!.applied) expect(entries.filter((e) => e.action.rollbackKey === a.rollbackKey).map((e) => e.event).sort()).toEqual(['applied', 'rolled-back']);
    expect(bus.events.peekAll().map((e) => e.detailType)).toEqual([...Array(3).fill('Mitigation Action Applied'), ...Array(3).fill('Mitigation Action Rolled Back'), 'Mitigation Outcome']);
    expect(alerts.published.peekAll().map((m) => m.subject)).toEqual(['[SEV1] acme cqs_p95 mitigation soft stage applied', '[SEV1] acme cqs_p95 mitigation recovered']);
    const stage = JSON.parse(alerts.published.peekAll()[0]!.body);
    expect(stage.mitigation.applied.map((a: { rollbackKey: string }) => a.rollbackKey)).toEqual(x!.result!.applied.map((a) => a.rollbackKey));
    // Step Functions Standard bills per state transition.
    expect(x!.transitions).toBeGreaterThanOrEqual(x!.path.length);
  });

  it('not recovered: escalates to the hard stage where policy allows, then hands off with the actions in place', async () => {
    await signalNow(0.0039);
    const { sfn } = workflow();
    await sfn.start(anomaly());
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.result!.outcome).toBe('handed-off');
    expect(x!.path).toEqual(['Plan', 'Apply', 'Check regression', 'Apply', 'Check regression', 'Notify hand-off']);
    expect(new Set(x!.result!.applied.map((a) => a.step.level))).toEqual(new Set(['soft', 'hard']));
    const set = await flags();
    expect(set.get('search.rows.max')?.value).toBe(200);
    expect(set.size).toBe(x!.result!.applied.length);
    expect(alerts.published.peekAll().map((m) => m.subject)).toEqual([
      '[SEV1] acme cqs_p95 mitigation soft stage applied',
      '[SEV1] acme cqs_p95 mitigation hard stage applied',
      '[SEV1] acme cqs_p95 mitigation handed-off',
    ]);
  });

  it('rolls back by key at any time, and a second rollback is harmless', async () => {
    await signalNow(0.0039);
    const { sfn } = workflow();
    await sfn.start(anomaly());
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect((await flags()).size).toBeGreaterThan(0);
    const { rollbackByKey } = await import('../../lambdas/handlers/mitigation-steps.js');
    const m = localMitigation({ template: stackTemplate(), dynamo: h.standIns.dynamo, tableName: h.table, notifier: alerts });
    const first = await rollbackByKey(x!.result!.plan!.rollbackKey, { ...m.deps, now: () => NOW + 60_000 });
    expect(first.rolledBack.sort()).toEqual(x!.result!.applied.map((a) => a.rollbackKey).sort());
    expect((await flags()).size).toBe(0);
    expect(await rollbackByKey(x!.result!.plan!.rollbackKey, { ...m.deps, now: () => NOW + 120_000 })).toEqual({ rolledBack: [] });
  });

  it('a whitelisted campaign tenant gets soft steps only', async () => {
    await signalNow(0.0039);
    const { sfn } = workflow();
    await sfn.start(anomaly({ softOnly: true }));
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.result!.outcome).toBe('handed-off');
    expect(x!.result!.applied.every((a) => a.step.level === 'soft')).toBe(true);
    expect(x!.result!.reason).toMatch(/hard stage is not allowed/);
  });

  it('a release within 30 minutes blocks automatic mitigation: nothing is applied, on-call is told why', async () => {
    const { sfn } = workflow();
    await sfn.start(anomaly({ correlatedChanges: [{ id: 'rel-381', tenant: 'acme', change: 'release', ts: T0 - 8 * 60_000, offsetMinutes: 8 }] }));
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.result!.outcome).toBe('blocked');
    expect(x!.path).toEqual(['Plan', 'Notify blocked']);
    expect((await flags()).size).toBe(0);
    expect(JSON.parse(alerts.published.peekAll()[0]!.body).mitigation.detail).toMatch(/release/);
  });

  it('the kill switch stops automatic mitigation before any action is applied', async () => {
    await new FlagTableTarget(new (await import('../../lambdas/adapters/targets/slot-store.js')).DynamoDbSlotStore(h.standIns.dynamo, h.table)).apply(
      { rollbackKey: 'rb-operator-pause', episodeId: 'operator', tenant: '*', step: { id: 'ops/pause', title: 'pause', level: 'soft', target: 'flag', flag: KILL_SWITCH_FLAG, value: true, undo: 'restore-previous', scope: 'platform' } },
      NOW,
    );
    expect((await readFlags(h.standIns.dynamo, h.table, '*')).get(KILL_SWITCH_FLAG)?.value).toBe(true);
    const { sfn } = workflow();
    await sfn.start(anomaly());
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.result!.outcome).toBe('blocked');
    expect(x!.result!.applied).toEqual([]);
    expect((await flags()).size).toBe(0);
  });

  it('`mitigation pause` from the CLI blocks executions before any action; `resume` lets the next one act', async () => {
    const cli = (...args: string[]) => promisify(execFile)('npx', ['tsx', 'bin/anomaly-guard.ts', 'mitigation', ...args, '--table', h.table, '--endpoint', h.standIns.dynamoEndpoint], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    expect((await cli('pause', '--reason', 'INC-42 bad playbook')).stdout).toMatch(/automatic mitigation is PAUSED \(operator: INC-42 bad playbook, since 20\d\d-/);
    expect(await killSwitchState(h.standIns.dynamo, h.table)).toMatchObject({ paused: true, setBy: 'operator: INC-42 bad playbook' });
    await signalNow(0.0025);
    const paused = workflow();
    await paused.sfn.start(anomaly());
    await paused.sfn.drain();
    const [blocked] = [...paused.sfn.executions.values()];
    expect(blocked!.result).toMatchObject({ outcome: 'blocked', applied: [] });
    expect((await flags()).size).toBe(0);
    expect(paused.bus.events.peekAll().filter((e) => e.detailType === 'Mitigation Action Applied')).toEqual([]);

    expect((await cli('resume')).stdout).toMatch(/automatic mitigation is active/);
    expect((await cli('status')).stdout).toMatch(/automatic mitigation is active/);
    const resumed = workflow();
    await resumed.sfn.start(anomaly({ id: 'acme#cqs_p95@2026-11-22T10:05Z' }));
    await resumed.sfn.drain();
    const [acted] = [...resumed.sfn.executions.values()];
    expect(acted!.result!.outcome).toBe('recovered');
    expect(acted!.result!.applied.length).toBeGreaterThan(0);
  }, 60_000);

  it('a failure in the second action rolls back the first, then fails and notifies', async () => {
    await signalNow(0.0039);
    const base = localMitigation({ template: stackTemplate(), dynamo: h.standIns.dynamo, tableName: h.table, notifier: alerts }).deps.targetFor;
    let applies = 0;
    const failing = (kind: Parameters<typeof base>[0]): ActionTarget => {
      const t = base(kind);
      return { kind: t.kind, rollback: (a, n) => t.rollback(a, n), apply: async (a, n) => (++applies === 2 ? Promise.reject(new Error('injected: target unavailable')) : t.apply(a, n)) };
    };
    const { sfn } = workflow({ targetFor: failing });
    await sfn.start(anomaly());
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.status).toBe('FAILED');
    expect(x!.path).toEqual(['Plan', 'Apply', 'Roll back everything', 'Notify failed']);
    expect((await flags()).size).toBe(0);
    expect(JSON.parse(alerts.published.peekAll()[0]!.body).mitigation.detail).toMatch(/injected: target unavailable/);
  });

  it('dry run: the plan and the policy decision, with no ledger writes and no flags', async () => {
    const { runMitigationOp } = await import('../../lambdas/handlers/mitigation-steps.js');
    const m = localMitigation({ template: stackTemplate(), dynamo: h.standIns.dynamo, tableName: h.table, notifier: alerts });
    const planned = await runMitigationOp({ op: 'plan', state: { input: { anomaly: anomaly(), automatic: false, observationSeconds: 0, finalCheckSeconds: 0, rollbackIntervalSeconds: 0 } } }, { ...m.deps, now: () => NOW, execution: 'dry-run' });
    expect(planned.plan).toMatchObject({ allowed: true, playbook: { id: 'search-cost' } });
    expect(planned.plan!.stages.map((st) => [st.level, st.allowed])).toEqual([['soft', true], ['hard', true]]);
    expect(await m.deps.ledger.entries(planned.plan!.rollbackKey)).toEqual([]);
    expect((await flags()).size).toBe(0);
    expect(alerts.published.length).toBe(0);
  });

  it('starts at most one execution per episode', async () => {
    await signalNow(0.0025);
    const { sfn } = workflow();
    const a = await sfn.start(anomaly());
    const b = await sfn.start(anomaly());
    expect([a.started, b.started]).toEqual([true, false]);
    expect(a.execution).toBe(b.execution);
    await sfn.drain();
    expect(sfn.executions.size).toBe(1);
  });
});
