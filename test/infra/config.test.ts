import { describe, expect, it } from 'vitest';
import { AnomalyGuardConfigError, DEFAULT_CONFIG, resolveConfig } from '../../lib/config.js';
import { synthTemplate } from '../../lib/synth.js';

describe('resolveConfig', () => {
  it('fills defaults for an empty context', () => {
    expect(resolveConfig(undefined)).toEqual(DEFAULT_CONFIG);
    expect(resolveConfig(null)).toEqual(DEFAULT_CONFIG);
  });

  it('keeps every default (the values the hand-written checks had before the zod schema)', () => {
    expect(DEFAULT_CONFIG).toEqual({
      stream: { mode: 'provisioned', shardCount: 1, retentionHours: 24 },
      consumer: {
        batchSize: 1000,
        maxBatchingWindowSeconds: 5,
        parallelizationFactor: 1,
        maxRetryAttempts: 5,
        maxRecordAgeSeconds: 3600,
        memorySizeMb: 512,
        timeoutSeconds: 60,
        tumblingWindowSeconds: 60,
        carryQuietKeys: true,
      },
      window: { windowMinutes: 10, slideMinutes: 1, allowedLatenessMs: 120_000, dedupeIds: 64 },
      changes: { maxStreamWindowHours: 24 },
      logRetentionDays: 30,
      alertEmails: [],
      removalPolicy: 'retain',
      mitigation: {
        automatic: true,
        observationSeconds: 900,
        finalCheckSeconds: 2700,
        rollbackIntervalSeconds: 300,
        approvalTimeoutSeconds: 900,
        stepApproval: {},
        actionTargets: {},
        platformMinTenants: 3,
      },
      api: {
        enabled: true,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        usagePlanRateLimit: 50,
        usagePlanBurstLimit: 100,
        usagePlanQuotaLimit: 100_000,
        usagePlanQuotaPeriod: 'DAY',
        wafRateLimit: 1000,
        cloudWatchRole: true,
      },
      reports: {
        retentionDays: 400,
        accessLogRetentionDays: 90,
        dailyReportHourUtc: 0,
        memorySizeMb: 512,
        timeoutSeconds: 60,
      },
      archive: {
        bufferingIntervalSeconds: 300,
        bufferingSizeMiB: 64,
        infrequentAccessAfterDays: 30,
        retentionDays: 400,
      },
      sources: [],
      operations: {
        notify: 'ops-topic',
        opsEmails: [],
        iteratorAgeAlarmSeconds: 300,
        apiLatencyP99AlarmMs: 3000,
        api5xxAlarmCount: 5,
      },
      dashboard: { enabled: true, priceClass: 'PriceClass_100', threatProtection: false, accessLogRetentionDays: 90 },
    });
  });

  it('takes the dashboard keys, checking each (a custom domain needs its us-east-1 certificate)', () => {
    const custom = {
      domainName: 'guard.example.com',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012',
    };
    expect(resolveConfig({ dashboard: { enabled: false } }).dashboard).toEqual({
      ...DEFAULT_CONFIG.dashboard,
      enabled: false,
    });
    expect(
      resolveConfig({ dashboard: { priceClass: 'PriceClass_All', threatProtection: true, ...custom } }).dashboard,
    ).toEqual({ ...DEFAULT_CONFIG.dashboard, priceClass: 'PriceClass_All', threatProtection: true, ...custom });
    const problems = (settings: unknown) => {
      try {
        resolveConfig(settings);
      } catch (e) {
        return (e as AnomalyGuardConfigError).problems;
      }
      return [];
    };
    expect(problems({ dashboard: { enabled: 'yes', priceClass: 'PriceClass_50', accessLogRetentionDays: 0 } })).toEqual(
      [
        'dashboard.enabled must be true or false',
        'dashboard.priceClass must be "PriceClass_100", "PriceClass_200" or "PriceClass_All" (got "PriceClass_50")',
        'dashboard.accessLogRetentionDays must be an integer in 1..36500 (got 0)',
      ],
    );
    expect(problems({ dashboard: { domainName: custom.domainName } })).toEqual([
      'dashboard.certificateArn is needed with dashboard.domainName',
    ]);
    expect(problems({ dashboard: { certificateArn: custom.certificateArn } })).toEqual([
      'dashboard.domainName is needed with dashboard.certificateArn',
    ]);
    expect(
      problems({ dashboard: { ...custom, certificateArn: custom.certificateArn.replace('us-east-1', 'eu-west-1') } }),
    ).toEqual(['dashboard.certificateArn must be an ACM certificate ARN in us-east-1']);
    expect(problems({ dashboard: { ...custom, domainName: 'https://guard.example.com/' } })).toEqual([
      'dashboard.domainName must be a domain name like "guard.example.com"',
    ]);
  });

  it('merges a partial group over the defaults of that group', () => {
    const config = resolveConfig({
      stream: { shardCount: 4 },
      mitigation: { automatic: false, deploymentRegion: 'kr' },
    });
    expect(config.stream).toEqual({ mode: 'provisioned', shardCount: 4, retentionHours: 24 });
    expect(config.mitigation).toEqual({ ...DEFAULT_CONFIG.mitigation, automatic: false, deploymentRegion: 'kr' });
  });

  it('reports every problem at once, each naming its key, with the value given', () => {
    let error: unknown;
    try {
      resolveConfig({
        stream: { shardCount: 0 },
        archive: { infrequentAccessAfterDays: 90, retentionDays: 60 },
        api: { wafRateLimit: '1000' },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AnomalyGuardConfigError);
    expect((error as AnomalyGuardConfigError).problems).toEqual([
      'stream.shardCount must be an integer in 1..500 (got 0)',
      'api.wafRateLimit must be an integer in 10..2000000000 (got "1000")',
      'archive.retentionDays must be an integer in 91..36500 (got 60)',
    ]);
  });

  it.each([
    [{ stream: { mode: 'fast' } }, 'stream.mode'],
    [{ stream: { shardCount: 0 } }, 'stream.shardCount'],
    [{ stream: { retentionHours: 12 } }, 'stream.retentionHours'],
    [{ consumer: { batchSize: 20_000 } }, 'consumer.batchSize'],
    [{ consumer: { maxBatchingWindowSeconds: 301 } }, 'consumer.maxBatchingWindowSeconds'],
    [{ consumer: { tumblingWindowSeconds: 901 } }, 'consumer.tumblingWindowSeconds'],
    [{ consumer: { carryQuietKeys: 'yes' } }, 'consumer.carryQuietKeys'],
    [{ consumer: { parallelizationFactor: 11 } }, 'consumer.parallelizationFactor'],
    [{ consumer: { maxRecordAgeSeconds: 10 } }, 'consumer.maxRecordAgeSeconds'],
    [{ consumer: { timeoutSeconds: 1.5 } }, 'consumer.timeoutSeconds'],
    [{ window: { windowMinutes: 10, slideMinutes: 11 } }, 'slideMinutes'],
    [{ logRetentionDays: 8 }, 'logRetentionDays'],
    [{ alertEmails: ['not-an-address'] }, 'alertEmails'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy'],
    [{ stream: 'fast' }, 'stream must be an object'],
    [{ changes: { maxStreamWindowHours: 400 } }, 'changes.maxStreamWindowHours'],
    [{ mitigation: { automatic: 'yes' } }, 'mitigation.automatic must be true or false'],
    [{ mitigation: { deploymentRegion: 'eu west' } }, 'mitigation.deploymentRegion'],
    [{ mitigation: { approvalTimeoutSeconds: 30 } }, 'mitigation.approvalTimeoutSeconds'],
    [{ mitigation: { stepApproval: { 'search-cost/typo': 'auto' } } }, 'mitigation.stepApproval'],
    [{ mitigation: { stepApproval: { 'search-cost/block-expensive': 'never' } } }, 'mitigation.stepApproval'],
    [{ sources: [{ name: 'Billing' }] }, 'sources[0] (Billing).name'],
  ])('rejects %j naming %s', (context, field) => {
    expect(() => resolveConfig(context)).toThrow(field);
  });

  it('rejects a non-object context', () => {
    expect(() => resolveConfig('provisioned')).toThrow('anomalyGuard');
  });

  it('stops the synth on bad context, naming the field', () => {
    expect(() => synthTemplate({ anomalyGuard: { consumer: { batchSize: 0 } } }, { nag: false })).toThrow(
      'consumer.batchSize',
    );
  });
});
