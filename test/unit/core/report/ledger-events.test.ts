import { describe, expect, it } from 'vitest';
import type { AppliedAction } from '../../../../lambdas/core/mitigation/actions.js';
import {
  buildReport,
  renderHtml,
  renderMarkdown,
  type ActionLedgerRecord,
  type EpisodeReport,
} from '../../../../lambdas/core/report/index.js';
import { at, seedInput, seedLedger, seedPlan } from './fixtures.js';

const plan = seedPlan();
const [savedOnly, blockExpensive] = plan.stages[1]!.actions;
const SAVED = 'hard step "Allow saved queries only" (tenant/acme/search.queries.saved_only)';
const BLOCK = 'hard step "Block expensive queries" (tenant/acme/search.queries.block_expensive)';

/** The step as planned, as approval entries carry it (nothing applied: `previous` null). */
const planned = (a: typeof savedOnly, ts: number): AppliedAction => ({ ...a!, previous: null, appliedAt: ts });

/**
 * A ledger line as written by the approval flow. Built through `unknown` so the test reads the same whether the
 * ledger's type lists these events yet or not (and for events no version lists).
 */
function entry(e: { event: string; at: number; action: AppliedAction; by?: string; note?: string }) {
  return { execution: plan.id, ...e } as unknown as ActionLedgerRecord;
}

const episode = (ledger: ActionLedgerRecord[]) =>
  buildReport(seedInput({ plan, ledger: [...seedLedger(plan), ...ledger] })) as EpisodeReport;

const timelineOf = (r: EpisodeReport, kinds: string[]) =>
  r.timeline.filter((t) => kinds.includes(t.kind)).map((t) => `${t.at.slice(11, 19)} ${t.kind}: ${t.text}`);

describe('approval events in the action timeline', () => {
  const report = episode([
    entry({
      event: 'approval-requested',
      at: at(20),
      action: planned(savedOnly, at(20)),
      note: 'hard steps wait for an operator',
    }),
    entry({ event: 'approval-requested', at: at(20), action: planned(blockExpensive, at(20)) }),
    entry({
      event: 'approved',
      at: at(22),
      action: planned(savedOnly, at(20)),
      by: 'alice',
      note: 'scraping from one client, confirmed',
    }),
    entry({ event: 'applied', at: at(22, 10), action: { ...savedOnly!, previous: false, appliedAt: at(22, 10) } }),
    entry({
      event: 'denied',
      at: at(23),
      action: planned(blockExpensive, at(20)),
      by: 'arn:aws:iam::123456789012:user/bob',
      note: 'would block paying customers',
    }),
  ]);

  it('reads as who asked, who decided and why, in order with the applies', () => {
    expect(timelineOf(report, ['approval-requested', 'approved', 'denied', 'applied'])).toEqual([
      '10:04:05 applied: applied soft step "Raise the search cache TTL to 90 s": ' +
        'tenant/acme/search.cache.ttl_seconds = 90 (was 30)',
      '10:04:06 applied: applied soft step "Cap rows at 200": tenant/acme/search.rows.max = 200 (was 1000)',
      '10:04:07 applied: applied soft step "Cap facet.limit at 50": tenant/acme/search.facet.limit.max = 50 (was 200)',
      `10:20:00 approval-requested: approval requested for ${SAVED}: hard steps wait for an operator`,
      `10:20:00 approval-requested: approval requested for ${BLOCK}`,
      `10:22:00 approved: ${SAVED} approved by alice: scraping from one client, confirmed`,
      '10:22:10 applied: applied hard step "Allow saved queries only": tenant/acme/search.queries.saved_only = true ' +
        '(was false)',
      `10:23:00 denied: ${BLOCK} denied by arn:aws:iam::123456789012:user/bob: would block paying customers; it was ` +
        'not applied',
    ]);
  });

  it('approval events are not actions: only what was applied is in the actions table', () => {
    expect(report.actions.map((a) => a.stepId)).toEqual([
      'search-cost/cache-ttl',
      'search-cost/rows-limit',
      'search-cost/facet-limit',
      'search-cost/saved-queries-only',
    ]);
  });

  it('both renderings show them', () => {
    const md = renderMarkdown(report);
    expect(md).toContain(
      `| 10:22:00 | ${SAVED} approved by alice: scraping from one client, confirmed | \`${savedOnly!.rollbackKey}\` |`,
    );
    expect(md).toContain(`| 10:20:00 | approval requested for ${BLOCK} | \`${blockExpensive!.rollbackKey}\` |`);
    const html = renderHtml(report);
    expect(html).toContain(
      '<tr class="denied"><td>10:23:00</td><td>hard step &quot;Block expensive queries&quot; ' +
        '(tenant/acme/search.queries.block_expensive) denied by arn:aws:iam::123456789012:user/bob: would block ' +
        'paying customers; it was not applied</td>',
    );
  });
});

describe('an approval nobody answered, a decision without a name, an event this version does not know', () => {
  it('expired: nothing applied, said in words', () => {
    const r = episode([
      entry({ event: 'approval-requested', at: at(20), action: planned(blockExpensive, at(20)) }),
      entry({ event: 'approval-expired', at: at(35), action: planned(blockExpensive, at(20)) }),
    ]);
    expect(timelineOf(r, ['approval-expired'])).toEqual([
      `10:35:00 approval-expired: ${BLOCK}: no answer within the approval time: nothing applied`,
    ]);
    expect(r.actions.map((a) => a.stepId)).not.toContain('search-cost/block-expensive');
  });

  it('a decision without `by` or reason still reads', () => {
    const r = episode([entry({ event: 'approved', at: at(22), action: planned(savedOnly, at(20)) })]);
    expect(timelineOf(r, ['approved'])).toEqual([`10:22:00 approved: ${SAVED} approved by an unnamed approver`]);
  });

  it('an unknown event is shown by its name and does not break the report', () => {
    const r = episode([
      entry({ event: 'escalated', at: at(25), action: planned(savedOnly, at(20)), by: 'carol', note: 'paged search' }),
    ]);
    expect(timelineOf(r, ['ledger'])).toEqual([`10:25:00 ledger: escalated: ${SAVED} by carol: paged search`]);
    expect(renderMarkdown(r)).toContain(`| 10:25:00 | escalated: ${SAVED} by carol: paged search |`);
    expect(r.actions).toHaveLength(3);
  });
});
