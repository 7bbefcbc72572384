import { describe, expect, it } from 'vitest';
import type { AnomalyClass } from '../../../../lambdas/core/classifier.js';
import type { PlaybookStep } from '../../../../lambdas/core/mitigation/actions.js';
import { isBaselineLimit } from '../../../../lambdas/core/mitigation/limits.js';
import {
  DEFAULT_PLAYBOOK_BY_CLASS,
  PLAYBOOKS,
  UnknownPlaybookError,
  playbookById,
  selectPlaybook,
} from '../../../../lambdas/core/mitigation/playbooks.js';
import { KNOWN_SIGNALS } from '../../../../lambdas/core/signals.js';

const allSteps = PLAYBOOKS.flatMap((p) => p.steps.map((s) => ({ playbook: p.id, step: s })));
const step = (id: string): PlaybookStep => {
  const found = allSteps.find((s) => s.step.id === id);
  if (!found) throw new Error(`no step ${id}`);
  return found.step;
};

describe('playbook data (seed 004 §C)', () => {
  it('has the four seed playbooks', () => {
    expect(PLAYBOOKS.map((p) => p.id)).toEqual([
      'ingest-surge',
      'search-cost',
      'notification-storm',
      'origin-bottleneck',
    ]);
  });

  it('playbook ids and step ids are unique, and every step id is prefixed by its playbook id', () => {
    expect(new Set(PLAYBOOKS.map((p) => p.id)).size).toBe(PLAYBOOKS.length);
    expect(new Set(allSteps.map((s) => s.step.id)).size).toBe(allSteps.length);
    for (const { playbook, step: s } of allSteps) expect(s.id).toMatch(new RegExp(`^${playbook}/[a-z0-9-]+$`));
  });

  it('every step says how it is undone; only a CDN invalidation has nothing to undo', () => {
    for (const { step: s } of allSteps) {
      expect(['restore-previous', 'none']).toContain(s.undo);
      expect(s.undo === 'none').toBe(s.target === 'cdn-invalidation');
    }
  });

  it('soft steps come before hard ones, and every playbook has both', () => {
    for (const p of PLAYBOOKS) {
      const levels = p.steps.map((s) => s.level);
      expect(levels, p.id).toEqual([...levels].sort((a, b) => (a === b ? 0 : a === 'soft' ? -1 : 1)));
      expect(levels, p.id).toContain('soft');
      expect(levels, p.id).toContain('hard');
    }
  });

  it('every step has a title, a flag name within its scope (no tenant in it) and a value', () => {
    for (const { step: s } of allSteps) {
      expect(s.title.length).toBeGreaterThan(5);
      expect(s.flag, s.id).toMatch(
        s.target === 'flag' ? /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/ : /^(@[a-z]+|[a-z][a-z0-9-]*)$/,
      );
      expect(s.value).not.toBeUndefined();
    }
  });

  it('AWS-control steps use the values their targets take (lambdas/adapters/targets)', () => {
    for (const { step: s } of allSteps) {
      if (s.target === 'usage-plan') expect(s.flag, s.id).toBe('@tenant');
      if (s.target === 'waf-rate-limit')
        expect(Number.isInteger(s.value) && (s.value as number) >= 10, s.id).toBe(true);
      if (s.target === 'cdn-invalidation')
        expect(
          (s.value as { paths: string[] }).paths.every((p) => p.startsWith('/')),
          s.id,
        ).toBe(true);
    }
  });

  it('playbooks name known signals and classes only, and every class has a default playbook', () => {
    const classes: AnomalyClass[] = ['infra', 'app', 'tenant', 'abuse'];
    for (const p of PLAYBOOKS) {
      for (const s of p.signals ?? []) expect(KNOWN_SIGNALS, `${p.id}: ${s}`).toHaveProperty(s);
      for (const c of p.classes) expect(classes).toContain(c);
    }
    for (const c of classes) expect(() => playbookById(DEFAULT_PLAYBOOK_BY_CLASS[c])).not.toThrow();
  });

  it('rate limits are baseline-relative and derive from rate signals; usage-plan steps are rate limits', () => {
    for (const { step: s } of allSteps) {
      if (s.target === 'usage-plan') expect(isBaselineLimit(s.value), s.id).toBe(true);
      if (isBaselineLimit(s.value)) {
        expect(KNOWN_SIGNALS[s.value.signal]?.unit, s.id).toMatch(/\/(min|s)$/);
        expect(s.value.timesBaseline).toBeGreaterThan(1);
      }
    }
  });

  it('carries the seed values', () => {
    expect(step('search-cost/cache-ttl')).toMatchObject({ level: 'soft', flag: 'search.cache.ttl_seconds', value: 90 });
    expect(step('search-cost/rows-limit')).toMatchObject({ level: 'soft', flag: 'search.rows.max', value: 200 });
    expect(step('search-cost/facet-limit')).toMatchObject({ level: 'soft', flag: 'search.facet.limit.max', value: 50 });
    expect(step('search-cost/saved-queries-only')).toMatchObject({ level: 'hard', value: true });
    expect(step('search-cost/block-expensive')).toMatchObject({ level: 'hard', value: true });
    expect(step('notification-storm/dedupe-window')).toMatchObject({ level: 'soft', value: 30 });
    expect(step('notification-storm/channel-priority').value).toMatchObject({ order: ['slack', 'email'] });
    expect(step('origin-bottleneck/cdn-invalidate')).toMatchObject({
      level: 'soft',
      target: 'cdn-invalidation',
      undo: 'none',
    });
    expect(step('origin-bottleneck/read-only-failover')).toMatchObject({ level: 'hard', value: 'read-only' });
    expect(step('origin-bottleneck/challenge')).toMatchObject({ level: 'hard', target: 'waf-rate-limit', value: 300 });
    expect(step('ingest-surge/rate-limit')).toMatchObject({ level: 'hard', target: 'usage-plan' });
  });

  it('the origin playbook acts on the shared platform; the others on the tenant', () => {
    for (const p of PLAYBOOKS)
      for (const s of p.steps)
        expect(s.scope ?? 'tenant', s.id).toBe(p.id === 'origin-bottleneck' ? 'platform' : 'tenant');
  });
});

describe('selectPlaybook', () => {
  it.each<[AnomalyClass, string, string, string]>([
    ['tenant', 'ingest_rpm', 'ingest-surge', 'signal+class'],
    ['app', 'cqs_p95', 'search-cost', 'signal+class'],
    ['infra', 'filter_cache_hit', 'search-cost', 'signal+class'],
    ['abuse', 'notify_rpm', 'notification-storm', 'signal+class'],
    ['abuse', 'webhook_rps', 'notification-storm', 'signal+class'],
    ['infra', 'origin_p95_ms', 'origin-bottleneck', 'signal+class'],
    ['infra', 'cache_hit_ratio', 'origin-bottleneck', 'signal+class'],
    // A crawl on search (classified abuse) is a search cost problem: the signal decides.
    ['abuse', 'search_qps', 'search-cost', 'signal'],
    // Record cost is classified app (a cost signal) but it is ingest that burns.
    ['app', 'cir_p95', 'ingest-surge', 'signal'],
    // No playbook names the signal: the class default.
    ['infra', 'dlq_growth', 'origin-bottleneck', 'class'],
    ['tenant', 'some_custom_signal', 'ingest-surge', 'class'],
  ])('%s %s → %s (by %s)', (cls, signal, playbook, by) => {
    const { playbook: p, selectedBy } = selectPlaybook(cls, signal);
    expect([p.id, selectedBy]).toEqual([playbook, by]);
  });

  it('an unknown playbook id is a clear error', () => {
    expect(() => playbookById('nope')).toThrow(UnknownPlaybookError);
    expect(() => playbookById('nope')).toThrow(
      /unknown playbook "nope"; known: ingest-surge, search-cost, notification-storm, origin-bottleneck/,
    );
  });
});
