import { describe, expect, it } from 'vitest';
import { decodeBatch, MAX_FUTURE_SKEW_MS } from '../../../lambdas/core/batch.js';
import { DESIGN_ACTIVITY, DESIGN_CHANGE, DESIGN_METRIC, SHARD, T0, raw, utf8 } from './fixtures.js';

const metric = (tenant: string, signal: string, ts: number, value: number) => ({ v: 1, type: 'metric', ts, tenant, signal, value });

describe('decodeBatch', () => {
  it('groups observations by key and keeps each key in stream order', () => {
    const records = [
      raw(metric('acme', 'search_qps', T0 + 5_000, 1), 1),
      raw(metric('beta', 'search_qps', T0, 10), 2, 'beta'),
      raw(metric('acme', 'search_qps', T0, 2), 3), // older event time, later in the stream
      raw(metric('acme', 'cqs_p95', T0, 0.1), 4),
      raw(metric('acme', 'search_qps', T0 + 1_000, 3), 5),
      raw(metric('beta', 'search_qps', T0 + 2_000, 20), 6, 'beta'),
    ];
    const { byKey, changes, invalid } = decodeBatch(records);
    expect([...byKey.keys()].sort()).toEqual(['acme#cqs_p95', 'acme#search_qps', 'beta#search_qps']);
    expect(byKey.get('acme#search_qps')!.map((o) => o.value)).toEqual([1, 2, 3]);
    expect(byKey.get('acme#search_qps')!.map((o) => o.position)).toEqual([records[0]!.position, records[2]!.position, records[4]!.position]);
    expect(byKey.get('beta#search_qps')!.map((o) => o.value)).toEqual([10, 20]);
    expect(changes).toEqual([]);
    expect(invalid).toEqual([]);
  });

  it('separates change records (with their position) and invalid records (with the raw record and a reason)', () => {
    const records = [
      raw(DESIGN_METRIC, 1),
      raw(DESIGN_CHANGE, 2),
      raw('not json', 3),
      raw(DESIGN_ACTIVITY, 4, 'user-42'),
      raw({ ...JSON.parse(DESIGN_METRIC), value: 'high' }, 5),
      raw(new Uint8Array([0xc3, 0x28]), 6),
    ];
    const { byKey, changes, invalid } = decodeBatch(records);
    expect([...byKey.keys()].sort()).toEqual(['acme#cqs_p95', 'podcast#engagement@user-42']);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ change: { type: 'change', id: 'rel-381', change: 'release' }, raw: { position: records[1]!.position } });
    expect(invalid.map((i) => i.raw)).toEqual([records[2], records[4], records[5]]);
    expect(invalid[0]!.reason).toMatch(/not JSON/);
    expect(invalid[1]!.reason).toMatch(/^value: /);
    expect(invalid[2]!.reason).toMatch(/UTF-8/);
  });

  it('accounts for every record exactly once', () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      i % 7 === 0 ? raw(utf8('{'), i) : i % 5 === 0 ? raw(DESIGN_CHANGE, i) : raw(metric(`t${i % 3}`, 'ingest_rpm', T0 + i, i), i),
    );
    const { byKey, changes, invalid } = decodeBatch(records);
    const observed = [...byKey.values()].reduce((n, l) => n + l.length, 0);
    expect(observed + changes.length + invalid.length).toBe(records.length);
    expect(invalid).toHaveLength(8);
  });

  it('rejects an event time too far ahead of the record\'s arrival (producer clock skew), naming ts', () => {
    const arrived = T0;
    const records = [
      raw(metric('acme', 'search_qps', arrived + MAX_FUTURE_SKEW_MS, 1), 1, 'acme', SHARD, arrived),
      raw(metric('acme', 'search_qps', arrived + MAX_FUTURE_SKEW_MS + 1, 2), 2, 'acme', SHARD, arrived),
      raw(metric('acme', 'search_qps', arrived - 3_600_000, 3), 3, 'acme', SHARD, arrived), // late is not invalid
    ];
    const { byKey, invalid } = decodeBatch(records);
    expect(byKey.get('acme#search_qps')!.map((o) => o.value)).toEqual([1, 3]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.raw).toBe(records[1]);
    expect(invalid[0]!.reason).toMatch(/^ts: /);
  });

  it('accepts change records announced ahead of time (a maintenance window starting tomorrow)', () => {
    const announced = { v: 1, type: 'change', id: 'mnt-9', ts: T0 + 24 * 3_600_000, until: T0 + 26 * 3_600_000, tenant: '*', change: 'maintenance' };
    const { changes, invalid } = decodeBatch([raw(announced, 1, '*', SHARD, T0)]);
    expect(invalid).toEqual([]);
    expect(changes.map((c) => c.change.id)).toEqual(['mnt-9']);
  });
});
