/**
 * The mechanisms added on top of residual novelty: stuck values, regime changes forgetting the
 * incident that caused them, the flat model / first seasonal take-over, the model hysteresis and
 * the time-bounded refractory period.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DETECTOR_SETTINGS,
  parseDetectorState,
  scorePoint,
  type DetectorSettings,
  type DetectorState,
} from '../../../../lambdas/core/detection/index.js';
import { alertsIn, gaussian, MINUTE, noisy, replay, rng, T0 } from './synthetic.js';

describe('stuck values', () => {
  it('a noisy gauge that freezes pages once, stays ongoing while frozen, and closes when it moves again', () => {
    const from = 3000;
    const values = noisy(4000, 11);
    for (let i = from; i < from + 40; i++) values[i] = values[from - 1]!;
    const { results } = replay(values, 'both');
    const pages = alertsIn(results, from - 1, from + 60);
    expect(pages.length).toBe(1);
    expect(pages[0]!).toBeGreaterThan(from);
    expect(pages[0]!).toBeLessThan(from + 12);
    for (let i = pages[0]!; i < from + 40; i++) expect(results[i]!.ongoing).toBe(true);
    expect(results.slice(from + 45, from + 100).some((r) => r.ongoing)).toBe(false);
    expect(alertsIn(results, 1500, from)).toEqual([]);
  });

  it('never calls a series stuck that has always been constant, nor normal repeats of a counter', () => {
    const constant = replay(new Array<number>(4000).fill(42), 'both').results;
    expect(alertsIn(constant, 0)).toEqual([]);
    // Small counts repeat all the time (runs of equal values are part of the series).
    const r = rng(5);
    const counts = Array.from({ length: 6000 }, () => {
      let k = 0;
      for (let p = Math.exp(-1.5), s = p, u = r(); u > s && k < 50; ) s += p *= 1.5 / ++k;
      return k;
    });
    expect(alertsIn(replay(counts, 'both').results, 2000).length).toBeLessThanOrEqual(2);
  });

  it("a stuck value only counts in the bad direction: frozen low pages on 'down', not on 'up'", () => {
    const values = noisy(4000, 9);
    for (let i = 3000; i < 3060; i++) values[i] = 97; // frozen below the mean of 100
    expect(alertsIn(replay(values, 'down').results, 3000, 3060).length).toBe(1);
    expect(alertsIn(replay(values, 'up').results, 3000, 3060)).toEqual([]);
  });
});

describe('regime changes', () => {
  it('a level shift that persists is a regime change: a later spike on the new level still pages', () => {
    // +20 (10 sd) shift at 2500 that overshoots by +50 at onset, then a +14 (7 sd) spike on the new
    // level 600 points later: far smaller than what the incident reached, so the incident's memory
    // would hide it for a day (1440 points) if the shift were not recognised as a new regime.
    const values = noisy(4000, 19, (i, v) => (i >= 2500 ? v + 20 : v) + (i === 2500 ? 50 : 0) + (i === 3100 ? 14 : 0));
    const { results } = replay(values, 'up');
    expect(alertsIn(results, 2500, 2503).length).toBeGreaterThan(0);
    expect(alertsIn(results, 2503)).toEqual([3100]);
  });

  it('an incident that returns to the old level is still remembered (no page for its repeat the same day)', () => {
    const burst = (i: number) => (i >= 2500 && i < 2505) || (i >= 2900 && i < 2905);
    const { results } = replay(
      noisy(4000, 73, (i, v) => (burst(i) ? v + 50 : v)),
      'up',
    );
    expect(alertsIn(results, 2500, 2505).length).toBeGreaterThan(0);
    expect(alertsIn(results, 2900, 2905)).toEqual([]);
  });
});

describe('seasonal take-over and model hysteresis', () => {
  const FIVE_MIN = 5 * MINUTE;
  const daily5 = (days: number, seed: number, edit: (i: number, v: number) => number = (_, v) => v) => {
    const g = gaussian(rng(seed));
    return Array.from({ length: days * 288 }, (_, i) => {
      const hour = (i % 288) / 12;
      return edit(i, 100 + 40 * Math.sin(((hour - 6) / 24) * 2 * Math.PI) + 2 * g());
    });
  };
  const times5 = (n: number) => Array.from({ length: n }, (_, i) => T0 + i * FIVE_MIN);

  it('at 5-minute spacing, a night-time surge of half the daily swing pages once the daily profile is used', () => {
    // Before the profile takes over, a 5-minute EWMA misses the daily swing by a third of its
    // amplitude; those misses must not be what later points are compared with.
    const at = 10 * 288 + 2 * 12; // 02:00 on day 11
    const values = daily5(12, 3, (i, v) => (i >= at && i < at + 12 ? v + 20 : v));
    const { results, state } = replay(values, 'up', undefined, times5(values.length));
    expect(state!.m).toBe(1);
    expect(state!.seasoned).toBe(1);
    const first = alertsIn(results, at)[0];
    expect(first).toBeDefined();
    expect(first!).toBeLessThan(at + 3);
    expect(alertsIn(results, 4 * 288, at)).toEqual([]);
  });

  it('30-minute data: a shift of a quarter of the daily swing pages on day 17, after the profile settled', () => {
    // Right after the take-over the profile still misses the swing by up to half its amplitude; those
    // misses, kept as records at that size, hid anything smaller for months (settleDays 0).
    const HALF_HOUR = 30 * MINUTE;
    const at = 17 * 48 + 20; // 10:00 on day 18
    for (const seed of [1, 2, 3, 4]) {
      const g = gaussian(rng(seed));
      const values = Array.from({ length: 18 * 48 }, (_, i) => {
        const hour = (i % 48) / 2;
        return 100 + 40 * Math.sin(((hour - 6) / 24) * 2 * Math.PI) + 2 * g() + (i >= at ? 20 : 0);
      });
      const times = values.map((_, i) => T0 + i * HALF_HOUR);
      const settled = replay(values, 'both', undefined, times).results;
      const unsettled = replay(values, 'both', { settleDays: 0 }, times).results;
      expect(alertsIn(settled, at, at + 2)).not.toEqual([]);
      expect(alertsIn(unsettled, at)).toEqual([]);
      // nothing paged before the shift that did not page without settling
      expect(alertsIn(settled, 4 * 48, at)).toEqual(alertsIn(unsettled, 4 * 48, at));
      expect(settled.at(-1)!.state.ss).toBeUndefined(); // settled: the state forgets the settling
    }
  });

  it('a state that is still settling is stored with its settling memory; a malformed one is refused', () => {
    const values = daily5(4, 5);
    const { results, state } = replay(values, 'both', undefined, times5(values.length));
    expect(state!.seasoned).toBe(1);
    const takeOver = results.find((r) => r.state.seasoned === 1)!.ts;
    expect(state!.ss![0]).toBe(takeOver + 7 * 24 * 60 * MINUTE); // settleDays after the take-over
    expect(state!.ss![1]).toBeLessThanOrEqual(results.find((r) => r.ts === takeOver)!.state.ss![1]);
    expect(parseDetectorState(JSON.parse(JSON.stringify(state)))).toEqual(state);
    expect(parseDetectorState({ ...state!, ss: [state!.ss![0]] })).toBeUndefined();
    const { ss: _, ...before } = state!;
    expect(parseDetectorState(before)).toEqual(before); // stored before settling existed
  });

  it('a non-seasonal series keeps the flat model through an incident', () => {
    const values = noisy(6000, 29, (i, v) => (i >= 3000 && i < 3100 ? v + 25 : v));
    const times = Array.from({ length: values.length }, (_, i) => T0 + i * 5 * MINUTE); // 3 weeks at 5 minutes
    const models = new Set(replay(values, 'both', undefined, times).results.map((r) => r.state.m));
    expect([...models]).toEqual([0]);
  });
});

describe('level shifts on young series', () => {
  // 5-minute data, 4 days: a drift of 8 noise sd over 12 hours starting on day 2.7.
  const drift = (seed: number, settings?: { shiftReadDays: number }) => {
    const from = Math.round(288 * 2.7);
    const values = noisy(288 * 4, seed, (i, v) => v + (i >= from ? Math.min(1, (i - from) / 144) * 16 : 0));
    const times = Array.from({ length: values.length }, (_, i) => T0 + i * 5 * MINUTE);
    return { from, results: replay(values, 'both', settings, times).results };
  };

  it('a drift on day 3 pages as a shift within the next 7 hours; read from day 4 only, it did not', () => {
    for (const seed of [1, 2, 3, 5, 6]) {
      const { from, results } = drift(seed);
      const pages = results.filter((r) => r.anomalous && r.i >= from);
      expect(pages.length).toBeGreaterThan(0);
      expect(pages[0]!.kind).toBe('shift');
      expect(pages[0]!.i - from).toBeLessThanOrEqual(84);
      expect(alertsIn(drift(seed, { shiftReadDays: 4 }).results, from)).toEqual([]);
      // and nothing else paged from the time the part is read until the drift
      expect(alertsIn(results, 288 * 2.5, from)).toEqual([]);
    }
  });
});

describe('recovery anchor in time', () => {
  // Hourly: 20 days at 100, a shift up by 30 that stays, and 25 days later a drop back to 100 for 8 hours.
  const shiftThenDrop = (seed: number, settings?: { anchorMaxDays: number }) => {
    const values = noisy(1440, seed, (i, v) => v + (i >= 480 ? 30 : 0) - (i >= 1080 && i < 1088 ? 30 : 0));
    const times = Array.from({ length: values.length }, (_, i) => T0 + i * 3_600_000);
    return replay(values, 'both', settings, times).results;
  };

  it('on hourly data a drop weeks after a shift up pages: it is not a recovery to the old level', () => {
    for (const seed of [1, 2, 3]) {
      expect(alertsIn(shiftThenDrop(seed), 1080, 1088)).not.toEqual([]);
      // held for 1000 points (41 days here), the pre-shift level made the drop look like a recovery
      expect(alertsIn(shiftThenDrop(seed, { anchorMaxDays: 0 }), 1080, 1088)).toEqual([]);
    }
  });
});

describe('refractory period in time', () => {
  // A spike, then 48 points later a dip (a different incident: the spike's memory does not hide it).
  const incidents = (spacingMs: number, settings?: { refractoryMaxHours: number }) => {
    const values = noisy(1600, 37, (i, v) => (i === 1200 ? v + 40 : i === 1248 ? v - 10 : v));
    const times = Array.from({ length: values.length }, (_, i) => T0 + i * spacingMs);
    return replay(values, 'both', settings, times).results;
  };

  it('on 5-minute data a second incident the same day, 10 hours later, pages (8 hours, not 200 points)', () => {
    const values = noisy(1600, 37, (i, v) => (i === 1200 ? v + 40 : i === 1320 ? v - 10 : v));
    const times = Array.from({ length: values.length }, (_, i) => T0 + i * 5 * MINUTE);
    expect(alertsIn(replay(values, 'both', undefined, times).results, 1100)).toEqual([1200, 1320]);
    expect(alertsIn(replay(values, 'both', { refractoryMaxHours: 17 }, times).results, 1100)).toEqual([1200]);
  });

  it('on hourly data a second incident two days later pages (8 hours, not 200 points)', () => {
    expect(alertsIn(incidents(3_600_000), 1100)).toEqual([1200, 1248]);
    expect(alertsIn(incidents(3_600_000, { refractoryMaxHours: 0 }), 1100)).toEqual([1200]);
  });

  it('on minute data the refractory period is still 200 points', () => {
    expect(DEFAULT_DETECTOR_SETTINGS.refractoryPoints).toBe(200);
    expect(alertsIn(incidents(MINUTE), 1100)).toEqual([1200]);
  });
});

describe('envelope memory over months', () => {
  const HOUR = 60 * MINUTE;
  const hourly = (n: number) => Array.from({ length: n }, (_, i) => T0 + i * HOUR);

  it('a value the series reached six weeks ago (and did not page for) does not page again', () => {
    // hourly, noise sd 2: a +20 excursion in the first two days (warming up: learned, not paged), a
    // smaller +10 on day 40
    const excursionsOn = (seed: number, settings?: Partial<DetectorSettings>) => {
      const values = noisy(45 * 24, seed, (i, v) => (i === 40 ? v + 20 : i === 40 * 24 ? v + 10 : v));
      return replay(values, 'both', settings, hourly(values.length)).results;
    };
    for (const seed of [1, 2, 3]) {
      expect(alertsIn(excursionsOn(seed), 40 * 24, 40 * 24 + 3)).toEqual([]);
      // the carried extreme alone hides it (the record margin off) ...
      expect(alertsIn(excursionsOn(seed, { recordMargin: 0 }), 40 * 24, 40 * 24 + 3)).toEqual([]);
      // ... and without it the 14-day bucket that held day 2 was dropped at day 28: a "new" extreme
      const dropped = excursionsOn(seed, { envelopeCarry: 0, recordMargin: 0 });
      expect(alertsIn(dropped, 40 * 24, 40 * 24 + 3)).toEqual([40 * 24]);
    }
  });

  it('a series whose noise drops to a third pages an 8-sd spike 12 weeks later: old extremes do fade', () => {
    const calmThenSpike = (seed: number, settings?: { envelopeCarry: number }) => {
      const g = gaussian(rng(seed));
      const calm = 30 * 24;
      const at = calm + 84 * 24;
      const values = Array.from({ length: at + 48 }, (_, i) => 100 + (i < calm ? 6 : 2) * g() + (i === at ? 16 : 0));
      return alertsIn(replay(values, 'both', settings, hourly(values.length)).results, at, at + 3);
    };
    const found = (settings?: { envelopeCarry: number }) =>
      [1, 2, 3, 4, 5].filter((seed) => calmThenSpike(seed, settings).length > 0).length;
    expect(found()).toBeGreaterThanOrEqual(4);
    // carrying everything (never forgetting) hides it behind the noisy month
    expect(found({ envelopeCarry: 1 })).toBeLessThanOrEqual(1);
  });
});

describe('record margin', () => {
  // A mature, quiet history (5-minute points, noise sd 2), then one point at `value`.
  const history = replay(
    noisy(3000, 4),
    'up',
    undefined,
    Array.from({ length: 3000 }, (_, i) => T0 + i * 5 * MINUTE),
  );
  const state = history.state as DetectorState;
  const next = { ts: T0 + 3000 * 5 * MINUTE };
  const scoreWith = (ro: readonly number[], value: number) => scorePoint({ ...state, ro }, { ...next, value }, 'up');
  // the lowest value that breaks the envelope at all (to 0.01), read with no overshoot learned yet
  let lo = 100;
  let hi = 200;
  while (hi - lo > 0.01) {
    const mid = (lo + hi) / 2;
    if (scoreWith([0, 0], mid).score > 0) hi = mid;
    else lo = mid;
  }
  const hair = hi + 0.2;

  it('a series that breaks its records by a hair has such a record read in full', () => {
    expect(scoreWith([0, 0], hair).score).toBeGreaterThan(0);
  });

  it('one that usually breaks them by far more does not: a record by under half that overshoot scores 0', () => {
    // the typical overshoot is in the series' units of 10^exp, like the envelope
    const bigJumps = [2 / 10 ** state.exp, 0];
    expect(scoreWith(bigJumps, hair).score).toBe(0);
    expect(scoreWith(bigJumps, hair + 1.2).score).toBeGreaterThan(0);
    // a clear record pages either way, with the same confidence (the margin is a gate, not a discount)
    expect(scoreWith(bigJumps, 150).anomalous).toBe(true);
    expect(scoreWith(bigJumps, 150).score).toBe(scoreWith([0, 0], 150).score);
  });

  it('learns the overshoot from records that do not page, and keeps it in the state', () => {
    expect(state.ro[0]).toBeGreaterThan(0);
    const after = scorePoint(state, { ...next, value: 150 }, 'up');
    expect(after.anomalous).toBe(true);
    expect(after.state.ro).toEqual(state.ro); // a paged record is an incident, not what the series does
  });

  it('a state stored before the margin is read back with none learned, and a negative overshoot is refused', () => {
    const { ro: _ro, ...older } = JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
    expect(parseDetectorState(older)?.ro).toEqual([0, 0]);
    expect(parseDetectorState({ ...state, ro: [-1, 0] })).toBeUndefined();
  });
});
