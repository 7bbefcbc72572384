import { describe, expect, it } from 'vitest';
import { decodeBatch, MAX_FUTURE_SKEW_MS, MAX_WATERMARK_LEAD_MS } from '../../../lambdas/core/batch.js';
import { DESIGN_ACTIVITY, DESIGN_CHANGE, DESIGN_METRIC, SHARD, T0, raw, utf8 } from './fixtures.js';

const metric = (tenant: string, signal: string, ts: number, value: number) => ({
  v: 1,
  type: 'metric',
  ts,
  tenant,
  signal,
  value,
});

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
    expect(byKey.get('acme#search_qps')!.map((o) => o.position)).toEqual([
      records[0]!.position,
      records[2]!.position,
      records[4]!.position,
    ]);
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
    expect(changes[0]).toMatchObject({
      change: { type: 'change', id: 'rel-381', change: 'release' },
      raw: { position: records[1]!.position },
    });
    expect(invalid.map((i) => i.raw)).toEqual([records[2], records[4], records[5]]);
    expect(invalid[0]!.reason).toMatch(/not JSON/);
    expect(invalid[1]!.reason).toMatch(/^value: /);
    expect(invalid[2]!.reason).toMatch(/UTF-8/);
  });

  it('accounts for every record exactly once', () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      i % 7 === 0
        ? raw(utf8('{'), i)
        : i % 5 === 0
          ? raw(DESIGN_CHANGE, i)
          : raw(metric(`t${i % 3}`, 'ingest_rpm', T0 + i, i), i, `t${i % 3}`),
    );
    const { byKey, changes, invalid } = decodeBatch(records);
    const observed = [...byKey.values()].reduce((n, l) => n + l.length, 0);
    expect(observed + changes.length + invalid.length).toBe(records.length);
    expect(invalid).toHaveLength(8);
  });

  it("rejects an event time too far ahead of the record's arrival (producer clock skew), naming ts", () => {
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

  describe('change records from producers (issue 18.6): one tenant, at most 24 h, same time bounds', () => {
    const HOUR = 3_600_000;
    const chg = (over: Record<string, unknown>) => ({
      v: 1,
      type: 'change',
      id: 'mnt-1',
      ts: T0,
      until: T0 + HOUR,
      tenant: 'acme',
      change: 'maintenance',
      ...over,
    });

    it('dead-letters a platform-wide ("*") maintenance window that would mute every tenant, naming tenant', () => {
      const record = raw(chg({ tenant: '*', until: '2199-01-01T00:00:00Z' }), 1, '*', SHARD, T0);
      const { changes, invalid } = decodeBatch([record]);
      expect(changes).toEqual([]);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]!.raw).toBe(record);
      expect(invalid[0]!.reason).toMatch(/^tenant: .*exactly one tenant/);
    });

    it('dead-letters a window longer than 24 h (configurable), naming until; accepts exactly 24 h', () => {
      const exact = raw(chg({ id: 'a', until: T0 + 24 * HOUR }), 1, 'acme', SHARD, T0);
      const longer = raw(chg({ id: 'b', until: T0 + 24 * HOUR + 1 }), 2, 'acme', SHARD, T0);
      const { changes, invalid } = decodeBatch([exact, longer]);
      expect(changes.map((c) => c.change.id)).toEqual(['a']);
      expect(invalid.map((i) => i.raw)).toEqual([longer]);
      expect(invalid[0]!.reason).toMatch(/^until: .*at most 24 h/);
      // A shorter limit from the configuration (changes.maxStreamWindowHours).
      const tight = decodeBatch([raw(chg({ until: T0 + 3 * HOUR }), 3, 'acme', SHARD, T0)], {
        maxChangeWindowMs: 2 * HOUR,
      });
      expect(tight.invalid[0]!.reason).toMatch(/^until: .*at most 2 h/);
    });

    it(
      'applies the clock-skew bound to change records too: ' + 'one announced for tomorrow is dead-lettered, naming ts',
      () => {
        const tomorrow = raw(chg({ ts: T0 + 24 * HOUR, until: T0 + 25 * HOUR }), 1, 'acme', SHARD, T0);
        const soon = raw(chg({ id: 'soon', ts: T0 + 10 * 60_000, until: T0 + HOUR }), 2, 'acme', SHARD, T0);
        const { changes, invalid } = decodeBatch([tomorrow, soon]);
        expect(changes.map((c) => c.change.id)).toEqual(['soon']);
        expect(invalid.map((i) => i.raw)).toEqual([tomorrow]);
        expect(invalid[0]!.reason).toMatch(/^ts: 1440 min after the record reached the stream/);
      },
    );
  });

  it(
    'dead-letters records whose partition key breaks the shard contract (tenant for metric/change, key for ' +
      'activity), naming it',
    () => {
      const records = [
        raw(metric('acme', 'search_qps', T0, 1), 1, 'acme'),
        raw(metric('acme', 'search_qps', T0, 2), 2, 'globex'),
        raw(JSON.parse(DESIGN_ACTIVITY), 3, 'user-42'),
        raw(JSON.parse(DESIGN_ACTIVITY), 4, 'podcast'),
        raw(DESIGN_CHANGE, 5, 'acme'),
        raw(DESIGN_CHANGE, 6, 'x'),
      ];
      const { byKey, changes, invalid } = decodeBatch(records);
      expect(byKey.get('acme#search_qps')!.map((o) => o.value)).toEqual([1]);
      expect(byKey.get('podcast#engagement@user-42')).toHaveLength(1);
      expect(changes).toHaveLength(1);
      expect(invalid.map((i) => i.raw)).toEqual([records[1], records[3], records[5]]);
      expect(invalid[0]!.reason).toBe(
        'partitionKey: "globex" does not match the record\'s tenant "acme" (metric records are partitioned by tenant)',
      );
      expect(invalid[1]!.reason).toMatch(/^partitionKey: "podcast" does not match the record's key "user-42"/);
      expect(invalid[2]!.reason).toMatch(/^partitionKey: "x" .* tenant "acme"/);
    },
  );

  it(
    "holds a fast-clock record's watermark time to its " + 'arrival plus MAX_WATERMARK_LEAD_MS, keeping its own minute',
    () => {
      const ahead = raw(metric('acme', 'search_qps', T0 + 14 * 60_000, 1), 1, 'acme', SHARD, T0);
      const honest = raw(metric('acme', 'search_qps', T0 - 5_000, 2), 2, 'acme', SHARD, T0);
      const [fast, ok] = decodeBatch([ahead, honest]).byKey.get('acme#search_qps')!;
      expect(fast).toMatchObject({ ts: T0 + 14 * 60_000, watermarkTs: T0 + MAX_WATERMARK_LEAD_MS });
      expect(ok!.watermarkTs).toBeUndefined();
    },
  );
});
