import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from '../../lib/config.js';
import { synthTemplate } from '../../lib/synth.js';

describe('resolveConfig', () => {
  it('fills defaults for an empty context', () => {
    expect(resolveConfig(undefined)).toEqual(DEFAULT_CONFIG);
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
  ])('rejects %j naming %s', (context, field) => {
    expect(() => resolveConfig(context)).toThrow(field);
  });

  it('rejects a non-object context', () => {
    expect(() => resolveConfig('provisioned')).toThrow('anomalyGuard');
  });

  it('stops the synth on bad context, naming the field', () => {
    expect(() => synthTemplate({ anomalyGuard: { consumer: { batchSize: 0 } } }, { nag: false })).toThrow('consumer.batchSize');
  });
});
