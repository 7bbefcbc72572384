import type { Anomaly } from './anomaly.js';
import { episodeHash } from './mitigation/keys.js';
import { PLAYBOOKS, selectPlaybook } from './mitigation/playbooks.js';
import { MINUTE_MS } from './time.js';

/**
 * Incidents: anomalies that share a cause, folded into one page and one mitigation. Two anomalies
 * belong to one incident when their signals are of one family (the signals a playbook lists, e.g.
 * `origin_p95_ms`, `edge_p95_ms` and `cache_hit_ratio` are the origin) and their episodes started
 * within the incident window of the incident's members (on one tenant or on many). Everything
 * here is pure; the incident store (a port) keeps the open incident per family with conditional writes.
 */

/** Default gap between members' episode starts that still makes one incident. */
export const DEFAULT_INCIDENT_WINDOW_MS = 10 * MINUTE_MS;

/**
 * The family of a signal: the first playbook that lists it (`origin-bottleneck`, `search-cost`, …),
 * otherwise the signal alone (`signal:<name>`), which then only groups the same signal across tenants.
 *
 * @example
 * signalFamily('edge_p95_ms'); // 'origin-bottleneck'
 * signalFamily('cdn_cost_usd'); // 'signal:cdn_cost_usd'
 */
export function signalFamily(signal: string): string {
  return PLAYBOOKS.find((p) => p.signals?.includes(signal))?.id ?? `signal:${signal}`;
}

/** `inc-<episode hash of the first member>`: the same hash as its first member's execution and rollback key. */
export function incidentIdOf(firstMemberId: string): string {
  return `inc-${episodeHash(firstMemberId)}`;
}

/** An incident member: one confirmed anomaly episode. */
export interface IncidentMember {
  anomalyId: string;
  tenant: string;
  signal: string;
  start: number;
}

/** The member of an anomaly. */
export function memberOf(a: Pick<Anomaly, 'id' | 'tenant' | 'signal' | 'start'>): IncidentMember {
  return { anomalyId: a.id, tenant: a.tenant, signal: a.signal, start: a.start };
}

/** The open incident of a family as stored: the item every member of the family reads and conditionally writes. */
export interface OpenIncident {
  id: string;
  /** Earliest and latest member episode start. */
  firstStart: number;
  lastStart: number;
  /** Optimistic version: each write is conditional on the one it read. */
  version: number;
}

/** Where a member goes, and how the family's open incident changes (`next` absent: unchanged). */
export interface Placement {
  id: string;
  /** The member founds the incident (its id derives from the member). */
  founded: boolean;
  next?: OpenIncident;
}

/**
 * The grouping rule: a member joins the family's open incident when its start is within `windowMs`
 * of the incident's members (`[firstStart − window, lastStart + window]`), widening it; otherwise it
 * founds a new incident that becomes the family's open one. A straggler from before the open
 * incident (out-of-order arrival of an older episode) founds its own incident and leaves the open one.
 *
 * @example
 * const p = placeMember(open, memberOf(anomaly), DEFAULT_INCIDENT_WINDOW_MS);
 * p.id; // the incident the anomaly belongs to; write p.next conditionally on open.version
 */
export function placeMember(
  open: OpenIncident | undefined,
  member: Pick<IncidentMember, 'anomalyId' | 'start'>,
  windowMs: number = DEFAULT_INCIDENT_WINDOW_MS,
): Placement {
  const { start } = member;
  if (open && start >= open.firstStart - windowMs && start <= open.lastStart + windowMs) {
    if (start >= open.firstStart && start <= open.lastStart) return { id: open.id, founded: false };
    return {
      id: open.id,
      founded: false,
      next: {
        id: open.id,
        firstStart: Math.min(open.firstStart, start),
        lastStart: Math.max(open.lastStart, start),
        version: open.version + 1,
      },
    };
  }
  const id = incidentIdOf(member.anomalyId);
  if (open && start < open.firstStart) return { id, founded: true };
  return { id, founded: true, next: { id, firstStart: start, lastStart: start, version: (open?.version ?? 0) + 1 } };
}

/** What an incident is known to span: what pages and updates name. */
export interface IncidentView {
  id: string;
  family: string;
  tenants: string[];
  signals: string[];
  members: number;
}

/**
 * Who starts the incident's mitigation: one execution per incident and playbook. It plans the playbook's
 * platform-scoped steps once and its tenant-scoped steps for every member tenant decided `mitigate` by then
 * (lambdas/usecases/mitigation-steps.ts `peerPlans`), so one approval covers the incident. A tenant that joins after
 * the plan is paged by the incident update and mitigated by an operator (`POST /v1/anomaly/mitigate`).
 */
export function mitigationScope(a: Pick<Anomaly, 'class' | 'signal'>): string {
  return `${selectPlaybook(a.class, a.signal).playbook.id}#*`;
}

/** `acme, globex, initech +47`: tenants for a subject line. */
export function tenantList(tenants: readonly string[], show = 3): string {
  const shown = tenants.slice(0, show).join(', ');
  return tenants.length > show ? `${shown} +${tenants.length - show}` : shown;
}
