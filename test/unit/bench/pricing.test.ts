import { describe, expect, it } from 'vitest';
import { steadyScenario } from '../../../bench/pipeline-cost.js';
import { billOf, kinesisPerMillion, perMillion, PIPELINE_PRICES, PRICES } from '../../../bench/pricing.js';

describe('pricing the metered usage', () => {
  const usage = {
    lambda: {
      consumer: { invocations: 60, ms: 7_200 },
      mitigation: { invocations: 40, ms: 800 },
      reports: { invocations: 8, ms: 400 },
    },
    dynamodb: {
      consumer: { wru: 19_200, rru: 6_000 },
      mitigation: { wru: 60, rru: 64 },
      other: { wru: 0, rru: 1_000 },
    },
    snsPublishes: 30,
    stateTransitions: 100,
  };

  it("bills only the functions asked for, at list prices, and leaves the simulator's reads out", () => {
    const b = billOf(usage, ['consumer']);
    expect(b.dynamoWrites).toBeCloseTo(19_200 * 0.625e-6, 12);
    expect(b.dynamoReads).toBeCloseTo(6_000 * 0.125e-6, 12);
    expect(b.lambdaRequests).toBeCloseTo(60 * 0.2e-6, 12);
    // 7.2 s at 512 MB = 3.6 GB-s.
    expect(b.lambdaDuration).toBeCloseTo(3.6 * PRICES.lambdaGbSecond, 12);
    expect(b.sns).toBeCloseTo(30 * 0.5e-6, 12);
    expect(b.stepFunctions).toBeCloseTo(100 * 0.025e-3, 12);
    expect(b.total).toBeCloseTo(
      b.dynamoWrites + b.dynamoReads + b.lambdaRequests + b.lambdaDuration + b.sns + b.stepFunctions,
      12,
    );
    expect(billOf(usage, ['consumer', 'mitigation']).dynamoReads).toBeCloseTo(6_064 * 0.125e-6, 12);
  });

  it('scales to a million events and prices Kinesis by rate and shards', () => {
    const m = perMillion(billOf(usage, ['consumer']), 60_000);
    expect(m.dynamoWrites).toBeCloseTo((19_200 / 60_000) * 1e6 * 0.625e-6, 9);
    // One shard for an hour carries 3.6 M events at 1,000/s.
    expect(kinesisPerMillion(1_000, 1)).toEqual({
      shardHours: PIPELINE_PRICES.kinesisShardHour / 3.6,
      putUnits: 0.014,
    });
    expect(kinesisPerMillion(500, 2).shardHours).toBeCloseTo((4 * 0.015) / 3.6, 12);
  });

  it('the steady workload is the rate and keys it says, after a sparse warm-up that fills the windows', () => {
    const o = { eventsPerSecond: 1_000, keys: 100, seconds: 2, warmupMinutes: 11 };
    const warm = steadyScenario(o, false).map((l) => JSON.parse(l));
    const all = steadyScenario(o).map((l) => JSON.parse(l));
    expect(warm).toHaveLength(11 * 6 * 100);
    const measured = all.slice(warm.length);
    expect(measured).toHaveLength(2_000);
    expect(new Set(measured.map((e) => `${e.tenant}#${e.signal}`)).size).toBe(100);
    expect(measured.at(-1).ts - measured[0].ts).toBeLessThan(2_000);
    expect(measured[0].ts - warm.at(-1).ts).toBeGreaterThan(0);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  });
});
