import { MINUTE_MS } from './time.js';
/** How per-key event-time windows are cut. Shared by the consumer, replay and the CDK config. */
export interface WindowSettings {
  /** Length of the sliding window, in minutes (buckets are one minute each). */
  readonly windowMinutes: number;
  /** How often a window result is emitted, in minutes. */
  readonly slideMinutes: number;
  /** How far behind the newest event time a record may arrive and still be folded, in ms. */
  readonly allowedLatenessMs: number;
  /**
   * How many record ids a key remembers, across its open minutes, to drop producer resends (a
   * resent record carries its id and ts, so it lands in the same minute; once that minute has
   * closed the resend is late and dropped anyway). 0 turns id deduplication off.
   */
  readonly dedupeIds: number;
}

export const DEFAULT_WINDOW_SETTINGS: WindowSettings = {
  windowMinutes: 10,
  slideMinutes: 1,
  allowedLatenessMs: 2 * MINUTE_MS,
  dedupeIds: 64,
};

/**
 * @example
 * // throws naming every bad field
 * const settings = validateWindowSettings({ ...DEFAULT_WINDOW_SETTINGS, windowMinutes: 5 });
 */
export function validateWindowSettings(s: WindowSettings): WindowSettings {
  const problems: string[] = [];
  if (!Number.isInteger(s.windowMinutes) || s.windowMinutes < 1 || s.windowMinutes > 60)
    problems.push('windowMinutes must be an integer in 1..60');
  if (!Number.isInteger(s.slideMinutes) || s.slideMinutes < 1 || s.slideMinutes > s.windowMinutes)
    problems.push('slideMinutes must be an integer in 1..windowMinutes');
  if (!Number.isFinite(s.allowedLatenessMs) || s.allowedLatenessMs < 0 || s.allowedLatenessMs > 30 * MINUTE_MS)
    problems.push('allowedLatenessMs must be in 0..1800000');
  if (!Number.isInteger(s.dedupeIds) || s.dedupeIds < 0 || s.dedupeIds > 128)
    problems.push('dedupeIds must be an integer in 0..128');
  // Every open minute is a bucket in the state item; this keeps the item within its 4 KB budget.
  if (s.windowMinutes + Math.ceil(s.allowedLatenessMs / MINUTE_MS) > 30)
    problems.push('windowMinutes plus the allowed lateness in minutes must not exceed 30');
  if (problems.length) throw new Error(`invalid window settings: ${problems.join('; ')}`);
  return s;
}
