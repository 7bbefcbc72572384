import { describe, expect, it } from 'vitest';
import { classifyAnomaly, describeChange } from '../../../lambdas/core/classifier.js';
import type { ChangeAssessment } from '../../../lambdas/core/correlator.js';

const none: ChangeAssessment = { correlated: [] };
const base = { tenant: 'acme', observed: 151, expected: 100, changes: none, tenantsAffected: 1 };

describe('classifyAnomaly', () => {
  it('a correlated release makes it an app anomaly with a rollback recommendation in the evidence', () => {
    const release = {
      tenant: 'acme',
      change: 'release' as const,
      ts: 0,
      id: 'rel-381',
      title: 'search 2.3',
      offsetMinutes: 8,
    };
    const c = classifyAnomaly({
      ...base,
      signal: 'search_qps',
      changes: { correlated: [release], appChange: release },
    });
    expect(c.class).toBe('app');
    expect(c.evidence.join(' ')).toMatch(
      /release rel-381 "search 2.3" 8 min before the anomaly: recommend rolling it back/,
    );
  });

  it.each([
    ['cache_hit_ratio', 'infra'],
    ['origin_p95_ms', 'infra'],
    ['dlq_growth', 'infra'],
    ['notify_rpm', 'abuse'],
    ['webhook_rps', 'abuse'],
    ['cqs_p95', 'app'],
    ['engagement', 'app'],
    ['ingest_rpm', 'tenant'],
  ])('%s → %s', (signal, cls) => {
    expect(classifyAnomaly({ ...base, signal }).class).toBe(cls);
  });

  it("a query surge many times the baseline looks like a crawler; an ingest surge is the tenant's own", () => {
    expect(classifyAnomaly({ ...base, signal: 'search_qps', observed: 800 }).class).toBe('abuse');
    expect(classifyAnomaly({ ...base, signal: 'ingest_rpm', observed: 800 }).class).toBe('tenant');
  });

  it('a query surge together with a query-cost anomaly of the same tenant is a search cost surge (app)', () => {
    const c = classifyAnomaly({ ...base, signal: 'search_qps', concurrentSignals: ['cqs_p95'] });
    expect(c.class).toBe('app');
    expect(c.evidence.join(' ')).toMatch(/cqs_p95 rising at the same time/);
  });

  it('a usage surge across tenants looks like infra', () => {
    const wide = classifyAnomaly({ ...base, signal: 'search_qps', tenantsAffected: 3 });
    expect(wide.class).toBe('infra');
    expect(wide.evidence).toContain('3 tenants affected at once');
  });

  it('a campaign explains a tenant surge', () => {
    const campaign = { tenant: 'acme', change: 'campaign' as const, ts: 0, offsetMinutes: 3 };
    expect(
      classifyAnomaly({ ...base, signal: 'ingest_rpm', observed: 900, changes: { correlated: [campaign], campaign } })
        .class,
    ).toBe('tenant');
  });

  it('describes the change as a signed percentage', () => {
    expect(describeChange(151, 100)).toBe('+51%');
    expect(describeChange(80, 100)).toBe('-20%');
    expect(describeChange(5, 0)).toBe('from zero');
  });
});
