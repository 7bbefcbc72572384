/**
 * Detection quality on the seed-004 scenario suite: replays a generated scenario through the
 * consumer's real batch path (`replayLines`: what `replayEnvelopes` does, plus a recording
 * mitigation starter), matches the alerts.jsonl episodes to the ground-truth labels and computes
 * the seed §F numbers; then replays every mitigation the consumer started through the workflow
 * (`mitigation-outcomes.ts`) to see how it ends. Platform-wide change windows are not on the stream
 * (it refuses tenant `*`): the replay stores them in the change store at their declaration time,
 * as the operator route (POST /v1/anomaly/changes) would.
 *
 * Definitions (also printed by `formatQuality`):
 * - alert line: one confirmed episode in alerts.jsonl. Page: an alert line with decision
 *   `alert` or `mitigate` (`suppressed` lines page nobody).
 * - An alert line matches a label when its tenant is one of the label's tenants, its signal one of
 *   the label's signals and its episode start lies in [label start − 5 min, label end]. When
 *   several labels match, a real incident wins over a blip / benign release, then the nearest start.
 * - Alert lines that start more than 5 min before the end of the learning period are "cold start": listed, not
 *   in the headline numbers (in production the detector has been running for weeks).
 * - Recall (high-cost) = high-cost incidents (ingest surge, search cost, notification storm,
 *   origin bottleneck: expected decision `mitigate`) with at least one matching page / all of them.
 * - Precision = true pages / all pages. A true page matches a real incident that should page
 *   (the four high-cost kinds, a release-coincident spike, a campaign surge). Every other page is
 *   a false page: matches nothing (noise), a blip, a benign release, or an anomaly inside a
 *   maintenance window (that one should have been suppressed).
 * - Unnecessary mitigation: a `mitigate` decision that matches no label, or a label whose
 *   expected decision is not `mitigate` — except a campaign surge decided `mitigate` with class
 *   `tenant` (the campaign makes it soft-only, which the alert line does not carry).
 *   Share = unnecessary / all `mitigate` decisions.
 * - Detection latency (event time) = detectedAt of the first matching page − label start;
 *   mitigation-trigger latency the same with the first `mitigate`. p50 / p95 by nearest rank over
 *   detected high-cost incidents. detectedAt is the start of the confirming minute; the consumer
 *   can only act once that minute's window closes (+1 min + the allowed lateness).
 * - Class: judged on the first page on the label's primary signal (else its first page).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnomalyClass } from '../../lambdas/core/classifier.js';
import { alertLogLine, type Decision } from '../../lambdas/core/anomaly.js';
import type { DetectionSettings } from '../../lambdas/core/score-windows.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../lambdas/core/window-settings.js';
import { DEFAULT_MITIGATION_TIMINGS } from '../../lambdas/adapters/mitigation-starter.js';
import type { ReplayEnvelopesResult } from '../../local/replay-envelopes.js';
import { replayLines, replayLinesWindowed } from './consumer-replay.js';
import {
  CONSUMER_DELAY_MS,
  formatMitigationOutcomes,
  KeySeries,
  replayMitigations,
  summarizeOutcomes,
  type MitigationCase,
  type MitigationOutcomeSummary,
} from './mitigation-outcomes.js';
import {
  DEFAULT_SCENARIO,
  generateScenario,
  type Label,
  type LabelKind,
  type Scenario,
  type ScenarioOptions,
} from './scenario.js';
import { synthesizedMitigationDefinition, type AslDefinition } from './state-machine.js';

const MIN = 60_000;
/** An episode may start this long before the labelled start (pre-onset wobble, ramp rounding). */
export const MATCH_EARLY_MS = 5 * MIN;

/** The seed §F targets. */
export const SLO = { precision: 0.9, recall: 0.85, unnecessaryMitigationShare: 0.05, latencyP95Ms: 5 * MIN } as const;

/** One line of alerts.jsonl (contract 4), as written by replay. */
export interface AlertLine {
  key: string;
  tenant: string;
  signal: string;
  class: AnomalyClass;
  start: string;
  detectedAt: string;
  score: number;
  decision: Decision;
  severity?: string;
  change?: string;
  expected?: number;
  observed?: number;
  evidence?: string[];
  correlatedChanges?: string[];
}

export type FalsePageCause = 'noise' | 'blip' | 'benign_release' | 'maintenance';

export interface LabelOutcome {
  label: Label;
  alerts: AlertLine[];
  pages: AlertLine[];
  detected: boolean;
  mitigated: boolean;
  suppressed: boolean;
  /** Class of the judged page (first on the primary signal, else first). */
  class?: AnomalyClass;
  classOk?: boolean;
  /** detectedAt of the first page − label start, ms. */
  latencyMs?: number;
  /** detectedAt of the first `mitigate` − label start, ms. */
  mitigateLatencyMs?: number;
  /** Pages beyond one per (tenant, signal). */
  extraPages: number;
  /**
   * An earlier injection (any kind but a benign release) touched this label's primary signal on one of its tenants: the
   * detector has seen something like it.
   */
  repeat: boolean;
}

export interface KindRow {
  kind: LabelKind;
  n: number;
  paged: number;
  mitigated: number;
  suppressed: number;
  classOk: number;
  classJudged: number;
  extraPages: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
}

export interface Percentiles {
  n: number;
  p50?: number;
  p95?: number;
  max?: number;
}

export interface QualityNumbers {
  alertLines: number;
  pages: number;
  truePages: number;
  falsePages: number;
  falsePagesByCause: Record<FalsePageCause, number>;
  precision: number;
  highCost: number;
  highCostDetected: number;
  /** High-cost incidents with at least one `mitigate` decision (the playbook would have started). */
  highCostMitigated: number;
  recall: number;
  /**
   * Recall split: incidents on keys that saw no earlier injection vs. keys that did (blip, maintenance, earlier
   * incident...).
   */
  recallFirst: { n: number; detected: number };
  recallRepeat: { n: number; detected: number };
  mitigations: number;
  unnecessaryMitigations: number;
  unnecessaryMitigationShare: number;
  maintenance: { n: number; paged: number; suppressed: number; notDetected: number };
  releaseSpikes: { n: number; detected: number; decidedAlert: number; mitigated: number };
  campaigns: { n: number; paged: number; classTenant: number; mitigated: number };
  /** Classification accuracy per high-cost kind and over all judged labels. */
  classAccuracy: number;
  latency: Percentiles;
  mitigateLatency: Percentiles;
  coldStart: { pages: number; mitigations: number };
  slo: { precision: boolean; recall: boolean; unnecessary: boolean; latency: boolean };
}

export interface QualityResult {
  numbers: QualityNumbers;
  perKind: KindRow[];
  outcomes: LabelOutcome[];
  falsePages: { alert: AlertLine; cause: FalsePageCause; label?: Label }[];
  unnecessaryMitigations: { alert: AlertLine; why: string; label?: Label }[];
  coldStartAlerts: AlertLine[];
}

const REAL: ReadonlySet<LabelKind> = new Set([
  'ingest_surge',
  'search_cost',
  'notify_storm',
  'origin_bottleneck',
  'release_spike',
  'campaign',
  'maintenance',
]);
/** Every label kind the scenario generates, in the order the report lists them. */
export const KIND_ORDER: readonly LabelKind[] = [
  'ingest_surge',
  'search_cost',
  'notify_storm',
  'origin_bottleneck',
  'release_spike',
  'campaign',
  'maintenance',
  'benign_release',
  'blip',
];

const isPage = (a: AlertLine) => a.decision === 'alert' || a.decision === 'mitigate';
const startMs = (a: AlertLine) => Date.parse(a.start);
const detectedMs = (a: AlertLine) => Date.parse(a.detectedAt);

/** The label an alert line belongs to, if any. */
export function matchLabel(a: AlertLine, labels: readonly Label[]): Label | undefined {
  const s = startMs(a);
  let best: Label | undefined;
  for (const l of labels) {
    if (!l.tenants.includes(a.tenant) || !l.signals.includes(a.signal)) continue;
    if (s < l.start - MATCH_EARLY_MS || s > l.end) continue;
    if (!best) {
      best = l;
      continue;
    }
    const realL = REAL.has(l.kind);
    const realB = REAL.has(best.kind);
    if (realL !== realB) {
      if (realL) best = l;
      continue;
    }
    if (Math.abs(s - l.start) < Math.abs(s - best.start)) best = l;
  }
  return best;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const out: Percentiles = { n: s.length };
  const p50 = percentile(s, 0.5);
  const p95 = percentile(s, 0.95);
  if (p50 !== undefined) out.p50 = p50;
  if (p95 !== undefined) out.p95 = p95;
  if (s.length) out.max = s[s.length - 1]!;
  return out;
}

/** Scores alert lines against labels. Pure. */
export function scoreAlerts(alerts: readonly AlertLine[], labels: readonly Label[], evalFrom: number): QualityResult {
  const coldStartAlerts = alerts.filter((a) => startMs(a) < evalFrom - MATCH_EARLY_MS);
  const evaluated = alerts.filter((a) => startMs(a) >= evalFrom - MATCH_EARLY_MS);
  const byLabel = new Map<string, AlertLine[]>();
  const falsePages: QualityResult['falsePages'] = [];
  const unnecessary: QualityResult['unnecessaryMitigations'] = [];
  let truePages = 0;
  for (const a of evaluated) {
    const l = matchLabel(a, labels);
    if (l) byLabel.set(l.id, [...(byLabel.get(l.id) ?? []), a]);
    if (isPage(a)) {
      if (!l) falsePages.push({ alert: a, cause: 'noise' });
      else if (l.kind === 'blip' || l.kind === 'benign_release' || l.kind === 'maintenance')
        falsePages.push({ alert: a, cause: l.kind, label: l });
      else truePages++;
    }
    if (a.decision === 'mitigate') {
      if (!l) unnecessary.push({ alert: a, why: 'matches no incident' });
      else if (l.expectedDecision === 'mitigate') {
        // necessary
      } else if (l.kind === 'campaign' && a.class === 'tenant') {
        // soft-only by the campaign: acceptable
      } else
        unnecessary.push({
          alert: a,
          why:
            `${l.kind} expects ${l.expectedDecision}` +
            `${l.kind === 'campaign' ? ` (class ${a.class}, not tenant)` : ''}`,
          label: l,
        });
    }
  }

  const outcomes: LabelOutcome[] = labels.map((label) => {
    const matched = (byLabel.get(label.id) ?? []).sort((x, y) => detectedMs(x) - detectedMs(y));
    const pages = matched.filter(isPage);
    const o: LabelOutcome = {
      label,
      alerts: matched,
      pages,
      detected: pages.length > 0,
      mitigated: pages.some((p) => p.decision === 'mitigate'),
      suppressed: matched.some((p) => p.decision === 'suppressed'),
      extraPages: pages.length - new Set(pages.map((p) => `${p.tenant}#${p.signal}`)).size,
      repeat: labels.some(
        (e) =>
          e.start < label.start &&
          e.kind !== 'benign_release' &&
          e.tenants.some((t) => label.tenants.includes(t)) &&
          e.signals.includes(label.primary),
      ),
    };
    const judged = pages.find((p) => p.signal === label.primary) ?? pages[0];
    if (judged) {
      o.class = judged.class;
      if (label.expectedClass) o.classOk = judged.class === label.expectedClass;
      o.latencyMs = detectedMs(pages[0]!) - label.start;
    }
    const firstMitigate = pages.find((p) => p.decision === 'mitigate');
    if (firstMitigate) o.mitigateLatencyMs = detectedMs(firstMitigate) - label.start;
    return o;
  });

  const perKind: KindRow[] = [];
  for (const kind of KIND_ORDER) {
    const os = outcomes.filter((o) => o.label.kind === kind);
    if (!os.length) continue;
    const judged = os.filter((o) => o.classOk !== undefined);
    const lat = percentiles(os.flatMap((o) => (o.latencyMs === undefined ? [] : [o.latencyMs])));
    const row: KindRow = {
      kind,
      n: os.length,
      paged: os.filter((o) => o.detected).length,
      mitigated: os.filter((o) => o.mitigated).length,
      suppressed: os.filter((o) => o.suppressed).length,
      classOk: judged.filter((o) => o.classOk).length,
      classJudged: judged.length,
      extraPages: os.reduce((a, o) => a + o.extraPages, 0),
    };
    if (lat.p50 !== undefined) row.latencyP50Ms = lat.p50;
    if (lat.p95 !== undefined) row.latencyP95Ms = lat.p95;
    perKind.push(row);
  }

  const high = outcomes.filter((o) => o.label.highCost);
  const highDetected = high.filter((o) => o.detected);
  const pages = evaluated.filter(isPage).length;
  const mitigations = evaluated.filter((a) => a.decision === 'mitigate').length;
  const of = (k: LabelKind) => outcomes.filter((o) => o.label.kind === k);
  const causes: Record<FalsePageCause, number> = { noise: 0, blip: 0, benign_release: 0, maintenance: 0 };
  for (const f of falsePages) causes[f.cause]++;
  const judgedAll = outcomes.filter((o) => o.label.highCost && o.classOk !== undefined);
  const latency = percentiles(highDetected.map((o) => o.latencyMs!));
  const mitigateLatency = percentiles(
    high.flatMap((o) => (o.mitigateLatencyMs === undefined ? [] : [o.mitigateLatencyMs])),
  );
  const precision = pages ? truePages / pages : 1;
  const recall = high.length ? highDetected.length / high.length : 1;
  const share = mitigations ? unnecessary.length / mitigations : 0;
  const numbers: QualityNumbers = {
    alertLines: evaluated.length,
    pages,
    truePages,
    falsePages: falsePages.length,
    falsePagesByCause: causes,
    precision,
    highCost: high.length,
    highCostDetected: highDetected.length,
    highCostMitigated: high.filter((o) => o.mitigated).length,
    recall,
    recallFirst: { n: high.filter((o) => !o.repeat).length, detected: highDetected.filter((o) => !o.repeat).length },
    recallRepeat: { n: high.filter((o) => o.repeat).length, detected: highDetected.filter((o) => o.repeat).length },
    mitigations,
    unnecessaryMitigations: unnecessary.length,
    unnecessaryMitigationShare: share,
    maintenance: {
      n: of('maintenance').length,
      paged: of('maintenance').filter((o) => o.detected).length,
      suppressed: of('maintenance').filter((o) => o.suppressed && !o.detected).length,
      notDetected: of('maintenance').filter((o) => !o.alerts.length).length,
    },
    releaseSpikes: {
      n: of('release_spike').length,
      detected: of('release_spike').filter((o) => o.detected).length,
      decidedAlert: of('release_spike').filter((o) => o.detected && !o.mitigated).length,
      mitigated: of('release_spike').filter((o) => o.mitigated).length,
    },
    campaigns: {
      n: of('campaign').length,
      paged: of('campaign').filter((o) => o.detected).length,
      classTenant: of('campaign').filter((o) => o.classOk).length,
      mitigated: of('campaign').filter((o) => o.mitigated).length,
    },
    classAccuracy: judgedAll.length ? judgedAll.filter((o) => o.classOk).length / judgedAll.length : 1,
    latency,
    mitigateLatency,
    coldStart: {
      pages: coldStartAlerts.filter(isPage).length,
      mitigations: coldStartAlerts.filter((a) => a.decision === 'mitigate').length,
    },
    slo: {
      precision: precision >= SLO.precision,
      recall: recall >= SLO.recall,
      unnecessary: share < SLO.unnecessaryMitigationShare,
      latency: (latency.p95 ?? Number.POSITIVE_INFINITY) <= SLO.latencyP95Ms,
    },
  };
  return { numbers, perKind, outcomes, falsePages, unnecessaryMitigations: unnecessary, coldStartAlerts };
}

export interface ScenarioQualityOptions {
  scenario?: Partial<ScenarioOptions>;
  detection?: DetectionSettings;
  /** Keep the generated input, labels, alerts and dead letters here (for trace.ts); nothing is written otherwise. */
  dir?: string;
  /** Replay through 60-second tumbling windows (the deployed default; replayLinesWindowed) instead of per batch. */
  windowed?: boolean;
  /**
   * Replay the started mitigations through the workflow (default true). The state machine
   * definition is synthesized unless given.
   */
  mitigation?: boolean | { definition?: AslDefinition; consumerDelayMs?: number };
}

export interface ScenarioMitigation {
  summary: MitigationOutcomeSummary;
  consumerDelayMs: number;
  /**
   * The same executions started `consumerDelayMs` later (each check lands that far into a minute,
   * where the Check task's newest bucket holds fewer records): how much the endings depend on it.
   */
  lateCheck: { consumerDelayMs: number; counts: MitigationOutcomeSummary['counts'] };
  /** Executions started for cold-start episodes (learning period): not in the summary. */
  coldStart: number;
  ms: number;
}

export interface ScenarioQuality extends QualityResult {
  scenario: Pick<Scenario, 'evalFrom' | 'endTs' | 'counts' | 'keys' | 'labels'> & {
    options: ScenarioOptions;
    records: number;
  };
  replay: ReplayEnvelopesResult;
  generateMs: number;
  /** The alert lines the replay wrote (alerts.jsonl), in order. */
  alertLines: string[];
  mitigation?: ScenarioMitigation;
  dir?: string;
}

/** Start delay of the sensitivity replay: every check lands 30 s into a minute. */
export const LATE_CHECK_DELAY_MS = 30_000;

/** Generate the scenario, replay it through the consumer's batch path, score the alerts and replay the mitigations. */
export async function runScenarioQuality(opts: ScenarioQualityOptions = {}): Promise<ScenarioQuality> {
  const t0 = performance.now();
  const sc = generateScenario(opts.scenario);
  const generateMs = performance.now() - t0;
  const replayed = await (opts.windowed ? replayLinesWindowed : replayLines)(sc.lines, {
    settings: DEFAULT_WINDOW_SETTINGS,
    operatorChanges: sc.operatorChanges,
    ...(opts.detection && { detection: opts.detection }),
  });
  if (opts.dir) {
    await mkdir(opts.dir, { recursive: true });
    await writeFile(join(opts.dir, 'scenario.jsonl'), `${sc.lines.join('\n')}\n`);
    await writeFile(join(opts.dir, 'operator-changes.json'), `${JSON.stringify(sc.operatorChanges, null, 1)}\n`);
    await writeFile(join(opts.dir, 'labels.json'), `${JSON.stringify(sc.labels, null, 1)}\n`);
    await writeFile(
      join(opts.dir, 'alerts.jsonl'),
      replayed.alertLines.length ? `${replayed.alertLines.join('\n')}\n` : '',
    );
    await writeFile(
      join(opts.dir, 'dead-letters.jsonl'),
      replayed.deadLetters.map((l) => `${JSON.stringify(l)}\n`).join(''),
    );
  }
  const alerts = replayed.alertLines.map((l) => JSON.parse(l) as AlertLine);
  const result = scoreAlerts(alerts, sc.labels, sc.evalFrom);
  const out: ScenarioQuality = {
    ...result,
    scenario: {
      options: sc.options,
      evalFrom: sc.evalFrom,
      endTs: sc.endTs,
      counts: sc.counts,
      keys: sc.keys,
      labels: sc.labels,
      records: sc.lines.length,
    },
    replay: replayed.result,
    generateMs,
    alertLines: replayed.alertLines,
  };
  if (opts.mitigation !== false) {
    const m0 = performance.now();
    const mo = typeof opts.mitigation === 'object' ? opts.mitigation : {};
    const definition = mo.definition ?? synthesizedMitigationDefinition();
    // Same cold-start rule as the alert scoring.
    const inScope = replayed.mitigations.filter((m) => m.anomaly.start >= sc.evalFrom - MATCH_EARLY_MS);
    const cases: MitigationCase[] = inScope.map((m) => {
      const label = matchLabel(alertLogLine(m.anomaly) as unknown as AlertLine, sc.labels);
      return label ? { anomaly: m.anomaly, label } : { anomaly: m.anomaly };
    });
    const series = KeySeries.fromLines(sc.lines, new Set(cases.map((c) => c.anomaly.key)), DEFAULT_WINDOW_SETTINGS);
    // Every anomaly the consumer stored (its alert lines), so the Plan task counts an incident's tenants as in
    // production.
    const stored = replayed.alertLines
      .map((l) => JSON.parse(l) as AlertLine)
      .map((a) => ({ tenant: a.tenant, signal: a.signal, start: Date.parse(a.start) }));
    const anomalies = {
      tenantsWithAnomaly: async (signals: readonly string[], from: number, to: number) =>
        [
          ...new Set(
            stored.filter((a) => signals.includes(a.signal) && a.start >= from && a.start <= to).map((a) => a.tenant),
          ),
        ].sort(),
    };
    const env = {
      definition,
      series,
      changes: replayed.changes,
      timings: DEFAULT_MITIGATION_TIMINGS,
      settings: DEFAULT_WINDOW_SETTINGS,
      anomalies,
    };
    const consumerDelayMs = mo.consumerDelayMs ?? CONSUMER_DELAY_MS;
    const outcomes = await replayMitigations(cases, { ...env, consumerDelayMs });
    const late = summarizeOutcomes(await replayMitigations(cases, { ...env, consumerDelayMs: LATE_CHECK_DELAY_MS }));
    out.mitigation = {
      summary: summarizeOutcomes(outcomes),
      consumerDelayMs,
      lateCheck: { consumerDelayMs: LATE_CHECK_DELAY_MS, counts: late.counts },
      coldStart: replayed.mitigations.length - inScope.length,
      ms: performance.now() - m0,
    };
  }
  if (opts.dir) out.dir = opts.dir;
  return out;
}

// ---- printing --------------------------------------------------------------------------------

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** m:ss (event time), so a value just over a whole-minute target does not print as meeting it. */
const minutes = (ms: number | undefined) => {
  if (ms === undefined) return '-';
  const s = Math.round(Math.abs(ms) / 1000);
  return `${ms < 0 ? '-' : ''}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
const ratio = (x: number) => x.toFixed(3);
const pctOf = (x: number) => `${(x * 100).toFixed(1)}%`;
const iso = (ms: number) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
const mark = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

/** One compact line per alert: what a reader needs to judge it. */
export function alertSummary(a: AlertLine): string {
  return (
    `${a.tenant}#${a.signal} start ${a.start.slice(5, 16)} detected ${a.detectedAt.slice(11, 16)} ${a.decision} ` +
    `${a.class} score ${a.score} ${a.change ?? ''}` +
    `${a.correlatedChanges?.length ? ` changes [${a.correlatedChanges.join(',')}]` : ''}`
  );
}

function labelSummary(l: Label): string {
  return `${l.id} ${l.kind} ${l.tenants.join(',')} ${iso(l.start)}–${iso(l.end).slice(6)} (${l.detail})`;
}

/** The printed section: scenario, definitions, per-kind table, headline vs SLO, failure cases. */
export function formatQuality(
  q: QualityResult & Partial<Pick<ScenarioQuality, 'scenario' | 'replay' | 'generateMs'>>,
  opts: { definitions?: boolean; maxExamples?: number } = {},
): string {
  const n = q.numbers;
  const out: string[] = [];
  const maxEx = opts.maxExamples ?? 6;
  if (q.scenario) {
    const s = q.scenario;
    const days = (s.endTs - s.options.startTs) / 86_400_000;
    const operatorWindows = s.counts.operatorChanges
      ? `, + ${s.counts.operatorChanges} platform-wide windows declared through the operator route`
      : '';
    out.push(
      `   scenario seed ${s.options.seed}: ${s.options.tenants.length} tenants, ${s.keys.length} keys, ${days} ` +
        `days from ${new Date(s.options.startTs).toISOString().slice(0, 10)} (Thu), ` +
        `${s.records.toLocaleString('en-US')} records (${s.counts.changes} change records` +
        `${operatorWindows}` +
        `, ${s.counts.missing} points missing, ${s.counts.late} late, ${s.counts.retries} retries); ` +
        `labels from ${iso(s.evalFrom)} on (learning ${s.options.learnDays} days)`,
    );
  }
  if (q.replay)
    out.push(
      `   replay: ${q.replay.records.toLocaleString('en-US')} records in ${(q.replay.ms / 1000).toFixed(1)} s (` +
        `${Math.round(q.replay.records / (q.replay.ms / 1000)).toLocaleString('en-US')} records/s), ` +
        `${q.replay.anomalies} alert lines, ${q.replay.deadLettered} dead-lettered; generation ` +
        `${((q.generateMs ?? 0) / 1000).toFixed(1)} s`,
    );
  if (opts.definitions !== false) {
    out.push(
      '   definitions: page = alert line with decision alert|mitigate; an alert matches a label on tenant + signal ' +
        'with episode start in [start − 5 min, end];',
      '   recall = high-cost incidents (the 4 playbook kinds) with ≥ 1 matching page; precision = pages matching a ' +
        'real incident that should page / all pages',
      '   (false: noise, blip, benign release, inside maintenance); unnecessary mitigation = mitigate matching no ' +
        'label or a label not expecting mitigate',
      '   (campaign + class tenant = soft-only, accepted); latency = first matching page detectedAt − incident ' +
        'start, event time, over detected high-cost',
      '   incidents (the trigger can fire only when that minute closes: + 1 min + 2 min allowed lateness); ' +
        'cold-start alerts (learning period) excluded.',
    );
  }
  out.push(
    table(
      ['kind', 'n', 'paged', 'mitigate', 'suppressed', 'class ok', 'extra pages', 'latency p50', 'latency p95'],
      q.perKind.map((r) => [
        r.kind,
        r.n,
        r.paged,
        r.mitigated,
        r.suppressed,
        r.classJudged ? `${r.classOk}/${r.classJudged}` : '-',
        r.extraPages,
        minutes(r.latencyP50Ms),
        minutes(r.latencyP95Ms),
      ]),
    ),
  );
  out.push(
    table(
      ['measure', 'value', 'seed target', ''],
      [
        [
          'precision (pages)',
          `${ratio(n.precision)} (${n.truePages}/${n.pages})`,
          `≥ ${SLO.precision}`,
          mark(n.slo.precision),
        ],
        [
          'recall (high-cost incidents)',
          `${ratio(n.recall)} (${n.highCostDetected}/${n.highCost})`,
          `≥ ${SLO.recall}`,
          mark(n.slo.recall),
        ],
        [
          '  first incident on its keys / repeat',
          `${n.recallFirst.detected}/${n.recallFirst.n} / ${n.recallRepeat.detected}/${n.recallRepeat.n}`,
          '',
          '',
        ],
        ['high-cost incidents mitigated', `${n.highCostMitigated}/${n.highCost}`, '', ''],
        [
          'unnecessary mitigations',
          `${pctOf(n.unnecessaryMitigationShare)} (${n.unnecessaryMitigations}/${n.mitigations})`,
          `< ${SLO.unnecessaryMitigationShare * 100}%`,
          mark(n.slo.unnecessary),
        ],
        [
          'detection latency p50 / p95 / max',
          `${minutes(n.latency.p50)} / ${minutes(n.latency.p95)} / ${minutes(n.latency.max)}`,
          `p95 ≤ ${SLO.latencyP95Ms / MIN}:00`,
          mark(n.slo.latency),
        ],
        [
          'mitigation trigger latency p50 / p95',
          `${minutes(n.mitigateLatency.p50)} / ${minutes(n.mitigateLatency.p95)} (${n.mitigateLatency.n} incidents)`,
          '',
          '',
        ],
        [
          'false pages by cause',
          `noise ${n.falsePagesByCause.noise}, blip ${n.falsePagesByCause.blip}, benign release ` +
            `${n.falsePagesByCause.benign_release}, maintenance ${n.falsePagesByCause.maintenance}`,
          '',
          '',
        ],
        ['class accuracy (high-cost)', ratio(n.classAccuracy), '', ''],
        [
          'maintenance anomalies',
          `${n.maintenance.n}: paged ${n.maintenance.paged}, suppressed ${n.maintenance.suppressed}, not detected ` +
            `${n.maintenance.notDetected}`,
          'no page',
          n.maintenance.paged === 0 ? 'MET' : 'NOT MET',
        ],
        [
          'release-coincident spikes',
          `${n.releaseSpikes.n}: paged ${n.releaseSpikes.detected}, decided alert ${n.releaseSpikes.decidedAlert}, ` +
            `mitigated ${n.releaseSpikes.mitigated}`,
          'alert',
          n.releaseSpikes.mitigated === 0 && n.releaseSpikes.decidedAlert === n.releaseSpikes.n ? 'MET' : 'NOT MET',
        ],
        [
          'campaign surges',
          `${n.campaigns.n}: paged ${n.campaigns.paged}, class tenant ${n.campaigns.classTenant}, mitigate ` +
            `${n.campaigns.mitigated}`,
          'tenant, soft',
          n.campaigns.paged === n.campaigns.classTenant ? 'MET' : 'NOT MET',
        ],
        ['cold start (not in the above)', `${n.coldStart.pages} pages, ${n.coldStart.mitigations} mitigations`, '', ''],
      ],
    ),
  );
  const failures: string[] = [];
  for (const o of q.outcomes) {
    const l = o.label;
    if (l.highCost && !o.detected)
      failures.push(
        `missed${o.repeat ? ' (repeat)' : ''}   ${labelSummary(l)}` +
          `${o.alerts.length ? `; alert lines: ${o.alerts.map(alertSummary).join(' | ')}` : ''}`,
      );
    else if (l.highCost && !o.mitigated)
      failures.push(`no mitigate ${labelSummary(l)}: ${o.pages.map(alertSummary).join(' | ')}`);
    if (o.classOk === false)
      failures.push(
        `class    ${labelSummary(l)}: expected ${l.expectedClass}, got ${o.class} — ` +
          `${alertSummary(o.pages.find((p) => p.signal === l.primary) ?? o.pages[0]!)}`,
      );
    if (l.kind === 'release_spike' && (!o.detected || o.mitigated))
      failures.push(`release  ${labelSummary(l)}: ${o.detected ? o.pages.map(alertSummary).join(' | ') : 'not paged'}`);
  }
  for (const f of q.falsePages)
    failures.push(`false page (${f.cause}) ${alertSummary(f.alert)}${f.label ? ` ← ${labelSummary(f.label)}` : ''}`);
  for (const u of q.unnecessaryMitigations) failures.push(`unnecessary mitigate (${u.why}) ${alertSummary(u.alert)}`);
  if (failures.length) {
    out.push(`   failure cases (${failures.length}${failures.length > maxEx * 4 ? `, first ${maxEx * 4}` : ''}):`);
    for (const f of failures.slice(0, maxEx * 4)) out.push(`   - ${f}`);
  } else out.push('   no failure cases');
  if (q.coldStartAlerts.length)
    out.push(
      `   cold-start alerts (${q.coldStartAlerts.length}): ` +
        `${q.coldStartAlerts.slice(0, 3).map(alertSummary).join(' | ')}`,
    );
  return out.join('\n');
}

/** The mitigation-outcome part of the section, with the check-timing sensitivity line. */
export function formatScenarioMitigation(m: ScenarioMitigation, opts: { examples?: number } = {}): string {
  const c = m.lateCheck.counts;
  return [
    formatMitigationOutcomes(m.summary, {
      timings: DEFAULT_MITIGATION_TIMINGS,
      coldStart: m.coldStart,
      consumerDelayMs: m.consumerDelayMs,
      ...(opts.examples !== undefined && { examples: opts.examples }),
    }),
    `   check timing: with every execution started ${m.lateCheck.consumerDelayMs / 1000} s later instead (each ` +
      `check ${m.lateCheck.consumerDelayMs / 1000} s into a minute, whose bucket then holds the records so far), ` +
      `recovered ${c.recovered}, escalated then recovered ${c['escalated-recovered']}, handed off ` +
      `${c['handed-off']}, blocked ${c.blocked}`,
  ].join('\n');
}

/** `npm run bench` section: the full-size scenario, printed. */
export async function printQualitySection(log: (line: string) => void = console.log): Promise<ScenarioQuality> {
  log(
    `\n5. Detection quality and mitigation outcomes: seed-004 scenario suite (the consumer's batch path over ` +
      `generated envelopes, event time; bench/quality)`,
  );
  const q = await runScenarioQuality({ scenario: DEFAULT_SCENARIO });
  log(formatQuality(q));
  if (q.mitigation) log(formatScenarioMitigation(q.mitigation, { examples: 8 }));
  return q;
}
