import { incidentOf } from '../anomaly.js';
import { signalSpec } from '../signals.js';
import { CONTROL_WINDOW_MINUTES, OVERAGE_THRESHOLD_PERCENT } from './control-targets.js';
import { costCard, type CostCardMitigation } from './cost-card.js';
import { iso, dayOf, round } from './format.js';
import { dailyReportId, objectKeysFor } from './keys.js';
import type {
  DailyEpisodeRow,
  DailyIncidentRow,
  DailyReport,
  DailyReportInput,
  EpisodeReport,
  EpisodeSummary,
} from './model.js';

const CONTROL_SUMMARY_METHOD =
  'Each mitigation’s episode report judges it (its Control targets section states the method): the ' +
  `${CONTROL_WINDOW_MINUTES}-minute control target on the value ${CONTROL_WINDOW_MINUTES} min after the first ` +
  'action’s minute; the 24 h cost correction for cost episodes whose forecast overage before the first action was ' +
  `at least +${OVERAGE_THRESHOLD_PERCENT}%. The share met is of the judged mitigations.`;

/** What the digest needs from an episode report. */
export function summariseEpisode(r: EpisodeReport): EpisodeSummary {
  const e = r.episode;
  const summary: EpisodeSummary = {
    anomaly: {
      id: e.id,
      tenant: e.tenant,
      signal: e.signal,
      class: r.classification.class,
      severity: e.severity,
      decision: e.decision,
      start: Date.parse(e.start),
      change: e.change,
      observed: r.figures.before.observed,
      expected: r.figures.before.expected,
    },
    reportId: r.id,
    actions: r.actions.length,
    stabilisedMinutes: r.stabilisation.minutes,
    costEffectPercent: r.costEffect?.percent ?? null,
  };
  if (e.region !== undefined) summary.anomaly.region = e.region;
  // Reports written before incidents were reported have none: the digest falls back to the anomaly's own.
  if (r.incident !== undefined) summary.anomaly.incident = r.incident.id;
  if (r.outcome) summary.outcome = r.outcome;
  if (r.actions.length) summary.firstActionAt = Math.min(...r.actions.map((x) => Date.parse(x.appliedAt)));
  if (r.stabilisation.stabilisedAt !== null) summary.stabilisedAt = Date.parse(r.stabilisation.stabilisedAt);
  if (r.controlTarget)
    summary.controlTarget = { met: r.controlTarget.met, changePercent: r.controlTarget.changePercent };
  if (r.costCorrection) {
    const c = r.costCorrection;
    summary.costCorrection = { applicable: c.applicable, met: c.met, changePercent: c.changePercent, saved: c.saved };
  }
  if (r.savings.estimated) {
    summary.savings = { percent: r.savings.percent };
    if (r.savings.amount !== undefined) {
      summary.savings.amount = r.savings.amount;
      summary.savings.currency = 'USD';
    }
  }
  return summary;
}

/**
 * The daily digest (report.json of `daily-YYYY-MM-DD`): the day's incidents with their episodes, outcomes and savings.
 *
 * @example
 * const digest = buildDailyReport({
 *   kind: 'daily',
 *   day: '2026-11-22',
 *   episodes: reports.map(summariseEpisode),
 *   generatedAt,
 * });
 */
export function buildDailyReport(input: DailyReportInput): DailyReport {
  const { from, to } = input.range;
  const inRange = input.episodes.filter((s) => s.anomaly.start >= from && s.anomaly.start < to);
  const unique = new Map<string, EpisodeSummary>();
  for (const s of inRange) unique.set(s.anomaly.id, s);
  const rows = [...unique.values()].map(row).sort((a, b) => a.start.localeCompare(b.start) || a.id.localeCompare(b.id));
  const count = (f: (r: DailyEpisodeRow) => string) => {
    const out: Record<string, number> = {};
    for (const r of rows) out[f(r)] = (out[f(r)] ?? 0) + 1;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  };
  const usdRows = rows.filter((r) => r.savings?.currency === 'USD' && r.savings.amount !== undefined);
  const estimated = rows.filter((r) => r.savings !== null).length;
  const incidents = incidentRows(rows);
  const mitigations = rows.filter((r) => r.actions > 0);
  const met = mitigations.filter((r) => r.controlTargetMet === true).length;
  const missed = mitigations.filter((r) => r.controlTargetMet === false).length;
  const corrections = [...unique.values()].filter((s) => (s.actions ?? 0) > 0 && s.costCorrection?.applicable);
  const corrected = corrections.filter((s) => s.costCorrection!.met === true).length;
  const uncorrected = corrections.filter((s) => s.costCorrection!.met === false).length;
  return {
    kind: 'daily',
    version: 1,
    id: dailyReportId(input.range),
    generatedAt: iso(input.generatedAt),
    range: { from: iso(from), to: iso(to) },
    day: dayOf(from),
    totals: {
      incidents: incidents.length,
      episodes: rows.length,
      bySeverity: count((r) => r.severity),
      byClass: count((r) => r.class),
      byDecision: count((r) => r.decision),
      byOutcome: count((r) => r.outcome ?? 'none'),
    },
    savings: {
      usd: Number(usdRows.reduce((s, r) => s + r.savings!.amount!, 0).toPrecision(6)),
      estimated,
      notEstimated: rows.length - estimated,
      method:
        'Sum of the episodes’ USD estimates (cost signals); each episode report states its method and assumptions. ' +
        'Non-cost signals have no dollar figure.',
    },
    control: {
      mitigations: mitigations.length,
      met,
      missed,
      notJudged: mitigations.length - met - missed,
      metPercent: met + missed ? round((met / (met + missed)) * 100, 1) : null,
      costCorrection: {
        applicable: corrections.length,
        met: corrected,
        missed: uncorrected,
        notJudged: corrections.length - corrected - uncorrected,
      },
      method: CONTROL_SUMMARY_METHOD,
    },
    costCard: costCard({
      to,
      periods: ['day'],
      series: input.costSeries ?? [],
      mitigations: [...unique.values()].flatMap(cardMitigation),
    }),
    incidents,
    episodes: rows,
  };
}

/** An episode with an applied action on a cost signal, as the cost card lists it. */
function cardMitigation(s: EpisodeSummary): CostCardMitigation[] {
  const a = s.anomaly;
  if (s.firstActionAt === undefined || signalSpec(a.signal).category !== 'cost') return [];
  const m: CostCardMitigation = {
    id: a.id,
    tenant: a.tenant,
    signal: a.signal,
    start: a.start,
    firstActionAt: s.firstActionAt,
  };
  if (s.stabilisedAt !== undefined) m.end = s.stabilisedAt;
  return [m];
}

/** The rows grouped by incident, oldest first (by first start, then id); members keep the rows' order. */
function incidentRows(rows: readonly DailyEpisodeRow[]): DailyIncidentRow[] {
  const groups = new Map<string, DailyEpisodeRow[]>();
  for (const r of rows) groups.set(r.incident, [...(groups.get(r.incident) ?? []), r]);
  return [...groups]
    .map(([id, members]) => ({
      id,
      firstStart: members[0]!.start,
      severity: members.map((m) => m.severity).sort()[0]!,
      tenants: [...new Set(members.map((m) => m.tenant))].sort(),
      signals: [...new Set(members.map((m) => m.signal))].sort(),
      episodes: members.map((m) => m.id),
    }))
    .sort((a, b) => a.firstStart.localeCompare(b.firstStart) || a.id.localeCompare(b.id));
}

function row(s: EpisodeSummary): DailyEpisodeRow {
  const a = s.anomaly;
  const out: DailyEpisodeRow = {
    id: a.id,
    tenant: a.tenant,
    signal: a.signal,
    class: a.class,
    severity: a.severity,
    decision: a.decision,
    start: iso(a.start),
    change: a.change,
    incident: incidentOf(a),
    outcome: s.outcome ?? null,
    actions: s.actions ?? 0,
    stabilisedMinutes: s.stabilisedMinutes ?? null,
    costEffectPercent: s.costEffectPercent ?? null,
    savings: s.savings ? { ...s.savings } : null,
    controlTargetMet: s.controlTarget?.met ?? null,
    costCorrectionMet: s.costCorrection?.applicable ? s.costCorrection.met : null,
  };
  if (a.region !== undefined) out.region = a.region;
  if (s.reportId !== undefined) {
    out.reportId = s.reportId;
    out.reportPrefix = objectKeysFor(dayOf(a.start), s.reportId).prefix;
  }
  return out;
}
