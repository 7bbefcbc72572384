import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INCIDENT_WINDOW_MS,
  incidentIdOf,
  mitigationScope,
  placeMember,
  signalFamily,
  type OpenIncident,
} from '../../../lambdas/core/incidents.js';
import { episodeHash } from '../../../lambdas/core/mitigation/keys.js';
import { InMemoryIncidentStore } from '../../../lambdas/adapters/in-memory/incident-store.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');
const member = (tenant: string, signal: string, minute: number) => ({
  anomalyId: `${tenant}#${signal}@${new Date(T0 + minute * MIN).toISOString()}`,
  tenant,
  signal,
  start: T0 + minute * MIN,
});

describe('signal families', () => {
  it('the origin signals are one family; each playbook names one; other signals stand alone', () => {
    expect(new Set(['origin_p95_ms', 'edge_p95_ms', 'cache_hit_ratio'].map(signalFamily))).toEqual(
      new Set(['origin-bottleneck']),
    );
    expect(signalFamily('cqs_p95')).toBe('search-cost');
    expect(signalFamily('ingest_rpm')).toBe('ingest-surge');
    expect(signalFamily('cdn_cost_usd')).toBe('signal:cdn_cost_usd');
  });

  it("the incident id is the first member's episode hash (the hash of its execution and rollback key)", () => {
    expect(incidentIdOf('acme#edge_p95_ms@2026-11-22T10:00Z')).toBe(
      `inc-${episodeHash('acme#edge_p95_ms@2026-11-22T10:00Z')}`,
    );
  });

  it('one mitigation per incident and playbook, platform-only or tenant-scoped', () => {
    expect(mitigationScope({ class: 'infra', signal: 'edge_p95_ms' })).toBe('origin-bottleneck#*');
    // Tenant-scoped playbooks too: one execution plans every member tenant's steps.
    expect(mitigationScope({ class: 'tenant', signal: 'ingest_rpm' })).toBe('ingest-surge#*');
  });
});

describe('placeMember (the grouping rule)', () => {
  it('founds an incident, joins members within the window of any member, founds a new one after a gap', () => {
    const a = placeMember(undefined, member('acme', 'edge_p95_ms', 0));
    expect(a).toMatchObject({ id: incidentIdOf(member('acme', 'edge_p95_ms', 0).anomalyId), founded: true });
    let open = a.next!;
    const b = placeMember(open, member('globex', 'origin_p95_ms', 9));
    expect(b).toMatchObject({ id: a.id, founded: false });
    open = b.next!;
    // Within 10 min of the latest member, 18 min after the first: still the same incident.
    const c = placeMember(open, member('initech', 'edge_p95_ms', 18));
    expect(c.id).toBe(a.id);
    open = c.next!;
    expect(open).toMatchObject({ firstStart: T0, lastStart: T0 + 18 * MIN, version: 3 });
    // Inside the span: nothing to write.
    expect(placeMember(open, member('hooli', 'edge_p95_ms', 5))).toEqual({ id: a.id, founded: false });
    // A gap longer than the window: a new incident, which becomes the open one.
    const d = placeMember(open, member('acme', 'edge_p95_ms', 29));
    expect(d).toMatchObject({ founded: true, next: { firstStart: T0 + 29 * MIN, version: 4 } });
    expect(d.id).not.toBe(a.id);
  });

  it('an earlier member arriving late joins within the window; an old straggler leaves the open incident alone', () => {
    const open: OpenIncident = { id: 'inc-x', firstStart: T0, lastStart: T0 + 2 * MIN, version: 1 };
    expect(placeMember(open, member('acme', 'edge_p95_ms', -7))).toMatchObject({
      id: 'inc-x',
      next: { firstStart: T0 - 7 * MIN, lastStart: T0 + 2 * MIN, version: 2 },
    });
    const old = placeMember(open, member('acme', 'edge_p95_ms', -60));
    expect(old.founded).toBe(true);
    expect(old.next).toBeUndefined();
  });

  it('the window is configurable', () => {
    const open: OpenIncident = { id: 'inc-x', firstStart: T0, lastStart: T0, version: 1 };
    expect(placeMember(open, member('acme', 'cqs_p95', 4), 3 * MIN).founded).toBe(true);
    expect(placeMember(open, member('acme', 'cqs_p95', 4), DEFAULT_INCIDENT_WINDOW_MS).founded).toBe(false);
  });
});

describe('InMemoryIncidentStore', () => {
  it('in any arrival order, with repeats, every member gets one incident id; one claimant per purpose', async () => {
    const members = ['acme', 'globex', 'initech', 'hooli'].map((t, i) => member(t, 'edge_p95_ms', i * 2));
    for (const order of [members, [...members].reverse()]) {
      const store = new InMemoryIncidentStore();
      const ids = new Set<string>();
      for (const m of [...order, ...order]) ids.add((await store.join({ ...m, family: 'origin' }, 10 * MIN)).id);
      expect(ids.size).toBe(1);
      const [id] = ids;
      expect(await store.get(id!)).toMatchObject({ tenants: ['acme', 'globex', 'hooli', 'initech'], members: 4 });
      expect(await store.claim(id!, 'page', order[0]!.anomalyId)).toBe(true);
      expect(await store.claim(id!, 'page', order[1]!.anomalyId)).toBe(false);
      expect(await store.claim(id!, 'page', order[0]!.anomalyId)).toBe(true);
    }
  });
});
