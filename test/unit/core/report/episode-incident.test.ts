import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../../../../lambdas/core/anomaly.js';
import { incidentIdOf } from '../../../../lambdas/core/incidents.js';
import { buildReport, renderHtml, renderMarkdown, type EpisodeReport } from '../../../../lambdas/core/report/index.js';
import { at, seedAnomaly, seedInput, seedPlan } from './fixtures.js';

const INCIDENT = 'inc-search1';

/** An anomaly of another tenant (or signal) at `minute`, optionally in an incident. */
function other(tenant: string, minute: number, over: Partial<Anomaly> = {}): Anomaly {
  const signal = over.signal ?? 'cqs_p95';
  const start = at(minute);
  return seedAnomaly({
    id: `${tenant}#${signal}@${new Date(start).toISOString().slice(0, 16)}Z`,
    key: `${tenant}#${signal}`,
    tenant,
    signal,
    start,
    detectedAt: start + 3 * 60_000,
    ...over,
  });
}

describe("an episode's report names its incident and lists the incident's members", () => {
  const anomaly = seedAnomaly({ incident: INCIDENT });
  const known: Anomaly[] = [
    other('initech', 8, { incident: INCIDENT, severity: 'SEV3' }),
    other('globex', 3, { incident: INCIDENT, severity: 'SEV1' }),
    // The anomaly itself, as the store returns it: listed once.
    anomaly,
    // Around the same time but in other incidents (or none): not members.
    other('acme', 5, { signal: 'edge_p95_ms', incident: 'inc-origin9' }),
    other('umbrella', 1),
  ];
  const report = buildReport({
    ...seedInput({ anomaly, plan: seedPlan(anomaly) }),
    incidentMembers: known,
  }) as EpisodeReport;

  it('report.json: the incident id and its members oldest first, with tenants and signals', () => {
    expect(report.incident).toEqual({
      id: INCIDENT,
      members: [
        {
          key: 'acme#cqs_p95@2026-11-22T10:00Z',
          tenant: 'acme',
          signal: 'cqs_p95',
          start: '2026-11-22T10:00:00.000Z',
          severity: 'SEV2',
        },
        {
          key: 'globex#cqs_p95@2026-11-22T10:03Z',
          tenant: 'globex',
          signal: 'cqs_p95',
          start: '2026-11-22T10:03:00.000Z',
          severity: 'SEV1',
        },
        {
          key: 'initech#cqs_p95@2026-11-22T10:08Z',
          tenant: 'initech',
          signal: 'cqs_p95',
          start: '2026-11-22T10:08:00.000Z',
          severity: 'SEV3',
        },
      ],
      tenants: ['acme', 'globex', 'initech'],
      signals: ['cqs_p95'],
    });
  });

  it('report.md: an Incident section with a row per member, this one marked', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('· incident `inc-search1` ·');
    expect(md).toContain(
      'Incident `inc-search1`: 3 anomalies on 3 tenants (`acme`, `globex`, `initech`), signal `cqs_p95`, as known ' +
        'at 10:50 UTC.',
    );
    expect(md).toContain('| 10:00 UTC | `acme` | `cqs_p95` | SEV2 | `acme#cqs_p95@2026-11-22T10:00Z` (this report) |');
    expect(md).toContain('| 10:03 UTC | `globex` | `cqs_p95` | SEV1 | `globex#cqs_p95@2026-11-22T10:03Z` |');
    expect(md).toContain('| 10:08 UTC | `initech` | `cqs_p95` | SEV3 | `initech#cqs_p95@2026-11-22T10:08Z` |');
    expect(md).not.toContain('umbrella');
    expect(md).not.toContain('edge_p95_ms');
    // Before the classification: what the incident is comes with what happened.
    expect(md.indexOf('## Incident')).toBeLessThan(md.indexOf('## Classification'));
  });

  it('report.html: the same members in a table', () => {
    const html = renderHtml(report);
    expect(html).toContain('<h2>Incident</h2>');
    expect(html).toContain(
      '<tr class="self"><td>10:00 UTC</td><td><code>acme</code></td><td><code>cqs_p95</code></td><td>SEV2</td><td>' +
        '<code>acme#cqs_p95@2026-11-22T10:00Z</code> (this report)</td></tr>',
    );
    expect(html).toContain(
      '<tr><td>10:03 UTC</td><td><code>globex</code></td><td><code>cqs_p95</code></td><td>SEV1</td><td>' +
        '<code>globex#cqs_p95@2026-11-22T10:03Z</code></td></tr>',
    );
    expect(html).not.toContain('umbrella');
  });

  it('the same members in another order give the same report', () => {
    const again = buildReport({
      ...seedInput({ anomaly, plan: seedPlan(anomaly) }),
      incidentMembers: [...known].reverse(),
    });
    expect(again).toEqual(report);
  });
});

describe('an anomaly that was not grouped', () => {
  it('is its own incident, and the report says no other anomaly had joined it', () => {
    const anomaly = seedAnomaly();
    const report = buildReport({
      ...seedInput(),
      incidentMembers: [other('globex', 3, { incident: INCIDENT })],
    }) as EpisodeReport;
    expect(report.incident).toMatchObject({ id: incidentIdOf(anomaly.id), tenants: ['acme'] });
    expect(report.incident!.members).toHaveLength(1);
    const md = renderMarkdown(report);
    expect(md).toContain(
      `Incident \`${incidentIdOf(anomaly.id)}\`: this anomaly only (no other anomaly had joined it by 10:50 UTC).`,
    );
    expect(md).not.toContain('globex');
  });

  it('without any known anomaly (no members given) the report still names the incident', () => {
    const report = buildReport(seedInput({ anomaly: seedAnomaly({ incident: INCIDENT }) })) as EpisodeReport;
    expect(report.incident).toMatchObject({ id: INCIDENT, members: [{ key: 'acme#cqs_p95@2026-11-22T10:00Z' }] });
  });
});
