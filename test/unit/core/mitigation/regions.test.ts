/**
 * Issue 18 item 5: the cross-region decision is made on every region of the episode, kept as data
 * in the per-key state (bounded), not on the last folded record's region.
 */
import { describe, expect, it } from 'vitest';
import { describeAnomaly, regionsOf } from '../../../../lambdas/core/anomaly.js';
import type { EpisodeEvent } from '../../../../lambdas/core/episodes.js';
import { bundledGuardrails } from '../../../../lambdas/adapters/guardrails.js';
import { decideStages } from '../../../../lambdas/core/mitigation/guardrail-request.js';
import { planMitigation } from '../../../../lambdas/core/mitigation/plan.js';
import type { Observation } from '../../../../lambdas/core/observations.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../../lambdas/core/window-settings.js';
import {
  MAX_TRACKED_REGIONS,
  UNTRACKED_REGION,
  decodeState,
  encodeState,
  episodeRegions,
  foldObservations,
} from '../../../../lambdas/core/key-state.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');
const ob = (minute: number, region?: string): Observation => ({
  key: 'acme#cqs_p95',
  tenant: 'acme',
  signal: 'cqs_p95',
  ts: T0 + minute * MIN + 1000,
  value: 0.004,
  ...(region !== undefined && { region }),
});

const confirmed: Extract<EpisodeEvent, { kind: 'confirmed' }> = {
  kind: 'confirmed',
  mitigate: true,
  trigger: 'high-confidence',
  episode: {
    id: 'acme#cqs_p95@2026-11-22T10:05Z',
    start: T0 + 5 * MIN,
    minutes: 3,
    peakScore: 0.97,
    peak: { ts: T0 + 6 * MIN, observed: 0.0056, expected: 0.0037 },
    confirmedAt: T0 + 7 * MIN,
  },
  at: {
    ts: T0 + 7 * MIN,
    observed: 0.0056,
    expected: 0.0037,
    band: { lo: 0.003, hi: 0.0044 },
    score: 0.96,
    anomalous: true,
  },
};

describe('regions of an episode', () => {
  it('keeps every region a key saw with its last minute; the episode has those seen since its start', () => {
    const { state } = foldObservations(
      undefined,
      [ob(0, 'jp'), ob(5, 'us'), ob(6, 'kr'), ob(7, 'us')],
      DEFAULT_WINDOW_SETTINGS,
    );
    expect(state.region).toBe('us');
    expect(episodeRegions(state, T0 + 5 * MIN)).toEqual(['kr', 'us']);
    expect(episodeRegions(state, T0)).toEqual(['jp', 'kr', 'us']);
    // Survives the state item round trip.
    expect(episodeRegions(decodeState(encodeState(state)), T0 + 5 * MIN)).toEqual(['kr', 'us']);
  });

  it(
    'a tenant with traffic in two regions: cross-region whichever record came last (before: decided by the last ' +
      'one)',
    () => {
      const guardrails = bundledGuardrails();
      for (const order of [
        ['kr', 'us'],
        ['us', 'kr'],
      ]) {
        const { state } = foldObservations(undefined, [ob(5, order[0]), ob(6, order[1])], DEFAULT_WINDOW_SETTINGS);
        const anomaly = describeAnomaly(confirmed, 'acme#cqs_p95', 'acme', 'cqs_p95', {
          region: state.region!,
          regions: episodeRegions(state, confirmed.episode.start),
          changes: [],
          tenantsAffected: 1,
          whitelisted: false,
        });
        expect(anomaly.regions).toEqual(['kr', 'us']);
        const env = {
          now: T0 + 8 * MIN,
          principal: { type: 'Workflow' as const, id: 'w' },
          automatic: true,
          deploymentRegion: 'kr',
        };
        const plan = planMitigation(anomaly, { guardrails: decideStages(anomaly, env, guardrails), now: env.now });
        expect(plan.allowed, `last record from ${order[1]}`).toBe(false);
        expect(plan.reasons[0]).toMatch(/^soft: deny-cross-region: /);
      }
    },
  );

  it(
    'bounded: at most 8 regions in the state; an episode that lost one to the bound counts an untracked region ' +
      "(never the deployment's)",
    () => {
      const regions = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'];
      const { state } = foldObservations(
        undefined,
        regions.map((r, i) => ob(i, r)),
        DEFAULT_WINDOW_SETTINGS,
      );
      expect(Object.keys(state.rg!)).toHaveLength(MAX_TRACKED_REGIONS);
      expect(state.rg).not.toHaveProperty('r0');
      expect(episodeRegions(state, T0)).toEqual([...regions.slice(2), UNTRACKED_REGION]);
      expect(episodeRegions(state, T0 + 5 * MIN)).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
    },
  );

  it(
    'no record named a region: the anomaly has none (unknown); a state or an anomaly from before `regions` falls ' +
      'back to `region`',
    () => {
      const { state } = foldObservations(undefined, [ob(5), ob(6)], DEFAULT_WINDOW_SETTINGS);
      expect(episodeRegions(state, T0)).toEqual([]);
      expect(episodeRegions({ region: 'kr' }, T0)).toEqual(['kr']);
      expect(regionsOf({ region: 'kr' })).toEqual(['kr']);
      expect(regionsOf({})).toEqual([]);
      expect(regionsOf({ region: 'us', regions: ['kr', 'us'] })).toEqual(['kr', 'us']);
    },
  );
});
