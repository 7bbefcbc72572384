/**
 * The density part: points that stand out from their neighbours (none of them a record) coming
 * more often than ever page as `density` — a burst of noise on a random walk, which the band part
 * mostly misses; a step, a trend and the other side do not count.
 */
import { describe, expect, it } from 'vitest';
import { exceedanceQuantile, localDeviation, nextRate } from '../../../../lambdas/core/detection/density.js';
import { parseDetectorState, scorePoint } from '../../../../lambdas/core/detection/index.js';
import { alertsIn, gaussian, MINUTE, noisy, replay, rng, T0 } from './synthetic.js';

describe('density building blocks', () => {
  it('a lone spike stands out from its neighbours; a step only at its first point; a trend hardly', () => {
    expect(localDeviation(0, 0, 5, 'up')).toBe(5);
    expect(localDeviation(0, 0, 5, 'down')).toBe(-5);
    expect(localDeviation(0, 0, -5, 'both')).toBe(5);
    expect(localDeviation(0, 5, 5, 'up')).toBe(0); // the step's second point
    expect(localDeviation(1, 2, 3, 'up')).toBe(1); // a ramp: one step of it, not its height
  });

  it('the threshold is the high quantile of the local deviations', () => {
    const flat = Array.from({ length: 50 }, (_, i) => (i % 10 === 9 ? 4 : 0));
    expect(exceedanceQuantile(flat, 'up', 0.05)).toBe(4);
    expect(exceedanceQuantile(flat, 'up', 0.2)).toBe(0);
  });

  it('the recent share follows exceedances over about the given number of points', () => {
    let rate = 0;
    for (let i = 0; i < 24; i++) rate = nextRate(rate, true, 24);
    expect(rate).toBeGreaterThan(0.6);
    expect(rate).toBeLessThan(0.7);
    expect(nextRate(0.5, false, 24, 2)).toBeCloseTo(0.5 * (23 / 24) ** 2, 10);
  });
});

describe('density of exceedances', () => {
  const FIVE_MIN = 5 * MINUTE;
  const times = (n: number) => Array.from({ length: n }, (_, i) => T0 + i * FIVE_MIN);
  /** A mean-reverting random walk with measurement noise × `noiseK(i)`, 14 days at 5 minutes. */
  const walk = (seed: number, noiseK: (i: number) => number = () => 1) => {
    const g = gaussian(rng(seed));
    const w = gaussian(rng(seed + 9));
    let x = 0;
    return Array.from({ length: 4032 }, (_, i) => {
      x = 0.995 * x + 0.5 * w();
      return 100 + x + noiseK(i) * 0.5 * g();
    });
  };
  const from = 3000;
  const burst = (i: number) => (i >= from && i < from + 72 ? 3 : 1); // noise × 3 for 6 hours
  const seeds = [1, 2, 3, 4, 5, 6];

  it('a 6-hour burst of noise three times as large is found on more walks, the new pages say density', () => {
    const found = (densityScale?: number) =>
      seeds.filter((seed) => {
        const settings = densityScale === undefined ? undefined : { densityScale };
        const r = replay(walk(seed, burst), 'both', settings, times(4032)).results;
        return alertsIn(r, from, from + 72).length > 0;
      }).length;
    const withDensity = found();
    expect(withDensity).toBeGreaterThanOrEqual(5);
    expect(withDensity).toBeGreaterThan(found(0));
    const kinds = seeds.flatMap((seed) => {
      const r = replay(walk(seed, burst), 'both', undefined, times(4032)).results;
      return alertsIn(r, from, from + 72).map((i) => r[i]!.kind);
    });
    expect(kinds).toContain('density');
  });

  it('adds no page before the burst, and none on the same walks without it', () => {
    for (const seed of seeds) {
      const on = replay(walk(seed, burst), 'both', undefined, times(4032)).results;
      const off = replay(walk(seed, burst), 'both', { densityScale: 0 }, times(4032)).results;
      expect(alertsIn(on, 0, from)).toEqual(alertsIn(off, 0, from));
      const plain = replay(walk(seed), 'both', undefined, times(4032)).results;
      expect(plain.filter((r) => r.anomalous && r.kind === 'density')).toEqual([]);
    }
  });

  it("counts only the bad side: a burst of dips on an 'up'-bad signal is not a density page", () => {
    const r = rng(21);
    const values = noisy(4032, 21, (i, v) => (i >= from && i < from + 72 && r() < 0.3 ? v - 8 : v));
    const results = replay(values, 'up', undefined, times(4032)).results;
    expect(results.filter((x) => x.anomalous && x.kind === 'density')).toEqual([]);
    const both = replay(values, 'both', undefined, times(4032)).results;
    expect(alertsIn(both, from, from + 72).length).toBeGreaterThan(0);
    // the share of exceedances: on 'both' the dips nearly double its earlier high, on 'up' they barely count
    const rise = (rs: typeof results) => {
      const high = (a: number, b: number) => Math.max(...rs.slice(a, b).map((x) => x.state.dr ?? 0));
      return high(from, from + 72) / high(2000, from);
    };
    expect(rise(both)).toBeGreaterThan(1.5);
    expect(rise(results)).toBeLessThan(1.5);
  });
});

describe('density state', () => {
  it('a state stored before the density part is read back, and the part starts learning from there', () => {
    const values = noisy(3000, 31);
    const { state } = replay(values.slice(0, 2000), 'up');
    const { dq: _dq, dr: _dr, de: _de, ...older } = JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
    let s = parseDetectorState(older);
    expect(s).toBeDefined();
    expect(s!.dq).toBeUndefined();
    for (let i = 2000; i < 3000; i++) s = scorePoint(s, { ts: T0 + i * MINUTE, value: values[i]! }, 'up').state;
    expect(s!.dq).toBeGreaterThan(0);
    expect(s!.de).toHaveLength(4);
    expect(parseDetectorState({ ...state, dr: 1.5 })).toBeUndefined(); // a share is in [0, 1]
  });
});
