import type { ChangeRecord } from '../envelope.js';

/** Change records (releases, flags, maintenance, campaigns) and campaign whitelists, per tenant, for the correlator. */
export interface ChangeStore {
  put(changes: readonly ChangeRecord[]): Promise<void>;
  /** Changes of the tenant and of `*` that started in [from, to]. */
  startedBetween(tenant: string, from: number, to: number): Promise<ChangeRecord[]>;
  /** Whether the tenant is on the campaign whitelist at `at`. */
  whitelisted(tenant: string, at: number): Promise<boolean>;
}

/** A campaign whitelist window: the tenant gets soft mitigation steps only inside it. */
export interface WhitelistWindow {
  tenant: string;
  from: number;
  to: number;
  reason?: string;
  createdAt: number;
}

/** Written by operators through the API; read by the correlator and the guardrails through `whitelisted`. */
export interface WhitelistStore {
  /** Idempotent: the same tenant and window overwrite the same entry. */
  addWhitelist(entry: WhitelistWindow): Promise<void>;
  /** Windows of the tenant that overlap [from, to]. */
  whitelists(tenant: string, from: number, to: number): Promise<WhitelistWindow[]>;
}

/** A change as stored: operator changes (POST /v1/anomaly/changes) carry who declared them and when. */
export type StoredChange = ChangeRecord & { createdBy?: string; createdAt?: number };

/** A change window an operator declared through the API: who (the IAM principal) and when are part of it. */
export type OperatorChange = ChangeRecord & { id: string; until: number; createdBy: string; createdAt: number };

export type OperatorChangeOutcome =
  /** Stored now. */
  | { outcome: 'created'; stored: OperatorChange }
  /** The id was stored before with the same content: the stored change (its original creator) is answered. */
  | { outcome: 'replayed'; stored: OperatorChange }
  /** The id was stored before with other content: nothing was written. */
  | { outcome: 'conflict'; stored: OperatorChange };

/** Operator change windows, idempotent by id (a marker item `chgop#<id>` holds the first request). */
export interface OperatorChangeStore {
  putOperatorChange(change: OperatorChange): Promise<OperatorChangeOutcome>;
  /**
   * Changes of the tenant and of `*` that were running at some point of [from, to] (started up to CHANGE_LOOKBACK_MS
   * before), with their creator.
   */
  affecting(tenant: string, from: number, to: number): Promise<StoredChange[]>;
}
