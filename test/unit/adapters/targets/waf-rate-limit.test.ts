import type { WebACL } from '@aws-sdk/client-wafv2';
import { beforeEach, describe, expect, it } from 'vitest';
import { InMemorySlotStore } from '../../../../lambdas/adapters/in-memory/slot-store.js';
import {
  WAF_LOCK_RETRIES,
  WafRateLimitTarget,
  type WafRateLimitConfig,
} from '../../../../lambdas/adapters/targets/waf-rate-limit.js';
import { action, FakeWaf, mutations } from './fakes.js';

const T = Date.parse('2026-11-22T10:05:00Z');

const ACL: WebACL = {
  Name: 'edge-acl',
  Id: 'a1b2c3d4-0000-1111-2222-333344445555',
  ARN: 'arn:aws:wafv2:us-east-1:111122223333:regional/webacl/edge-acl/a1b2c3d4-0000-1111-2222-333344445555',
  DefaultAction: { Allow: {} },
  Description: 'public API',
  VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'edge-acl' },
  CustomResponseBodies: { slow: { ContentType: 'APPLICATION_JSON', Content: '{"error":"slow down"}' } },
  TokenDomains: ['example.com'],
  Capacity: 12,
  Rules: [
    {
      Name: 'per-ip',
      Priority: 0,
      Action: { Block: {} },
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'per-ip' },
      Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
    },
    {
      Name: 'search-per-ip',
      Priority: 1,
      Action: { Block: {} },
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'search-per-ip' },
      Statement: {
        RateBasedStatement: {
          Limit: 1000,
          AggregateKeyType: 'IP',
          ScopeDownStatement: {
            ByteMatchStatement: {
              SearchString: new TextEncoder().encode('/search'),
              FieldToMatch: { UriPath: {} },
              PositionalConstraint: 'STARTS_WITH',
              TextTransformations: [{ Priority: 0, Type: 'NONE' }],
            },
          },
        },
      },
    },
  ],
};

const CONFIG: WafRateLimitConfig = {
  webAclName: 'edge-acl',
  webAclId: ACL.Id!,
  scope: 'REGIONAL',
  ruleNames: ['per-ip', 'search-per-ip'],
};

const step = (value: unknown, flag = 'search-per-ip') => ({
  target: 'waf-rate-limit' as const,
  flag,
  value: value as number,
});

describe('WAFv2 rate-based rule limit target', () => {
  let waf: FakeWaf;
  let slots: InMemorySlotStore;
  let target: WafRateLimitTarget;
  beforeEach(() => {
    waf = new FakeWaf(ACL);
    slots = new InMemorySlotStore();
    target = new WafRateLimitTarget(waf.client, CONFIG, slots);
  });

  it(
    'reads the ACL, sends it back whole with only the rule limit changed and the lock token, and reports the old ' +
      'limit',
    async () => {
      const a = action(step(200), { rollbackKey: 'rb-1' });
      const applied = await target.apply(a, T);

      expect(applied).toEqual({ ...a, previous: 1000, appliedAt: T });
      expect(waf.calls.map((c) => c.command)).toEqual(['GetWebACL', 'UpdateWebACL']);
      expect(waf.calls[0]!.input).toEqual({ Name: 'edge-acl', Scope: 'REGIONAL', Id: ACL.Id });
      const update = waf.calls[1]!.input;
      const expectedRules = structuredClone(ACL.Rules!);
      expectedRules[1]!.Statement!.RateBasedStatement!.Limit = 200;
      expect(update).toEqual({
        Name: 'edge-acl',
        Scope: 'REGIONAL',
        Id: ACL.Id,
        DefaultAction: { Allow: {} },
        Description: 'public API',
        Rules: expectedRules,
        VisibilityConfig: ACL.VisibilityConfig,
        CustomResponseBodies: ACL.CustomResponseBodies,
        TokenDomains: ['example.com'],
        LockToken: 'lock-1',
      });
      expect(waf.limit('search-per-ip')).toBe(200);
      expect(waf.limit('per-ip')).toBe(2000);
    },
  );

  it('a second apply of the same action sends no update and returns the same result', async () => {
    const a = action(step(200));
    const first = await target.apply(a, T);
    waf.calls.length = 0;
    const second = await target.apply(a, T + 60_000);
    expect(second).toEqual(first);
    expect(mutations(waf.calls)).toEqual([]);
  });

  it('rollback restores the old limit once; a second rollback sends nothing', async () => {
    const applied = await target.apply(action(step(200)), T);
    await target.rollback(applied, T + 900_000);
    expect(waf.limit('search-per-ip')).toBe(1000);
    const updates = mutations(waf.calls);
    expect(updates).toHaveLength(2);
    expect(updates[1]!.input.Rules[1].Statement.RateBasedStatement.Limit).toBe(1000);

    waf.calls.length = 0;
    await expect(target.rollbackWithOutcome(applied, T + 960_000)).resolves.toBe('already-rolled-back');
    expect(mutations(waf.calls)).toEqual([]);
  });

  it('retries on WAFOptimisticLockException with a fresh read and lock token', async () => {
    waf.conflicts = 2;
    await target.apply(action(step(300)), T);
    expect(waf.calls.map((c) => c.command)).toEqual([
      'GetWebACL',
      'UpdateWebACL',
      'GetWebACL',
      'UpdateWebACL',
      'GetWebACL',
      'UpdateWebACL',
    ]);
    const tokens = waf.calls.filter((c) => c.command === 'UpdateWebACL').map((c) => c.input.LockToken);
    expect(new Set(tokens).size).toBe(3);
    expect(waf.limit('search-per-ip')).toBe(300);
  });

  it('gives up after repeated lock conflicts with a retryable error, and the next apply finishes the job', async () => {
    waf.conflicts = WAF_LOCK_RETRIES;
    const a = action(step(300));
    await expect(target.apply(a, T)).rejects.toMatchObject({ name: 'ConcurrentUpdateError' });
    expect(waf.limit('search-per-ip')).toBe(1000);

    const applied = await target.apply(a, T + 30_000);
    expect(waf.limit('search-per-ip')).toBe(300);
    expect(applied.previous).toBe(1000);
    expect(applied.appliedAt).toBe(T); // the first attempt recorded it
  });

  it('rejects rules that are not configured, and non-integer limits, before any request', async () => {
    await expect(target.apply(action(step(100, 'admin-per-ip')), T)).rejects.toMatchObject({
      name: 'ResourceNotAllowedError',
      message: expect.stringContaining("'admin-per-ip' is not among the configured resources (waf.ruleNames"),
    });
    await expect(target.apply(action(step(12.5)), T)).rejects.toMatchObject({ name: 'InvalidStepError' });
    await expect(target.apply(action(step('100')), T)).rejects.toMatchObject({ name: 'InvalidStepError' });
    expect(waf.calls).toEqual([]);
  });

  it('does not overwrite a limit someone changed by hand after the action', async () => {
    const applied = await target.apply(action(step(200)), T);
    waf.setLimit('search-per-ip', 800);
    waf.calls.length = 0;
    await expect(target.rollbackWithOutcome(applied, T + 900_000)).resolves.toBe('not-owned');
    expect(mutations(waf.calls)).toEqual([]);
    expect(waf.limit('search-per-ip')).toBe(800);
  });

  it(
    'two actions on one rule: rolling back the older first ' + 'keeps the newer limit, then the original comes back',
    async () => {
      const older = await target.apply(action(step(500), { rollbackKey: 'ep1/limit' }), T);
      const newer = await target.apply(action(step(100), { rollbackKey: 'ep2/limit' }), T + 60_000);
      expect([older.previous, newer.previous]).toEqual([1000, 500]);
      expect(waf.limit('search-per-ip')).toBe(100);

      await expect(target.rollbackWithOutcome(older, T + 120_000)).resolves.toBe('superseded');
      expect(waf.limit('search-per-ip')).toBe(100);
      await expect(target.rollbackWithOutcome(newer, T + 180_000)).resolves.toBe('restored');
      expect(waf.limit('search-per-ip')).toBe(1000);
    },
  );

  it(
    'a push that lands late (after a newer action’s) is ' + 'chased: the live limit ends at what the stack says',
    async () => {
      // A's UpdateWebACL is held in flight while B applies completely; then A's update arrives.
      let b: Promise<unknown> | undefined;
      waf.beforeNextUpdate = async () => {
        b = target.apply(action(step(100), { rollbackKey: 'k-b' }), T + 1);
        await b;
      };
      const a = await target.apply(action(step(500), { rollbackKey: 'k-a' }), T);
      await b;
      expect(a.previous).toBe(1000);
      expect(waf.limit('search-per-ip')).toBe(100);
      const stored = await slots.get({ pk: 'ctl#waf-rate-limit', sk: `REGIONAL/edge-acl/${ACL.Id}/search-per-ip` });
      expect(stored!.state.layers.map((l) => [l.key, l.value])).toEqual([
        ['k-a', 500],
        ['k-b', 100],
      ]);
      expect(stored!.pending).toBe(false);
    },
  );

  it('two applies racing on one rule both land, and the live limit ends at the stacked value', async () => {
    const [a, b] = await Promise.all([
      target.apply(action(step(500), { rollbackKey: 'k-a' }), T),
      target.apply(action(step(100), { rollbackKey: 'k-b' }), T),
    ]);
    const stored = await slots.get({ pk: 'ctl#waf-rate-limit', sk: `REGIONAL/edge-acl/${ACL.Id}/search-per-ip` });
    expect(stored!.state.layers.map((l) => l.key).sort()).toEqual(['k-a', 'k-b']);
    expect(stored!.pending).toBe(false);
    const top = stored!.state.layers.at(-1)!;
    expect(waf.limit('search-per-ip')).toBe(top.value);
    expect([a.previous, b.previous]).toContain(1000);

    await Promise.all([target.rollback(a, T + 1), target.rollback(b, T + 1)]);
    expect(waf.limit('search-per-ip')).toBe(1000);
  });
});
