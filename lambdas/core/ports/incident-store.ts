import type { IncidentMember, IncidentView } from '../incidents.js';

/**
 * Incidents (see `lambdas/core/incidents.ts`): which incident each anomaly belongs to, and the claims
 * that make one page and one mitigation per incident. Every operation is idempotent per anomaly:
 * redelivery, retries and concurrent invocations give the same incident id and the same claims.
 */
export interface IncidentStore {
  /**
   * Put the member into its family's open incident (or found one), once: an anomaly seen again
   * keeps the incident it was given first. Answers the incident as known after the member joined.
   */
  join(member: IncidentMember & { family: string }, windowMs: number): Promise<IncidentView>;
  /** The incident as known now. */
  get(id: string): Promise<IncidentView | undefined>;
  /** Every member known now, oldest start first. */
  members(id: string): Promise<IncidentMember[]>;
  /**
   * Claim a once-per-incident effect (`page`, `mitigation#<scope>`) for an anomaly: true for the
   * first claimant and again for the same anomaly (its retry), false for every other one.
   */
  claim(id: string, purpose: string, anomalyId: string): Promise<boolean>;
}
