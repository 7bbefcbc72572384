import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../lambdas/core/time.js';
import { demoStart } from '../../../local/scenario.js';

describe('demoStart', () => {
  const day = Date.UTC(2026, 11, 7);

  it('starts the built-in scenario at 08:00 UTC a day back, whatever the hour it runs at', () => {
    for (const hour of [0, 7, 8, 15, 16, 23.9]) {
      const now = day + hour * HOUR_MS;
      expect(demoStart(now, 240)).toBe(Date.UTC(2026, 11, 6, 8));
    }
  });

  it('goes back more days when the run would otherwise reach the present', () => {
    const now = day + 9 * HOUR_MS;
    const minutes = 3000; // 50 hours
    const start = demoStart(now, minutes);
    expect(new Date(start).getUTCHours()).toBe(8);
    expect(start + minutes * MINUTE_MS).toBeLessThanOrEqual(now);
    expect(start + DAY_MS + minutes * MINUTE_MS).toBeGreaterThan(now);
  });
});
