import type { Anomaly, Decision, Severity } from '../anomaly.js';
import type { AnomalyClass } from '../classifier.js';
import type { ChangeRecord } from '../envelope.js';
import type { ActionLevel, PlaybookStep, TargetKind } from '../mitigation/actions.js';
import type { MitigationPlan } from '../mitigation/plan.js';
import type { LedgerEntry } from '../ports/action-ledger.js';
import type { BadDirection, SignalCategory } from '../signals.js';

/** How a mitigation execution ended (the workflow's `outcome`); absent while it runs or when none ran. */
export type MitigationOutcome = 'recovered' | 'handed-off' | 'blocked' | 'failed';

/** One line of the action ledger (the ledger port's entry). */
export type ActionLedgerRecord = LedgerEntry;

/** One minute of the anomaly's signal, as the consumer scored it (a `MinuteScore` fits). */
export interface SeriesPoint {
  /** Start of the minute (event time, epoch ms). */
  ts: number;
  observed: number;
  /** The detector's expected value; the anomaly's `expected` stands in when absent. */
  expected?: number;
  /** The expected band; the anomaly's `band` stands in when absent. */
  lo?: number;
  hi?: number;
  /** The band as a `MinuteScore` carries it; `lo`/`hi` win when both are given. */
  band?: { lo: number; hi: number };
  /**
   * Units the signal's per-unit cost applied to in that minute (queries for `cqs_p95`, records for
   * `cir_p95`). With it on every minute, a cost signal's excess is weighted into dollars spent.
   */
  volume?: number;
}

/** A change record as the report needs it: a `ChangeRecord` or a `CorrelatedChange` both fit. */
export type ReportChangeInput = Pick<ChangeRecord, 'tenant' | 'change' | 'ts'> &
  Partial<Pick<ChangeRecord, 'id' | 'until' | 'region' | 'title'>>;

export interface ExecutionInfo {
  /** The Step Functions execution name (the plan id). */
  name: string;
  /** RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED. */
  status?: string;
  startedAt?: number;
  stoppedAt?: number;
}

export interface EpisodeReportInput {
  kind: 'episode';
  generatedAt: number;
  anomaly: Anomaly;
  plan?: MitigationPlan;
  /** The episode's ledger entries, any order. */
  ledger?: readonly ActionLedgerRecord[];
  outcome?: MitigationOutcome;
  execution?: ExecutionInfo;
  /** The signal's minutes around the episode, any order; a duplicated minute keeps its last point. */
  series: readonly SeriesPoint[];
  /** Change records of the tenant (and `*`) in the window, any order. */
  changes?: readonly ReportChangeInput[];
  /** When the alert was published; defaults to detection (the consumer alerts as it confirms). */
  alertedAt?: number;
  /**
   * Anomalies known when the report is built that may share the episode's incident (e.g. every stored anomaly that
   * started around it): those of the anomaly's incident are listed as its members, the rest are ignored.
   */
  incidentMembers?: readonly IncidentMemberInput[];
}

/** An anomaly as the incident section needs it: a stored `Anomaly` fits. */
export type IncidentMemberInput = Pick<Anomaly, 'id' | 'tenant' | 'signal' | 'start' | 'severity'> &
  Partial<Pick<Anomaly, 'incident'>>;

/** One member anomaly of an incident, as reports list it. */
export interface IncidentMemberRow {
  /** The episode key (`<tenant>#<signal>@<start minute>Z`): what the operator API takes as `key`. */
  key: string;
  tenant: string;
  signal: string;
  start: IsoTime;
  severity: Severity;
}

/** The incident an episode belongs to (lambdas/core/incidents.ts), with its members as known at generation. */
export interface ReportIncident {
  /** `inc-<hash>`: the anomaly's own one-member incident when it was not grouped. */
  id: string;
  /** Oldest first; the episode itself included. */
  members: IncidentMemberRow[];
  /** Distinct, sorted. */
  tenants: string[];
  signals: string[];
}

/** One episode in a daily digest: what `summariseEpisode` takes from an episode report. */
export interface EpisodeSummary {
  anomaly: Pick<Anomaly, 'id' | 'tenant' | 'signal' | 'class' | 'severity' | 'decision' | 'start' | 'change'> &
    Partial<Pick<Anomaly, 'region' | 'observed' | 'expected' | 'incident'>>;
  outcome?: MitigationOutcome;
  /** The episode report's id, for its link. */
  reportId?: string;
  actions?: number;
  stabilisedMinutes?: number | null;
  costEffectPercent?: number | null;
  savings?: { amount?: number; currency?: 'USD'; percent: number | null };
  /** When the first action was applied and when the episode stabilised (epoch ms): the cost card's mitigation. */
  firstActionAt?: number;
  stabilisedAt?: number;
  /** The episode report's 10-minute control target (absent: no action, or a report written before it). */
  controlTarget?: Pick<ControlTarget, 'met' | 'changePercent'>;
  /** The episode report's 24 h cost correction (absent: not a cost signal, no action, or an older report). */
  costCorrection?: Pick<CostCorrection, 'applicable' | 'met' | 'changePercent' | 'saved'>;
}

export interface DailyReportInput {
  kind: 'daily';
  generatedAt: number;
  /** `to` exclusive. A UTC midnight-to-midnight range is "the day"; any other range is a digest of it. */
  range: { from: number; to: number };
  episodes: readonly EpisodeSummary[];
  /**
   * The cost signals' minutes known for the day (the episode traces of the day's cost anomalies), for the cost card;
   * without them the card has no minute to count.
   */
  costSeries?: readonly CostCardSeriesInput[];
}

/** A cost signal's minutes for the cost card (cost-card.ts `CostCardSeries`). */
export interface CostCardSeriesInput {
  tenant: string;
  signal: string;
  points: readonly Pick<SeriesPoint, 'ts' | 'observed' | 'expected' | 'volume'>[];
  /** Stands in for the forecast of a minute without `expected`; without it such minutes are left out. */
  expected?: number;
}

export type ReportInput = EpisodeReportInput | DailyReportInput;

/** Times in a report are ISO-8601 UTC strings. */
export type IsoTime = string;

export interface ReportChange {
  id?: string;
  tenant: string;
  change: ReportChangeInput['change'];
  title?: string;
  region?: string;
  at: IsoTime;
  until?: IsoTime;
  /** Minutes from the change's start to the anomaly's start (positive: the change came first). */
  offsetMinutes: number;
}

export interface ReportAction {
  rollbackKey: string;
  stepId: string;
  title: string;
  level: ActionLevel;
  target: TargetKind;
  /** `controlKey`: the full address of what was changed. */
  control: string;
  /** What really acted, in words (`ActedVia.description`), when the ledger recorded it. */
  actedVia?: string;
  value: PlaybookStep['value'];
  previous: PlaybookStep['value'] | null;
  appliedAt: IsoTime;
  rolledBackAt?: IsoTime;
  /** A rollback that had nothing to undo (e.g. a CDN invalidation), and why. */
  rollbackSkipped?: string;
  execution?: string;
}

export type TimelineKind =
  | 'change'
  | 'anomaly-start'
  | 'detected'
  | 'alert'
  | 'planned'
  | 'approval-requested'
  | 'approved'
  | 'denied'
  | 'approval-expired'
  | 'applied'
  | 'rolled-back'
  | 'rollback-skipped'
  | 'stabilised'
  | 'outcome'
  /** A ledger event this version does not know: shown with its name as recorded. */
  | 'ledger';

export interface TimelineEvent {
  at: IsoTime;
  kind: TimelineKind;
  text: string;
  rollbackKey?: string;
}

/** The mean observed value over a span of minutes. */
export interface SpanMean {
  mean: number;
  from: IsoTime;
  /** Exclusive. */
  to: IsoTime;
  minutes: number;
}

export interface SavingsCommon {
  method: string;
  assumptions: string[];
}

export type SavingsEstimate =
  | (SavingsCommon & {
      estimated: true;
      /** `cost`: an amount in USD; `relative`: only the share of the excess avoided (non-cost signals). */
      basis: 'cost' | 'relative';
      amount?: number;
      currency?: 'USD';
      /** Share of the projected excess that was avoided, in percent (null when nothing was projected). */
      percent: number | null;
      /** Bad-direction excess over the baseline, summed over the episode's minutes. */
      episodeExcess: number;
      projectedExcess: number;
      actualExcess: number;
      window: { from: IsoTime; firstAction: IsoTime; to: IsoTime; minutesBefore: number; minutesAfter: number };
      /** The excess was weighted by per-minute volume (dollars spent), not summed per minute. */
      weighted: boolean;
    })
  | (SavingsCommon & { estimated: false; reason: string; episodeExcess: number | null });

/**
 * Seed 004 §F control target: within 10 min of the mitigation, `cqs_p95` −20 % or edge p95 ≤ 300 ms
 * (`evaluateControlTarget`, control-targets.ts).
 */
export interface ControlTarget {
  signal: string;
  /** `absolute`: edge_p95_ms ≤ 300 ms; `relative`: 20 % of the value at detection toward the good side. */
  rule: 'absolute' | 'relative';
  target: {
    /** `at-most` for a signal whose rise is bad, `at-least` for one whose fall is bad. */
    comparison: 'at-most' | 'at-least';
    value: number;
    /** `≤ 0.00448 USD (20% below 0.0056 USD at detection)` */
    text: string;
  };
  /** The anomaly's observed value at detection. */
  before: number;
  /** The value read at the 10-minute mark (see `method`), with its minute; null when there is none. */
  after: { value: number; at: IsoTime; minute: number } | null;
  /** `after` against `before`, in percent. */
  changePercent: number | null;
  /** Null: not judged (`reason` says why). */
  met: boolean | null;
  reason?: string;
  /** The first minute from the first action's minute to the mark within the target (information only). */
  firstMet: { at: IsoTime; minute: number } | null;
  verdict: 'met' | 'missed' | 'not judged';
  /** What the verdict rests on, in words (report.md and report.html show it after the verdict). */
  description: string;
  method: string;
}

/**
 * Seed 004 §F billing protection: where the forecast overage is ≥ +20 %, the 24 h cost is corrected by at least
 * 15 % (`evaluateCostCorrection`, control-targets.ts).
 */
export interface CostCorrection {
  signal: string;
  /** A cost signal with a forecast overage of at least `thresholdPercent`. */
  applicable: boolean;
  /** Observed against forecast (expected) over the episode's minutes before the first action, in percent. */
  forecastOveragePercent: number | null;
  thresholdPercent: number;
  /** The 24 h cost change that meets it (−15). */
  targetPercent: number;
  /** The 24 h from the first action's minute: minutes with data, and those projected. */
  window: { from: IsoTime; to: IsoTime; measuredMinutes: number; projectedMinutes: number } | null;
  /** The 24 h cost had the pre-action excess gone on (USD; see `weighted`). */
  unmitigated: number | null;
  /** The 24 h cost measured, the minutes without data projected (USD). */
  actual: number | null;
  /** `unmitigated − actual`. */
  saved: number | null;
  /** `actual` against `unmitigated`, in percent. */
  changePercent: number | null;
  /** Null: not applicable, or not judged (`reason`). */
  met: boolean | null;
  reason?: string;
  /** Amounts are × each minute's volume (dollars spent); otherwise each minute counts as one unit's worth. */
  weighted: boolean;
  currency: 'USD';
  verdict: 'met' | 'missed' | 'not judged' | 'not applicable';
  /** What the verdict rests on, in words. */
  description: string;
  method: string;
  assumptions: string[];
}

/** The cost card's periods, ending at the card's `to`: 1, 7 and 30 days. */
export type CostPeriod = 'day' | 'week' | 'month';

/** Forecast against actual cost over a period (`costCard`, cost-card.ts). */
export interface CostFigures {
  /** The detector's expected value summed over the period's minutes with data (× volume where weighted). */
  forecast: number;
  /** The observed value summed over the same minutes. */
  actual: number;
  /** `actual − forecast`. */
  difference: number;
  /** `difference` against `forecast`, in percent (null for a zero forecast). */
  differencePercent: number | null;
  /** Minutes counted (one per minute of each series). */
  minutes: number;
  /** Series counted, and of those the ones weighted by volume (dollars spent). */
  series: number;
  weightedSeries: number;
}

export interface CostCardPeriod {
  period: CostPeriod;
  from: IsoTime;
  /** Exclusive. */
  to: IsoTime;
  all: CostFigures;
  /** Sorted by tenant. */
  tenants: (CostFigures & { tenant: string })[];
  /** Savings of the mitigations whose first action is in the period. */
  savings: number;
}

/** One mitigation on the cost card: mean cost per minute before and after its first action, and its savings. */
export interface CostCardMitigationRow {
  id: string;
  tenant: string;
  signal: string;
  firstActionAt: IsoTime;
  /** From the anomaly's first minute to the first action's minute. */
  before: { perMinute: number; minutes: number } | null;
  /** From the first action's minute to the episode's end. */
  after: { perMinute: number; minutes: number } | null;
  /** `after` against `before`, in percent. */
  differencePercent: number | null;
  /** As the episode report estimates it (`estimateSavings`); null when it cannot be estimated (`reason`). */
  savings: number | null;
  reason?: string;
  weighted: boolean;
}

/** Seed 004 §G cost card: forecast vs actual per day, week and month, and each mitigation's before/after. */
export interface CostCard {
  to: IsoTime;
  currency: 'USD';
  /** In the order asked for. */
  periods: CostCardPeriod[];
  /** By first action, oldest first. */
  mitigations: CostCardMitigationRow[];
  /** Signals given that are not cost signals: left out. */
  ignoredSignals: string[];
  method: string;
  assumptions: string[];
}

export interface EpisodeReport {
  kind: 'episode';
  version: 1;
  id: string;
  generatedAt: IsoTime;
  episode: {
    id: string;
    key: string;
    tenant: string;
    signal: string;
    region?: string;
    unit: string;
    category: SignalCategory;
    badDirection: BadDirection;
    severity: Severity;
    decision: Decision;
    trigger: Anomaly['trigger'];
    score: number;
    start: IsoTime;
    detectedAt: IsoTime;
    /** Peak observed against expected, as the alert words it (`+51%`). */
    change: string;
    recommendation: string;
    softOnly: boolean;
    /** Rolls back everything applied for the episode (`rb-<hash>`), when a plan exists. */
    rollbackKey?: string;
  };
  execution?: { name: string; status?: string; startedAt?: IsoTime; stoppedAt?: IsoTime };
  outcome: MitigationOutcome | null;
  /** Absent in reports written before incidents were reported. */
  incident?: ReportIncident;
  classification: { class: AnomalyClass; evidence: string[] };
  correlatedChanges: ReportChange[];
  /** Every change record given for the window (what the chart marks), oldest first. */
  changes: ReportChange[];
  policy: {
    planId: string;
    playbook: { id: string; title: string };
    selectedBy: MitigationPlan['selectedBy'];
    allowed: boolean;
    reasons: string[];
    stages: {
      level: ActionLevel;
      allowed: boolean;
      steps: { stepId: string; title: string; rollbackKey: string; control: string }[];
    }[];
    skipped: { stepId: string; reason: string }[];
  } | null;
  /** Oldest applied first. */
  actions: ReportAction[];
  figures: {
    /** The episode's peak, as detected. */
    before: { observed: number; expected: number; band: { lo: number; hi: number }; changePercent: number | null };
    /** Mean from the first action's minute to the end of the episode. */
    afterAction: SpanMean | null;
    /** Mean from the minute it stabilised to the end of the data. */
    settled: SpanMean | null;
  };
  stabilisation: {
    from: 'first-action' | 'detection';
    fromAt: IsoTime;
    stabilisedAt: IsoTime | null;
    minutes: number | null;
    description: string;
  };
  /** Mean observed after the first action against the mean before it, in percent. */
  costEffect: { percent: number; before: SpanMean; after: SpanMean; description: string } | null;
  savings: SavingsEstimate;
  /**
   * Seed 004 §F 10-minute control target; null when no action was applied. Absent in reports written before it was
   * reported.
   */
  controlTarget?: ControlTarget | null;
  /** Seed 004 §F 24 h cost correction; null for a signal that is not a cost or when no action was applied. */
  costCorrection?: CostCorrection | null;
  timeline: TimelineEvent[];
  /**
   * The signal for the chart, at most 720 points (window-data.json in the bundle has all of it),
   * with the anomaly's expected value and band standing in where a minute had none.
   */
  series: { ts: IsoTime; observed: number; expected: number; lo: number; hi: number }[];
}

export interface DailyEpisodeRow {
  id: string;
  tenant: string;
  signal: string;
  region?: string;
  class: AnomalyClass;
  severity: Severity;
  decision: Decision;
  start: IsoTime;
  change: string;
  /** The incident the anomaly belongs to (its own when it was not grouped). */
  incident: string;
  outcome: MitigationOutcome | null;
  actions: number;
  stabilisedMinutes: number | null;
  costEffectPercent: number | null;
  savings: { amount?: number; currency?: 'USD'; percent: number | null } | null;
  /** 10-minute control target met (null: not judged or no action). */
  controlTargetMet: boolean | null;
  /** 24 h cost correction: null when it does not apply (or was not judged). */
  costCorrectionMet: boolean | null;
  reportId?: string;
  /** Prefix of the episode report's objects (`reports/YYYY/MM/DD/<id>/`). */
  reportPrefix?: string;
}

export interface DailyReport {
  kind: 'daily';
  version: 1;
  id: string;
  generatedAt: IsoTime;
  range: { from: IsoTime; to: IsoTime };
  /** UTC date of the range's start (`YYYY-MM-DD`): where the objects go. */
  day: string;
  totals: {
    /** Incidents with an episode in the range. */
    incidents: number;
    episodes: number;
    bySeverity: Record<string, number>;
    byClass: Record<string, number>;
    byDecision: Record<string, number>;
    byOutcome: Record<string, number>;
  };
  savings: { usd: number; estimated: number; notEstimated: number; method: string };
  /** Seed 004 §F: how the range's mitigations (episodes with an applied action) did against the control targets. */
  control: {
    mitigations: number;
    /** 10-minute control target: met, missed, and not judged (no value at the mark, or an older report). */
    met: number;
    missed: number;
    notJudged: number;
    /** `met` of the judged ones, in percent (null: none judged). */
    metPercent: number | null;
    /** 24 h cost correction of the cost episodes whose forecast overage was at least +20 %. */
    costCorrection: { applicable: number; met: number; missed: number; notJudged: number };
    method: string;
  };
  /** Seed 004 §G cost card of the range's last day (`to` − 24 h … `to`). */
  costCard: CostCard;
  /** By first start, oldest first; each lists its episodes of the range. */
  incidents: DailyIncidentRow[];
  /** Oldest first. */
  episodes: DailyEpisodeRow[];
}

/** One incident of a digest: its anomalies (episodes) that started in the range. */
export interface DailyIncidentRow {
  id: string;
  /** Earliest member start. */
  firstStart: IsoTime;
  /** Highest severity among the members (SEV1 is the highest). */
  severity: Severity;
  /** Distinct, sorted. */
  tenants: string[];
  signals: string[];
  /** The members' episode ids (`DailyEpisodeRow.id`), oldest first. */
  episodes: string[];
}

export type Report = EpisodeReport | DailyReport;
