import { beforeEach, describe, expect, it } from 'vitest';
import { InMemorySlotStore } from '../../../../lambdas/adapters/in-memory/slot-store.js';
import { UsagePlanTarget, type UsagePlanConfig } from '../../../../lambdas/adapters/targets/usage-plan.js';
import { action, FakeApiGateway, mutations } from './fakes.js';

const T = Date.parse('2026-11-22T10:05:00Z');
const CONFIG: UsagePlanConfig = { usagePlanIds: ['plan-acme', 'plan-free'], tenantPlans: { acme: 'plan-acme' } };

const step = (flag: string, value: unknown) => ({ target: 'usage-plan' as const, flag, value: value as number });

describe('API Gateway usage-plan throttle target', () => {
  let apigw: FakeApiGateway;
  let target: UsagePlanTarget;
  beforeEach(() => {
    apigw = new FakeApiGateway([
      {
        id: 'plan-acme',
        name: 'acme',
        throttle: { rateLimit: 100, burstLimit: 200 },
        apiStages: [{ apiId: 'api1', stage: 'prod', throttle: { '/search/GET': { rateLimit: 50, burstLimit: 100 } } }],
      },
      { id: 'plan-free', name: 'free', apiStages: [{ apiId: 'api1', stage: 'prod' }] },
      { id: 'plan-internal', name: 'internal', throttle: { rateLimit: 1000, burstLimit: 2000 } },
    ]);
    target = new UsagePlanTarget(apigw.client, CONFIG, new InMemorySlotStore());
  });

  it('patches /throttle/rateLimit only, and reports the whole previous throttle', async () => {
    const a = action(step('plan-acme', 20));
    const applied = await target.apply(a, T);
    expect(applied).toEqual({ ...a, previous: { rateLimit: 100, burstLimit: 200 }, appliedAt: T });
    expect(apigw.calls).toEqual([
      { command: 'GetUsagePlan', input: { usagePlanId: 'plan-acme' } },
      {
        command: 'UpdateUsagePlan',
        input: {
          usagePlanId: 'plan-acme',
          patchOperations: [{ op: 'replace', path: '/throttle/rateLimit', value: '20' }],
        },
      },
    ]);
    expect(apigw.plans.get('plan-acme')!.throttle).toEqual({ rateLimit: 20, burstLimit: 200 });
  });

  it('sets both limits, is applied once, and rollback restores both', async () => {
    const a = action(step('plan-acme', { rateLimit: 10, burstLimit: 20 }));
    const first = await target.apply(a, T);
    expect(mutations(apigw.calls)[0]!.input.patchOperations).toEqual([
      { op: 'replace', path: '/throttle/rateLimit', value: '10' },
      { op: 'replace', path: '/throttle/burstLimit', value: '20' },
    ]);
    apigw.calls.length = 0;
    expect(await target.apply(a, T + 1000)).toEqual(first);
    expect(mutations(apigw.calls)).toEqual([]);

    await target.rollback(first, T + 900_000);
    expect(mutations(apigw.calls)[0]!.input.patchOperations).toEqual([
      { op: 'replace', path: '/throttle/rateLimit', value: '100' },
      { op: 'replace', path: '/throttle/burstLimit', value: '200' },
    ]);
    expect(apigw.plans.get('plan-acme')!.throttle).toEqual({ rateLimit: 100, burstLimit: 200 });
    apigw.calls.length = 0;
    await target.rollback(first, T + 960_000);
    expect(mutations(apigw.calls)).toEqual([]);
  });

  it('a plan that had no throttle gets it removed again on rollback', async () => {
    const applied = await target.apply(action(step('plan-free', 5)), T);
    expect(applied.previous).toBeNull();
    expect(apigw.plans.get('plan-free')!.throttle).toEqual({ rateLimit: 5 });
    await target.rollback(applied, T + 900_000);
    expect(mutations(apigw.calls).at(-1)!.input.patchOperations).toEqual([{ op: 'remove', path: '/throttle' }]);
    expect(apigw.plans.get('plan-free')!.throttle).toBeUndefined();
  });

  it('method-level throttle in one API stage of the plan', async () => {
    const applied = await target.apply(action(step('plan-acme/api1:prod/search/GET', { rateLimit: 5 })), T);
    expect(applied.previous).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(mutations(apigw.calls)[0]!.input.patchOperations).toEqual([
      { op: 'replace', path: '/apiStages/api1:prod/throttle//search/GET/rateLimit', value: '5' },
    ]);
    expect(apigw.plans.get('plan-acme')!.apiStages![0]!.throttle!['/search/GET']).toEqual({
      rateLimit: 5,
      burstLimit: 100,
    });
    await target.rollback(applied, T + 1);
    expect(apigw.plans.get('plan-acme')!.apiStages![0]!.throttle!['/search/GET']).toEqual({
      rateLimit: 50,
      burstLimit: 100,
    });
  });

  it('@tenant resolves to the tenant’s configured plan', async () => {
    await target.apply(action(step('@tenant', 30), { tenant: 'acme' }), T);
    expect(mutations(apigw.calls)[0]!.input.usagePlanId).toBe('plan-acme');
    await expect(target.apply(action(step('@tenant', 30), { tenant: 'globex' }), T)).rejects.toMatchObject({
      name: 'ResourceNotAllowedError',
      message: expect.stringContaining("tenant 'globex'"),
    });
  });

  it('rejects plans outside the configuration and malformed values, before any request', async () => {
    apigw.calls.length = 0;
    await expect(target.apply(action(step('plan-internal', 1)), T)).rejects.toMatchObject({
      name: 'ResourceNotAllowedError',
      message: expect.stringContaining('usagePlans.usagePlanIds'),
    });
    await expect(target.apply(action(step('plan-acme', -1)), T)).rejects.toMatchObject({ name: 'InvalidStepError' });
    await expect(target.apply(action(step('plan-acme', { rateLimit: 1, quota: 5 })), T)).rejects.toMatchObject({
      name: 'InvalidStepError',
    });
    await expect(target.apply(action(step('plan-acme/not-a-stage', 1)), T)).rejects.toMatchObject({
      name: 'InvalidStepError',
    });
    expect(apigw.calls).toEqual([]);
  });

  it('stacked throttles merge: a burst-only step on top of a rate step keeps the rate', async () => {
    const rate = await target.apply(action(step('plan-acme', 10), { rollbackKey: 'ep1/rate' }), T);
    const burst = await target.apply(
      action(step('plan-acme', { burstLimit: 15 }), { rollbackKey: 'ep1/burst' }),
      T + 1,
    );
    expect(apigw.plans.get('plan-acme')!.throttle).toEqual({ rateLimit: 10, burstLimit: 15 });
    expect(burst.previous).toEqual({ rateLimit: 10, burstLimit: 200 });
    // a buried layer's rate shows through the merge
    await expect(target.rollbackWithOutcome(rate, T + 2)).resolves.toBe('restored');
    expect(apigw.plans.get('plan-acme')!.throttle).toEqual({ rateLimit: 100, burstLimit: 15 });
    await target.rollback(burst, T + 3);
    expect(apigw.plans.get('plan-acme')!.throttle).toEqual({ rateLimit: 100, burstLimit: 200 });
  });
});
