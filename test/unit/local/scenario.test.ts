import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../lambdas/core/time.js';
import { demoStart } from '../../../local/scenario.js';

describe('demoStart', () => {
  const day = Date.UTC(2026, 11, 7);

  it('starts the built-in scenario between 04:00 and 10:00 UTC, in the past and within the last 24 hours', () => {
    for (let hour = 0; hour < 24; hour += 0.5) {
      const now = day + hour * HOUR_MS;
      const start = demoStart(now, 240);
      const startHour = new Date(start).getUTCHours();
      expect(startHour, `at ${hour} h`).toBeGreaterThanOrEqual(4);
      expect(startHour, `at ${hour} h`).toBeLessThanOrEqual(10);
      expect(start % HOUR_MS).toBe(0);
      expect(start + 240 * MINUTE_MS, `at ${hour} h`).toBeLessThanOrEqual(now - HOUR_MS);
      expect(start, `at ${hour} h`).toBeGreaterThanOrEqual(now - DAY_MS);
    }
    expect(demoStart(day + 18 * HOUR_MS, 240)).toBe(day + 10 * HOUR_MS);
    expect(demoStart(day + 12 * HOUR_MS, 240)).toBe(day + 7 * HOUR_MS);
    expect(demoStart(day + 2 * HOUR_MS, 240)).toBe(day - DAY_MS + 10 * HOUR_MS);
  });

  it('goes back further for a longer run, still ending before now', () => {
    const now = day + 9 * HOUR_MS;
    const start = demoStart(now, 3000); // 50 hours
    expect(new Date(start).getUTCHours()).toBeGreaterThanOrEqual(4);
    expect(new Date(start).getUTCHours()).toBeLessThanOrEqual(10);
    expect(start + 3000 * MINUTE_MS).toBeLessThanOrEqual(now);
  });
});
