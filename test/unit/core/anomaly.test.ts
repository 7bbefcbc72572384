import { describe, expect, it } from 'vitest';
import { alertMessage, describeAnomaly, type AnomalyContext } from '../../../lambdas/core/anomaly.js';
import { incidentIdOf } from '../../../lambdas/core/incidents.js';
import type { ChangeRecord } from '../../../lambdas/core/envelope.js';
import type { EpisodeEvent } from '../../../lambdas/core/episodes.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const confirmed = (mitigate = true, peakScore = 0.97): Extract<EpisodeEvent, { kind: 'confirmed' }> => ({
  kind: 'confirmed',
  mitigate,
  trigger: mitigate ? 'high-confidence' : 'sustained',
  episode: {
    id: 'acme#cqs_p95@2026-11-22T10:00Z',
    start: T0,
    minutes: 3,
    peakScore,
    peak: { ts: T0 + 60_000, observed: 0.00377, expected: 0.0025 },
    confirmedAt: T0 + 120_000,
  },
  at: {
    ts: T0 + 120_000,
    observed: 0.0036,
    expected: 0.0025,
    band: { lo: 0.002, hi: 0.003 },
    score: 0.96,
    anomalous: true,
  },
});
const ctx = (changes: Partial<ChangeRecord>[] = [], over: Partial<AnomalyContext> = {}): AnomalyContext => ({
  region: 'kr',
  changes: changes.map(
    (c) => ({ v: 1, type: 'change', tenant: 'acme', change: 'release', ts: T0 - 8 * 60_000, ...c }) as ChangeRecord,
  ),
  tenantsAffected: 1,
  whitelisted: false,
  ...over,
});

describe('describeAnomaly: correlate, classify, decide', () => {
  it("says in its evidence what the detector's confidence rested on (and nothing when the creep rule paged)", () => {
    const event = confirmed();
    const shift = { ...event, episode: { ...event.episode, peak: { ...event.episode.peak, kind: 'shift' as const } } };
    const a = describeAnomaly(shift, 'acme#cqs_p95', 'acme', 'cqs_p95', ctx());
    expect(a.evidence).toContain(
      'cqs_p95 moved its level away from the last two days further than ever before (detector: shift)',
    );
    expect(JSON.parse(alertMessage(a).body).evidence).toEqual(a.evidence);
    const density = {
      ...event,
      episode: { ...event.episode, peak: { ...event.episode.peak, kind: 'density' as const } },
    };
    expect(describeAnomaly(density, 'acme#cqs_p95', 'acme', 'cqs_p95', ctx()).evidence.join(' ')).toMatch(
      /out of line with their neighbours more often than ever before \(detector: density\)/,
    );
    expect(describeAnomaly(event, 'acme#cqs_p95', 'acme', 'cqs_p95', ctx()).evidence.join(' ')).not.toMatch(
      /detector:/,
    );
  });

  it('a confident, unexplained cost spike is a mitigation candidate', () => {
    const a = describeAnomaly(confirmed(), 'acme#cqs_p95', 'acme', 'cqs_p95', ctx());
    expect(a).toMatchObject({
      decision: 'mitigate',
      class: 'app',
      severity: 'SEV1',
      change: '+51%',
      region: 'kr',
      softOnly: false,
      start: T0,
      detectedAt: T0 + 120_000,
    });
  });

  it('a release within 30 minutes: alert and recommend its rollback, no automatic action', () => {
    const a = describeAnomaly(
      confirmed(),
      'acme#cqs_p95',
      'acme',
      'cqs_p95',
      ctx([{ id: 'rel-381', title: 'search 2.3' }]),
    );
    expect(a.decision).toBe('alert');
    expect(a.recommendation).toMatch(/roll back release rel-381 "search 2.3"/);
    expect(a.correlatedChanges.map((c) => c.id)).toEqual(['rel-381']);
  });

  it('maintenance suppresses', () => {
    const a = describeAnomaly(
      confirmed(),
      'acme#cqs_p95',
      'acme',
      'cqs_p95',
      ctx([{ id: 'mnt-7', change: 'maintenance', ts: T0 - 60_000, until: T0 + 3600_000 }]),
    );
    expect(a).toMatchObject({ decision: 'suppressed', severity: 'SEV4' });
  });

  it('a whitelisted tenant or a campaign gets soft actions only', () => {
    expect(
      describeAnomaly(confirmed(), 'acme#ingest_rpm', 'acme', 'ingest_rpm', ctx([], { whitelisted: true })).softOnly,
    ).toBe(true);
    const c = describeAnomaly(
      confirmed(),
      'acme#ingest_rpm',
      'acme',
      'ingest_rpm',
      ctx([{ change: 'campaign', id: 'bf' }]),
    );
    expect(c).toMatchObject({ softOnly: true, decision: 'mitigate', class: 'tenant' });
  });

  it('sustained but below the confidence bar: alert only; low engagement never mitigates', () => {
    expect(describeAnomaly(confirmed(false, 0.6), 'acme#cqs_p95', 'acme', 'cqs_p95', ctx()).decision).toBe('alert');
    expect(describeAnomaly(confirmed(true), 'podcast#engagement@u1', 'podcast', 'engagement', ctx()).decision).toBe(
      'alert',
    );
  });
});

describe('alertMessage (contract 3)', () => {
  it('has a readable subject, a JSON body and filterable attributes', () => {
    const m = alertMessage(describeAnomaly(confirmed(), 'acme#cqs_p95', 'acme', 'cqs_p95', ctx()));
    expect(m.subject).toBe('[SEV1] acme cqs_p95 +51% (app)');
    expect(m.attributes).toEqual({
      severity: 'SEV1',
      class: 'app',
      tenant: 'acme',
      signal: 'cqs_p95',
      decision: 'mitigate',
      // An anomaly not grouped is an incident of its own, named from its episode.
      incident: incidentIdOf('acme#cqs_p95@2026-11-22T10:00Z'),
    });
    const body = JSON.parse(m.body);
    expect(body).toMatchObject({
      anomalyKey: 'acme#cqs_p95@2026-11-22T10:00Z',
      tenant: 'acme',
      signal: 'cqs_p95',
      class: 'app',
      expected: 0.0025,
      observed: 0.00377,
      correlatedChanges: [],
      rollbackKey: null,
      reportLink: null,
    });
    expect(body.plannedAction).toMatch(/playbook/);
    expect(body.start).toBe('2026-11-22T10:00:00.000Z');
  });

  it('keeps the subject within SNS limits', () => {
    const a = describeAnomaly(confirmed(), 'x', 't'.repeat(64), 's'.repeat(64), ctx());
    const m = alertMessage(a);
    expect(m.subject.length).toBeLessThanOrEqual(100);
    expect(m.subject).toMatch(/^[\x20-\x7e]+$/);
  });
});
