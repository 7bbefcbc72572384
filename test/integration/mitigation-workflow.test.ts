import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../lambdas/core/anomaly.js';
import type { ActionTarget } from '../../lambdas/core/ports/action-target.js';
import { DynamoDbActionLedger } from '../../lambdas/adapters/action-ledger.js';
import { episodeKeyOf } from '../../lambdas/core/mitigation/journal.js';
import type { ActionLedger } from '../../lambdas/core/ports/action-ledger.js';
import { killSwitchState, setKillSwitch } from '../../lambdas/adapters/kill-switch.js';
import { DynamoDbWindowStore } from '../../lambdas/adapters/window-store.js';
import { FlagTableTarget, readFlags } from '../../lambdas/adapters/targets/index.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../lambdas/core/window-settings.js';
import { foldObservations } from '../../lambdas/core/key-state.js';
import { KILL_SWITCH_FLAG } from '../../lambdas/handlers/mitigation-workflow.js';
import {
  rollbackByKey,
  runMitigationOp,
  type MitigationDeps,
  type WorkflowState,
} from '../../lambdas/usecases/mitigation-steps.js';
import { localMitigation } from '../../local/mitigation.js';
import { LocalAlertTopic } from '../../local/notifier.js';
import { localOperatorApi } from '../../local/operator-api.js';
import { createApproveHandler } from '../../lambdas/handlers/api/operator-api.js';
import { LocalStepFunctions } from '../../local/step-functions.js';
import { episodeHash } from '../../lambdas/core/mitigation/keys.js';
import { stackTemplate, startHarness, type Harness } from './harness.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
/** No waits; a step that waits for an approval waits 1 s (the shortest Step Functions timeout). */
const TIMINGS = { observationSeconds: 0, finalCheckSeconds: 0, rollbackIntervalSeconds: 0, approvalTimeoutSeconds: 1 };
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
    const folded = foldObservations(
      undefined,
      [0, 1, 2].map((i) => ({ key: 'acme#cqs_p95', tenant: 'acme', signal: 'cqs_p95', ts: ts + i * 1000, value })),
      DEFAULT_WINDOW_SETTINGS,
    );
    const store = new DynamoDbWindowStore(h.standIns.dynamo, h.table);
    const current = await store.load('acme#cqs_p95');
    await store.save({ ...folded.state }, current?.version);
  }

  function workflow(
    over: {
      targetFor?: (kind: Parameters<ActionTarget['apply']>[0]['step']['target']) => ActionTarget;
      killSwitch?: () => Promise<boolean>;
    } = {},
  ) {
    const m = localMitigation({
      template: stackTemplate(),
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      notifier: alerts,
      timings: TIMINGS,
    });
    const deps = {
      ...m.deps,
      now: () => NOW,
      ...(over.targetFor && { targetFor: over.targetFor }),
      ...(over.killSwitch && { killSwitch: over.killSwitch }),
    };
    // Same synthesized definition, with the injected dependencies.
    const sfn = new LocalStepFunctions({
      template: stackTemplate(),
      handler: async (event, context) =>
        (await import('../../lambdas/usecases/mitigation-steps.js')).runMitigationOp(event, {
          ...deps,
          execution: context.awsRequestId,
        }),
      timings: TIMINGS,
    });
    return { sfn, bus: m.bus, ledger: deps.ledger, deps };
  }

  /** Answer an approval request through the approve route (the same handler as the Lambda), as `user`. */
  function approveAs(
    sfn: LocalStepFunctions,
    deps: Omit<MitigationDeps, 'execution'>,
    body: { key: string; decision: 'approve' | 'deny'; reason: string },
    user: string,
  ): Promise<{ statusCode: number; body: string }> {
    const approve = createApproveHandler({ approvals: deps.approvals, taskTokens: sfn, now: () => NOW });
    return approve({
      body: JSON.stringify(body),
      isBase64Encoded: false,
      headers: { 'content-type': 'application/json' },
      queryStringParameters: null,
      requestContext: { identity: { userArn: `arn:aws:iam::123456789012:user/${user}` } },
    } as never);
  }

  /** The operator: waits for the execution's approval request, then answers it as `alice`. */
  async function answerWhenAsked(
    sfn: LocalStepFunctions,
    deps: Omit<MitigationDeps, 'execution'>,
    decision: 'approve' | 'deny',
  ): Promise<{ statusCode: number; body: string }> {
    const episode = `rb-${episodeHash(anomaly().id)}`;
    for (let i = 0; i < 250; i++) {
      const pending = (await deps.approvals.ofEpisode(episode)).find((r) => r.status === 'pending');
      if (pending)
        return approveAs(
          sfn,
          deps,
          { key: pending.key, decision, reason: `${decision}: checked the dashboard` },
          'alice',
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no approval was requested');
  }

  /** Answer the episode's hard-stage request again, whatever its state (a second operator, or a late one). */
  const answerWhenAskedAgain = (
    sfn: LocalStepFunctions,
    deps: Omit<MitigationDeps, 'execution'>,
    decision: 'approve' | 'deny',
  ) =>
    approveAs(
      sfn,
      deps,
      { key: `rb-${episodeHash(anomaly().id)}-approve-hard`, decision, reason: 'second look' },
      'bob',
    );

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
    expect(x!.path).toEqual([
      'Plan',
      'Apply',
      'Check regression',
      'Roll back one step',
      'Roll back one step',
      'Roll back one step',
      'Notify recovered',
    ]);
    expect(x!.result!.rolledBack).toEqual([...x!.result!.applied].reverse().map((a) => a.rollbackKey));
    expect((await flags()).size).toBe(0);
    const entries = await ledger.entries(episodeKeyOf(x!.result!.applied[0]!.rollbackKey));
    for (const a of x!.result!.applied)
      expect(
        entries
          .filter((e) => e.action.rollbackKey === a.rollbackKey)
          .map((e) => e.event)
          .sort(),
      ).toEqual(['applied', 'rolled-back']);
    expect(bus.events.peekAll().map((e) => e.detailType)).toEqual([
      ...Array(3).fill('Mitigation Action Applied'),
      ...Array(3).fill('Mitigation Action Rolled Back'),
      'Mitigation Outcome',
    ]);
    expect(alerts.published.peekAll().map((m) => m.subject)).toEqual([
      '[SEV1] acme cqs_p95 mitigation soft stage applied',
      '[SEV1] acme cqs_p95 mitigation recovered',
    ]);
    const stage = JSON.parse(alerts.published.peekAll()[0]!.body);
    expect(stage.mitigation.applied.map((a: { rollbackKey: string }) => a.rollbackKey)).toEqual(
      x!.result!.applied.map((a) => a.rollbackKey),
    );
    // Step Functions Standard bills per state transition.
    expect(x!.transitions).toBeGreaterThanOrEqual(x!.path.length);
  });

  describe('not recovered: the hard steps wait for an operator (task token)', () => {
    it('approved: the hard stage is applied with who approved it in the ledger, then handed off', async () => {
      await signalNow(0.0039);
      const { sfn, deps, ledger } = workflow();
      await sfn.start(anomaly());
      const answer = await answerWhenAsked(sfn, deps, 'approve');
      expect(answer.statusCode, answer.body).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 'approved',
        decidedBy: 'arn:aws:iam::123456789012:user/alice',
        recorded: true,
      });
      await sfn.drain();
      const [x] = [...sfn.executions.values()];
      expect(x!.result!.outcome).toBe('handed-off');
      expect(x!.path).toEqual([
        'Plan',
        'Apply',
        'Check regression',
        'Apply',
        'Await approval',
        'Apply approved steps',
        'Check regression',
        'Notify hand-off',
      ]);
      expect(new Set(x!.result!.applied.map((a) => a.step.level))).toEqual(new Set(['soft', 'hard']));
      const set = await flags();
      expect(set.get('search.rows.max')?.value).toBe(200);
      expect(set.size).toBe(x!.result!.applied.length);
      const subjects = alerts.published.peekAll().map((m) => m.subject);
      expect(subjects).toEqual([
        '[SEV1] acme cqs_p95 mitigation soft stage applied',
        '[SEV1] acme cqs_p95: approval needed for 2 step(s)',
        '[SEV1] acme cqs_p95 mitigation hard stage applied',
        '[SEV1] acme cqs_p95 mitigation handed-off',
      ]);
      // The page says what would be done, with each step's rollback key, and how to answer.
      const asked = JSON.parse(alerts.published.peekAll()[1]!.body).approval;
      expect(asked.steps.map((st: { step: string }) => st.step)).toEqual([
        'search-cost/saved-queries-only',
        'search-cost/block-expensive',
      ]);
      expect(asked.steps[0].rollbackKey).toMatch(/^rb-[0-9a-z]+-search-cost.saved-queries-only$/);
      expect(asked.approve).toContain(`npm run cli -- approve ${asked.key}`);
      // Every decision is in the ledger before the step is applied, with who decided.
      const journal = await ledger.journal(x!.result!.plan!.rollbackKey);
      const trail = journal
        .filter((e) => e.action.step.id === 'search-cost/block-expensive')
        .map((e) => [e.event, e.by ?? null]);
      expect(trail).toEqual([
        ['approval-requested', null],
        ['approved', 'arn:aws:iam::123456789012:user/alice'],
        ['intent', null],
        ['applied', null],
      ]);
    });

    it('denied: nothing of the hard stage is applied, the denial and its reason are in the ledger', async () => {
      await signalNow(0.0039);
      const { sfn, deps, ledger } = workflow();
      await sfn.start(anomaly());
      expect((await answerWhenAsked(sfn, deps, 'deny')).statusCode).toBe(200);
      await sfn.drain();
      const [x] = [...sfn.executions.values()];
      expect(x!.result!.outcome).toBe('handed-off');
      expect(x!.result!.applied.every((a) => a.step.level === 'soft')).toBe(true);
      expect((await flags()).has('search.queries.block_expensive')).toBe(false);
      const denied = (await ledger.journal(x!.result!.plan!.rollbackKey)).filter((e) => e.event === 'denied');
      expect(denied).toHaveLength(2);
      expect(denied[0]).toMatchObject({
        by: 'arn:aws:iam::123456789012:user/alice',
        note: 'deny: checked the dashboard',
      });
      // A second, different answer is refused; the same one again changes nothing.
      const again = await answerWhenAskedAgain(sfn, deps, 'approve');
      expect(again.statusCode).toBe(409);
    });

    it('no answer in time: nothing of it is applied, the request expires and the run hands off', async () => {
      await signalNow(0.0039);
      const { sfn, deps, ledger } = workflow();
      await sfn.start(anomaly());
      await sfn.drain();
      const [x] = [...sfn.executions.values()];
      expect(x!.error).toBeUndefined();
      expect(x!.path).toEqual([
        'Plan',
        'Apply',
        'Check regression',
        'Apply',
        'Await approval',
        'Approval expired',
        'Check regression',
        'Notify hand-off',
      ]);
      expect(x!.result!.applied.every((a) => a.step.level === 'soft')).toBe(true);
      const [request] = (await deps.approvals.ofEpisode(x!.result!.plan!.rollbackKey)).filter(
        (r) => r.stage === 'hard',
      );
      expect(request).toMatchObject({ status: 'expired', decidedBy: 'approval timeout' });
      const journal = await ledger.journal(x!.result!.plan!.rollbackKey);
      expect(journal.filter((e) => e.event === 'approval-expired').map((e) => e.by)).toEqual([
        'approval timeout',
        'approval timeout',
      ]);
      // Too late: the execution no longer waits; the answer is refused and nothing is applied.
      const late = await answerWhenAskedAgain(sfn, deps, 'approve');
      expect(late.statusCode).toBe(409);
      expect((await flags()).has('search.queries.block_expensive')).toBe(false);
    });
  });

  it('rolls back by key at any time, and a second rollback is harmless', async () => {
    await signalNow(0.0039);
    const { sfn } = workflow();
    await sfn.start(anomaly());
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect((await flags()).size).toBeGreaterThan(0);
    const { rollbackByKey } = await import('../../lambdas/usecases/mitigation-steps.js');
    const m = localMitigation({
      template: stackTemplate(),
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      notifier: alerts,
    });
    const first = await rollbackByKey(x!.result!.plan!.rollbackKey, { ...m.deps, now: () => NOW + 60_000 });
    expect(first.rolledBack.sort()).toEqual(x!.result!.applied.map((a) => a.rollbackKey).sort());
    expect((await flags()).size).toBe(0);
    expect(await rollbackByKey(x!.result!.plan!.rollbackKey, { ...m.deps, now: () => NOW + 120_000 })).toEqual({
      rolledBack: [],
    });
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
    await sfn.start(
      anomaly({
        correlatedChanges: [
          { id: 'rel-381', tenant: 'acme', change: 'release', ts: T0 - 8 * 60_000, offsetMinutes: 8 },
        ],
      }),
    );
    await sfn.drain();
    const [x] = [...sfn.executions.values()];
    expect(x!.result!.outcome).toBe('blocked');
    expect(x!.path).toEqual(['Plan', 'Notify blocked']);
    expect((await flags()).size).toBe(0);
    expect(JSON.parse(alerts.published.peekAll()[0]!.body).mitigation.detail).toMatch(/release/);
  });

  it('the kill switch stops automatic mitigation before any action is applied', async () => {
    await new FlagTableTarget(
      new (await import('../../lambdas/adapters/targets/slot-store.js')).DynamoDbSlotStore(h.standIns.dynamo, h.table),
    ).apply(
      {
        rollbackKey: 'rb-operator-pause',
        episodeId: 'operator',
        tenant: '*',
        step: {
          id: 'ops/pause',
          title: 'pause',
          level: 'soft',
          target: 'flag',
          flag: KILL_SWITCH_FLAG,
          value: true,
          undo: 'restore-previous',
          scope: 'platform',
        },
      },
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

  it('`mitigation pause` from the CLI blocks executions ' +
    'before any action; `resume` lets the next one act', async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(
        'npx',
        [
          'tsx',
          'bin/anomaly-guard.ts',
          'mitigation',
          ...args,
          '--table',
          h.table,
          '--endpoint',
          h.standIns.dynamoEndpoint,
        ],
        { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      );
    expect((await cli('pause', '--reason', 'INC-42 bad playbook')).stdout).toMatch(
      /automatic mitigation is PAUSED \(operator: INC-42 bad playbook, since 20\d\d-/,
    );
    expect(await killSwitchState(h.standIns.dynamo, h.table)).toMatchObject({
      paused: true,
      setBy: 'operator: INC-42 bad playbook',
    });
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
    const base = localMitigation({
      template: stackTemplate(),
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      notifier: alerts,
    }).deps.targetFor;
    let applies = 0;
    const failing = (kind: Parameters<typeof base>[0]): ActionTarget => {
      const t = base(kind);
      return {
        kind: t.kind,
        rollback: (a, n) => t.rollback(a, n),
        apply: async (a, n) =>
          ++applies === 2 ? Promise.reject(new Error('injected: target unavailable')) : t.apply(a, n),
      };
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
    const { runMitigationOp } = await import('../../lambdas/usecases/mitigation-steps.js');
    const m = localMitigation({
      template: stackTemplate(),
      dynamo: h.standIns.dynamo,
      tableName: h.table,
      notifier: alerts,
    });
    const planned = await runMitigationOp(
      {
        op: 'plan',
        state: {
          input: {
            anomaly: anomaly(),
            automatic: false,
            observationSeconds: 0,
            finalCheckSeconds: 0,
            rollbackIntervalSeconds: 0,
            approvalTimeoutSeconds: 60,
          },
        },
      },
      { ...m.deps, now: () => NOW, execution: 'dry-run' },
    );
    expect(planned.plan).toMatchObject({ allowed: true, playbook: { id: 'search-cost' } });
    expect(planned.plan!.stages.map((st) => [st.level, st.allowed])).toEqual([
      ['soft', true],
      ['hard', true],
    ]);
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

  describe(
    'write-ahead ledger: a failure between the target ' + 'call and `applied` leaves nothing applied unrecorded',
    () => {
      const ROWS = 'search.rows.max';
      /**
       * An operator's own value on the control the second soft action (rows ≤ 200) changes: what every rollback must
       * bring back.
       */
      const operatorValue = async () => {
        const step = {
          id: 'ops/rows-default',
          title: 'rows default',
          level: 'soft' as const,
          target: 'flag' as const,
          flag: ROWS,
          value: 1000,
          undo: 'restore-previous' as const,
        };
        await new FlagTableTarget(h.standIns.dynamo, h.table).apply(
          { rollbackKey: OWNER, episodeId: 'operator', tenant: 'acme', step },
          NOW - 3_600_000,
        );
      };
      const OWNER = 'rb-operator-search-defaults';
      const rowsFlag = async () => (await flags()).get(ROWS);

      type Fault =
        | 'target changes the control, then fails (converge)'
        | 'the `applied` put is throttled'
        | 'the task times out after the target call';
      const FAULTS: Fault[] = [
        'target changes the control, then fails (converge)',
        'the `applied` put is throttled',
        'the task times out after the target call',
      ];

      /**
       * The real flag-table target and the real ledger on dynalite, with one fault at the second action (rows-limit).
       */
      function faulty(fault: Fault): MitigationDeps {
        const base = localMitigation({
          template: stackTemplate(),
          dynamo: h.standIns.dynamo,
          tableName: h.table,
          notifier: alerts,
        }).deps;
        const real = new DynamoDbActionLedger(h.standIns.dynamo, h.table);
        const isRows = (key: string) => key.endsWith('rows-limit');
        const ledger: ActionLedger = {
          entries: (k) => real.entries(k),
          journal: (k) => real.journal(k),
          halt: (k, by, at) => real.halt(k, by, at),
          halted: (k) => real.halted(k),
          record: async (e) => {
            if (e.event === 'applied' && isRows(e.action.rollbackKey)) {
              if (fault === 'the `applied` put is throttled')
                throw Object.assign(new Error('injected: Rate of requests exceeds the allowed throughput'), {
                  name: 'ThrottlingException',
                });
              if (fault === 'the task times out after the target call') return new Promise<void>(() => {});
            }
            return real.record(e);
          },
        };
        const targetFor: MitigationDeps['targetFor'] = (kind) => {
          const t = base.targetFor(kind);
          if (fault !== 'target changes the control, then fails (converge)') return t;
          return {
            kind: t.kind,
            rollback: (a, n) => t.rollback(a, n),
            apply: async (a, n) => {
              const done = await t.apply(a, n);
              if (isRows(a.rollbackKey))
                throw new Error('injected: ConcurrentUpdateError: the stored value kept moving while writing it');
              return done;
            },
          };
        };
        return { ...base, ledger, targetFor, now: () => NOW, execution: 'exec-1' };
      }

      /**
       * Plan, then Apply until the fault; returns the state Apply started from (what the Catch hands to rollback-all).
       */
      async function applyUntilFault(deps: MitigationDeps): Promise<WorkflowState> {
        const input = {
          anomaly: anomaly(),
          automatic: true,
          observationSeconds: 0,
          finalCheckSeconds: 0,
          rollbackIntervalSeconds: 0,
          approvalTimeoutSeconds: 60,
        };
        const planned = await runMitigationOp({ op: 'plan', state: { input } }, deps);
        // A Lambda killed at its timeout: the task's promise never settles; Step Functions reports States.Timeout.
        const timeout = new Promise<never>((_, reject) =>
          setTimeout(() => reject(Object.assign(new Error('Task timed out'), { name: 'States.Timeout' })), 1500),
        );
        await expect(Promise.race([runMitigationOp({ op: 'apply', state: planned }, deps), timeout])).rejects.toThrow(
          /injected|timed out/,
        );
        expect((await rowsFlag())?.value, 'the fault struck after the control changed').toBe(200);
        return planned;
      }

      async function expectUndone(deps: MitigationDeps, planned: WorkflowState) {
        expect(await rowsFlag()).toMatchObject({ value: 1000, setBy: OWNER });
        expect((await flags()).size, 'the first action (cache TTL) is undone too').toBe(1);
        const journal = await deps.ledger.journal(planned.plan!.rollbackKey);
        const rows = journal.filter((e) => e.action.rollbackKey.endsWith('rows-limit')).map((e) => e.event);
        expect(rows).toEqual(['intent', 'rolled-back']);
        const ttl = journal.filter((e) => e.action.rollbackKey.endsWith('cache-ttl')).map((e) => e.event);
        expect(ttl).toEqual(['intent', 'applied', 'rolled-back']);
        // The third action was never started: no intent, nothing to undo.
        expect(journal.some((e) => e.action.rollbackKey.endsWith('facet-limit'))).toBe(false);
      }

      it.each(FAULTS)('%s: the failure path (Roll back everything) restores the control', async (fault) => {
        await operatorValue();
        const deps = faulty(fault);
        const planned = await applyUntilFault(deps);
        const after = await runMitigationOp(
          {
            op: 'rollback-all',
            state: { ...planned, error: { Error: 'MitigationFailed', Cause: fault } } as WorkflowState,
          },
          deps,
        );
        expect(after.rolledBack.sort()).toEqual(
          planned
            .plan!.stages[0]!.actions.slice(0, 2)
            .map((a) => a.rollbackKey)
            .sort(),
        );
        await expectUndone(deps, planned);
      });

      it.each(FAULTS)('%s: rollback by the episode key (the API route) restores the control', async (fault) => {
        await operatorValue();
        const deps = faulty(fault);
        const planned = await applyUntilFault(deps);
        const done = await rollbackByKey(planned.plan!.rollbackKey, { ...deps, execution: 'api:operator' });
        expect(done.rolledBack.length).toBe(2);
        await expectUndone(deps, planned);
        // Again: nothing is outstanding, nothing changes.
        expect(await rollbackByKey(planned.plan!.rollbackKey, deps)).toEqual({ rolledBack: [] });
      });

      it(
        'rolling back an action whose apply never happened leaves the control alone, and a late apply is then a ' +
          'no-op',
        async () => {
          await operatorValue();
          const deps = faulty('the `applied` put is throttled');
          const input = {
            anomaly: anomaly(),
            automatic: true,
            observationSeconds: 0,
            finalCheckSeconds: 0,
            rollbackIntervalSeconds: 0,
            approvalTimeoutSeconds: 60,
          };
          const planned = await runMitigationOp({ op: 'plan', state: { input } }, deps);
          const rows = planned.plan!.stages[0]!.actions.find((a) => a.rollbackKey.endsWith('rows-limit'))!;
          // The intent landed, the target call did not (the task died in between).
          await deps.ledger.record({
            event: 'intent',
            at: NOW,
            action: { ...rows, previous: null, appliedAt: NOW },
            execution: 'exec-1',
          });
          expect(await rollbackByKey(rows.rollbackKey, deps)).toEqual({ rolledBack: [rows.rollbackKey] });
          expect(await rowsFlag()).toMatchObject({ value: 1000, setBy: OWNER });
          // A retry of the crashed apply arriving after the rollback must not re-apply it.
          await deps.targetFor('flag').apply(rows, NOW + 1000);
          expect((await rowsFlag())?.value).toBe(1000);
        },
      );

      it(
        'through the state machine: the target changes the control then fails → everything is rolled back, the ' +
          'control is as before',
        async () => {
          await operatorValue();
          await signalNow(0.0039);
          const deps = faulty('target changes the control, then fails (converge)');
          const { sfn } = workflow({ targetFor: deps.targetFor });
          await sfn.start(anomaly());
          await sfn.drain();
          const [x] = [...sfn.executions.values()];
          expect(x!.status).toBe('FAILED');
          expect(x!.path).toEqual(['Plan', 'Apply', 'Roll back everything', 'Notify failed']);
          expect(await rowsFlag()).toMatchObject({ value: 1000, setBy: OWNER });
          expect((await flags()).size).toBe(1);
        },
      );
    },
  );

  describe('the kill switch is read again before every action', () => {
    /** The flag-table target, flipping the real kill switch right after the first action lands. */
    function flipAfterFirst() {
      const base = localMitigation({
        template: stackTemplate(),
        dynamo: h.standIns.dynamo,
        tableName: h.table,
        notifier: alerts,
      }).deps.targetFor;
      let applies = 0;
      return (kind: Parameters<typeof base>[0]): ActionTarget => {
        const t = base(kind);
        return {
          kind: t.kind,
          rollback: (a, n) => t.rollback(a, n),
          apply: async (a, n) => {
            const done = await t.apply(a, n);
            if (++applies === 1) await setKillSwitch(h.standIns.dynamo, h.table, true, 'INC-77 pause', NOW);
            return done;
          },
        };
      };
    }

    it(
      'switched on between two actions of a stage: the second is not applied; the run hands off with the first in ' +
        'place',
      async () => {
        await signalNow(0.0025);
        const { sfn, ledger, bus } = workflow({ targetFor: flipAfterFirst() });
        await sfn.start(anomaly());
        await sfn.drain();
        const [x] = [...sfn.executions.values()];
        expect(x!.status).toBe('SUCCEEDED');
        expect(x!.path).toEqual(['Plan', 'Apply', 'Notify hand-off']);
        expect(x!.result!.outcome).toBe('handed-off');
        // Only the first action (cache TTL) is in place; pausing does not undo it (runbook §6).
        expect([...(await flags()).keys()]).toEqual(['search.cache.ttl_seconds']);
        const journal = await ledger.journal(x!.result!.plan!.rollbackKey);
        expect(new Set(journal.map((e) => e.action.step.id))).toEqual(new Set(['search-cost/cache-ttl']));
        expect(bus.events.peekAll().filter((e) => e.detailType === 'Mitigation Action Applied')).toHaveLength(1);
        const notice = JSON.parse(alerts.published.peekAll().at(-1)!.body).mitigation;
        expect(notice.outcome).toBe('handed-off');
        expect(notice.detail).toMatch(/kill switch/);
        expect(notice.applied).toEqual([journal[0]!.action.rollbackKey]);
      },
    );

    it('an operator-started execution is not paused (the kill switch pauses automatic apply only)', async () => {
      await signalNow(0.0039);
      const { sfn } = workflow({ targetFor: flipAfterFirst() });
      await sfn.start(anomaly(), { automatic: false });
      await sfn.drain();
      const [x] = [...sfn.executions.values()];
      expect(x!.result!.applied.filter((a) => a.step.level === 'soft')).toHaveLength(3);
    });
  });

  describe('POST /v1/anomaly/rollback halts first', () => {
    it(
      'an execution that has started but recorded nothing is halted and stopped (202, not 404), and applies ' +
        'nothing that stays',
      async () => {
        await signalNow(0.0025);
        // Hold the Apply task right after its halt check, before it records anything.
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let reads = 0;
        let entered!: () => void;
        const inApply = new Promise<void>((r) => (entered = r));
        const { sfn, ledger, deps } = workflow({
          killSwitch: async () => {
            if (++reads === 2) {
              entered();
              await gate;
            }
            return false;
          },
        });
        const api = localOperatorApi({
          dynamo: h.standIns.dynamo,
          tableName: h.table,
          stepFunctions: sfn,
          mitigationDeps: deps,
        });
        await sfn.start(anomaly());
        await inApply;
        const rbKey = `rb-${episodeHash(anomaly().id)}`;
        expect(await ledger.journal(rbKey)).toEqual([]);
        const res = await api.rollback({
          body: JSON.stringify({ key: rbKey }),
          isBase64Encoded: false,
          headers: { 'content-type': 'application/json' },
          queryStringParameters: null,
        });
        expect(res.statusCode).toBe(202);
        expect(JSON.parse(res.body)).toMatchObject({
          key: rbKey,
          status: 'nothing-applied',
          outstanding: [],
          halted: true,
          stoppedExecution: true,
        });
        release();
        await sfn.drain();
        expect([...sfn.executions.values()][0]!.status).toBe('ABORTED');
        // The task went on (a stopped execution does not stop a running Lambda), applied one action, saw the halt and
        // undid it.
        expect((await flags()).size).toBe(0);
        const journal = await ledger.journal(rbKey);
        expect(journal.map((e) => e.event)).toEqual(['intent', 'applied', 'rolled-back']);
      },
    );

    it('404 for an episode key nobody knows, and no halt marker is left for it', async () => {
      const { sfn, ledger, deps } = workflow();
      const api = localOperatorApi({
        dynamo: h.standIns.dynamo,
        tableName: h.table,
        stepFunctions: sfn,
        mitigationDeps: deps,
      });
      const res = await api.rollback({
        body: JSON.stringify({ key: 'rb-0000abcd' }),
        isBase64Encoded: false,
        headers: { 'content-type': 'application/json' },
        queryStringParameters: null,
      });
      expect(res.statusCode).toBe(404);
      expect(await ledger.halted('rb-0000abcd')).toBe(false);
    });
  });
});
