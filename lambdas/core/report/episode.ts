import { incidentOf, type Anomaly } from '../anomaly.js';
import { describeChange } from '../classifier.js';
import { controlKey } from '../mitigation/keys.js';
import { signalSpec } from '../signals.js';
import { evaluateControlTarget, evaluateCostCorrection } from './control-targets.js';
import { STABLE_MINUTES, badSign, estimateSavings, spanMean, stabilisedAt, type SavingsArgs } from './figures.js';
import { MINUTE_MS } from '../time.js';
import { clock, iso, minuteOf, plural, round, value, withUnit } from './format.js';
import { episodeReportId } from './keys.js';
import type {
  ActionLedgerRecord,
  EpisodeReport,
  EpisodeReportInput,
  IncidentMemberInput,
  ReportAction,
  ReportChange,
  ReportChangeInput,
  ReportIncident,
  TimelineEvent,
  TimelineKind,
} from './model.js';
import { downsample, normaliseSeries } from './series.js';

/** Same-time events read in the order they happen. */
const KIND_ORDER: readonly TimelineKind[] = [
  'change',
  'anomaly-start',
  'detected',
  'alert',
  'planned',
  'approval-requested',
  'approved',
  'denied',
  'approval-expired',
  'applied',
  'stabilised',
  'rolled-back',
  'rollback-skipped',
  'ledger',
  'outcome',
];

export const TRIGGER_WORDS: Readonly<Record<Anomaly['trigger'], string>> = {
  'high-confidence': 'high-confidence anomaly for 3 consecutive minutes',
  cost: 'cumulative cost over 5 minutes at least 15% above the baseline',
  sustained: 'sustained anomaly below the automatic-mitigation confidence',
};

/**
 * The RCA report of one episode (report.json). Pure: the same input gives the same report.
 *
 * @example
 * const report = buildEpisodeReport(input); // input: the stored anomaly, its minute series, changes and action ledger
 * report.outcome;
 */
export function buildEpisodeReport(input: EpisodeReportInput): EpisodeReport {
  const a = input.anomaly;
  const spec = signalSpec(a.signal);
  const cost = spec.category === 'cost';
  const points = normaliseSeries(input.series, { expected: a.expected, band: a.band });
  const actions = ledgerActions(input.ledger ?? [], a.tenant);
  const firstAppliedAt = actions.length ? Math.min(...actions.map((x) => Date.parse(x.appliedAt))) : undefined;
  const firstActionMinute = firstAppliedAt === undefined ? undefined : minuteOf(firstAppliedAt);
  const start = minuteOf(a.start);

  const from = firstActionMinute ?? minuteOf(a.detectedAt);
  const settledAt = stabilisedAt(points, from, spec.bad);
  const dataEnd = points.length ? points[points.length - 1]!.ts + MINUTE_MS : from;
  const episodeEnd = settledAt ?? Math.max(dataEnd, from);
  const minutes = settledAt === null ? null : Math.round((settledAt - from) / MINUTE_MS);
  const since = firstActionMinute === undefined ? 'detection' : 'the first action';

  const before = firstActionMinute === undefined ? null : spanMean(points, start, firstActionMinute);
  const afterAction = firstActionMinute === undefined ? null : spanMean(points, firstActionMinute, episodeEnd);
  const settled = settledAt === null ? null : spanMean(points, settledAt, dataEnd);
  const costEffect =
    before && afterAction && before.mean !== 0
      ? {
          percent: round(((afterAction.mean - before.mean) / Math.abs(before.mean)) * 100, 1),
          before,
          after: afterAction,
          description:
            `mean ${a.signal} was ${withUnit(afterAction.mean, spec.unit)} over the ` +
            `${plural(afterAction.minutes, 'minute')} from the first action to ` +
            `${settledAt === null ? 'the end of the data' : 'stabilising'}, against ` +
            `${withUnit(before.mean, spec.unit)} over the ${plural(before.minutes, 'minute')} before it`,
        }
      : null;

  const savingsArgs: SavingsArgs = {
    points,
    signal: a.signal,
    unit: spec.unit,
    cost,
    sign: badSign(spec.bad, a),
    start,
    end: episodeEnd,
    stabilised: settledAt !== null,
  };
  if (firstActionMinute !== undefined) savingsArgs.firstAction = firstActionMinute;

  const changes = reportChanges([...(input.changes ?? []), ...a.correlatedChanges], a.start);
  const plan = input.plan;
  const report: EpisodeReport = {
    kind: 'episode',
    version: 1,
    id: episodeReportId(a.id, a.tenant, a.signal),
    generatedAt: iso(input.generatedAt),
    episode: {
      id: a.id,
      key: a.key,
      tenant: a.tenant,
      signal: a.signal,
      unit: spec.unit,
      category: spec.category,
      badDirection: spec.bad,
      severity: a.severity,
      decision: a.decision,
      trigger: a.trigger,
      score: a.score,
      start: iso(a.start),
      detectedAt: iso(a.detectedAt),
      change: a.change || describeChange(a.observed, a.expected),
      recommendation: a.recommendation,
      softOnly: a.softOnly,
    },
    outcome: input.outcome ?? null,
    incident: reportIncident(a, input.incidentMembers ?? []),
    classification: { class: a.class, evidence: [...a.evidence] },
    correlatedChanges: reportChanges(a.correlatedChanges, a.start),
    changes,
    policy: plan
      ? {
          planId: plan.id,
          playbook: { ...plan.playbook },
          selectedBy: plan.selectedBy,
          allowed: plan.allowed,
          reasons: [...plan.reasons],
          stages: plan.stages.map((s) => ({
            level: s.level,
            allowed: s.allowed,
            steps: s.actions.map((x) => ({
              stepId: x.step.id,
              title: x.step.title,
              rollbackKey: x.rollbackKey,
              control: controlKey(x.step, x.tenant),
            })),
          })),
          skipped: plan.skipped.map((s) => ({ ...s })),
        }
      : null,
    actions,
    figures: {
      before: {
        observed: a.observed,
        expected: a.expected,
        band: { ...a.band },
        changePercent: a.expected === 0 ? null : round(((a.observed - a.expected) / Math.abs(a.expected)) * 100, 1),
      },
      afterAction,
      settled,
    },
    stabilisation: {
      from: firstActionMinute === undefined ? 'detection' : 'first-action',
      fromAt: iso(from),
      stabilisedAt: settledAt === null ? null : iso(settledAt),
      minutes,
      description: !points.length
        ? `no minute data for ${a.signal} was available: recovery cannot be judged`
        : settledAt === null
          ? `${a.signal} had not stabilised by the last minute of data (${clock(dataEnd - MINUTE_MS, a.start)}): ` +
            `not back inside its expected band for ${plural(STABLE_MINUTES, 'minute')} in a row since ${since}`
          : `${a.signal} stabilised ${minutes} min after ${since}: back inside its expected band from ` +
            `${clock(settledAt, a.start)} and stayed there through the last minute of data (` +
            `${clock(dataEnd - MINUTE_MS, a.start)})`,
    },
    costEffect,
    savings: estimateSavings(savingsArgs),
    controlTarget:
      firstAppliedAt === undefined
        ? null
        : evaluateControlTarget({
            signal: a.signal,
            expected: a.expected,
            observed: a.observed,
            firstActionAt: firstAppliedAt,
            points,
          }),
    costCorrection:
      firstAppliedAt === undefined || !cost
        ? null
        : evaluateCostCorrection({ signal: a.signal, points, start, firstActionAt: firstAppliedAt }),
    timeline: [],
    series: downsample(points).map((p) => ({
      ts: iso(p.ts),
      observed: p.observed,
      expected: p.expected,
      lo: p.lo,
      hi: p.hi,
    })),
  };
  if (a.region !== undefined) report.episode.region = a.region;
  if (plan) report.episode.rollbackKey = plan.rollbackKey;
  if (input.execution) {
    const e = input.execution;
    const execution: NonNullable<EpisodeReport['execution']> = { name: e.name };
    if (e.status !== undefined) execution.status = e.status;
    if (e.startedAt !== undefined) execution.startedAt = iso(e.startedAt);
    if (e.stoppedAt !== undefined) execution.stoppedAt = iso(e.stoppedAt);
    report.execution = execution;
  }
  report.timeline = timeline(input, report, settledAt);
  return report;
}

/** One row per applied action (a retried apply recorded twice is one row), with its rollback, oldest first. */
function ledgerActions(ledger: readonly ActionLedgerRecord[], tenant: string): ReportAction[] {
  const rows = new Map<string, ReportAction>();
  const rowOf = (e: ActionLedgerRecord): ReportAction => {
    const id = `${e.action.rollbackKey}@${e.action.appliedAt}`;
    let row = rows.get(id);
    if (!row) {
      const step = e.action.step;
      row = {
        rollbackKey: e.action.rollbackKey,
        stepId: step.id,
        title: step.title,
        level: step.level,
        target: step.target,
        control: controlKey(step, e.action.tenant || tenant),
        value: step.value,
        previous: e.action.previous,
        appliedAt: iso(e.action.appliedAt),
      };
      if (e.action.actedVia) row.actedVia = e.action.actedVia.description;
      rows.set(id, row);
    }
    return row;
  };
  for (const e of sortLedger(ledger)) {
    // Approval events (and any this version does not know) name a step as planned: nothing acted.
    if (!ACTION_EVENTS.has(e.event)) continue;
    const row = rowOf(e);
    if (e.execution !== undefined && row.execution === undefined) row.execution = e.execution;
    if (e.event === 'rolled-back') row.rolledBackAt = iso(e.at);
    if (e.event === 'rollback-skipped') row.rollbackSkipped = e.note ?? 'nothing to undo';
  }
  return [...rows.values()].sort(
    (x, y) => x.appliedAt.localeCompare(y.appliedAt) || x.rollbackKey.localeCompare(y.rollbackKey),
  );
}

/** The ledger events that record something acting on a control; the others (approvals) only name a planned step. */
const ACTION_EVENTS: ReadonlySet<string> = new Set(['applied', 'rolled-back', 'rollback-skipped']);

/** Same-time ledger events in the order they happen; an event this version does not know comes last. */
const LEDGER_ORDER: Readonly<Record<string, number>> = {
  'approval-requested': 0,
  approved: 1,
  denied: 2,
  'approval-expired': 3,
  applied: 4,
  'rolled-back': 5,
  'rollback-skipped': 6,
};

export function sortLedger(ledger: readonly ActionLedgerRecord[]): ActionLedgerRecord[] {
  const order = (e: ActionLedgerRecord) => LEDGER_ORDER[e.event as string] ?? 99;
  return [...ledger].sort(
    (x, y) =>
      x.at - y.at ||
      order(x) - order(y) ||
      String(x.event).localeCompare(String(y.event)) ||
      x.action.rollbackKey.localeCompare(y.action.rollbackKey),
  );
}

/**
 * The anomaly's incident and its members among `known` (the anomaly itself always included), oldest first. A member
 * counts when its incident (its own, when it was not grouped) is the anomaly's.
 */
export function reportIncident(a: Anomaly, known: readonly IncidentMemberInput[]): ReportIncident {
  const id = incidentOf(a);
  const members = new Map<string, IncidentMemberInput>();
  for (const m of known) if (incidentOf(m) === id) members.set(m.id, m);
  members.set(a.id, a);
  const rows = [...members.values()]
    .sort((x, y) => x.start - y.start || x.id.localeCompare(y.id))
    .map((m) => ({ key: m.id, tenant: m.tenant, signal: m.signal, start: iso(m.start), severity: m.severity }));
  return {
    id,
    members: rows,
    tenants: [...new Set(rows.map((m) => m.tenant))].sort(),
    signals: [...new Set(rows.map((m) => m.signal))].sort(),
  };
}

/** Changes given for the window plus those correlated at detection, each once, oldest first. */
export function reportChanges(changes: readonly ReportChangeInput[], anomalyStart: number): ReportChange[] {
  const seen = new Map<string, ReportChange>();
  for (const c of changes) {
    const key = `${c.tenant}|${c.change}|${c.ts}|${c.id ?? ''}`;
    if (seen.has(key)) continue;
    const out: ReportChange = {
      tenant: c.tenant,
      change: c.change,
      at: iso(c.ts),
      offsetMinutes: Math.round((anomalyStart - c.ts) / MINUTE_MS),
    };
    if (c.id !== undefined) out.id = c.id;
    if (c.title !== undefined) out.title = c.title;
    if (c.region !== undefined) out.region = c.region;
    if (c.until !== undefined) out.until = iso(c.until);
    seen.set(key, out);
  }
  return [...seen.values()].sort(
    (x, y) => x.at.localeCompare(y.at) || (x.id ?? '').localeCompare(y.id ?? '') || x.change.localeCompare(y.change),
  );
}

/** `release rel-381 "search 2.3"` */
export function changeLabel(c: Pick<ReportChange, 'change' | 'id' | 'title'>): string {
  return [c.change, c.id, c.title === undefined ? undefined : `"${c.title}"`]
    .filter((x) => x !== undefined && x !== '')
    .join(' ');
}

function timeline(input: EpisodeReportInput, r: EpisodeReport, settledAt: number | null): TimelineEvent[] {
  const a = input.anomaly;
  const events: { ts: number; kind: TimelineKind; text: string; rollbackKey?: string }[] = [];
  for (const c of r.changes) {
    const until = c.until === undefined ? '' : ` (until ${clock(c.until, c.at)})`;
    events.push({
      ts: Date.parse(c.at),
      kind: 'change',
      text: `change: ${changeLabel(c)}${c.tenant === '*' ? ' (all tenants)' : ''}${until}`,
    });
  }
  const dir = a.observed >= a.expected ? 'above' : 'below';
  events.push({
    ts: a.start,
    kind: 'anomaly-start',
    text: `anomaly starts: ${a.signal} leaves its expected band (${dir} it)`,
  });
  events.push({
    ts: a.detectedAt,
    kind: 'detected',
    text:
      `detected: ${r.episode.change} (observed ${withUnit(a.observed, r.episode.unit)}, expected ` +
      `${withUnit(a.expected, r.episode.unit)}), ${TRIGGER_WORDS[a.trigger]}; classified ${a.class}`,
  });
  if (a.decision !== 'suppressed')
    events.push({
      ts: input.alertedAt ?? a.detectedAt,
      kind: 'alert',
      text: `alert published (${a.severity}, decision: ${a.decision})`,
    });
  if (r.policy && input.plan) {
    const p = r.policy;
    events.push({
      ts: input.plan.createdAt,
      kind: 'planned',
      text:
        `plan ${p.planId}: playbook ${p.playbook.id} (${p.playbook.title}); ` +
        `${p.allowed ? 'automatic mitigation allowed' : 'automatic mitigation not allowed by policy'}`,
    });
  }
  for (const e of sortLedger(input.ledger ?? [])) {
    const step = e.action.step;
    const control = controlKey(step, e.action.tenant || a.tenant);
    const rollbackKey = e.action.rollbackKey;
    // A string, not the ledger's union: entries written by a newer version may carry events this one does not know.
    const event: string = e.event;
    if (event === 'applied')
      events.push({
        ts: e.action.appliedAt,
        kind: 'applied',
        text:
          `applied ${step.level} step "${step.title}": ${control} = ${value(step.value)} (was ` +
          `${value(e.action.previous)})`,
        rollbackKey,
      });
    else if (event === 'rolled-back')
      events.push({
        ts: e.at,
        kind: 'rolled-back',
        text: `rolled back "${step.title}": ${control} restored to ${value(e.action.previous)}`,
        rollbackKey,
      });
    else if (event === 'rollback-skipped')
      events.push({
        ts: e.at,
        kind: 'rollback-skipped',
        text: `rollback of "${step.title}" skipped: ${e.note ?? 'nothing to undo'}`,
        rollbackKey,
      });
    else {
      const { kind, text } = ledgerEventText(event, e, `${step.level} step "${step.title}" (${control})`);
      events.push({ ts: e.at, kind, text, rollbackKey });
    }
  }
  if (settledAt !== null)
    events.push({
      ts: settledAt,
      kind: 'stabilised',
      text:
        `stabilised: ${a.signal} back inside its expected band to stay (${r.stabilisation.minutes} min after ` +
        `${r.stabilisation.from === 'first-action' ? 'the first action' : 'detection'})`,
    });
  const outcomeAt = input.execution?.stoppedAt ?? lastLedgerAt(input.ledger) ?? input.plan?.createdAt;
  if (input.outcome && outcomeAt !== undefined)
    events.push({
      ts: outcomeAt,
      kind: 'outcome',
      text: `${outcomePrefix(input.outcome)}${describeOutcome(r, input.ledger ?? [])}`,
    });
  return events
    .sort(
      (x, y) => x.ts - y.ts || KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind) || x.text.localeCompare(y.text),
    )
    .map((e) => {
      const out: TimelineEvent = { at: iso(e.ts), kind: e.kind, text: e.text };
      if (e.rollbackKey !== undefined) out.rollbackKey = e.rollbackKey;
      return out;
    });
}

/**
 * An approval event (or one this version does not know, shown by its name as recorded) in words:
 * `hard step "Block the abusive ASN" (waf/…) approved by alice: confirmed abuse`.
 */
function ledgerEventText(
  event: string,
  e: ActionLedgerRecord,
  stepWords: string,
): { kind: TimelineKind; text: string } {
  const by = decidedBy(e);
  const reason = e.note === undefined || e.note.trim() === '' ? '' : `: ${e.note}`;
  switch (event) {
    case 'approval-requested':
      return {
        kind: 'approval-requested',
        text: `approval requested for ${stepWords}${by === undefined ? '' : ` by ${by}`}${reason}`,
      };
    case 'approved':
      return { kind: 'approved', text: `${stepWords} approved by ${by ?? 'an unnamed approver'}${reason}` };
    case 'denied':
      return {
        kind: 'denied',
        text: `${stepWords} denied by ${by ?? 'an unnamed approver'}${reason}; it was not applied`,
      };
    case 'approval-expired':
      return { kind: 'approval-expired', text: `${stepWords}: no answer within the approval time: nothing applied` };
    default:
      return {
        kind: 'ledger',
        text: `${event || 'unnamed ledger event'}: ${stepWords}${by === undefined ? '' : ` by ${by}`}${reason}`,
      };
  }
}

/** Who decided (an IAM principal or the local CLI user): a field ledger entries may carry, read without assuming it. */
function decidedBy(e: ActionLedgerRecord): string | undefined {
  const by = (e as { by?: unknown }).by;
  return typeof by === 'string' && by.trim() !== '' ? by : undefined;
}

function lastLedgerAt(ledger: readonly ActionLedgerRecord[] | undefined): number | undefined {
  return ledger?.length ? Math.max(...ledger.map((e) => e.at)) : undefined;
}

const outcomePrefix = (outcome: string) => `mitigation ended: ${outcome}: `;

/**
 * What the outcome meant for the actions, as the report's timeline words it (from the ledger, when the report was
 * built): what the renderers show next to the outcome. A report with no outcome event words it from its actions.
 */
export function outcomeDetail(r: EpisodeReport): string {
  const prefix = r.outcome ? outcomePrefix(r.outcome) : undefined;
  const ended = r.timeline.find((t) => t.kind === 'outcome' && prefix !== undefined && t.text.startsWith(prefix));
  return ended && prefix !== undefined ? ended.text.slice(prefix.length) : describeOutcome(r, []);
}

/**
 * What the outcome meant for the actions, as on-call was told. A hand-off says what is still in place, and which
 * approvals were denied or went unanswered, so nothing of them was applied.
 */
function describeOutcome(r: EpisodeReport, ledger: readonly ActionLedgerRecord[]): string {
  const rolledBack = r.actions.filter((x) => x.rolledBackAt !== undefined).length;
  switch (r.outcome) {
    case 'recovered':
      return `${plural(rolledBack, 'action')} rolled back in stages`;
    case 'handed-off':
      return ['not recovered automatically, handed off to on-call', ...handOffState(r, ledger)].join('; ');
    case 'blocked':
      return 'blocked by policy, nothing applied';
    case 'failed':
      return `the workflow failed; everything applied was rolled back (${plural(rolledBack, 'action')})`;
    default:
      return 'no outcome yet';
  }
}

/** At a hand-off: the approvals that ended with nothing applied, then what stays in place (if anything does). */
function handOffState(r: EpisodeReport, ledger: readonly ActionLedgerRecord[]): string[] {
  const unapplied = unappliedApprovals(ledger, new Set(r.actions.map((x) => x.rollbackKey)));
  const inPlace = r.actions.filter((x) => x.rolledBackAt === undefined && x.rollbackSkipped === undefined).length;
  const state = inPlace
    ? `${plural(inPlace, 'action')} ${inPlace === 1 ? 'stays' : 'stay'} in place (rollback key ` +
      `${r.episode.rollbackKey ?? '-'})`
    : r.actions.length
      ? `${r.actions.length === 1 ? 'the applied action was' : `all ${r.actions.length} applied actions were`} ` +
        'rolled back: nothing stays in place'
      : unapplied.length
        ? 'no other action was applied'
        : 'no action was applied';
  return [...unapplied, state];
}

/**
 * The approvals whose last answer was a denial or no answer in time, for steps never applied, one phrase per answer
 * (its steps share it), oldest first: `the approval of 1 hard step was denied by bob (<reason>) and nothing of it was
 * applied`.
 */
function unappliedApprovals(ledger: readonly ActionLedgerRecord[], applied: ReadonlySet<string>): string[] {
  const last = new Map<string, ActionLedgerRecord>();
  for (const e of sortLedger(ledger)) {
    const event: string = e.event;
    if (event === 'approved' || event === 'denied' || event === 'approval-expired') last.set(e.action.rollbackKey, e);
  }
  const answers = new Map<string, { e: ActionLedgerRecord; levels: string[] }>();
  for (const [rollbackKey, e] of last) {
    const event: string = e.event;
    if (event === 'approved' || applied.has(rollbackKey)) continue;
    const id = [event, e.at, event === 'denied' ? (decidedBy(e) ?? '') : '', e.note ?? ''].join('\u0000');
    const answer = answers.get(id) ?? { e, levels: [] };
    answer.levels.push(e.action.step.level);
    answers.set(id, answer);
  }
  return [...answers.values()]
    .sort((x, y) => x.e.at - y.e.at)
    .map(({ e, levels }) => {
      const steps = [...new Set(levels)]
        .sort()
        .map((level) => plural(levels.filter((l) => l === level).length, `${level} step`))
        .join(' and ');
      const reason = e.note === undefined || e.note.trim() === '' ? '' : ` (${e.note})`;
      const answered =
        e.event === 'denied'
          ? `was denied by ${decidedBy(e) ?? 'an unnamed approver'}${reason}`
          : 'expired with no answer in time';
      return `the approval of ${steps} ${answered} and nothing of it was applied`;
    });
}
