import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { PlaybookStep, TargetKind } from '../../../../lambdas/core/mitigation/actions.js';
import {
  AppConfigTarget,
  CdnInvalidationTarget,
  createActionTargets,
  FlagFallbackTarget,
  FlagTableTarget,
  parseActionTargetsConfig,
  UsagePlanTarget,
  WafRateLimitTarget,
  WebhookTarget,
  type ActionTargetsConfig,
} from '../../../../lambdas/adapters/targets/index.js';
import { InMemorySlotStore } from '../../../../lambdas/adapters/in-memory/slot-store.js';
import { action, FakeWaf } from './fakes.js';

const T = Date.parse('2026-11-22T10:05:00Z');
const dynamo = new DynamoDBClient({
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:9',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

const FULL: ActionTargetsConfig = {
  appConfig: {
    applicationId: 'app1abc',
    environmentId: 'env1abc',
    configurationProfileId: 'prof1ab',
    deploymentStrategyId: 'strat01',
  },
  usagePlans: { usagePlanIds: ['plan-acme'], tenantPlans: { acme: 'plan-acme' } },
  cloudFront: { distributionIds: ['E2QWRUHAPOMQZL'] },
  waf: { webAclName: 'edge-acl', webAclId: 'acl-id', scope: 'CLOUDFRONT', ruleNames: ['per-ip'] },
  webhook: {
    url: 'https://hooks.example.com/anomaly-guard',
    secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:anomaly-guard/webhook-AbCdEf',
  },
};

const step = (target: TargetKind, id = target): PlaybookStep => ({
  id,
  title: id,
  level: 'soft',
  target,
  flag: 'x',
  value: 1,
  undo: 'restore-previous',
});

describe('createActionTargets', () => {
  it('creates only the flag table when nothing else is configured, and names the missing configuration', () => {
    const targets = createActionTargets({}, { dynamo, tableName: 'state' });
    expect([...targets.keys()]).toEqual(['flag']);
    expect(targets.targetFor('flag')).toBeInstanceOf(FlagTableTarget);
    const expected: [TargetKind, RegExp][] = [
      [
        'appconfig',
        /actionTargets\.appConfig = \{applicationId, environmentId, configurationProfileId, deploymentStrategyId\}/,
      ],
      ['usage-plan', /actionTargets\.usagePlans = \{usagePlanIds/],
      ['cdn-invalidation', /actionTargets\.cloudFront = \{distributionIds/],
      ['waf-rate-limit', /actionTargets\.waf = \{webAclName, webAclId, scope, ruleNames/],
      ['webhook', /actionTargets\.webhook = \{url, secretArn\}/],
    ];
    for (const [kind, message] of expected) {
      expect(() => targets.targetFor(kind)).toThrow(message);
      expect(() => targets.targetFor(kind)).toThrow(expect.objectContaining({ name: 'TargetNotEnabledError', kind }));
    }
  });

  it('creates every configured adapter, each under its kind', () => {
    const targets = createActionTargets(FULL, { dynamo, tableName: 'state', webhookSecret: 's3cret' });
    const classes: Record<TargetKind, unknown> = {
      flag: FlagTableTarget,
      appconfig: AppConfigTarget,
      'usage-plan': UsagePlanTarget,
      'cdn-invalidation': CdnInvalidationTarget,
      'waf-rate-limit': WafRateLimitTarget,
      webhook: WebhookTarget,
    };
    expect(new Set(targets.keys())).toEqual(new Set(Object.keys(classes)));
    for (const [kind, cls] of Object.entries(classes)) {
      expect(targets.get(kind as TargetKind)).toBeInstanceOf(cls);
      expect(targets.targetFor(kind as TargetKind).kind).toBe(kind);
    }
  });

  it('default clients for CloudFront and a CLOUDFRONT-scoped web ACL are in us-east-1', async () => {
    const targets = createActionTargets({ cloudFront: FULL.cloudFront, waf: FULL.waf }, { dynamo, tableName: 'state' });
    const region = (t: unknown) =>
      (t as { client: { config: { region: () => Promise<string> } } }).client.config.region();
    await expect(region(targets.get('waf-rate-limit'))).resolves.toBe('us-east-1');
    await expect(region(targets.get('cdn-invalidation'))).resolves.toBe('us-east-1');
  });

  it('refuses to enable the webhook without its secret', () => {
    expect(() => createActionTargets({ webhook: FULL.webhook }, { dynamo, tableName: 'state' })).toThrow(
      /webhook enabled but no secret given: resolve arn:aws:secretsmanager/,
    );
  });

  it(
    'lists the playbook steps whose target is not enabled (for dry runs), and what happens to them: handed off, ' +
      'or written to the flag table',
    () => {
      const steps = [step('flag'), step('usage-plan'), step('waf-rate-limit'), step('webhook')];
      const targets = createActionTargets({ usagePlans: FULL.usagePlans }, { dynamo, tableName: 'state' });
      expect(targets.unavailable(steps).map((u) => [u.step.id, u.error.configKey, u.handling])).toEqual([
        ['waf-rate-limit', 'waf', 'hand-off'],
        ['webhook', 'webhook', 'hand-off'],
      ]);
      // Before, the flag-table fallback listed nothing, so a dry run never said a WAF step would only be a flag.
      expect(
        createActionTargets({ unconfiguredTargets: 'flag-table' }, { dynamo, tableName: 'state' })
          .unavailable(steps)
          .map((u) => [u.step.id, u.handling]),
      ).toEqual([
        ['usage-plan', 'flag-table'],
        ['waf-rate-limit', 'flag-table'],
        ['webhook', 'flag-table'],
      ]);
    },
  );

  it('unconfiguredTargets per kind: flag-table for some, hand-off for the others; planning hands those off', () => {
    const config = parseActionTargetsConfig({
      unconfiguredTargets: { 'usage-plan': 'flag-table', 'waf-rate-limit': 'error' },
    });
    const targets = createActionTargets(config, { dynamo, tableName: 'state' });
    expect(targets.targetFor('usage-plan')).toBeInstanceOf(FlagFallbackTarget);
    expect(() => targets.targetFor('waf-rate-limit')).toThrow(/actionTargets\.waf/);
    expect(() => targets.targetFor('webhook')).toThrow(/actionTargets\.webhook/);
    expect(Object.keys(targets.handedOffKinds()).sort()).toEqual([
      'appconfig',
      'cdn-invalidation',
      'waf-rate-limit',
      'webhook',
    ]);
    expect(
      createActionTargets({ unconfiguredTargets: 'flag-table' }, { dynamo, tableName: 'state' }).handedOffKinds(),
    ).toEqual({});
    expect(() => parseActionTargetsConfig({ unconfiguredTargets: { waf: 'flag-table' } })).toThrow(
      /unconfiguredTargets/,
    );
  });

  it('routes a step to its adapter: a WAF step through targetFor changes the rule, not a flag', async () => {
    const waf = new FakeWaf({
      Name: 'edge-acl',
      Id: 'acl-id',
      ARN: 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/edge-acl/acl-id',
      DefaultAction: { Allow: {} },
      VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'm' },
      Rules: [
        {
          Name: 'per-ip',
          Priority: 0,
          Action: { Block: {} },
          VisibilityConfig: { SampledRequestsEnabled: false, CloudWatchMetricsEnabled: false, MetricName: 'r' },
          Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } },
        },
      ],
    });
    const slots = new InMemorySlotStore();
    const targets = createActionTargets({ waf: FULL.waf }, { dynamo, tableName: 'state', wafv2: waf.client, slots });
    const a = action({ target: 'waf-rate-limit', flag: 'per-ip', value: 300 });
    const { targetFor } = targets; // handed to the workflow's task handlers as a plain function
    const applied = await targetFor(a.step.target).apply(a, T);
    expect(waf.limit('per-ip')).toBe(300);
    expect(applied.actedVia).toEqual({ control: 'waf-rate-limit', description: 'WAF rate-based rule limit set' });
    expect([...slots.items.keys()].some((k) => k.startsWith('flags#'))).toBe(false);
    await targets.targetFor(applied.step.target).rollback(applied, T + 1);
    expect(waf.limit('per-ip')).toBe(2000);
  });
});

describe('parseActionTargetsConfig', () => {
  it('accepts a full configuration and an empty one', () => {
    expect(parseActionTargetsConfig(FULL)).toEqual(FULL);
    expect(parseActionTargetsConfig(undefined)).toEqual({});
  });

  it.each([
    [
      { usagePlans: { usagePlanIds: ['a'], tenantPlans: { acme: 'b' } } },
      /usagePlans: every tenantPlans value must be one of usagePlanIds/,
    ],
    [{ webhook: { ...FULL.webhook!, url: 'http://hooks.example.com/x' } }, /webhook\.url: must be an https:\/\/ URL/],
    [
      { webhook: { ...FULL.webhook!, secretArn: 'my-secret' } },
      /webhook\.secretArn: must be a Secrets Manager secret ARN/,
    ],
    [{ waf: { ...FULL.waf!, scope: 'GLOBAL' } }, /waf\.scope/],
    [{ waf: { ...FULL.waf!, ruleNames: [] } }, /waf\.ruleNames/],
    [{ cloudfront: { distributionIds: ['E1'] } }, /cloudfront/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseActionTargetsConfig(raw)).toThrow(message);
  });
});
