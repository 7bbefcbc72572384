/**
 * Holt-Winters baseline: three forecast models — flat (an EWMA of the series as it is), daily and
 * daily + weekly (an EWMA of the deseasonalised series plus coarse additive profiles) — and the
 * one in use changes only when another has cut the error of the current one by a margin over
 * days of data (hysteresis). The profiles learn against a slow base level (days), not the fast
 * level, which would otherwise absorb anything slower than an hour or two. An optional damped
 * trend applies to both levels. Smoothing weights are per nominal interval and stretched over gaps.
 */
import { grainOf, stepWeight } from './numeric.js';
import type { DetectorSettings } from './settings.js';
import {
  dayOfWeekPosition,
  hourOfDayPosition,
  learnProfile,
  profileAt,
  type SlotGrid,
  type SlotPosition,
} from './seasonal-profile.js';
import { HOUR_MS, DAY_MS } from '../time.js';

export interface Baseline {
  /** Fast level of the deseasonalised series (what the seasonal models forecast from). */
  readonly level: number;
  /** Fast level of the series as it is (what the flat model forecasts). */
  readonly flat: number;
  /** Slow level (deseasonalised): the reference the seasonal profiles learn against. */
  readonly base: number;
  readonly trend: number;
  readonly day: readonly number[];
  readonly week: readonly number[];
  readonly err: readonly [number, number, number];
}

export interface Forecast {
  /** The value the baseline expects at this point. */
  readonly expected: number;
  /** Deseasonalised level plus trend. */
  readonly prior: number;
  /** Flat level plus trend. */
  readonly flatPrior: number;
  /** Model in use: 0 flat, 1 daily, 2 daily + weekly. */
  readonly model: 0 | 1 | 2;
  /** The level the expectation is built on, in the model in use (flat or deseasonalised). */
  readonly ref: number;
  readonly dayPos: SlotPosition;
  readonly weekPos: SlotPosition;
  readonly dayOffset: number;
  readonly weekOffset: number;
  /** Event time of the point (ms). */
  readonly ts: number;
}

/** `inUse`: the model used for the previous point. */
export function forecast(
  b: Baseline,
  inUse: 0 | 1 | 2,
  ts: number,
  k: number,
  historyMs: number,
  s: DetectorSettings,
): Forecast {
  const trendStep = s.trendBeta > 0 ? b.trend * k : 0;
  const prior = b.level + trendStep;
  const flatPrior = b.flat + trendStep;
  const dayPos = hourOfDayPosition(ts);
  const weekPos = dayOfWeekPosition(ts);
  const dayOffset = profileAt(b.day, dayPos);
  const weekOffset = profileAt(b.week, weekPos);
  const model = chooseModel(b.err, inUse, historyMs, s);
  const expected = model === 0 ? flatPrior : model === 1 ? prior + dayOffset : prior + dayOffset + weekOffset;
  return {
    expected,
    prior,
    flatPrior,
    model,
    ref: model === 0 ? flatPrior : prior,
    dayPos,
    weekPos,
    dayOffset,
    weekOffset,
    ts,
  };
}

/**
 * The model in use changes only when another eligible one has cut the smoothed error by
 * `seasonMargin` against it (hysteresis: errors close to each other do not flap the model).
 */
function chooseModel(
  err: readonly [number, number, number],
  inUse: 0 | 1 | 2,
  historyMs: number,
  s: DetectorSettings,
): 0 | 1 | 2 {
  const eligible = historyMs >= s.weekMinDays * DAY_MS ? 2 : historyMs >= s.dayMinDays * DAY_MS ? 1 : 0;
  const current = Math.min(inUse, eligible) as 0 | 1 | 2;
  let best = current;
  for (let m = 0; m <= eligible; m++) if ((err[m] as number) < (err[best] as number)) best = m as 0 | 1 | 2;
  return best !== current && (err[best] as number) < (1 - s.seasonMargin) * (err[current] as number) ? best : current;
}

/**
 * Seasonal slots keep 4 significant digits, but no finer than 4 digits of the noise (the best model's
 * smoothed error): on a noisy series the slots are mostly noise, and finer digits only cost state bytes.
 */
const PROFILE_DIGITS = 4;
/** The golden ratio's fractional part: the dithers of successive seconds spread evenly over [0, 1). */
const GOLDEN = 0.6180339887498949;

/** The seasonal slots' grid at event time `ts` (see `SlotGrid`). */
function slotGrid(err: readonly number[], ts: number): SlotGrid {
  const noise = Math.min(...err);
  return {
    digits: PROFILE_DIGITS,
    floor: noise > 0 ? grainOf(noise, PROFILE_DIGITS) : 0,
    dither: ((((ts / 1000) * GOLDEN) % 1) + 1) % 1, // event times before 1970 too
  };
}

/**
 * Learns from `x` (already clipped by the caller if it is an outlier). `k`: nominal intervals
 * since the last point; `stepMs`: the time this point stands for. Profile gains are per day
 * (daily profile) and per week (weekly profile) of data, whatever the sampling rate.
 */
export function learn(b: Baseline, f: Forecast, x: number, k: number, stepMs: number, s: DetectorSettings): Baseline {
  const a = stepWeight(s.levelAlpha, k);
  let level = f.prior + a * (x - f.dayOffset - f.weekOffset - f.prior);
  const flat = f.flatPrior + a * (x - f.flatPrior);
  let trend = 0;
  if (s.trendBeta > 0) {
    const slope = (level - b.level) / Math.max(k, 1);
    trend = s.trendDamping * (b.trend + stepWeight(s.trendBeta, k) * (slope - b.trend));
  }
  // A slot is visited for an hour a day: the points of that hour share the daily gain.
  const dayGain = stepWeight(s.dayGamma, stepMs / HOUR_MS);
  const weekGain = stepWeight(s.weekGamma, stepMs / DAY_MS);
  let base = b.base + stepWeight(1, stepMs / (s.baseDays * DAY_MS)) * (x - f.dayOffset - f.weekOffset - b.base);
  const grid = slotGrid(b.err, f.ts);
  const dayLearn = learnProfile(b.day, f.dayPos, x - f.weekOffset - base - f.dayOffset, dayGain, grid);
  const dayNow = profileAt(dayLearn.profile, f.dayPos);
  const weekLearn = learnProfile(b.week, f.weekPos, x - dayNow - base - f.weekOffset, weekGain, grid);
  level += dayLearn.shift + weekLearn.shift;
  base += dayLearn.shift + weekLearn.shift;
  // Model errors are compared over days (a daily profile must win over whole days, not over
  // the hours of one incident).
  const e = stepWeight(1, stepMs / (s.modelErrDays * DAY_MS));
  const [eFlat, eDay, eWeek] = b.err;
  const err: [number, number, number] = [
    eFlat + e * (Math.abs(x - f.flatPrior) - eFlat),
    eDay + e * (Math.abs(x - f.prior - f.dayOffset) - eDay),
    eWeek + e * (Math.abs(x - f.prior - f.dayOffset - f.weekOffset) - eWeek),
  ];
  return { level, flat, base, trend, day: dayLearn.profile, week: weekLearn.profile, err };
}
