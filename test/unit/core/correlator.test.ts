import { describe, expect, it } from 'vitest';
import { correlateChanges } from '../../../lambdas/core/correlator.js';
import type { ChangeRecord } from '../../../lambdas/core/envelope.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const min = (m: number) => T0 + m * 60_000;
const change = (over: Partial<ChangeRecord>): ChangeRecord =>
  ({ v: 1, type: 'change', tenant: 'acme', change: 'release', ts: min(-10), ...over }) as ChangeRecord;

describe('correlateChanges', () => {
  const anomaly = { tenant: 'acme', region: 'kr', start: T0 };

  it('matches changes within ±30 minutes of the start, same tenant or *, closest first', () => {
    const r = correlateChanges(anomaly, [
      change({ id: 'far', ts: min(-31) }),
      change({ id: 'near', ts: min(-5) }),
      change({ id: 'all', tenant: '*', ts: min(-20) }),
      change({ id: 'other', tenant: 'globex', ts: min(-1) }),
      change({ id: 'after', ts: min(29) }),
    ]);
    expect(r.correlated.map((c) => c.id)).toEqual(['near', 'all', 'after']);
    expect(r.correlated[0]!.offsetMinutes).toBe(5);
    expect(r.appChange?.id).toBe('near');
  });

  it('a change with a span counts until 30 minutes after it ends', () => {
    const r = correlateChanges(anomaly, [change({ id: 'long', ts: min(-120), until: min(-25) })]);
    expect(r.correlated.map((c) => c.id)).toEqual(['long']);
    expect(correlateChanges(anomaly, [change({ id: 'ended', ts: min(-120), until: min(-31) })]).correlated).toEqual([]);
  });

  it('ignores changes in another region, but not changes without one', () => {
    const r = correlateChanges(anomaly, [
      change({ id: 'us', region: 'us' }),
      change({ id: 'kr', region: 'kr' }),
      change({ id: 'any' }),
    ]);
    expect(r.correlated.map((c) => c.id).sort()).toEqual(['any', 'kr']);
  });

  it('maintenance suppresses only while it runs; campaigns and releases are told apart', () => {
    const during = correlateChanges(anomaly, [
      change({ id: 'm', change: 'maintenance', ts: min(-10), until: min(20) }),
      change({ id: 'c', change: 'campaign' }),
    ]);
    expect(during.maintenance?.id).toBe('m');
    expect(during.campaign?.id).toBe('c');
    expect(during.appChange).toBeUndefined();
    const after = correlateChanges(anomaly, [change({ id: 'm', change: 'maintenance', ts: min(-40), until: min(-5) })]);
    expect(after.maintenance).toBeUndefined();
    expect(after.correlated.map((c) => c.id)).toEqual(['m']);
  });
});
