import { beforeEach, describe, expect, it } from 'vitest';
import { AppConfigTarget, type AppConfigConfig } from '../../../../lambdas/adapters/targets/appconfig.js';
import { InMemorySlotStore } from '../../../../lambdas/adapters/in-memory/slot-store.js';
import { action, FakeAppConfig, mutations } from './fakes.js';

const T = Date.parse('2026-11-22T10:05:00Z');
const CONFIG: AppConfigConfig = {
  applicationId: 'app1abc',
  environmentId: 'env1abc',
  configurationProfileId: 'prof1ab',
  deploymentStrategyId: 'strat01',
};

const FLAGS = {
  version: '1',
  flags: {
    'saved-queries-only': { name: 'Saved queries only' },
    'search-limits': {
      name: 'Search limits',
      attributes: {
        rows: { constraints: { type: 'number', maximum: 1000 } },
        facetLimit: { constraints: { type: 'number' } },
      },
    },
    'dark-mode': { name: 'Dark mode' },
  },
  values: {
    'saved-queries-only': { enabled: false },
    'search-limits': { enabled: true, rows: 1000 },
    'dark-mode': { enabled: true },
  },
};

const step = (flag: string, value: unknown) => ({ target: 'appconfig' as const, flag, value: value as boolean });

describe('AppConfig feature-flag target', () => {
  let appconfig: FakeAppConfig;
  let target: AppConfigTarget;
  beforeEach(() => {
    appconfig = new FakeAppConfig('app1abc', 'env1abc', 'prof1ab', FLAGS);
    target = new AppConfigTarget(appconfig.client, CONFIG, new InMemorySlotStore());
  });

  it(
    'reads the served content, creates a version with only that flag changed and deploys it with the configured ' +
      'strategy',
    async () => {
      const a = action(step('saved-queries-only', true), { rollbackKey: 'ep1/saved-only' });
      const applied = await target.apply(a, T);

      expect(applied).toEqual({ ...a, previous: false, appliedAt: T, targetRef: 'deployment/2' });
      expect(appconfig.calls.map((c) => c.command)).toEqual([
        'ListDeployments',
        'GetHostedConfigurationVersion',
        'CreateHostedConfigurationVersion',
        'StartDeployment',
      ]);
      const [create, deploy] = mutations(appconfig.calls);
      expect(create!.command).toBe('CreateHostedConfigurationVersion');
      expect(create!.input).toMatchObject({
        ApplicationId: 'app1abc',
        ConfigurationProfileId: 'prof1ab',
        ContentType: 'application/json',
        Description: 'anomaly-guard ep1/saved-only: saved-queries-only = true',
      });
      const content = JSON.parse(new TextDecoder().decode(create!.input.Content));
      expect(content).toEqual({ ...FLAGS, values: { ...FLAGS.values, 'saved-queries-only': { enabled: true } } });
      expect(deploy!.input).toEqual({
        ApplicationId: 'app1abc',
        EnvironmentId: 'env1abc',
        DeploymentStrategyId: 'strat01',
        ConfigurationProfileId: 'prof1ab',
        ConfigurationVersion: '2',
        Description: 'anomaly-guard ep1/saved-only: saved-queries-only = true',
        LatestDeploymentNumber: 1,
      });
      expect(appconfig.served().values['saved-queries-only']).toEqual({ enabled: true });
      expect(appconfig.calls.find((c) => c.command === 'GetHostedConfigurationVersion')!.input).toEqual({
        ApplicationId: 'app1abc',
        ConfigurationProfileId: 'prof1ab',
        VersionNumber: 1,
      });
    },
  );

  it('a second apply creates no version and starts no deployment', async () => {
    const a = action(step('saved-queries-only', true));
    const first = await target.apply(a, T);
    appconfig.calls.length = 0;
    expect(await target.apply(a, T + 5000)).toEqual(first);
    expect(mutations(appconfig.calls)).toEqual([]);
    expect(appconfig.versions.size).toBe(2);
  });

  it('an attribute: previous is the old attribute value and rollback deploys it back, once', async () => {
    const applied = await target.apply(action(step('search-limits.rows', 200)), T);
    expect(applied.previous).toBe(1000);
    expect(appconfig.served().values['search-limits']).toEqual({ enabled: true, rows: 200 });

    await target.rollback(applied, T + 900_000);
    expect(appconfig.served().values['search-limits']).toEqual({ enabled: true, rows: 1000 });
    expect(appconfig.served().values['dark-mode']).toEqual({ enabled: true });
    expect(mutations(appconfig.calls).map((c) => c.command)).toEqual([
      'CreateHostedConfigurationVersion',
      'StartDeployment',
      'CreateHostedConfigurationVersion',
      'StartDeployment',
    ]);

    appconfig.calls.length = 0;
    await target.rollback(applied, T + 960_000);
    expect(mutations(appconfig.calls)).toEqual([]);
  });

  it('rolling back an attribute that was not set removes it again', async () => {
    const applied = await target.apply(action(step('search-limits.facetLimit', 50)), T);
    expect(applied.previous).toBeNull();
    await target.rollback(applied, T + 1);
    expect(appconfig.served().values['search-limits']).toEqual({ enabled: true, rows: 1000 });
  });

  it(
    'an environment busy with another deployment: no orphan ' + 'version, a retryable error, and the retry completes',
    async () => {
      appconfig.deployments.push({
        DeploymentNumber: 2,
        ConfigurationProfileId: 'other01',
        ConfigurationVersion: '7',
        State: 'BAKING',
      });
      const a = action(step('saved-queries-only', true));
      await expect(target.apply(a, T)).rejects.toMatchObject({
        name: 'DeploymentInProgressError',
        message: expect.stringContaining('busy with deployment #2 (BAKING)'),
      });
      expect(mutations(appconfig.calls)).toEqual([]);

      appconfig.finishDeployments();
      const applied = await target.apply(a, T + 60_000);
      expect(appconfig.served().values['saved-queries-only']).toEqual({ enabled: true });
      expect(applied.appliedAt).toBe(T);
      expect(
        mutations(appconfig.calls).find((c) => c.command === 'StartDeployment')!.input.LatestDeploymentNumber,
      ).toBe(2);
    },
  );

  it('rejects flags the profile does not define and values of the wrong type, without creating anything', async () => {
    await expect(target.apply(action(step('no-such-flag', true)), T)).rejects.toMatchObject({
      name: 'InvalidStepError',
      message: expect.stringContaining("'no-such-flag' is not defined"),
    });
    await expect(target.apply(action(step('search-limits.pageSize', 10)), T)).rejects.toMatchObject({
      name: 'InvalidStepError',
      message: expect.stringContaining("no attribute 'pageSize'"),
    });
    await expect(target.apply(action(step('saved-queries-only', 'yes')), T)).rejects.toMatchObject({
      name: 'InvalidStepError',
    });
    expect(mutations(appconfig.calls)).toEqual([]);
  });

  it('a flag someone changed and deployed by hand after the action is left alone by the rollback', async () => {
    const applied = await target.apply(action(step('saved-queries-only', true)), T);
    // An operator deploys a version of their own that turns the flag off again (and changes something else).
    const manual = {
      ...FLAGS,
      values: { ...FLAGS.values, 'saved-queries-only': { enabled: false }, 'dark-mode': { enabled: false } },
    };
    appconfig.versions.set(9, { content: JSON.stringify(manual), contentType: 'application/json' });
    appconfig.deployments.push({
      DeploymentNumber: 3,
      ConfigurationProfileId: 'prof1ab',
      ConfigurationVersion: '9',
      State: 'COMPLETE',
    });
    appconfig.calls.length = 0;
    await expect(target.rollbackWithOutcome(applied, T + 900_000)).resolves.toBe('not-owned');
    expect(mutations(appconfig.calls)).toEqual([]);
    expect(appconfig.served().values['dark-mode']).toEqual({ enabled: false });
  });
});
