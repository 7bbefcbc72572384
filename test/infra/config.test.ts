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
    });
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
