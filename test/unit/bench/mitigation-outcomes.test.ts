/**
 * The mitigation-outcome replay of the scenario suite (bench/quality/mitigation-outcomes.ts) on
 * small synthetic series: how an execution ends depends only on where the signal is at the
 * regression checks, and the state transitions come from walking the synthesized state machine.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import type { Observation } from '../../../lambdas/core/observations.js';
import { InMemoryChangeStore } from '../../../lambdas/adapters/in-memory/change-store.js';
import { DEFAULT_MITIGATION_TIMINGS } from '../../../lambdas/adapters/mitigation-starter.js';
import {
  CONSUMER_DELAY_MS,
  KeySeries,
  latestMinute,
  replayMitigation,
  summarizeOutcomes,
  triggerTime,
  type MitigationOutcome,
  type ReplayEnvironment,
} from '../../../bench/quality/mitigation-outcomes.js';
import type { Label } from '../../../bench/quality/scenario.js';
import {
  synthesizedMitigationDefinition,
  walkStateMachine,
  type AslDefinition,
} from '../../../bench/quality/state-machine.js';
import { anomaly as baseAnomaly, MINUTE, T0 } from '../core/mitigation/fixtures.js';

const KEY = 'acme#ingest_rpm';
const BASE = 1000;
const SURGE = 5000;
const { observationSeconds, finalCheckSeconds, rollbackIntervalSeconds, approvalTimeoutSeconds } =
  DEFAULT_MITIGATION_TIMINGS;

/** An ingest surge on acme from T0; `valueAt` gives the signal at every 20-s sample. */
function series(valueAt: (t: number) => number, signal = 'ingest_rpm'): KeySeries {
  const obs: Observation[] = [];
  const key = `acme#${signal}`;
  for (let t = T0 - 2 * 60 * MINUTE, i = 0; t < T0 + 4 * 60 * MINUTE; t += 20_000, i++)
    obs.push({ key, tenant: 'acme', signal, ts: t, value: valueAt(t), id: `m-${i}` });
  return new KeySeries(new Map([[key, obs]]));
}
const surgeUntil = (end: number) => (t: number) => (t >= T0 && t < end ? SURGE : BASE);

function surge(over: Partial<Anomaly> = {}): Anomaly {
  return baseAnomaly({
    signal: 'ingest_rpm',
    class: 'tenant',
    start: T0,
    detectedAt: T0 + 2 * MINUTE,
    expected: BASE,
    observed: SURGE,
    band: { lo: 850, hi: 1200 },
    change: '+400%',
    ...over,
  });
}

function label(end: number, over: Partial<Label> = {}): Label {
  return {
    id: 'ingest-01',
    kind: 'ingest_surge',
    tenants: ['acme'],
    signals: ['ingest_rpm'],
    primary: 'ingest_rpm',
    start: T0,
    end,
    highCost: true,
    expectedDecision: 'mitigate',
    expectedClass: 'tenant',
    detail: '',
    ...over,
  };
}

let definition: AslDefinition;
const env = (s: KeySeries, changes = new InMemoryChangeStore()): ReplayEnvironment => ({
  definition,
  series: s,
  changes,
});

beforeAll(() => {
  definition = synthesizedMitigationDefinition();
});

describe('mitigation outcome replay (synthetic series, default timings)', () => {
  const started = triggerTime(surge());
  const firstCheck = started + observationSeconds * 1000;

  it('starts when the confirming minute has closed (+ 1 min + 2 min lateness + the consumer delay)', () => {
    expect(started).toBe(T0 + 2 * MINUTE + MINUTE + 2 * MINUTE + CONSUMER_DELAY_MS);
  });

  it(
    'an incident over before the first check recovers there: staged rollback of the 3 soft steps, 17 transitions ' +
      '(the README figure)',
    async () => {
      const o = await replayMitigation(
        { anomaly: surge(), label: label(T0 + 12 * MINUTE) },
        env(series(surgeUntil(T0 + 12 * MINUTE))),
      );
      expect(o.outcome).toBe('recovered');
      expect(o.playbook).toBe('ingest-surge');
      expect(o.stages).toEqual([{ level: 'soft', at: started, actions: 3 }]);
      expect(o.checks.map((c) => [c.at, c.transition])).toEqual([[firstCheck, 'rollback']]);
      expect(o.recoveryDecisionAt! - o.startedAt).toBe(15 * MINUTE);
      expect(o.rollbackSteps).toBe(3);
      // Newest first, one per interval: the last one two intervals after the first.
      expect(o.lastRollbackAt).toBe(firstCheck + 2 * rollbackIntervalSeconds * 1000);
      expect(o.transitions).toBe(17);
      expect(o.path).toEqual([
        'Plan',
        'Allowed?',
        'Apply',
        'Approval needed?',
        'Observe',
        'Check regression',
        'Recovered?',
        'Roll back one step',
        'More to roll back?',
        'Wait between rollback steps',
        'Roll back one step',
        'More to roll back?',
        'Wait between rollback steps',
        'Roll back one step',
        'More to roll back?',
        'Notify recovered',
        'Recovered',
      ]);
    },
  );

  it(
    'an incident longer than the observation + final ' + 'check period is handed off with the actions in place',
    async () => {
      const end = T0 + 3 * 60 * MINUTE;
      expect(end - started).toBeGreaterThan((observationSeconds + finalCheckSeconds) * 1000);
      const o = await replayMitigation({ anomaly: surge(), label: label(end) }, env(series(surgeUntil(end))));
      expect(o.outcome).toBe('handed-off');
      // Not recovered after soft → the hard steps wait for a person; nobody answers in 15 min → nothing more is
      // applied → not recovered after the last stage → on-call, with the soft actions in place.
      expect(o.stages.map((s) => [s.level, s.actions])).toEqual([
        ['soft', 3],
        ['hard', 0],
      ]);
      expect(o.path).toContain('Approval expired');
      expect(o.checks.map((c) => c.transition)).toEqual(['escalate', 'hand-off']);
      expect(o.reason).toMatch(/not recovered after the hard stage/);
      expect(o.rollbackSteps).toBe(0);
      expect(o.lastRollbackAt).toBeUndefined();
      expect(o.endedAt - o.startedAt).toBe((2 * observationSeconds + approvalTimeoutSeconds!) * 1000);
      expect(o.path.at(-1)).toBe('Handed off');
      // An operator who approves after 2 minutes: the hard stage's 2 steps are applied, then handed off.
      const approved = await replayMitigation(
        { anomaly: surge(), label: label(end) },
        { ...env(series(surgeUntil(end))), operator: { approvesAfterSeconds: 120 } },
      );
      expect(approved.stages.map((s) => [s.level, s.actions])).toEqual([
        ['soft', 3],
        ['hard', 2],
      ]);
      expect(approved.path).toContain('Apply approved steps');
      expect(approved.outcome).toBe('handed-off');
      expect(approved.endedAt - approved.startedAt).toBe((2 * observationSeconds + 120) * 1000);
    },
  );

  it(
    'a soft-only (campaign) anomaly that does not recover is handed off at the first check: the guardrails forbid ' +
      'the hard stage',
    async () => {
      const end = T0 + 3 * 60 * MINUTE;
      const o = await replayMitigation({ anomaly: surge({ softOnly: true }) }, env(series(surgeUntil(end))));
      expect(o.outcome).toBe('handed-off');
      expect(o.group).toBe('no-label');
      expect(o.stages.map((s) => s.level)).toEqual(['soft']);
      expect(o.reason).toMatch(/campaign-soft-only/);
      expect(o.transitions).toBe(9);
    },
  );

  it(
    'an incident that ends between the first check and the one after the hard stage: escalated, then recovered, ' +
      'all 5 actions rolled back',
    async () => {
      const end = T0 + 28 * MINUTE;
      const o = await replayMitigation(
        { anomaly: surge(), label: label(end) },
        { ...env(series(surgeUntil(end))), operator: { approvesAfterSeconds: 120 } },
      );
      expect(o.outcome).toBe('escalated-recovered');
      expect(o.checks.map((c) => [c.at - started, c.transition])).toEqual([
        [observationSeconds * 1000, 'escalate'],
        [(2 * observationSeconds + 120) * 1000, 'rollback'],
      ]);
      expect(o.rollbackSteps).toBe(5);
      expect(o.lastRollbackAt! - o.recoveryDecisionAt!).toBe(4 * rollbackIntervalSeconds * 1000);
      expect(o.transitions).toBe(31);
    },
  );

  it('improving at the first check: no escalation, the final check decides (recovered here)', async () => {
    // 20 % down from the peak but most of the excess still there: "improving", not recovered.
    const valueAt = (t: number) => (t < T0 ? BASE : t < T0 + 15 * MINUTE ? SURGE : t < T0 + 50 * MINUTE ? 4000 : BASE);
    const o = await replayMitigation({ anomaly: surge(), label: label(T0 + 50 * MINUTE) }, env(series(valueAt)));
    expect(o.outcome).toBe('recovered');
    expect(o.checks.map((c) => [c.at - started, c.transition])).toEqual([
      [observationSeconds * 1000, 'observe'],
      [(observationSeconds + finalCheckSeconds) * 1000, 'rollback'],
    ]);
    expect(o.stages.map((s) => s.level)).toEqual(['soft']);
    expect(o.transitions).toBe(20);
  });

  it('still improving at the final check: handed off without escalating', async () => {
    const valueAt = (t: number) => (t < T0 ? BASE : t < T0 + 15 * MINUTE ? SURGE : 4000);
    const o = await replayMitigation({ anomaly: surge() }, env(series(valueAt)));
    expect(o.outcome).toBe('handed-off');
    expect(o.checks.map((c) => c.transition)).toEqual(['observe', 'hand-off']);
    expect(o.reason).toMatch(/though improving/);
  });

  /** Edge p95 +60 % for 3 hours on the tenants given (the incident's size the guardrails read). */
  const originBottleneck = (tenants: string[]) => {
    const end = T0 + 3 * 60 * MINUTE;
    const edge = surge({
      signal: 'edge_p95_ms',
      class: 'infra',
      expected: 100,
      observed: 160,
      band: { lo: 85, hi: 118 },
      change: '+60%',
    });
    return replayMitigation(
      { anomaly: edge, label: label(end, { kind: 'origin_bottleneck', signals: ['edge_p95_ms'] }) },
      {
        ...env(series((t) => (t >= T0 && t < end ? 160 : 100), 'edge_p95_ms')),
        anomalies: { tenantsWithAnomaly: async () => tenants },
      },
    );
  };

  it(
    'edge p95 below its absolute target (300 ms) counts as recovered at the first check even while the incident ' +
      'runs',
    async () => {
      // An origin bottleneck on three tenants: its platform-wide soft steps pass the blast-radius guardrail.
      const o = await originBottleneck(['acme', 'globex', 'initech']);
      expect(o.playbook).toBe('origin-bottleneck');
      expect(o.outcome).toBe('recovered');
      expect(o.checks).toHaveLength(1);
      expect(o.checks[0]).toMatchObject({ transition: 'rollback', inBand: false, targetMet: true, targetOnly: true });
      // The CDN invalidation has nothing to undo: one rollback step for two soft actions.
      expect(o.stages).toEqual([{ level: 'soft', at: started, actions: 2 }]);
      expect(o.rollbackSteps).toBe(1);
      expect(o.transitions).toBe(11);
    },
  );

  it(
    'the same origin bottleneck on one tenant only applies nothing by itself: its platform-wide steps wait for an ' +
      'approval, and with no answer the run hands off',
    async () => {
      const o = await originBottleneck(['acme']);
      expect(o.outcome).toBe('handed-off');
      expect(o.stages).toEqual([{ level: 'soft', at: started, actions: 0 }]);
      expect(o.path).toEqual(expect.arrayContaining(['Await approval', 'Approval expired', 'Notify hand-off']));
    },
  );

  it('a release within 30 min blocks the automatic mitigation before anything is applied', async () => {
    const changes = new InMemoryChangeStore();
    await changes.put([
      { v: 1, type: 'change', id: 'rel-1', ts: T0 - 10 * MINUTE, tenant: 'acme', change: 'release' } as never,
    ]);
    const o = await replayMitigation({ anomaly: surge() }, env(series(surgeUntil(T0 + 12 * MINUTE)), changes));
    expect(o.outcome).toBe('blocked');
    expect(o.stages).toEqual([]);
    expect(o.checks).toEqual([]);
    expect(o.reason).toMatch(/release-prefers-rollback/);
    expect(o.transitions).toBe(4);
  });
});

describe('what the Check task reads', () => {
  it('the newest minute bucket, even one still filling', () => {
    const s = series((t) => (t >= T0 ? 2000 : BASE));
    // 5 s into T0's minute: only the sample stamped at T0 is in it.
    expect(latestMinute(s, KEY, T0 + 5_000)).toEqual({ ts: T0, observed: 2000, n: 1 });
    // Just before: the complete previous minute.
    expect(latestMinute(s, KEY, T0 - 1)).toEqual({ ts: T0 - MINUTE, observed: BASE, n: 3 });
    expect(latestMinute(s, 'other#key', T0)).toBeUndefined();
  });
});

describe('summary', () => {
  it('every execution ends in exactly one outcome; shares sum to 1; incidents take their worst ending', async () => {
    const long = T0 + 3 * 60 * MINUTE;
    const short = T0 + 12 * MINUTE;
    const outcomes: MitigationOutcome[] = [
      await replayMitigation({ anomaly: surge(), label: label(short, { id: 'a' }) }, env(series(surgeUntil(short)))),
      await replayMitigation({ anomaly: surge(), label: label(long, { id: 'b' }) }, env(series(surgeUntil(long)))),
      await replayMitigation({ anomaly: surge(), label: label(short, { id: 'b' }) }, env(series(surgeUntil(short)))),
      await replayMitigation(
        { anomaly: surge({ softOnly: true }), label: label(long, { id: 'c', kind: 'campaign', highCost: false }) },
        env(series(surgeUntil(long))),
      ),
    ];
    const s = summarizeOutcomes(outcomes);
    expect(s.n).toBe(4);
    expect(Object.values(s.counts).reduce((a, b) => a + b, 0)).toBe(4);
    expect(Object.values(s.shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(s.counts).toMatchObject({ recovered: 2, 'handed-off': 2, 'escalated-recovered': 0, blocked: 0 });
    expect(s.byGroup['high-cost'].n).toBe(3);
    expect(s.byGroup['other-label'].counts['handed-off']).toBe(1);
    expect(s.incidents).toEqual({ n: 3, allRecovered: 1, escalatedThenRecovered: 0, handedOff: 2, blocked: 0 });
    expect(s.toRecoveryDecisionMs).toMatchObject({ n: 2, p50: 15 * MINUTE });
    expect(s.transitions.total).toBe(s.paths.reduce((a, p) => a + p.n * p.transitions, 0));
    expect(s.openLoop.endedByFirstCheck).toBe(2);
    expect(s.openLoop.endedByFirstCheckRecovered).toBe(2);
  });
});

describe('state machine walker', () => {
  it('refuses what it cannot walk faithfully', async () => {
    const clock = { now: () => 0, advance: () => {} };
    const def: AslDefinition = {
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.x', StringMatches: 'a*', Next: 'E' } as never], Default: 'E' },
        E: { Type: 'Succeed' },
      },
    };
    await expect(walkStateMachine(def, { x: 'a' }, async (_, s) => s, clock)).rejects.toThrow(
      /unsupported Choice rule/,
    );
    await expect(
      walkStateMachine(
        { StartAt: 'M', States: { M: { Type: 'Map', Next: 'E' }, E: { Type: 'Succeed' } } },
        {},
        async (_, s) => s,
        clock,
      ),
    ).rejects.toThrow(/unsupported state type Map/);
  });
});
