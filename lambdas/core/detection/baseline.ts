/**
 * Holt-Winters baseline: a level (EWMA of the deseasonalised series), an optional damped trend,
 * and coarse additive daily / weekly profiles that are used only while they measurably reduce
 * the forecast error. The profiles learn against a slow base level (days), not the fast level,
 * which would otherwise absorb anything slower than an hour or two. Smoothing weights are per
 * nominal interval and stretched over gaps.
 */
import { stepWeight } from './numeric.js';
import type { DetectorSettings } from './settings.js';
import { dayOfWeekPosition, hourOfDayPosition, learnProfile, profileAt, type SlotPosition } from './seasonal-profile.js';

export interface Baseline {
  readonly level: number;
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
  /** Seasonal part of the expectation (0 while no profile is used). */
  readonly seasonal: number;
  /** Level plus trend (no seasonality). */
  readonly prior: number;
  readonly dayPos: SlotPosition;
  readonly weekPos: SlotPosition;
  readonly dayOffset: number;
  readonly weekOffset: number;
}

const DAY_MS = 86_400_000;

export function forecast(b: Baseline, ts: number, k: number, historyMs: number, s: DetectorSettings): Forecast {
  const trendStep = s.trendBeta > 0 ? b.trend * k : 0;
  const prior = b.level + trendStep;
  const dayPos = hourOfDayPosition(ts);
  const weekPos = dayOfWeekPosition(ts);
  const dayOffset = profileAt(b.day, dayPos);
  const weekOffset = profileAt(b.week, weekPos);
  const [eFlat, eDay, eWeek] = b.err;
  const keep = 1 - s.seasonMargin;
  const useDay = historyMs >= s.dayMinDays * DAY_MS && eDay < keep * eFlat;
  const useWeek = historyMs >= s.weekMinDays * DAY_MS && eWeek < keep * Math.min(eDay, eFlat);
  const seasonal = useWeek ? dayOffset + weekOffset : useDay ? dayOffset : 0;
  const expected = prior + seasonal;
  return { expected, prior, seasonal, dayPos, weekPos, dayOffset, weekOffset };
}

const HOUR_MS = 3_600_000;
/** Significant digits kept for seasonal slots. */
const PROFILE_DIGITS = 4;

/**
 * Learns from `x` (already clipped by the caller if it is an outlier). `k`: nominal intervals
 * since the last point; `stepMs`: the time this point stands for. Profile gains are per day
 * (daily profile) and per week (weekly profile) of data, whatever the sampling rate.
 */
export function learn(b: Baseline, f: Forecast, x: number, k: number, stepMs: number, s: DetectorSettings): Baseline {
  const a = stepWeight(s.levelAlpha, k);
  let level = f.prior + a * (x - f.dayOffset - f.weekOffset - f.prior);
  let trend = 0;
  if (s.trendBeta > 0) {
    const slope = (level - b.level) / Math.max(k, 1);
    trend = s.trendDamping * (b.trend + stepWeight(s.trendBeta, k) * (slope - b.trend));
  }
  // A slot is visited for an hour a day: the points of that hour share the daily gain.
  const dayGain = stepWeight(s.dayGamma, stepMs / HOUR_MS);
  const weekGain = stepWeight(s.weekGamma, stepMs / DAY_MS);
  let base = b.base + stepWeight(1, stepMs / (s.baseDays * DAY_MS)) * (x - f.dayOffset - f.weekOffset - b.base);
  const dayLearn = learnProfile(b.day, f.dayPos, x - f.weekOffset - base - f.dayOffset, dayGain, PROFILE_DIGITS);
  const dayNow = profileAt(dayLearn.profile, f.dayPos);
  const weekLearn = learnProfile(b.week, f.weekPos, x - dayNow - base - f.weekOffset, weekGain, PROFILE_DIGITS);
  level += dayLearn.shift + weekLearn.shift;
  base += dayLearn.shift + weekLearn.shift;
  const e = s.errAlpha;
  const [eFlat, eDay, eWeek] = b.err;
  const err: [number, number, number] = [
    eFlat + e * (Math.abs(x - f.prior) - eFlat),
    eDay + e * (Math.abs(x - f.prior - f.dayOffset) - eDay),
    eWeek + e * (Math.abs(x - f.prior - f.dayOffset - f.weekOffset) - eWeek),
  ];
  return { level, base, trend, day: dayLearn.profile, week: weekLearn.profile, err };
}
