import { fromUnits } from './units.js';
import { dayOfWeekPosition, hourOfDayPosition, profileAt } from './seasonal-profile.js';
import type { DetectorState } from './state.js';
import { resolveSettings, type DetectorSettings } from './settings.js';
import { DAY_MS } from '../time.js';

/**
 * The slow seasonal expectation at `ts`: the slow base level (`baseDays`, 2 days) plus the hour-of-day
 * and day-of-week profiles, in the series' own units. Unlike `expected` (the fast level of the model in
 * use) it does not follow a change within the hour: a +25 % creep held for an hour moves it by a few
 * percent (the hour's profile slot learns at `dayGamma` per day-hour). Read it from the state *before*
 * the point is scored. Undefined until the series has `dayMinDays` (1.5 days) of history: before that the
 * daily profile is not learned and the reference misses the daily swing.
 *
 * @example
 * const reference = slowReference(state, ts); // then state = scorePoint(state, { ts, value }, 'up').state
 */
export function slowReference(
  state: DetectorState | undefined,
  ts: number,
  overrides?: Partial<DetectorSettings>,
): number | undefined {
  if (!state || state.n === 0 || ts - state.first < resolveSettings(overrides).dayMinDays * DAY_MS) return undefined;
  const v = state.base + profileAt(state.day, hourOfDayPosition(ts)) + profileAt(state.week, dayOfWeekPosition(ts));
  return Number.isFinite(v) ? fromUnits(v, state.exp) : undefined;
}
