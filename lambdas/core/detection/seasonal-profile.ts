/**
 * Coarse additive seasonal profiles: 24 hour-of-day slots (daily) and 7 day-of-week slots
 * (weekly), UTC. A point falls between two slot centres and reads / updates both, linearly
 * weighted, so the profile is continuous without needing per-minute slots.
 */

export const DAY_SLOTS = 24;
export const WEEK_SLOTS = 7;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 1970-01-01 was a Thursday; shift so slot 0 is Monday. */
const EPOCH_WEEKDAY_OFFSET_MS = 3 * DAY_MS;

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

export function dayOfWeekPosition(ts: number): SlotPosition {
  const t = ts - EPOCH_WEEKDAY_OFFSET_MS;
  const week = WEEK_SLOTS * DAY_MS;
  const msOfWeek = ((t % week) + week) % week;
  return position(msOfWeek / DAY_MS, WEEK_SLOTS);
}

export function profileAt(profile: readonly number[], p: SlotPosition): number {
  return (1 - p.f) * (profile[p.i0] ?? 0) + p.f * (profile[p.i1] ?? 0);
}

/**
 * Moves the two slots around `p` toward explaining `error` (observed minus current profile
 * value) with gain `gain`, then re-centres the profile on zero mean so it never drifts into the
 * level. Returns a new array; the amount removed by re-centring is returned as `shift` so the
 * caller can add it to the level.
 */
export function learnProfile(
  profile: readonly number[],
  p: SlotPosition,
  error: number,
  gain: number,
): { profile: number[]; shift: number } {
  const next = profile.slice();
  next[p.i0] = (next[p.i0] ?? 0) + gain * (1 - p.f) * error;
  next[p.i1] = (next[p.i1] ?? 0) + gain * p.f * error;
  let mean = 0;
  for (const v of next) mean += v;
  mean /= next.length;
  if (mean !== 0) for (let i = 0; i < next.length; i++) next[i] = (next[i] as number) - mean;
  return { profile: next, shift: mean };
}
