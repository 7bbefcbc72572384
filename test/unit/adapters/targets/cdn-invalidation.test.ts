import { beforeEach, describe, expect, it } from 'vitest';
import { CdnInvalidationTarget } from '../../../../lambdas/adapters/targets/cdn-invalidation.js';
import { action, FakeCloudFront } from './fakes.js';

const T = Date.parse('2026-11-22T10:05:00Z');

const step = (value: unknown, flag = 'E2QWRUHAPOMQZL') => ({
  target: 'cdn-invalidation' as const,
  flag,
  value: value as string,
  undo: 'none' as const,
});

describe('CloudFront invalidation target', () => {
  let clock: number;
  let cf: FakeCloudFront;
  let target: CdnInvalidationTarget;
  beforeEach(() => {
    clock = T;
    cf = new FakeCloudFront(() => clock);
    target = new CdnInvalidationTarget(cf.client, { distributionIds: ['E2QWRUHAPOMQZL'] });
  });

  it('creates one invalidation with the rollback key as CallerReference', async () => {
    const a = action(step({ paths: ['/search/*', '/api/v1/search*', '/search/*'] }), {
      rollbackKey: 'ep1/cdn-normalise',
    });
    const applied = await target.apply(a, T);
    expect(cf.calls).toEqual([
      {
        command: 'CreateInvalidation',
        input: {
          DistributionId: 'E2QWRUHAPOMQZL',
          InvalidationBatch: {
            CallerReference: 'ep1/cdn-normalise',
            Paths: { Quantity: 2, Items: ['/search/*', '/api/v1/search*'] },
          },
        },
      },
    ]);
    expect(applied).toEqual({ ...a, previous: null, appliedAt: T, targetRef: 'I1ABCDEF' });
  });

  it('applied twice is one invalidation, and the same AppliedAction', async () => {
    const a = action(step('/search/*'));
    const first = await target.apply(a, T);
    clock = T + 120_000;
    const second = await target.apply(a, T + 120_000);
    expect(second).toEqual(first);
    expect(cf.invalidations.size).toBe(1);
  });

  it('rollback is a no-op', async () => {
    const applied = await target.apply(action(step('/search/*')), T);
    cf.calls.length = 0;
    await target.rollback(applied, T + 1);
    await target.rollback(applied, T + 2);
    expect(cf.calls).toEqual([]);
  });

  it('rejects distributions outside the configuration, steps that claim to be undoable, and bad paths', async () => {
    await expect(target.apply(action(step('/x', 'EOTHERDIST')), T)).rejects.toMatchObject({
      name: 'ResourceNotAllowedError',
      message: expect.stringContaining('cloudFront.distributionIds'),
    });
    await expect(target.apply(action({ ...step('/x'), undo: 'restore-previous' }), T)).rejects.toMatchObject({
      name: 'InvalidStepError',
      message: expect.stringContaining("undo must be 'none'"),
    });
    await expect(target.apply(action(step('search/*')), T)).rejects.toMatchObject({ name: 'InvalidStepError' });
    await expect(target.apply(action(step({ paths: [] })), T)).rejects.toMatchObject({ name: 'InvalidStepError' });
    expect(cf.calls).toEqual([]);
  });
});
