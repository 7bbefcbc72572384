import { describe, expect, it } from 'vitest';
import {
  assessRegression,
  recoveryCriteria,
  type SignalSnapshot,
} from '../../../../lambdas/core/mitigation/regression.js';
import { signalSpec } from '../../../../lambdas/core/signals.js';
import { MINUTE, T0 } from './fixtures.js';

const snap = (observed: number, expected: number, band?: { lo: number; hi: number }, ts = T0): SignalSnapshot =>
  band ? { ts, observed, expected, band } : { ts, observed, expected };
const after = (observed: number, expected: number, band?: { lo: number; hi: number }) =>
  snap(observed, expected, band, T0 + 11 * MINUTE);

describe('assessRegression', () => {
  const spike = snap(0.0056, 0.0037, { lo: 0.003, hi: 0.0044 });

  it('the seed example: cqs_p95 0.0056 → 0.0041 in 11 min is −27 %, most of the excess gone → recovered', () => {
    const r = assessRegression(spike, after(0.0041, 0.0037, { lo: 0.003, hi: 0.0044 }), signalSpec('cqs_p95'));
    expect(r.outcome).toBe('recovered');
    expect(r.inBand).toBe(true);
    expect(r.improvement).toBeCloseTo(0.268, 3);
    expect(r.excessRemoved).toBeCloseTo(0.789, 3);
    expect(r.elapsedMs).toBe(11 * MINUTE);
    expect(r.summary).toBe(
      '0.00560 → 0.00410 in 11 min, 27% better, 79% of the excess over 0.00370 gone, back in band',
    );
  });

  it('−20 % with the excess halved is recovered even above the band', () => {
    const r = assessRegression(
      snap(0.01, 0.004, { lo: 0.003, hi: 0.005 }),
      after(0.0065, 0.004, { lo: 0.003, hi: 0.005 }),
      { bad: 'up' },
    );
    expect([r.outcome, r.inBand]).toEqual(['recovered', false]);
    expect(r.improvement).toBeCloseTo(0.35, 6);
  });

  it('a small move in the good direction is improving; flat or worse is not recovered', () => {
    expect(assessRegression(spike, after(0.0052, 0.0037), { bad: 'up' }).outcome).toBe('improving');
    expect(assessRegression(spike, after(0.0055, 0.0037), { bad: 'up' }).outcome).toBe('not-recovered');
    const worse = assessRegression(spike, after(0.007, 0.0037), { bad: 'up' });
    expect(worse.outcome).toBe('not-recovered');
    expect(worse.improvement).toBeCloseTo(-0.25, 6);
    expect(worse.summary).toContain(', 25% worse,');
  });

  it('a 10x surge cut to 8x is −20 % but not recovered: most of the excess is still there', () => {
    const r = assessRegression(snap(1000, 100), after(800, 100), { bad: 'up' });
    expect(r.improvement).toBeCloseTo(0.2, 6);
    expect(r.excessRemoved).toBeCloseTo(2 / 9, 6);
    expect(r.outcome).toBe('improving');
    // The bare seed rule (−20 % alone) is one setting away.
    expect(assessRegression(snap(1000, 100), after(800, 100), { bad: 'up', minExcessRemoved: 0 }).outcome).toBe(
      'recovered',
    );
  });

  it('edge p95 reaching 300 ms meets the seed target (recovered) even above its band', () => {
    const before = snap(450, 100, { lo: 60, hi: 150 });
    const criteria = recoveryCriteria('edge_p95_ms');
    expect(criteria).toMatchObject({ bad: 'up', target: 300, minImprovement: 0.2 });
    const r = assessRegression(before, after(300, 100, { lo: 60, hi: 150 }), criteria);
    expect(r).toMatchObject({ outcome: 'recovered', targetMet: true, inBand: false });
    expect(r.summary).toContain('target ≤ 300 met');
    // Same numbers without the target: 33 % better but only 43 % of the excess gone.
    expect(assessRegression(before, after(300, 100, { lo: 60, hi: 150 }), { bad: 'up' }).outcome).toBe('improving');
    expect(assessRegression(before, after(310, 100, { lo: 60, hi: 150 }), criteria)).toMatchObject({
      outcome: 'improving',
      targetMet: false,
    });
  });

  it('down-is-bad signals (cache hit ratio) recover upward', () => {
    const before = snap(0.5, 0.8, { lo: 0.75, hi: 0.9 });
    expect(
      assessRegression(before, after(0.77, 0.8, { lo: 0.75, hi: 0.9 }), signalSpec('cache_hit_ratio')),
    ).toMatchObject({ outcome: 'recovered', direction: 'down', inBand: true });
    expect(
      assessRegression(before, after(0.55, 0.8, { lo: 0.75, hi: 0.9 }), signalSpec('cache_hit_ratio')).outcome,
    ).toBe('improving');
    expect(
      assessRegression(before, after(0.4, 0.8, { lo: 0.75, hi: 0.9 }), signalSpec('cache_hit_ratio')).outcome,
    ).toBe('not-recovered');
  });

  it('a signal bad both ways is judged on the side it was on', () => {
    expect(assessRegression(snap(50, 100), after(90, 100), { bad: 'both' })).toMatchObject({
      direction: 'down',
      outcome: 'recovered',
    });
    expect(assessRegression(snap(200, 100), after(210, 100), { bad: 'both' })).toMatchObject({
      direction: 'up',
      outcome: 'not-recovered',
    });
  });

  it('a baseline that drifted up to the anomaly does not declare recovery by itself', () => {
    const r = assessRegression(snap(1000, 100, { lo: 50, hi: 150 }), after(1000, 900, { lo: 800, hi: 1100 }), {
      bad: 'up',
    });
    expect(r).toMatchObject({ outcome: 'not-recovered', inBand: false, excessRemoved: 0 });
  });

  it('no band given: the expected value is the edge', () => {
    expect(assessRegression(snap(10, 5), after(5, 5), { bad: 'up' })).toMatchObject({
      outcome: 'recovered',
      inBand: true,
      excessRemoved: 1,
    });
    expect(assessRegression(snap(10, 5), after(5.5, 5), { bad: 'up' }).inBand).toBe(false);
  });

  it('zero before (a down-bad signal at 0) does not divide by zero', () => {
    const r = assessRegression(snap(0, 0.8), after(0.8, 0.8), { bad: 'down' });
    expect(r.outcome).toBe('recovered');
    expect(Number.isFinite(r.improvement)).toBe(true);
  });
});
