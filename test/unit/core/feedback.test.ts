import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import { ChangeRequest, WhitelistRequest } from '../../../lambdas/core/api/schemas.js';
import {
  applyFeedback,
  FEEDBACK_RULE,
  feedbackOutcome,
  keySensitivity,
  precisionByTenantSignal,
  suggestForExpected,
  type FeedbackEntry,
  type Verdict,
} from '../../../lambdas/core/feedback.js';

const DAY = 86_400_000;
const T = Date.parse('2026-11-22T10:00:00Z');

function anomaly(score: number, over: Partial<Anomaly> = {}): Anomaly {
  return {
    id: 'acme#cqs_p95@2026-11-22T10:00Z',
    key: 'acme#cqs_p95',
    tenant: 'acme',
    signal: 'cqs_p95',
    class: 'infra',
    severity: 'SEV2',
    start: T,
    detectedAt: T + 3 * 60_000,
    score,
    expected: 1,
    observed: 1.5,
    band: { lo: 0.9, hi: 1.1 },
    change: '+50%',
    trigger: 'sustained',
    evidence: ['e'],
    correlatedChanges: [],
    decision: 'alert',
    recommendation: 'investigate',
    softOnly: false,
    ...over,
  };
}

function verdict(anomalyId: string, v: Verdict, at: number, key = 'acme#cqs_p95'): FeedbackEntry {
  return { anomaly: anomalyId, key, tenant: 'acme', signal: 'cqs_p95', verdict: v, by: 'oncall', at };
}

describe('the false-positive rule', () => {
  const now = T + 3 * 60_000;
  const twoFalsePositives = [
    verdict('acme#cqs_p95@2026-11-19T08:00Z', 'false_positive', now - 3 * DAY),
    verdict('acme#cqs_p95@2026-11-20T08:00Z', 'false_positive', now - 2 * DAY),
  ];

  it('a key with two false positives does not page on a borderline anomaly, still pages a strong one', () => {
    const borderline = anomaly(0.9);
    expect(applyFeedback(borderline, [], now)).toBe(borderline);
    const held = applyFeedback(borderline, twoFalsePositives, now);
    expect(held).toMatchObject({ decision: 'suppressed', severity: 'SEV4' });
    expect(held.recommendation).toMatch(/held back by operator feedback: 2 false-positive verdict\(s\).*0\.95/);
    expect(held.evidence.at(-1)).toMatch(/^feedback: /);
    const strong = anomaly(0.96, { decision: 'mitigate' });
    expect(applyFeedback(strong, twoFalsePositives, now)).toBe(strong);
    expect(applyFeedback(anomaly(0.95), twoFalsePositives, now).decision).toBe('alert');
  });

  it('the effect ends after the window', () => {
    const later = now + 7 * DAY;
    // Both verdicts are in the window until the older is 7 days old.
    expect(applyFeedback(anomaly(0.9), twoFalsePositives, now + 4 * DAY - 1).decision).toBe('suppressed');
    // The older verdict has left the window: one false positive needs 0.9.
    expect(keySensitivity(twoFalsePositives, later - 2 * DAY - 1)).toMatchObject({ raise: 0.1, required: 0.9 });
    expect(applyFeedback(anomaly(0.9), twoFalsePositives, later - 2 * DAY - 1).decision).toBe('alert');
    expect(applyFeedback(anomaly(0.85), twoFalsePositives, later - 2 * DAY - 1).decision).toBe('suppressed');
    expect(applyFeedback(anomaly(0.6), twoFalsePositives, later).decision).toBe('alert');
    expect(keySensitivity(twoFalsePositives, later)).toEqual({ falsePositives: [], raise: 0, required: 0.8 });
  });

  it('is capped, counts each anomaly once by its latest verdict, and ignores verdicts given later', () => {
    const many = Array.from({ length: 6 }, (_, i) =>
      verdict(`acme#cqs_p95@2026-11-2${i}T00:00Z`, 'false_positive', now - DAY + i),
    );
    expect(keySensitivity(many, now)).toMatchObject({ raise: FEEDBACK_RULE.maxRaise, required: 0.95 });
    const id = 'acme#cqs_p95@2026-11-19T08:00Z';
    const repeated = [verdict(id, 'false_positive', now - 3 * DAY), verdict(id, 'false_positive', now - 2 * DAY)];
    expect(keySensitivity(repeated, now)).toMatchObject({ falsePositives: [id], required: 0.9 });
    const reversed = [...repeated, verdict(id, 'true_positive', now - DAY)];
    expect(keySensitivity(reversed, now).falsePositives).toEqual([]);
    expect(keySensitivity([verdict(id, 'false_positive', now + 1)], now).falsePositives).toEqual([]);
    // A suppressed anomaly stays as it is; a rule with a lower base caps at +0.3.
    const suppressed = anomaly(0.5, { decision: 'suppressed' });
    expect(applyFeedback(suppressed, many, now)).toBe(suppressed);
    const low = { ...FEEDBACK_RULE, baseConfidence: 0.5 };
    expect(keySensitivity(many, now, low).required).toBe(0.8);
  });
});

describe('feedbackOutcome', () => {
  const id = 'acme#cqs_p95@2026-11-22T10:00Z';
  it('the same verdict again is unchanged, a changed one is recorded after the previous', () => {
    expect(feedbackOutcome([], id, 'false_positive')).toEqual({ outcome: 'recorded' });
    const one = [verdict(id, 'false_positive', T)];
    expect(feedbackOutcome(one, id, 'false_positive')).toMatchObject({ outcome: 'unchanged' });
    expect(feedbackOutcome(one, id, 'expected')).toMatchObject({ outcome: 'changed', previous: one[0] });
    const two = [...one, verdict(id, 'expected', T + 1)];
    expect(feedbackOutcome(two, id, 'false_positive').outcome).toBe('changed');
  });
});

describe('suggestForExpected', () => {
  it('a tenant surge suggests a whitelist window covering its span, anything else a maintenance window', () => {
    const now = T + 30 * 60_000;
    const surge = suggestForExpected({ ...anomaly(0.9, { class: 'tenant' }), recoveredAt: T + 20 * 60_000 }, now);
    expect(surge.suggested.route).toBe('POST /v1/anomaly/policy/whitelist');
    expect(surge.suggested.body).toMatchObject({
      tenant: 'acme',
      window: { from: '2026-11-22T10:00:00.000Z', to: '2026-11-22T11:30:00.000Z' },
    });
    expect(WhitelistRequest.safeParse(surge.suggested.body).success).toBe(true);
    expect(surge.alternative.route).toBe('POST /v1/anomaly/changes');
    const infra = suggestForExpected({ ...anomaly(0.9), region: 'kr' }, now);
    expect(infra.suggested.route).toBe('POST /v1/anomaly/changes');
    expect(infra.suggested.body).toMatchObject({ tenant: 'acme', change: 'maintenance', region: 'kr' });
    expect(ChangeRequest.safeParse(infra.suggested.body).success).toBe(true);
    // An old anomaly: at most 14 days back, so the changes route accepts it.
    const old = suggestForExpected(anomaly(0.9, { start: T - 40 * DAY }), T);
    expect(ChangeRequest.safeParse(old.suggested.body).success).toBe(true);
  });
});

describe('precisionByTenantSignal', () => {
  it('counts paged episodes per tenant and signal with their last verdict', () => {
    const a = (id: string, tenant: string, signal: string, decision: Anomaly['decision'] = 'alert') => ({
      id,
      tenant,
      signal,
      decision,
    });
    const out = precisionByTenantSignal(
      [
        a('acme#cqs_p95@1', 'acme', 'cqs_p95'),
        a('acme#cqs_p95@2', 'acme', 'cqs_p95', 'mitigate'),
        a('acme#cqs_p95@3', 'acme', 'cqs_p95'),
        a('acme#cqs_p95@4', 'acme', 'cqs_p95', 'suppressed'),
        a('beta#cost@1', 'beta', 'cost'),
      ],
      [
        { key: 'acme#cqs_p95@1', verdict: 'false_positive' },
        { key: 'acme#cqs_p95@1', verdict: 'true_positive' },
        { key: 'acme#cqs_p95@2', verdict: 'expected' },
        { key: 'acme#cqs_p95@4', verdict: 'false_positive' },
      ],
    );
    expect(out.byTenantSignal).toEqual([
      { tenant: 'acme', signal: 'cqs_p95', alerts: 3, truePositive: 1, falsePositive: 0, expected: 1, precision: 0.5 },
      { tenant: 'beta', signal: 'cost', alerts: 1, truePositive: 0, falsePositive: 0, expected: 0, precision: null },
    ]);
    expect(out.unmatched).toEqual(['acme#cqs_p95@4']);
    expect(out.verdicts).toBe(3);
  });
});
