/**
 * Coarse additive seasonal profiles: 24 hour-of-day slots (daily) and 7 day-of-week slots
 * (weekly), UTC. A point falls between two slot centres and reads / updates both, linearly
 * weighted, so the profile is continuous without needing per-minute slots.
 */
import { grainOf, roundToGrain } from './numeric.js';
import { HOUR_MS, DAY_MS } from '../time.js';

export const DAY_SLOTS = 24;
export const WEEK_SLOTS = 7;
/** 1970-01-05 was a Monday: weeks are counted from it, so slot 0 is Monday. */
const EPOCH_WEEKDAY_OFFSET_MS = 4 * DAY_MS;

export interface SlotPosition {
  readonly i0: number;
  readonly i1: number;
  /** Weight of slot i1 (slot i0 gets 1 - f). */
  readonly f: number;
}

function position(phase: number, slots: number): SlotPosition {
  // Slot i covers [i, i + 1); its centre is at i + 0.5.
  const x = phase - 0.5;
  const base = Math.floor(x);
  const f = x - base;
  const i0 = ((base % slots) + slots) % slots;
  return { i0, i1: (i0 + 1) % slots, f };
}

export function hourOfDayPosition(ts: number): SlotPosition {
  const msOfDay = ((ts % DAY_MS) + DAY_MS) % DAY_MS;
  return position(msOfDay / HOUR_MS, DAY_SLOTS);
}

/** Day-of-week slot (UTC, Monday = 0), no interpolation: weekday/weekend changes are steps at midnight. */
export function dayOfWeekPosition(ts: number): SlotPosition {
  const t = ts - EPOCH_WEEKDAY_OFFSET_MS;
  const week = WEEK_SLOTS * DAY_MS;
  const day = Math.floor((((t % week) + week) % week) / DAY_MS);
  return { i0: day, i1: day, f: 0 };
}

export function profileAt(profile: readonly number[], p: SlotPosition): number {
  return (1 - p.f) * (profile[p.i0] ?? 0) + p.f * (profile[p.i1] ?? 0);
}

/**
 * How learned slots are stored: `digits` significant digits, but never finer than `floor` (a power of
 * ten the caller derives from the series' noise), rounded up or down by `dither` in [0, 1) (see
 * `roundToGrain`) so that a slot learning by less than half a grain per point still converges.
 */
export interface SlotGrid {
  readonly digits: number;
  readonly floor: number;
  readonly dither: number;
}

function onGrid(x: number, grid: SlotGrid, dither: number): number {
  return roundToGrain(x, Math.max(grainOf(x, grid.digits), grid.floor), dither);
}

/**
 * Moves the two slots around `p` toward explaining `error` (observed minus current profile
 * value) with gain `gain`; the changed slots are stored on `grid`. Once the profile's mean
 * has drifted noticeably it is re-centred on zero so it never drifts into the level; the amount
 * removed is returned as `shift` for the caller to add to the level. Returns a new array.
 */
export function learnProfile(
  profile: readonly number[],
  p: SlotPosition,
  error: number,
  gain: number,
  grid: SlotGrid,
): { profile: number[]; shift: number } {
  const next = profile.slice();
  next[p.i0] = onGrid((next[p.i0] ?? 0) + gain * (1 - p.f) * error, grid, grid.dither);
  // the other slot rounds with the opposite half of the dither, so the two do not round the same way
  next[p.i1] = onGrid((next[p.i1] ?? 0) + gain * p.f * error, grid, (grid.dither + 0.5) % 1);
  let sum = 0;
  let spread = 0;
  for (const v of next) {
    sum += v;
    spread += Math.abs(v);
  }
  const mean = sum / next.length;
  if (mean === 0 || Math.abs(mean) <= RECENTRE_AT * (spread / next.length)) return { profile: next, shift: 0 };
  for (let i = 0; i < next.length; i++) next[i] = onGrid((next[i] as number) - mean, grid, 0.5);
  return { profile: next, shift: mean };
}

/** Re-centre once the mean exceeds this share of the mean absolute slot value. */
const RECENTRE_AT = 0.01;
