import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_SETTINGS, validateWindowSettings } from '../../../lambdas/core/window-settings.js';

describe('validateWindowSettings', () => {
  it('accepts the defaults', () => {
    expect(validateWindowSettings(DEFAULT_WINDOW_SETTINGS)).toEqual(DEFAULT_WINDOW_SETTINGS);
  });

  it.each([
    [{ windowMinutes: 0 }, /windowMinutes/],
    [{ slideMinutes: 11 }, /slideMinutes/],
    [{ allowedLatenessMs: -1 }, /allowedLatenessMs/],
    [{ dedupeIds: 512 }, /dedupeIds must be an integer in 0..128/],
    [{ windowMinutes: 25, allowedLatenessMs: 10 * 60_000 }, /must not exceed 30/],
  ])('rejects %j, naming the setting', (over, message) => {
    expect(() => validateWindowSettings({ ...DEFAULT_WINDOW_SETTINGS, ...over })).toThrow(message);
  });
});
