import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../../../lambdas/core/ports/action-ledger.js';
import {
  buildReport,
  reportObjectKeys,
  renderReport,
  type ActionLedgerRecord,
  type RenderedReport,
} from '../../../../lambdas/core/report/index.js';
import { at, seedInput, seedLedger, seedPlan } from './fixtures.js';

const bodies = (r: RenderedReport) => r.objects.map((o) => [o.key, Buffer.from(o.body).toString('base64')]);

describe('same input, same bytes, same keys (regenerating a report overwrites it)', () => {
  it('rendering twice gives byte-identical objects, evidence archive included', () => {
    const a = renderReport(seedInput());
    const b = renderReport(seedInput());
    expect(bodies(b)).toEqual(bodies(a));
    expect(a.objects.map((o) => o.key.split('/').pop())).toEqual([
      'report.json',
      'report.md',
      'report.html',
      'evidence.tar.gz',
    ]);
  });

  it('the order the adapters return series, ledger and changes in does not matter', () => {
    const input = seedInput();
    const shuffled = seedInput({
      series: [...input.series].reverse(),
      ledger: [...input.ledger!].reverse(),
      changes: [...input.changes!].reverse(),
    });
    expect(bodies(renderReport(shuffled))).toEqual(bodies(renderReport(input)));
  });

  it('the id comes from the episode: a later regeneration lands on the same keys', () => {
    const first = buildReport(seedInput());
    const later = buildReport(seedInput({ generatedAt: at(120), outcome: 'recovered' }));
    expect(later.id).toBe(first.id);
    expect(reportObjectKeys(later)).toEqual(reportObjectKeys(first));
    // The id shares the hash of the episode's rollback key, so one leads to the other.
    expect(first.id).toBe(`rca-${seedPlan().rollbackKey.slice(3)}-acme-cqs_p95`);
    expect(reportObjectKeys(first)).toEqual({
      prefix: `reports/2026/11/22/${first.id}/`,
      json: `reports/2026/11/22/${first.id}/report.json`,
      markdown: `reports/2026/11/22/${first.id}/report.md`,
      html: `reports/2026/11/22/${first.id}/report.html`,
      bundle: `reports/2026/11/22/${first.id}/evidence.tar.gz`,
    });
  });

  it('another episode of the same tenant and signal gets another id', () => {
    const other = seedInput({ anomaly: { ...seedInput().anomaly, id: 'acme#cqs_p95@2026-11-22T14:00Z' } });
    expect(buildReport(other).id).not.toBe(buildReport(seedInput()).id);
  });

  it("the adapter's ledger entries are accepted as they are", () => {
    const entries: LedgerEntry[] = seedLedger(seedPlan());
    const asCore: ActionLedgerRecord[] = entries;
    expect(buildReport(seedInput({ ledger: asCore })).id).toBe(buildReport(seedInput()).id);
  });
});
