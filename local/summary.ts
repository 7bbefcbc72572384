import { join } from 'node:path';
import { incidentOf } from '../lambdas/core/anomaly.js';
import { BATCH_COUNTERS, zeroCounters, type BatchOutcome } from '../lambdas/usecases/stream-batch.js';
import type { LocalStepFunctions } from './step-functions.js';
import type { RuntimeUsage } from './usage-meter.js';
import type { SourceTally } from './source-schedule.js';
import { MITIGATION_STATES } from '../lib/mitigation-workflow.js';

export interface LocalSummary {
  records: {
    sent: number;
    processed: number;
    deadLettered: number;
    late: number;
    duplicate: number;
    redelivered: number;
    lost: number;
  };
  anomalies: number;
  /** Pages sent: at most one per incident. */
  alerts: number;
  /** Incidents that paged (anomalies sharing a cause fold into one; suppressed anomalies are none). */
  incidents: number;
  /** Follow-ups on incidents that had paged (`decision: incident-update`). */
  incidentUpdates: number;
  mitigations: { started: number; succeeded: number; rolledBack: number };
  /**
   * Stages that waited for an operator's approval (task token): answered (approve or deny), expired, or still waiting
   * (`--no-auto-approve`).
   */
  approvals: { requested: number; answered: number; expired: number; waiting: number };
  reports: number;
  /**
   * Seed 004 §F as the episode reports measured it: mitigations whose 10-minute control target was met, missed or
   * not judged, and the 24 h cost corrections that applied and were met.
   */
  controlTargets: ControlTargetTally;
  /** Records written to the raw archive (s3rver) and the gzip objects holding them; copied to `<out>/archive/`. */
  archive: { records: number; objects: number };
  /**
   * The scheduled third-party source poller against the local vendor API: polls run, records it put
   * (counted in `records.sent`), items and records it dead-lettered.
   */
  sources: SourceTally & { deadLettered: number };
  firstAlertMs: number | null;
  /** From start to the first mitigation execution that ended (recovered, handed off or blocked). */
  firstMitigationEndedMs: number | null;
  durationMs: number;
  windows: number;
  keys: number;
  stateWrites: number;
  writeUnits: number;
  invocations: number;
  consumerFailures: number;
  /** What the run used of each billed AWS dimension (npm run bench prices it). */
  usage: RuntimeUsage;
  ok: boolean;
  problems: string[];
}

/** The consumer's outcomes summed over the run. */
export type Totals = Omit<BatchOutcome, 'windows' | 'failed' | 'anomalies'> & {
  windows: number;
  failed: number;
  anomalies: number;
  keySet: Set<string>;
  /** Incidents of the anomalies that paged or followed up. */
  incidentSet: Set<string>;
  firstAlertAt?: number;
  firstMitigationEndedAt?: number;
};

export function newTotals(): Totals {
  return {
    ...zeroCounters(),
    keys: 0,
    windows: 0,
    failed: 0,
    anomalies: 0,
    keySet: new Set(),
    incidentSet: new Set(),
  };
}

export function addOutcome(t: Totals, o: BatchOutcome): void {
  for (const k of BATCH_COUNTERS) t[k] += o[k];
  t.anomalies += o.anomalies.length;
  t.windows += o.windows.length;
  t.failed += o.failed.length;
  for (const w of o.windows) t.keySet.add(w.key);
  for (const a of o.anomalies) if (a.decision !== 'suppressed') t.incidentSet.add(incidentOf(a));
}

/** Everything a summary is computed from. */
export interface SummaryInput {
  totals: Totals;
  sent: number;
  deadLettered: number;
  consumerFailures: number;
  invocations: number;
  /** When the run started (wall clock). */
  started: number;
  /** Whether the consumer caught up with everything sent before the summary was taken. */
  drained: boolean;
  workflows: LocalStepFunctions;
  reports: { count: number; errors: string[]; controlTargets?: ControlTargetTally };
  /** `settled`: flushed after the last record was sent, so every record must be in an object by now. */
  archive: { records: number; objects: number; settled: boolean };
  sources: LocalSummary['sources'];
  usage: RuntimeUsage;
}

export function summarise(input: SummaryInput): LocalSummary {
  const {
    totals: t,
    sent,
    deadLettered,
    consumerFailures,
    invocations,
    started,
    drained,
    workflows,
    reports,
    archive,
    sources,
    usage,
  } = input;
  const executions = [...workflows.executions.values()];
  const lost = Math.max(0, sent - t.processed - deadLettered);
  const problems: string[] = [];
  if (!drained) problems.push(`timed out waiting for the consumer: ${lost} records unaccounted for`);
  if (consumerFailures)
    problems.push(`${consumerFailures} batches exhausted their retries (see consumer-failures.jsonl)`);
  if (lost && drained) problems.push(`${lost} records were lost`);
  const failedRuns = executions.filter((x) => x.status === 'FAILED');
  if (archive.settled && archive.records !== sent)
    problems.push(`the raw archive holds ${archive.records} of ${sent} records sent`);
  if (sources.failedPolls)
    problems.push(`${sources.failedPolls} source poll(s) failed (windows in source-failures.jsonl)`);
  if (sources.putFailed) problems.push(`${sources.putFailed} polled record(s) could not be put on the stream`);
  if (reports.errors.length) problems.push(`${reports.errors.length} report(s) failed: ${reports.errors.join('; ')}`);
  if (failedRuns.length)
    problems.push(
      `${failedRuns.length} mitigation execution(s) failed: ` +
        failedRuns.map((x) => `${x.name}: ${x.error ?? ''}`).join('; '),
    );
  return {
    records: {
      sent,
      processed: t.processed,
      deadLettered,
      late: t.late,
      duplicate: t.duplicate,
      redelivered: t.redelivered,
      lost,
    },
    anomalies: t.anomalies,
    alerts: t.alerts,
    incidents: t.incidentSet.size,
    incidentUpdates: t.incidentUpdates,
    mitigations: {
      started: executions.length,
      succeeded: executions.filter((x) => x.status === 'SUCCEEDED').length,
      rolledBack: executions.reduce((n, x) => n + (x.result?.rolledBack.length ?? 0), 0),
    },
    approvals: approvalCounts(executions),
    reports: reports.count,
    controlTargets: reports.controlTargets ?? emptyControlTargetTally(),
    archive: { records: archive.records, objects: archive.objects },
    sources,
    firstAlertMs: t.firstAlertAt === undefined ? null : t.firstAlertAt - started,
    firstMitigationEndedMs: t.firstMitigationEndedAt === undefined ? null : t.firstMitigationEndedAt - started,
    durationMs: Date.now() - started,
    windows: t.windows,
    keys: t.keySet.size,
    stateWrites: t.stateWrites,
    writeUnits: t.writeUnits,
    invocations,
    consumerFailures,
    usage,
    ok: problems.length === 0,
    problems,
  };
}

export function progressLine(simTs: number, sent: number, t: Totals, deadLettered: number): string {
  const sim = simTs ? new Date(simTs).toISOString().slice(0, 16).replace('T', ' ') : '-';
  return (
    `[event time ${sim}] sent ${sent}  processed ${t.processed}  dead-lettered ${deadLettered}  late ${t.late}  ` +
    `windows ${t.windows}  keys ${t.keySet.size}  anomalies ${t.anomalies}  alerts ${t.alerts}`
  );
}

export function printSummary(s: LocalSummary, out: string, log: (l: string) => void): void {
  log('');
  log(
    `records: sent ${s.records.sent}, processed ${s.records.processed}, dead-lettered ${s.records.deadLettered} ` +
      `(reasons in ${join(out, 'dead-letters.jsonl')}), late ${s.records.late}, ` +
      `duplicates dropped ${s.records.duplicate}`,
  );
  log(
    `windows emitted ${s.windows} over ${s.keys} keys; ${s.stateWrites} state writes (${s.writeUnits} WCU) ` +
      `in ${s.invocations} consumer invocations`,
  );
  log(
    `anomalies ${s.anomalies} in ${s.incidents} incident(s) (pages ${s.alerts}, follow-ups ${s.incidentUpdates}, ` +
      `see ${join(out, 'alerts.jsonl')}); mitigations started ${s.mitigations.started}, ` +
      `succeeded ${s.mitigations.succeeded}, actions rolled back ${s.mitigations.rolledBack}; approvals asked ` +
      `${s.approvals.requested} (answered ${s.approvals.answered}, expired ${s.approvals.expired}, waiting ` +
      `${s.approvals.waiting}); reports ${s.reports}; 10-minute control target met ${s.controlTargets.met} of ` +
      `${s.controlTargets.met + s.controlTargets.missed} mitigations judged (seed 004 §F)`,
  );
  log(
    `raw archive: ${s.archive.records} records in ${s.archive.objects} ` +
      `gzip object${s.archive.objects === 1 ? '' : 's'}, ` +
      `copied to ${join(out, 'archive', 'raw')}/; ` +
      `replay them: npm run cli -- replay --input ${join(out, 'archive')} --out <dir>`,
  );
  log(
    `source poller: ${s.sources.polls} polls of the local vendor API, ${s.sources.put} records put, ` +
      `${s.sources.deadLettered} dead-lettered with the reason (${join(out, 'source-failures.jsonl')})`,
  );
  if (s.firstAlertMs !== null)
    log(
      `first alert ${(s.firstAlertMs / 1000).toFixed(1)} s after start` +
        (s.firstMitigationEndedMs === null
          ? ''
          : `, first mitigation ended ${(s.firstMitigationEndedMs / 1000).toFixed(1)} s after start`),
    );
  log(
    s.ok
      ? `ok in ${(s.durationMs / 1000).toFixed(1)} s; summary in ${join(out, 'summary.json')}`
      : `FAILED: ${s.problems.join('; ')}`,
  );
}

/** From the executions' paths: each `Await approval` is one request; what followed it says how it ended. */
function approvalCounts(executions: readonly { path: string[] }[]): LocalSummary['approvals'] {
  const count = (state: string) => executions.reduce((n, x) => n + x.path.filter((p) => p === state).length, 0);
  const requested = count(MITIGATION_STATES.awaitApproval);
  const answered = count(MITIGATION_STATES.applyApproved);
  const expired = count(MITIGATION_STATES.approvalExpired);
  return { requested, answered, expired, waiting: requested - answered - expired };
}

/** Seed 004 §F targets over the run's episode reports. */
export interface ControlTargetTally {
  met: number;
  missed: number;
  notJudged: number;
  costCorrections: { applicable: number; met: number };
}

export function emptyControlTargetTally(): ControlTargetTally {
  return { met: 0, missed: 0, notJudged: 0, costCorrections: { applicable: 0, met: 0 } };
}

/** Add one episode report's targets (`report.json`; reports without a mitigation have none). */
export function tallyControlTargets(
  tally: ControlTargetTally,
  report: {
    controlTarget?: { met: boolean | null } | null;
    costCorrection?: { applicable: boolean; met: boolean | null } | null;
  },
): void {
  if (report.controlTarget) {
    if (report.controlTarget.met === true) tally.met++;
    else if (report.controlTarget.met === false) tally.missed++;
    else tally.notJudged++;
  }
  if (report.costCorrection?.applicable) {
    tally.costCorrections.applicable++;
    if (report.costCorrection.met === true) tally.costCorrections.met++;
  }
}
