import { describe, expect, it } from 'vitest';
import { grainOf, roundSig, roundToGrain } from '../../../../lambdas/core/detection/numeric.js';
import { spreadOf } from '../../../../lambdas/core/detection/robust-stats.js';
import {
  dayOfWeekPosition,
  hourOfDayPosition,
  learnProfile,
  profileAt,
} from '../../../../lambdas/core/detection/seasonal-profile.js';
import { learnOvershoot, readNovelty, widenEnvelope } from '../../../../lambdas/core/detection/novelty.js';
import { pointsWithin, stepFrom } from '../../../../lambdas/core/detection/spacing.js';
import { readStuck } from '../../../../lambdas/core/detection/stuck.js';
import { decadeOf, fromUnits, toUnits } from '../../../../lambdas/core/detection/units.js';
import { scorePoint, type DetectorState } from '../../../../lambdas/core/detection/index.js';
import { gaussian, MINUTE, rng, T0 } from './synthetic.js';

describe('roundSig', () => {
  it('keeps significant digits and prints short', () => {
    expect(roundSig(0.1 + 0.2, 4)).toBe(0.3);
    expect(roundSig(123456.789, 4)).toBe(123500);
    expect(roundSig(-0.000123456, 3)).toBe(-0.000123);
    expect(roundSig(9.87654321e30, 4)).toBe(9.877e30);
    expect(roundSig(1.23456e-30, 3)).toBe(1.23e-30);
    expect(roundSig(Number.NaN, 4)).toBe(0);
    expect(JSON.stringify(roundSig(1 / 3, 6))).toBe('0.333333');
  });
});

describe('roundToGrain', () => {
  it('puts a value on a power-of-ten grid that prints short', () => {
    expect(roundToGrain(0.1 + 0.2, 0.1, 0.5)).toBe(0.3);
    expect(JSON.stringify(roundToGrain(1 / 3, 0.001, 0.5))).toBe('0.333');
    expect(roundToGrain(123_456, 100, 0.5)).toBe(123_500);
    expect(roundToGrain(-0.0449, 0.01, 0.5)).toBe(-0.04);
    expect(grainOf(0.0867, 3)).toBeCloseTo(0.0001, 12);
    expect(grainOf(250, 2)).toBe(10);
  });

  it('is right on average: the dither decides between the two neighbours', () => {
    const golden = (i: number) => (i * 0.6180339887498949) % 1;
    const xs = Array.from({ length: 1000 }, (_, i) => roundToGrain(2.537, 0.1, golden(i)));
    expect(new Set(xs)).toEqual(new Set([2.5, 2.6]));
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(2.537, 2);
  });
});

describe('spreadOf', () => {
  const reference = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const q = (a: number[], p: number) => {
      const h = (a.length - 1) * p;
      const lo = Math.floor(h);
      return a[lo]! + (h - lo) * (a[Math.min(lo + 1, a.length - 1)]! - a[lo]!);
    };
    const m = q(s, 0.5);
    return {
      median: m,
      q1: q(s, 0.25),
      q3: q(s, 0.75),
      mad: q(
        s.map((x) => Math.abs(x - m)).sort((a, b) => a - b),
        0.5,
      ),
    };
  };

  it('matches a sort-based reference, ties and even sizes included', () => {
    const r = rng(5);
    for (let t = 0; t < 2000; t++) {
      const n = 1 + (t % 50);
      const v = Array.from({ length: n }, () => Math.round((r() - 0.3) * 8) * (r() < 0.1 ? 50 : 1));
      const got = spreadOf(v);
      const want = reference(v);
      expect(got.median).toBe(want.median);
      expect(got.q1).toBe(want.q1);
      expect(got.q3).toBe(want.q3);
      expect(got.mad).toBeCloseTo(want.mad, 12);
    }
  });

  it('is all zeros for an empty or constant sample', () => {
    expect(spreadOf([])).toEqual({ median: 0, q1: 0, q3: 0, mad: 0 });
    expect(spreadOf([3, 3, 3]).mad).toBe(0);
  });
});

describe('seasonal profile', () => {
  it('places a time between the two nearest slot centres (UTC)', () => {
    expect(hourOfDayPosition(Date.UTC(2024, 0, 1, 14, 30))).toEqual({ i0: 14, i1: 15, f: 0 });
    expect(hourOfDayPosition(Date.UTC(2024, 0, 1, 15, 0))).toEqual({ i0: 14, i1: 15, f: 0.5 });
    expect(hourOfDayPosition(Date.UTC(2024, 0, 1, 0, 0))).toEqual({ i0: 23, i1: 0, f: 0.5 });
    // Days of the week are whole slots (weekday / weekend changes are steps), Monday first.
    expect(dayOfWeekPosition(Date.UTC(2024, 0, 1, 0, 0))).toEqual({ i0: 0, i1: 0, f: 0 }); // a Monday
    expect(dayOfWeekPosition(Date.UTC(2024, 0, 1, 23, 59)).i0).toBe(0);
    expect(dayOfWeekPosition(Date.UTC(2024, 0, 6, 12)).i0).toBe(5);
    expect(dayOfWeekPosition(Date.UTC(2024, 0, 7, 23, 59)).i0).toBe(6);
    expect(dayOfWeekPosition(Date.UTC(2024, 0, 8, 0, 0)).i0).toBe(0);
  });

  it('learns toward the error and stays centred on zero', () => {
    let profile: number[] = new Array(24).fill(0);
    let level = 0;
    for (let k = 0; k < 500; k++) {
      const p = hourOfDayPosition(Date.UTC(2024, 0, 1, 14, 30));
      const learned = learnProfile(profile, p, 10 - profileAt(profile, p), 0.2, { digits: 6, floor: 0, dither: 0.5 });
      profile = learned.profile;
      level += learned.shift;
    }
    const mean = profile.reduce((a, b) => a + b, 0) / 24;
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(profile[14]! + level).toBeCloseTo(10, 0);
  });

  // At 1-minute data a slot learns by well under a grain per point: rounded to the nearest, it stops short.
  it('converges on a coarse grid when it learns by less than half a grain per point', () => {
    const p = hourOfDayPosition(Date.UTC(2024, 0, 1, 14, 30));
    const learnFor = (dither: (k: number) => number) => {
      let profile: number[] = new Array(24).fill(0);
      let level = 0;
      for (let k = 0; k < 20_000; k++) {
        const grid = { digits: 2, floor: 0, dither: dither(k) };
        const learned = learnProfile(profile, p, 10 - level - profileAt(profile, p), 0.002, grid);
        profile = learned.profile;
        level += learned.shift;
      }
      return profile[14]! + level;
    };
    expect(learnFor((k) => (k * 0.6180339887498949) % 1)).toBeCloseTo(10, 0);
    expect(learnFor(() => 0.5)).toBeLessThan(5); // nearest: stuck where a step is under half a grain
  });
});

describe('spacing', () => {
  it('learns the typical interval and counts gaps in intervals, within limits', () => {
    expect(stepFrom(0, 60_000)).toEqual({ k: 1, typicalMs: 60_000 });
    expect(stepFrom(60_000, 0).k).toBe(1); // duplicate timestamp
    expect(stepFrom(60_000, -5_000).k).toBe(1); // out of order
    expect(stepFrom(60_000, 600_000).k).toBe(10);
    expect(stepFrom(60_000, 1e12).k).toBe(288);
    expect(stepFrom(60_000, 1e12).typicalMs).toBeLessThanOrEqual(60_000 * 1.2); // one gap does not redefine "typical"
  });

  it('caps a count of points at a span of event time, not below it', () => {
    const hour = 3_600_000;
    expect(pointsWithin(1000, 10 * 24 * hour, hour)).toBe(240); // hourly: 10 days, not 41
    expect(pointsWithin(1000, 10 * 24 * hour, 5 * MINUTE)).toBe(1000); // 5-minute: 3.5 days already
    expect(pointsWithin(200, 8 * hour, 7 * MINUTE)).toBe(69); // rounds up
    expect(pointsWithin(1000, 0, hour)).toBe(1000); // no cap
    expect(pointsWithin(1000, 10 * hour, 0)).toBe(1000); // spacing not known yet
  });
});

describe('units', () => {
  it('round-trips and picks the decade', () => {
    expect(decadeOf(0)).toBe(0);
    expect(decadeOf(5.4e14)).toBe(14);
    expect(decadeOf(-0.0032)).toBe(-3);
    expect(fromUnits(toUnits(123.456, 2), 2)).toBeCloseTo(123.456, 10);
  });

  it('gives the same decisions at any scale and keeps stored numbers short', () => {
    const g = gaussian(rng(77));
    const base = Array.from({ length: 2600 }, (_, i) => 100 + 2 * g() + (i === 2500 ? 50 : 0));
    const runAt = (scale: number) => {
      let state: DetectorState | undefined;
      const alerts: number[] = [];
      base.forEach((v, i) => {
        const r = scorePoint(state, { ts: T0 + i * MINUTE, value: v * scale }, 'up');
        state = r.state;
        if (r.anomalous) alerts.push(i);
        if (i === 2500) expect(r.expected / scale).toBeCloseTo(100, 0);
      });
      return { alerts, state: state! };
    };
    const unit = runAt(1);
    for (const scale of [1e-9, 1e15, 1e19]) {
      const scaled = runAt(scale);
      expect(scaled.alerts).toEqual(unit.alerts);
      const longest = Math.max(...(JSON.stringify(scaled.state).match(/-?[\d.e+-]+/g) ?? []).map((x) => x.length));
      expect(longest).toBeLessThanOrEqual(13); // epoch-ms timestamps are the longest numbers
    }
    expect(unit.alerts).toContain(2500);
  });

  // Slots of a noisy series' profile hold mostly noise: digits finer than the noise only cost state bytes.
  it('stores seasonal slots no finer than 4 digits of the noise, and still learns a rhythm', () => {
    const g = gaussian(rng(83));
    let state: DetectorState | undefined;
    for (let i = 0; i < 3 * 1440; i++) {
      const rhythm = 20 * Math.sin((2 * Math.PI * i) / 1440);
      state = scorePoint(state, { ts: T0 + i * MINUTE, value: 100 + rhythm + 8 * g() }, 'both').state;
    }
    const grain = grainOf(Math.min(...state!.err), 4);
    expect(grain).toBeGreaterThan(1e-6); // err ≈ 0.07 in units of 10^2: 10^-5
    for (const slot of [...state!.day, ...state!.week])
      expect(Math.abs(slot / grain - Math.round(slot / grain))).toBeLessThan(1e-6);
    expect(Math.max(...state!.day) - Math.min(...state!.day)).toBeGreaterThan(0.3); // the ±0.2 rhythm, in units
  });

  it('follows a series that changes decades (state numbers stay short)', () => {
    const g = gaussian(rng(79));
    let state: DetectorState | undefined;
    for (let i = 0; i < 600; i++) {
      const value = (i < 300 ? 1 : 1e18) * (5 + g());
      state = scorePoint(state, { ts: T0 + i * MINUTE, value }, 'both').state;
    }
    expect(state!.exp).toBeGreaterThanOrEqual(15);
    const longest = Math.max(...(JSON.stringify(state).match(/-?[\d.e+-]+/g) ?? []).map((x) => x.length));
    expect(longest).toBeLessThanOrEqual(13);
  });
});

describe('envelope and stuck-run rotation', () => {
  // One horizon: [hiCur, loCur, hiPrev, loPrev].
  const env = [4, -2, 10, -3];

  it('drops the older bucket without carry; with it, keeps a share of how far it reached beyond the newer one', () => {
    expect(widenEnvelope(env, [1], true, 6)).toEqual([1, 1, 4, -2]);
    // hi: 4 + 0.75 · (10 − 4); lo: −2 + 0.75 · (−3 − (−2))
    expect(widenEnvelope(env, [1], true, 6, 0.75)).toEqual([1, 1, 8.5, -2.75]);
    // an older bucket inside the newer one carries nothing
    expect(widenEnvelope([4, -2, 3, -1], [1], true, 6, 0.75)).toEqual([1, 1, 4, -2]);
  });

  it('carries the longest stuck run the same way', () => {
    const memory = { last: 5, run: 2, longest: [8, 20] as const, changes: 30 };
    expect(readStuck(memory, 6, true).memory.longest).toEqual([2, 8]);
    expect(readStuck(memory, 6, true, 0.75).memory.longest).toEqual([2, 17]);
  });
});

describe('record margin', () => {
  // Two horizons: the point [hiCur, loCur, hiPrev, loPrev], then the median of three.
  const env = [4, -2, 6, -3, 2, -1, 2, -1];

  it('learns by how much records usually break the envelope, side by side, from the first one on', () => {
    expect(learnOvershoot([0, 0], env, 5, 6)).toEqual([0, 0]); // inside [-3, 6]: nothing to learn
    expect(learnOvershoot([0, 0], env, 8, 6)).toEqual([2, 0]); // the first record above: 2 beyond
    expect(learnOvershoot([2, 0], env, 11, 6)).toEqual([2.6, 0]); // then a moving average: 2 + 0.2 · (5 − 2)
    expect(learnOvershoot([2.6, 0], env, -4, 6)).toEqual([2.6, 1]); // below, on its own
  });

  it('reads a point record only beyond the margin, then in full; the longer horizon is not gated', () => {
    const margin = [1, 1];
    expect(readNovelty(env, [6.5, 0], 0, 0, 0, margin)).toEqual({ up: 0, down: 0 });
    // beyond 6 + 1: counts from the envelope edge, in envelope widths (9)
    expect(readNovelty(env, [7.9, 0], 0, 0, 0, margin).up).toBeCloseTo(1.9 / 9);
    expect(readNovelty(env, [0, 2.3], 0, 0, 0, margin).up).toBeCloseTo(0.3 / 3);
    expect(readNovelty(env, [-3.5, 0], 0, 0, 0, margin)).toEqual({ up: 0, down: 0 });
    expect(readNovelty(env, [6.5, 0], 0).up).toBeCloseTo(0.5 / 9); // no margin
  });
});
