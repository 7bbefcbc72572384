import { describe, expect, it } from 'vitest';
import { ArrivalClock } from '../../../local/arrival-clock.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const MIN = 60_000;

describe('ArrivalClock', () => {
  it("maps a stand-in's wall-clock stamp to the scenario time of the put that carried it", () => {
    const clock = new ArrivalClock();
    clock.put([T0, T0 + 20_000, T0 + 40_000], 1_000);
    clock.put([T0 + MIN, T0 + MIN + 20_000], 2_000);
    expect(clock.at(999)).toBeUndefined();
    expect(clock.at(1_500)).toBe(T0 + 40_000);
    expect(clock.at(2_000)).toBe(T0 + MIN + 20_000);
    expect(clock.at(9_999)).toBe(T0 + MIN + 20_000);
  });

  it('is not moved by a few records from a fast clock among honest ones', () => {
    const clock = new ArrivalClock();
    const honest = Array.from({ length: 100 }, (_, i) => T0 + i * 1_000);
    clock.put([...honest.slice(0, 50), T0 + 14 * MIN, ...honest.slice(50)], 1_000);
    const at = clock.at(1_000)!;
    expect(at).toBeLessThan(T0 + 2 * MIN);
    expect(at).toBeGreaterThanOrEqual(T0 + 80_000);
  });

  it('never goes backwards, as arrival on a stream does not', () => {
    const clock = new ArrivalClock(5);
    clock.put([T0 + 10 * MIN, T0 + 10 * MIN, T0 + 10 * MIN, T0 + 10 * MIN, T0 + 10 * MIN], 1_000);
    clock.put([T0, T0, T0, T0, T0], 2_000);
    expect(clock.at(2_000)).toBe(T0 + 10 * MIN);
  });
});
