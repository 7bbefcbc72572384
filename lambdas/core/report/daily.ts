import { incidentOf } from '../anomaly.js';
import { iso, dayOf } from './format.js';
import { dailyReportId, objectKeysFor } from './keys.js';
import type {
  DailyEpisodeRow,
  DailyIncidentRow,
  DailyReport,
  DailyReportInput,
  EpisodeReport,
  EpisodeSummary,
} from './model.js';

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
    incidents,
    episodes: rows,
  };
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
  };
  if (a.region !== undefined) out.region = a.region;
  if (s.reportId !== undefined) {
    out.reportId = s.reportId;
    out.reportPrefix = objectKeysFor(dayOf(a.start), s.reportId).prefix;
  }
  return out;
}
