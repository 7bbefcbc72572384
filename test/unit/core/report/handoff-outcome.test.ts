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
const soft = plan.stages[0]!.actions;
const HEAD = 'not recovered automatically, handed off to on-call';

/** The step as planned, as approval entries carry it (nothing applied: `previous` null). */
const planned = (a: typeof savedOnly, ts: number): AppliedAction => ({ ...a!, previous: null, appliedAt: ts });

function entry(e: {
  event: ActionLedgerRecord['event'];
  at: number;
  action: AppliedAction;
  by?: string;
  note?: string;
}) {
  return { execution: plan.id, ...e } as ActionLedgerRecord;
}

/** The hard stage asked for at 10:20, both steps answered at `answeredAt` with `answer`. */
function hardAnswered(answer: Omit<Parameters<typeof entry>[0], 'at' | 'action'>, answeredAt: number) {
  return [savedOnly, blockExpensive].flatMap((a) => [
    entry({ event: 'approval-requested', at: at(20), action: planned(a, at(20)) }),
    entry({ ...answer, at: answeredAt, action: planned(a, at(20)) }),
  ]);
}

/** Handed off at 10:40 with `ledger` as the episode's ledger. */
const handedOff = (ledger: ActionLedgerRecord[]) =>
  buildReport(
    seedInput({
      plan,
      ledger,
      outcome: 'handed-off',
      execution: { name: plan.id, status: 'SUCCEEDED', startedAt: at(3, 40), stoppedAt: at(40) },
    }),
  ) as EpisodeReport;

/** The outcome as the timeline, report.md and report.html word it; all three must agree. */
function outcomeOf(r: EpisodeReport): string {
  const ended = r.timeline.filter((t) => t.kind === 'outcome').map((t) => t.text);
  expect(ended).toHaveLength(1);
  const detail = ended[0]!.replace(/^mitigation ended: handed-off: /, '');
  expect(renderMarkdown(r)).toContain(`Outcome: **handed-off**: ${detail}.`);
  expect(renderHtml(r)).toContain(`<p>Outcome: <strong>handed-off</strong>: ${detail}.`);
  return detail;
}

/** The soft stage applied at 10:04 and left in place (no rollback). */
const softInPlace = () => seedLedger(plan).filter((e) => e.event === 'applied');

describe('a handed-off mitigation says what its ledger shows', () => {
  it('denied with nothing applied: who denied and why, and no claim that actions stay in place', () => {
    const r = handedOff(hardAnswered({ event: 'denied', by: 'bob', note: 'blocks paying customers' }, at(23)));
    expect(r.actions).toEqual([]);
    const detail = outcomeOf(r);
    expect(detail).not.toContain('stay in place');
    expect(detail).toBe(
      `${HEAD}; the approval of 2 hard steps was denied by bob (blocks paying customers) and nothing of it was ` +
        'applied; no other action was applied',
    );
  });

  it('expired with nothing applied: nobody answered in time, nothing of it applied', () => {
    const r = handedOff(hardAnswered({ event: 'approval-expired', by: 'approval timeout' }, at(35)));
    const detail = outcomeOf(r);
    expect(detail).not.toContain('stay in place');
    expect(detail).toBe(
      `${HEAD}; the approval of 2 hard steps expired with no answer in time and nothing of it was applied; no other ` +
        'action was applied',
    );
  });

  it('denied without a name or a reason still reads', () => {
    const r = handedOff(hardAnswered({ event: 'denied' }, at(23)));
    expect(outcomeOf(r)).toBe(
      `${HEAD}; the approval of 2 hard steps was denied by an unnamed approver and nothing of it was applied; no ` +
        'other action was applied',
    );
  });

  it('soft steps applied and left in place, the hard stage denied: both said', () => {
    const r = handedOff([
      ...softInPlace(),
      ...hardAnswered({ event: 'denied', by: 'bob', note: 'blocks paying customers' }, at(23)),
    ]);
    expect(outcomeOf(r)).toBe(
      `${HEAD}; the approval of 2 hard steps was denied by bob (blocks paying customers) and nothing of it was ` +
        `applied; 3 actions stay in place (rollback key ${plan.rollbackKey})`,
    );
  });

  it('everything applied was rolled back: nothing stays in place', () => {
    const r = handedOff(seedLedger(plan));
    expect(r.actions).toHaveLength(soft.length);
    const detail = outcomeOf(r);
    expect(detail).not.toContain('stay in place');
    expect(detail).toBe(`${HEAD}; all 3 applied actions were rolled back: nothing stays in place`);
  });

  it('actions applied and not rolled back: they stay in place, with the rollback key', () => {
    expect(outcomeOf(handedOff(softInPlace()))).toBe(
      `${HEAD}; 3 actions stay in place (rollback key ${plan.rollbackKey})`,
    );
  });

  it('an approved step that was applied is in place, not reported as unapplied', () => {
    const applied = { ...savedOnly!, previous: false, appliedAt: at(22, 10) };
    const r = handedOff([
      ...hardAnswered({ event: 'approved', by: 'alice' }, at(22)).filter(
        (e) => e.action.step.id === savedOnly!.step.id,
      ),
      entry({ event: 'applied', at: at(22, 10), action: applied }),
    ]);
    expect(outcomeOf(r)).toBe(`${HEAD}; 1 action stays in place (rollback key ${plan.rollbackKey})`);
  });

  it('nothing in the ledger: no action was applied', () => {
    expect(outcomeOf(handedOff([]))).toBe(`${HEAD}; no action was applied`);
  });
});
