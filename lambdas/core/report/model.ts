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
}

export interface DailyReportInput {
  kind: 'daily';
  generatedAt: number;
  /** `to` exclusive. A UTC midnight-to-midnight range is "the day"; any other range is a digest of it. */
  range: { from: number; to: number };
  episodes: readonly EpisodeSummary[];
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
