import { describe, expect, it } from 'vitest';
import { parseEnvelope, type Envelope } from '../../../lambdas/core/envelope.js';
import { engagementKey, engagementWeight, toObservation } from '../../../lambdas/core/observations.js';
import { DESIGN_ACTIVITY, DESIGN_CHANGE, DESIGN_METRIC, json, pos, utf8 } from './fixtures.js';

function parsed(bytes: Uint8Array): Envelope {
  const r = parseEnvelope(bytes);
  if (!r.ok) throw new Error(r.reason);
  return r.record;
}

describe('toObservation (the feature builder)', () => {
  it('turns a metric into an observation keyed tenant#signal with its value, id, region and position', () => {
    const o = toObservation(parsed(utf8(DESIGN_METRIC)), pos(7));
    expect(o).toMatchObject({
      key: 'acme#cqs_p95',
      tenant: 'acme',
      signal: 'cqs_p95',
      ts: 1795341603120,
      value: 0.0037,
      id: 'm-8f2c',
      region: 'kr',
      position: pos(7),
    });
    expect(o?.subject).toBeUndefined();
  });

  it('keys different tenants and signals apart', () => {
    const base = JSON.parse(DESIGN_METRIC) as Record<string, unknown>;
    const a = toObservation(parsed(json({ ...base, tenant: 'beta' })));
    const b = toObservation(parsed(json({ ...base, signal: 'search_qps' })));
    expect(a?.key).toBe('beta#cqs_p95');
    expect(b?.key).toBe('acme#search_qps');
  });

  it('turns an activity into an engagement observation keyed by tenant and activity key', () => {
    const o = toObservation(parsed(utf8(DESIGN_ACTIVITY)));
    expect(o).toMatchObject({
      key: engagementKey('podcast', 'user-42'),
      tenant: 'podcast',
      signal: 'engagement',
      subject: 'user-42',
      action: 'pause',
      ts: 1795341603120,
    });
    expect(o?.key).toBe('podcast#engagement@user-42');
    expect(o?.value).toBe(engagementWeight('pause'));
  });

  it('weighs exit below pause below listen, within 0..1', () => {
    const [exit, pause, listen] = ['exit', 'pause', 'listen'].map(engagementWeight) as [number, number, number];
    expect(exit).toBeLessThan(pause);
    expect(pause).toBeLessThan(listen);
    expect(exit).toBeGreaterThanOrEqual(0);
    expect(listen).toBeLessThanOrEqual(1);
  });

  it('gives an unknown action a weight between exit and listen', () => {
    const w = engagementWeight('dance');
    expect(w).toBeGreaterThan(engagementWeight('exit'));
    expect(w).toBeLessThan(engagementWeight('listen'));
  });

  it('produces no observation for a change record', () => {
    expect(toObservation(parsed(utf8(DESIGN_CHANGE)), pos(1))).toBeUndefined();
  });
});
