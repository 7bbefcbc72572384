import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLocal } from '../../local/runtime.js';
import { adversarialScenario } from '../fixtures/adversarial/generate.js';

const FIXTURE = new URL('../fixtures/adversarial/scenario.jsonl', import.meta.url).pathname;

interface JournalLine {
  episode: string;
  event: string;
  at: number;
  action: { rollbackKey: string; tenant: string; step: { id: string; scope?: string; undo: string; target: string } };
}

const jsonLines = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

describe('an adversarial scenario (`local --once --scenario test/fixtures/adversarial/scenario.jsonl`)', () => {
  it('is the generator’s output (regenerate with `npx tsx test/fixtures/adversarial/generate.ts`)', () => {
    expect(readFileSync(FIXTURE, 'utf8')).toBe(`${adversarialScenario().join('\n')}\n`);
  });

  it('dead-letters the mute attempt and still pages, counts no honest record late, keeps a single tenant’s spike ' +
    'off platform steps, and ledgers every action first', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ag-adversarial-'));
    const summary = await runLocal({
      scenario: FIXTURE,
      once: true,
      out,
      port: 0,
      minutes: 0,
      chunk: 500,
      log: () => {},
      // Nobody approves: what the system does by itself.
      autoApprove: false,
    });
    expect(summary.ok, summary.problems.join('; ')).toBe(true);
    expect(summary.records.lost).toBe(0);

    // The global mute and the two-day window are refused with the reason; nothing else is.
    const letters = jsonLines<{ reason: string; data: string }>(join(out, 'dead-letters.jsonl'));
    const byId = new Map(letters.map((l) => [(JSON.parse(l.data) as { id: string }).id, l.reason]));
    expect([...byId.keys()].sort()).toEqual(['mute-acme-2d', 'mute-all']);
    expect(byId.get('mute-all')).toMatch(/^tenant: .*exactly one tenant/);
    expect(byId.get('mute-acme-2d')).toMatch(/^until: .*24 h/);

    // Incidents after the mute attempt still page: acme at minute 85, globex at 165.
    const alerts = jsonLines<{ tenant: string; signal: string; decision: string; start: string; regions?: string[] }>(
      join(out, 'alerts.jsonl'),
    );
    const paged = (tenant: string, signal: string) =>
      alerts.find((a) => a.tenant === tenant && a.signal === signal && a.decision !== 'suppressed');
    expect(paged('acme', 'cqs_p95'), JSON.stringify(alerts)).toBeDefined();
    expect(paged('hooli', 'edge_p95_ms')).toBeDefined();
    // globex's traffic comes from two regions: the anomaly carries both, whichever record came last.
    expect(paged('globex', 'cqs_p95')?.regions).toEqual(['kr', 'us']);
    expect(alerts.filter((a) => a.decision === 'suppressed')).toEqual([]);

    // The record from a clock 14 minutes ahead holds no watermark: no honest record is late.
    expect(summary.records.late).toBe(0);
    expect(summary.records.deadLettered).toBe(2);

    const journal = jsonLines<JournalLine>(join(out, 'actions.jsonl'));
    // A single tenant's edge spike: nothing platform-scoped or irreversible was even attempted; those steps wait for
    // an operator's approval, which nobody gave.
    const hooli = journal.filter((e) => e.action.tenant === 'hooli');
    const wide = hooli.filter((e) => e.action.step.scope === 'platform' || e.action.step.undo === 'none');
    expect(wide.filter((e) => e.event !== 'approval-requested')).toEqual([]);
    expect(wide.map((e) => e.action.step.id)).toContain('origin-bottleneck/cdn-invalidate');

    // Every action the workflow announced as applied was in the ledger as an intent before, and as applied.
    const events = jsonLines<{ detailType: string; detail: { rollbackKey: string }; time: number }>(
      join(out, 'events.jsonl'),
    );
    const applied = events.filter((e) => e.detailType === 'Mitigation Action Applied');
    expect(applied.length).toBeGreaterThan(0);
    for (const e of applied) {
      const entries = journal.filter((j) => j.action.rollbackKey === e.detail.rollbackKey);
      const intent = entries.find((j) => j.event === 'intent');
      const done = entries.find((j) => j.event === 'applied');
      expect(intent, `intent for ${e.detail.rollbackKey}`).toBeDefined();
      expect(done, `applied for ${e.detail.rollbackKey}`).toBeDefined();
      expect(intent!.at).toBeLessThanOrEqual(done!.at);
    }
    // …and nothing is in the ledger as applied that was not announced.
    expect(new Set(journal.filter((j) => j.event === 'applied').map((j) => j.action.rollbackKey))).toEqual(
      new Set(applied.map((e) => e.detail.rollbackKey)),
    );
  }, 240_000);
});
