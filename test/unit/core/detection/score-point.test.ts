import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DETECTOR_SETTINGS,
  parseDetectorState,
  scorePoint,
  type DetectorSettings,
  type DetectorState,
} from '../../../../lambdas/core/detection/index.js';
import { signalSpec } from '../../../../lambdas/core/signals.js';
import { alertsIn, DAY, gaussian, MINUTE, noisy, replay, rng, T0 } from './synthetic.js';

const STEP_AT = 2500;
const STEP_LEN = 60;
const step = (delta: number) => (i: number, v: number) => (i >= STEP_AT && i < STEP_AT + STEP_LEN ? v + delta : v);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe('scorePoint: warm-up', () => {
  it('never alerts while warming up, even on wild values, and says so', () => {
    const g = gaussian(rng(3));
    const values = Array.from({ length: 200 }, (_, i) => (i % 7 === 3 ? 1e6 : 10 + g()));
    const { results } = replay(values, 'both');
    const warm = results.filter((r) => r.warmingUp);
    expect(warm.length).toBeGreaterThanOrEqual(DEFAULT_DETECTOR_SETTINGS.warmupPoints);
    expect(results[0]!.warmingUp).toBe(true);
    for (const r of warm) {
      expect(r.anomalous).toBe(false);
      expect(r.score).toBe(0);
    }
    expect(results.at(-1)!.warmingUp).toBe(false);
  });

  it('honours a configured warm-up length', () => {
    const values = noisy(3000, 5, (i, v) => (i === 2200 ? v + 80 : v));
    const quick = replay(values, 'up');
    const slow = replay(values, 'up', { warmupPoints: 2500 });
    expect(alertsIn(quick.results, 2200, 2201)).toEqual([2200]);
    expect(alertsIn(slow.results, 0)).toEqual([]);
    expect(slow.results[2499]!.warmingUp).toBe(true);
    expect(slow.results[2500]!.warmingUp).toBe(false);
  });
});

describe('scorePoint: direction', () => {
  it("a step up on an 'up'-bad signal alerts at once; the same step down does not alert at all", () => {
    expect(signalSpec('search_qps').bad).toBe('up');
    const up = replay(noisy(3000, 11, step(+30)), 'up').results;
    const down = replay(noisy(3000, 11, step(-30)), 'up').results;
    const first = alertsIn(up, STEP_AT)[0];
    expect(first).toBeDefined();
    expect(first!).toBeLessThan(STEP_AT + 3);
    expect(up[STEP_AT]!.score).toBeGreaterThan(0.9);
    expect(up[STEP_AT]!.z).toBeGreaterThan(4);
    expect(up[STEP_AT]!.value).toBeGreaterThan(up[STEP_AT]!.band.hi);
    // Neither the drop (good direction) nor its recovery (back to normal) pages.
    expect(alertsIn(down, 2000)).toEqual([]);
    expect(Math.max(...down.slice(2000).map((r) => r.score))).toBeLessThan(DEFAULT_DETECTOR_SETTINGS.minConfidence);
  });

  it("'down'-bad (cache hit ratio) is the reverse", () => {
    expect(signalSpec('cache_hit_ratio').bad).toBe('down');
    const ratio = (delta: number) => noisy(3000, 13, step(delta)).map((v) => v / 200); // ~0.5 ± 0.01
    const drop = replay(ratio(-30), 'down').results;
    const rise = replay(ratio(+30), 'down').results;
    const first = alertsIn(drop, STEP_AT)[0];
    expect(first).toBeDefined();
    expect(first!).toBeLessThan(STEP_AT + 3);
    expect(drop[STEP_AT]!.z).toBeLessThan(-4);
    expect(alertsIn(rise, 2000)).toEqual([]);
  });

  it("'both' alerts on either step", () => {
    expect(alertsIn(replay(noisy(3000, 17, step(+30)), 'both').results, STEP_AT, STEP_AT + 3).length).toBeGreaterThan(
      0,
    );
    expect(alertsIn(replay(noisy(3000, 17, step(-30)), 'both').results, STEP_AT, STEP_AT + 3).length).toBeGreaterThan(
      0,
    );
  });

  it('rarely pages on plain noise after warm-up', () => {
    // New extremes of pure noise do happen; they must stay rare (about 2 per 10k points).
    const pages = [19, 20, 21].map((seed) => alertsIn(replay(noisy(12_000, seed), 'both').results, 2000).length);
    expect(pages.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(9);
  });
});

describe('scorePoint: degenerate series', () => {
  it('a constant series (MAD = 0) then a spike alerts, with finite outputs throughout', () => {
    const values = Array.from({ length: 2000 }, (_, i) => (i === 1500 ? 150 : 100));
    const { results, state } = replay(values, 'up');
    expect(alertsIn(results, 0)).toEqual([1500]);
    for (const r of results) {
      for (const x of [r.score, r.expected, r.band.lo, r.band.hi, r.z]) expect(Number.isFinite(x)).toBe(true);
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    expect(JSON.stringify(state)).not.toMatch(/null|NaN|Infinity/);
  });

  it('a constant zero series then a blip alerts (absolute floor)', () => {
    const values = Array.from({ length: 2000 }, (_, i) => (i === 1500 ? 1 : 0));
    expect(alertsIn(replay(values, 'both').results, 0)).toEqual([1500]);
  });

  it('non-finite values are not scored and do not disturb the state', () => {
    const values = noisy(300, 23);
    const { state } = replay(values, 'both');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const r = scorePoint(state, { ts: T0 + 400 * MINUTE, value: bad }, 'both');
      expect(r.state).toBe(state);
      expect(r.anomalous).toBe(false);
      expect(r.score).toBe(0);
    }
    const first = scorePoint(undefined, { ts: T0, value: Number.NaN }, 'up');
    expect(first.state.n).toBe(0);
    const next = scorePoint(first.state, { ts: T0 + MINUTE, value: 5 }, 'up');
    expect(next.state.n).toBe(1);
    expect(next.state.first).toBe(T0 + MINUTE);
  });

  it('irregular spacing, gaps, duplicates and out-of-order points keep outputs finite and quiet', () => {
    const r = rng(29);
    const g = gaussian(r);
    const times: number[] = [];
    const values: number[] = [];
    let t = T0;
    for (let i = 0; i < 4000; i++) {
      const u = r();
      t += u < 0.01 ? 6 * 3600_000 : u < 0.02 ? 0 : u < 0.03 ? -30_000 : Math.round(20_000 + 80_000 * r());
      times.push(t);
      values.push(50 + g());
    }
    const { results, state } = replay(values, 'both', undefined, times);
    for (const x of results) expect(Number.isFinite(x.score + x.expected + x.band.lo + x.band.hi + x.z)).toBe(true);
    // Gaps and bursts by themselves are not anomalies.
    const afterGap = results.filter((x, i) => i > 0 && x.ts - results[i - 1]!.ts > 3600_000);
    expect(afterGap.length).toBeGreaterThan(10);
    expect(afterGap.filter((x) => x.anomalous)).toEqual([]);
    expect(alertsIn(results, 2000).length).toBeLessThanOrEqual(2);
    expect(state!.dt).toBeGreaterThan(30_000);
    expect(state!.dt).toBeLessThan(120_000);
  });
});

describe('scorePoint: seasonality', () => {
  const daily = (days: number, seed: number, edit: (i: number, v: number) => number = (_, v) => v) => {
    const g = gaussian(rng(seed));
    return Array.from({ length: days * 1440 }, (_, i) => {
      const hour = (i % 1440) / 60;
      const peak = Math.exp(-((hour - 14) ** 2) / 4); // a sharp afternoon peak
      return edit(i, 100 + 200 * peak + 3 * g());
    });
  };

  it('a repeated daily pattern does not alert on its regular peaks after a few days of history', () => {
    const { results } = replay(daily(8, 31), 'up');
    expect(alertsIn(results, 3 * 1440)).toEqual([]);
    // The expectation follows the daily shape: the peak is expected, not a surprise.
    const peak = results[6 * 1440 + 14 * 60]!;
    expect(peak.expected).toBeGreaterThan(250);
    expect(Math.abs(peak.z)).toBeLessThan(4);
  });

  it('an off-hours surge to peak level alerts once the daily shape is known', () => {
    const at = 6 * 1440 + 3 * 60; // 03:00 on day 7, normally ~100
    const { results } = replay(
      daily(8, 37, (i, v) => (i >= at && i < at + 30 ? v + 200 : v)),
      'up',
    );
    const first = alertsIn(results, at)[0];
    expect(first).toBeDefined();
    expect(first!).toBeLessThan(at + 5);
  });
});

describe('scorePoint: weekly seasonality', () => {
  it('learns quiet weekends once weeks of history allow, and then does not page on them', () => {
    const TEN_MIN = 10 * MINUTE;
    const g = gaussian(rng(83));
    const n = 6 * 7 * 144; // six weeks, 10-minute points
    const times = Array.from({ length: n }, (_, i) => T0 + i * TEN_MIN); // T0 is a Monday
    const weekend = (i: number) => new Date(times[i]!).getUTCDay() % 6 === 0;
    const values = times.map((_, i) => (weekend(i) ? 60 : 100) + 2 * g());
    const { results } = replay(values, 'down', undefined, times);
    const lastWeek = results.slice(5 * 7 * 144);
    expect(lastWeek.filter((r) => r.anomalous)).toEqual([]);
    // Half an hour into Saturday the level alone would still expect ~100: the weekly profile
    // already expects the weekend.
    const saturday = lastWeek.find(
      (r) => weekend(r.i) && new Date(r.ts).getUTCHours() === 0 && new Date(r.ts).getUTCMinutes() === 30,
    )!;
    expect(saturday.expected).toBeLessThan(80);
  });
});

describe('scorePoint: state', () => {
  const sizeRun = (points: number, settings?: Partial<DetectorSettings>) => {
    const r = rng(41);
    const g = gaussian(r);
    let state: DetectorState | undefined;
    let max = 0;
    for (let i = 0; i < points; i++) {
      // Tiny, then huge magnitudes, sign flips, rare 1000x spikes, jittered spacing.
      const scale = i < points / 2 ? 1.2345678e-7 : 9.87654321e17;
      const value = (i % 997 === 0 ? -1 : 1) * scale * (1 + 0.3 * g()) * (r() < 0.001 ? 1000 : 1);
      state = scorePoint(state, { ts: T0 + i * 37_000 + Math.round(r() * 9_000), value }, 'both', settings).state;
      if (i % 500 === 0 || i > points - 10) max = Math.max(max, JSON.stringify(state).length);
    }
    return { max, state: state! };
  };

  it('stays within 2000 bytes of JSON after 100k points, whatever the magnitudes', () => {
    const { max, state } = sizeRun(100_000);
    expect(max).toBeLessThanOrEqual(2000);
    expect(state.res.length).toBe(DEFAULT_DETECTOR_SETTINGS.residualWindow);
    expect(state.n).toBe(100_000);
  });

  it('stays within 2000 bytes with the largest allowed settings', () => {
    const { max } = sizeRun(20_000, { residualWindow: 88, horizons: [1, 3, 5, 9] });
    expect(max).toBeLessThanOrEqual(2000);
  });

  it('is deterministic: the same input gives the same output', () => {
    const values = noisy(3000, 43, step(25));
    const a = replay(values, 'both');
    const b = replay(values, 'both');
    expect(b.results).toEqual(a.results);
    expect(JSON.stringify(b.state)).toBe(JSON.stringify(a.state));
  });

  it('does not mutate its input state', () => {
    const { state } = replay(noisy(500, 47), 'both');
    const before = JSON.stringify(state);
    const frozen = deepFreeze(structuredClone(state!));
    const r = scorePoint(frozen, { ts: T0 + 600 * MINUTE, value: 1e4 }, 'up');
    expect(JSON.stringify(frozen)).toBe(before);
    expect(r.state).not.toBe(frozen);
  });

  it('survives a JSON round trip every point (persisted state scores like in-memory state)', () => {
    const values = noisy(2600, 53, step(30));
    const mem = replay(values, 'up').results;
    let persisted: unknown;
    values.forEach((value, i) => {
      const prev = persisted === undefined ? undefined : parseDetectorState(JSON.parse(JSON.stringify(persisted)));
      if (persisted !== undefined) expect(prev).toBeDefined();
      const r = scorePoint(prev, { ts: T0 + i * MINUTE, value }, 'up');
      expect(r.score).toBe(mem[i]!.score);
      expect(r.anomalous).toBe(mem[i]!.anomalous);
      persisted = r.state;
    });
  });

  it('rejects persisted states that do not match the schema', () => {
    const { state } = replay(noisy(100, 59), 'both');
    expect(parseDetectorState(state)).toEqual(state);
    expect(parseDetectorState({ ...state, v: 2 })).toBeUndefined();
    expect(parseDetectorState({ ...state, day: [1, 2, 3] })).toBeUndefined();
    expect(parseDetectorState({ ...state, level: null })).toBeUndefined();
    expect(parseDetectorState('{}')).toBeUndefined();
  });
});

describe('scorePoint: paging', () => {
  it('an alert opens an episode that stays ongoing while out of band', () => {
    const values = noisy(3000, 61, (i, v) => (i >= 2500 && i < 2510 ? v + 60 : v));
    const { results } = replay(values, 'up');
    expect(results[2500]!.anomalous).toBe(true);
    // "3 consecutive minutes" can be read off `ongoing`, whatever pages.
    for (let i = 2500; i < 2510; i++) expect(results[i]!.ongoing).toBe(true);
    expect(results[2499]!.ongoing).toBe(false);
    expect(results.slice(2512, 2600).some((r) => r.ongoing)).toBe(false);
  });

  it('right after an episode, a somewhat bigger anomaly scores but does not page (refractory)', () => {
    const values = noisy(3000, 67, (i, v) => (i === 2500 ? v + 40 : i === 2560 ? v + 60 : v));
    const held = replay(values, 'up').results;
    expect(held[2500]!.anomalous).toBe(true);
    expect(held[2560]!.anomalous).toBe(false);
    expect(held[2560]!.score).toBeGreaterThan(0.3);
    expect(replay(values, 'up', { refractoryPoints: 0 }).results[2560]!.anomalous).toBe(true);
  });

  it('a much bigger anomaly pages even during the refractory period', () => {
    const values = noisy(3000, 71, (i, v) => (i === 2500 ? v + 40 : i === 2560 ? v + 400 : v));
    const { results } = replay(values, 'up');
    expect(results[2500]!.anomalous).toBe(true);
    expect(results[2560]!.anomalous).toBe(true);
  });

  it('an incident does not hide a repeat of it a day later (episode memory)', () => {
    const burst = (i: number) => (i >= 2500 && i < 2505) || (i >= 4500 && i < 4505);
    const values = noisy(5000, 73, (i, v) => (burst(i) ? v + 50 : v));
    const { results } = replay(values, 'up');
    expect(alertsIn(results, 2500, 2505).length).toBeGreaterThan(0);
    expect(alertsIn(results, 4500, 4505).length).toBeGreaterThan(0);
    const longMemory = replay(values, 'up', { episodeMemoryPoints: 0 }).results;
    expect(alertsIn(longMemory, 2500, 2505).length).toBeGreaterThan(0);
    expect(alertsIn(longMemory, 4500, 4505)).toEqual([]);
  });

  it('can require the z / IQR-fence rule as well', () => {
    const values = noisy(3000, 67, step(30));
    const { results } = replay(values, 'up', { requireRule: true });
    const first = alertsIn(results, STEP_AT)[0]!;
    expect(first).toBeLessThan(STEP_AT + 3);
    expect(results[first]!.z).toBeGreaterThanOrEqual(4);
  });

  it('rejects invalid settings', () => {
    expect(() => scorePoint(undefined, { ts: T0, value: 1 }, 'up', { residualWindow: 1000 })).toThrow(/residualWindow/);
    expect(() => scorePoint(undefined, { ts: T0, value: 1 }, 'up', { horizons: [0] })).toThrow(/horizons/);
  });
});

it('DAY constant matches minutes', () => expect(DAY).toBe(1440 * MINUTE));
