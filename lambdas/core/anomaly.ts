import { classifyAnomaly, describeChange, type AnomalyClass } from './classifier.js';
import { correlateChanges, type CorrelatedChange } from './correlator.js';
import type { ChangeRecord } from './envelope.js';
import type { EpisodeEvent } from './episodes.js';
import { incidentIdOf, tenantList, type IncidentView } from './incidents.js';
import { signalSpec } from './signals.js';

export type Decision = 'alert' | 'mitigate' | 'suppressed';
export type Severity = 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';

/** A confirmed anomaly episode as stored and alerted (docs/architecture.md contract 3). */
export interface Anomaly {
  /** The episode key: `<tenant>#<signal>@<start minute>`. */
  id: string;
  key: string;
  tenant: string;
  signal: string;
  /** The last folded record's region (what change correlation matches on). */
  region?: string;
  /**
   * Every region the key's records named during the episode (at most 8, sorted): what the
   * cross-region guardrail decides on. Absent on anomalies stored before it existed: use {@link regionsOf}.
   */
  regions?: string[];
  class: AnomalyClass;
  severity: Severity;
  start: number;
  /** Event time of the minute that confirmed the episode. */
  detectedAt: number;
  score: number;
  expected: number;
  observed: number;
  band: { lo: number; hi: number };
  change: string;
  trigger: 'high-confidence' | 'cost' | 'sustained';
  costExcess?: number;
  evidence: string[];
  correlatedChanges: CorrelatedChange[];
  decision: Decision;
  /** What should happen next, in words (the workflow issue turns `mitigate` into actions). */
  recommendation: string;
  /** Only soft mitigation steps are allowed (whitelisted campaign tenant). */
  softOnly: boolean;
  /**
   * The incident the anomaly belongs to (`inc-<hash>`, see incidents.ts). Absent on anomalies stored
   * before incidents existed and on suppressed ones: use {@link incidentOf}.
   */
  incident?: string;
}

/** The anomaly's incident: its own (a one-member incident) when it was not grouped. */
export function incidentOf(a: Pick<Anomaly, 'id' | 'incident'>): string {
  return a.incident ?? incidentIdOf(a.id);
}

export interface AnomalyContext {
  region?: string;
  /** The regions of the episode's records (see `episodeRegions` in key-state.ts). */
  regions?: readonly string[];
  changes: readonly ChangeRecord[];
  /** Tenants with an anomaly on the same signal in the same batch, this one included. */
  tenantsAffected: number;
  /** Other signals of the tenant with an anomaly in the same batch. */
  concurrentSignals?: readonly string[];
  /** The tenant is whitelisted (campaign) at the anomaly's start. */
  whitelisted: boolean;
}

/**
 * Correlate, classify and decide: turns a confirmed episode into the anomaly that is stored and alerted.
 *
 * @example
 * for (const event of events) if (event.kind === 'confirmed') {
 *   const ctx = { changes, whitelisted: false, tenantsAffected: 1 };
 *   const anomaly = describeAnomaly(event, state.key, state.tenant, state.signal, ctx);
 *   anomaly.decision; // 'alert' | 'mitigate' | 'suppressed'
 * }
 */
export function describeAnomaly(
  event: Extract<EpisodeEvent, { kind: 'confirmed' }>,
  key: string,
  tenant: string,
  signal: string,
  ctx: AnomalyContext,
): Anomaly {
  const { episode, at } = event;
  const anomalyRef: { tenant: string; start: number; region?: string } = { tenant, start: episode.start };
  if (ctx.region !== undefined) anomalyRef.region = ctx.region;
  const changes = correlateChanges(anomalyRef, ctx.changes);
  const observed = episode.peak.observed;
  const expected = episode.peak.expected;
  const { class: cls, evidence } = classifyAnomaly({
    tenant,
    signal,
    observed,
    expected,
    changes,
    tenantsAffected: ctx.tenantsAffected,
    concurrentSignals: ctx.concurrentSignals ?? [],
    ...(episode.peak.kind && { basis: episode.peak.kind }),
  });
  const softOnly = ctx.whitelisted || changes.campaign !== undefined;
  let decision: Decision;
  let recommendation: string;
  if (changes.maintenance) {
    decision = 'suppressed';
    const window = changes.maintenance.id ? ` ${changes.maintenance.id}` : '';
    recommendation = `inside maintenance window${window}: no page, no action`;
  } else if (changes.appChange) {
    decision = 'alert';
    const { change, id, title } = changes.appChange;
    const what = `${change} ${id ?? ''}${title ? ` "${title}"` : ''}`;
    recommendation = `roll back ${what}; no automatic action while a change is this close`.replace(/\s+/g, ' ');
  } else if (event.mitigate && signalSpec(signal).category !== 'engagement') {
    decision = 'mitigate';
    recommendation = softOnly
      ? 'start the playbook, soft steps only (whitelisted tenant)'
      : 'start the playbook for this class, soft steps first';
  } else {
    decision = 'alert';
    recommendation = 'investigate: sustained anomaly below the automatic-mitigation confidence';
  }
  const anomaly: Anomaly = {
    id: episode.id,
    key,
    tenant,
    signal,
    class: cls,
    severity: severityOf(decision, cls, episode.peakScore),
    start: episode.start,
    detectedAt: at.ts,
    score: round(episode.peakScore, 3),
    expected,
    observed,
    band: at.band,
    change: describeChange(observed, expected),
    trigger: event.trigger,
    evidence,
    correlatedChanges: changes.correlated,
    decision,
    recommendation,
    softOnly,
  };
  if (ctx.region !== undefined) anomaly.region = ctx.region;
  if (ctx.regions?.length) anomaly.regions = [...new Set(ctx.regions)].sort();
  if (event.costExcess !== undefined) anomaly.costExcess = round(event.costExcess, 4);
  return anomaly;
}

/**
 * The regions an anomaly touched: `regions`, or for an anomaly stored before that field existed its
 * single `region`. Empty: no record named a region (unknown, which is not the same as "here").
 */
export function regionsOf(a: Pick<Anomaly, 'region' | 'regions'>): string[] {
  if (a.regions?.length) return [...a.regions];
  return a.region !== undefined ? [a.region] : [];
}

function severityOf(decision: Decision, cls: AnomalyClass, score: number): Severity {
  if (decision === 'suppressed') return 'SEV4';
  if (decision === 'mitigate') return score >= 0.95 || cls === 'abuse' ? 'SEV1' : 'SEV2';
  return score >= 0.8 ? 'SEV2' : 'SEV3';
}

/** The SNS message (contract 3): readable subject, JSON body, attributes for subscription filter policies. */
export interface AlertMessage {
  subject: string;
  body: string;
  attributes: {
    severity: string;
    class: string;
    tenant: string;
    signal: string;
    decision: string;
    incident?: string;
  };
}

export function alertMessage(a: Anomaly, links: { report?: string } = {}): AlertMessage {
  const subject = `[${a.severity}] ${a.tenant} ${a.signal} ${a.change} (${a.class})`;
  const body = {
    anomalyKey: a.id,
    tenant: a.tenant,
    signal: a.signal,
    region: a.region,
    regions: regionsOf(a),
    class: a.class,
    severity: a.severity,
    decision: a.decision,
    score: a.score,
    start: new Date(a.start).toISOString(),
    detectedAt: new Date(a.detectedAt).toISOString(),
    expected: a.expected,
    observed: a.observed,
    expectedBand: a.band,
    trigger: a.trigger,
    costExcess: a.costExcess,
    evidence: a.evidence,
    correlatedChanges: a.correlatedChanges.map((c) => ({
      ...c,
      ts: new Date(c.ts).toISOString(),
      until: c.until === undefined ? undefined : new Date(c.until).toISOString(),
    })),
    plannedAction: a.recommendation,
    softOnly: a.softOnly,
    rollbackKey: null,
    reportLink: links.report ?? null,
    incident: incidentOf(a),
  };
  // SNS subjects: ASCII, no line breaks, at most 100 characters.
  const safeSubject = subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
  return {
    subject: safeSubject,
    body: JSON.stringify(body),
    attributes: {
      severity: a.severity,
      class: a.class,
      tenant: a.tenant,
      signal: a.signal,
      decision: a.decision,
      incident: incidentOf(a),
    },
  };
}

/**
 * The one page of an incident (sent by the member that claimed it), naming every tenant and signal
 * known when it is sent. An incident of one anomaly pages exactly as {@link alertMessage}.
 *
 * @example
 * const page = incidentPage(anomaly, await incidents.get(anomaly.incident)); // publish once per incident
 */
export function incidentPage(a: Anomaly, incident: IncidentView | undefined): AlertMessage {
  const base = alertMessage(a);
  if (!incident || (incident.tenants.length <= 1 && incident.signals.length <= 1)) return base;
  const tenants = `${incident.tenants.length} tenant(s) (${tenantList(incident.tenants)})`;
  const subject = `[${a.severity}] incident ${tenants} ${incident.signals.join(',')} (${a.class})`;
  return {
    ...base,
    subject: asciiSubject(subject),
    body: JSON.stringify({ ...JSON.parse(base.body), incidentDetail: incidentBody(incident) }),
  };
}

/**
 * A member that joined an incident which already paged: a follow-up on the same topic with the same
 * `incident` attribute and `decision: incident-update`, so subscribers can filter it; it pages nobody.
 */
export function incidentUpdate(a: Anomaly, incident: IncidentView | undefined): AlertMessage {
  const base = alertMessage(a);
  const id = incidentOf(a);
  const subject = `[${a.severity}] incident ${id} update: ${a.tenant} ${a.signal} ${a.change} joined`;
  return {
    subject: asciiSubject(subject),
    body: JSON.stringify({
      ...JSON.parse(base.body),
      ...(incident && { incidentDetail: incidentBody(incident) }),
      memberDecision: a.decision,
    }),
    attributes: { ...base.attributes, decision: 'incident-update', incident: id },
  };
}

function incidentBody(incident: IncidentView) {
  return {
    id: incident.id,
    family: incident.family,
    tenants: incident.tenants,
    signals: incident.signals,
    members: incident.members,
  };
}

// SNS subjects: ASCII, no line breaks, at most 100 characters.
function asciiSubject(subject: string): string {
  return subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** One line of alerts.jsonl (contract 4): what replay and the local runtime record per confirmed episode. */
export function alertLogLine(a: Anomaly): Record<string, unknown> {
  return {
    key: a.id,
    tenant: a.tenant,
    signal: a.signal,
    class: a.class,
    start: new Date(a.start).toISOString(),
    detectedAt: new Date(a.detectedAt).toISOString(),
    score: a.score,
    decision: a.decision,
    severity: a.severity,
    change: a.change,
    expected: a.expected,
    observed: a.observed,
    evidence: a.evidence,
    correlatedChanges: a.correlatedChanges.map((c) => c.id ?? c.change),
    ...(regionsOf(a).length > 0 && { regions: regionsOf(a) }),
    incident: incidentOf(a),
  };
}
