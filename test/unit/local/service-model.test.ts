import { describe, expect, it } from 'vitest';
import { PLAYBOOKS } from '../../../lambdas/core/mitigation/playbooks.js';
import { effectiveFactor, reliefFrom } from '../../../local/service-model.js';
import { defaultWorkload, simulateWorkload } from '../../../local/workload.js';

const START = Date.parse('2026-12-04T00:00:00Z');

function incidentValues(flags: ReadonlySet<string>): number[] {
  const o = {
    ...defaultWorkload(START, 120),
    invalidRate: 0,
    listeners: 0,
    flags: (t: string) => (t === 'acme' ? flags : new Set<string>()),
  };
  const incident = o.incidents[0]!;
  return [...simulateWorkload(o)]
    .map((r) => JSON.parse(r.line) as { tenant: string; signal: string; value: number; ts: number })
    .filter(
      (r) =>
        r.tenant === 'acme' &&
        r.signal === 'cqs_p95' &&
        r.ts >= START + incident.fromMinute * 60_000 &&
        r.ts < START + incident.toMinute * 60_000,
    )
    .map((r) => r.value);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('simulated services react to the flags mitigation sets (the local closed loop)', () => {
  it('the search-cost soft stage removes most of a search-cost incident, and nothing without flags', () => {
    const soft = new Set(
      PLAYBOOKS.find((p) => p.id === 'search-cost')!
        .steps.filter((s) => s.level === 'soft')
        .map((s) => s.flag),
    );
    expect(reliefFrom('cqs_p95', soft)).toBeCloseTo(1 - 0.55 * 0.7 * 0.8, 5);
    expect(reliefFrom('cqs_p95', new Set())).toBe(0);
    expect(effectiveFactor(1.5, 'cqs_p95', new Set(['search.cache.ttl_seconds']))).toBeCloseTo(1 + 0.5 * 0.55, 5);
    // A flag for another signal does nothing here.
    expect(reliefFrom('cqs_p95', new Set(['ingest.sampling.low_priority_keep']))).toBe(0);
  });

  it('every flag the model knows is one a playbook sets', () => {
    const playbookFlags = new Set(PLAYBOOKS.flatMap((p) => p.steps.map((s) => s.flag)));
    const modelled = [
      'search.cache.ttl_seconds',
      'search.rows.max',
      'search.facet.limit.max',
      'search.queries.saved_only',
      'search.queries.block_expensive',
      'ingest.sampling.low_priority_keep',
      'ingest.fields.mode',
      'cache.force',
      'cdn.cache_key.normalise',
      'origin.failover',
    ];
    for (const f of modelled) expect(playbookFlags.has(f), f).toBe(true);
  });

  it('the workload read with the flags set emits lower values during the incident, same seed otherwise', () => {
    const without = incidentValues(new Set());
    const withFlags = incidentValues(
      new Set(['search.cache.ttl_seconds', 'search.rows.max', 'search.facet.limit.max']),
    );
    expect(withFlags).toHaveLength(without.length);
    expect(mean(withFlags) / mean(without)).toBeLessThan(0.85);
  });
});
