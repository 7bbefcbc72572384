/**
 * Lone spikes and dips: a point that stands out from both neighbours, judged at the next point
 * against every such deviation the series has had (lambdas/core/detection/spike.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseDetectorState, scorePoint, type DetectorSettings } from '../../../../lambdas/core/detection/index.js';
import { loneDeviation, readSpike, widenSpikes } from '../../../../lambdas/core/detection/spike.js';
import { gaussian, MINUTE, replay, rng, T0 } from './synthetic.js';

describe('spike building blocks', () => {
  it('a point counts by how far it stands out from both neighbours; a step or a ramp does not', () => {
    expect(loneDeviation(0, 5, 1)).toBe(4);
    expect(loneDeviation(1, -5, 0)).toBe(-5);
    expect(loneDeviation(0, 5, 5)).toBe(0); // a step: the next point stayed
    expect(loneDeviation(1, 2, 3)).toBe(0); // a ramp
  });

  it('a record counts only beyond the gate (in envelope widths), and then in full', () => {
    const env = [2, -2, 1, -1]; // width 4
    expect(readSpike(env, 2.8, 0, 0.25)).toEqual({ up: 0, down: 0 }); // 0.2 widths beyond
    expect(readSpike(env, 3.2, 0, 0.25).up).toBeCloseTo(0.3, 10);
    expect(readSpike(env, -4, 0, 0.25).down).toBeCloseTo(0.5, 10);
  });

  it('the envelope starts at the first deviation and rotates its buckets with the residual envelope', () => {
    expect(widenSpikes([], 3, true, 3, 0)).toEqual([3, 3, 3, 3]);
    expect(widenSpikes([3, -1, 0, 0], 5, false, 3, 0)).toEqual([5, -1, 0, 0]);
    expect(widenSpikes([3, -1, 0, 0], 0.5, true, 3, 0)).toEqual([0.5, 0.5, 3, -1]);
  });
});

/**
 * Utilisation switching between 20 % and 60 % every 3 to 9 hours (5-minute points, 14 days, noise
 * ±0.5), optionally with one point at 40 % at `spikeAt`: inside the series' range, so the residual
 * envelope, wide from the switches, holds it.
 */
function steps(seed: number, spikeAt?: number): number[] {
  const r = rng(seed);
  const g = gaussian(rng(seed + 50));
  let level = 20;
  let next = 36 + Math.floor(r() * 72);
  return Array.from({ length: 4032 }, (_, i) => {
    if (i === next) {
      level = level === 20 ? 60 : 20;
      next = i + 36 + Math.floor(r() * 72);
    }
    return i === spikeAt ? 40 : level + 0.5 * g();
  });
}

describe('lone spikes on a step-like series', () => {
  const FIVE_MIN = 5 * MINUTE;
  const times = Array.from({ length: 4032 }, (_, i) => T0 + i * FIVE_MIN);
  const seeds = [1, 2, 3, 4, 5, 6];
  const at = 3000;
  const pagesNear = (seed: number, settings?: Partial<DetectorSettings>) =>
    replay(steps(seed, at), 'both', settings, times)
      .results.map((r, i) => ({ ...r, i }))
      .filter((r) => r.anomalous && r.i >= at && r.i <= at + 2);

  it('a spike to 40 % between the two levels pages at the next point, on every seed, as a spike', () => {
    for (const seed of seeds) {
      const pages = pagesNear(seed);
      expect(pages.map((p) => [p.i, p.kind])).toEqual([[at + 1, 'spike']]);
    }
  });

  it('without the spike part the same spike is inside the band on every seed', () => {
    for (const seed of seeds) expect(pagesNear(seed, { spikeGate: 0 })).toEqual([]);
  });

  it('level switches alone never page as spikes', () => {
    for (const seed of seeds) {
      const results = replay(steps(seed), 'both', undefined, times).results;
      expect(results.filter((r) => r.anomalous && r.kind === 'spike')).toEqual([]);
    }
  });

  it('a spike of the same size a day later is no longer news (the envelope learned it)', () => {
    const values = steps(1, at);
    const later = at + 288;
    values[later] = values[later - 1]! + (values[at]! - values[at - 1]!); // the same jump, same side
    const results = replay(values, 'both', undefined, times).results;
    expect(results[at + 1]!.kind).toBe('spike');
    expect(results.slice(later, later + 3).filter((r) => r.anomalous)).toEqual([]);
  });

  it("counts only the bad side: a dip on an 'up'-bad signal is not a spike page", () => {
    const values = steps(3, at); // 19.6 % before the spike
    values[at] = 0;
    const up = replay(values, 'up', undefined, times).results;
    expect(up.slice(at, at + 3).filter((r) => r.anomalous)).toEqual([]);
    const both = replay(values, 'both', undefined, times).results;
    expect(both[at + 1]!.anomalous).toBe(true);
  });
});

describe('spike state', () => {
  it('a state stored before the spike part is read back, and the part starts learning from there', () => {
    const values = steps(2);
    const { state } = replay(values.slice(0, 2000), 'both');
    const { sp: _sp, lb: _lb, ...older } = JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
    let s = parseDetectorState(older);
    expect(s?.sp).toEqual([]);
    expect(s?.lb).toBeUndefined();
    for (let i = 2000; i < 2100; i++) s = scorePoint(s, { ts: T0 + i * MINUTE, value: values[i]! }, 'both').state;
    expect(s!.sp).toHaveLength(4);
    expect(s!.lb! * 10 ** s!.exp).toBeCloseTo(values[2098]!, 3); // the value before the latest
  });
});
