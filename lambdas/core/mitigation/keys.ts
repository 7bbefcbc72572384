import { hashId } from '../key-state.js';
import type { PlaybookStep } from './actions.js';

/**
 * Names derived from an episode and a step. All deterministic: planning the same episode twice
 * gives the same keys, which is what makes apply and rollback idempotent.
 */

/**
 * The full address of the control a step changes, for people, reports and the guardrails' `Target`:
 * `tenant/<tenant>/<name>` or `platform/<name>`, where the name is the flag for `flag` steps and
 * `<target kind>:<flag>` for the others (the name the targets' flag-table fallback uses), e.g.
 * `tenant/acme/search.rows.max`, `tenant/acme/usage-plan:@tenant`, `platform/origin.failover`.
 * Tenant names never contain `/` (contract 1), so the key is unambiguous.
 */
export function controlKey(step: Pick<PlaybookStep, 'flag' | 'scope' | 'target'>, tenant: string): string {
  const name = step.target === 'flag' ? step.flag : `${step.target}:${step.flag}`;
  return (step.scope ?? 'tenant') === 'platform' ? `platform/${name}` : `tenant/${tenant}/${name}`;
}

/** Short, stable hash of an episode id (the episode id itself holds `#`, `@` and `:`). */
export function episodeHash(episodeId: string): string {
  return hashId(episodeId);
}

/**
 * `rb-<episode hash>`: rolls back everything applied for the episode (what the API returns).
 * Every action's key starts with it.
 */
export function episodeRollbackKey(episodeId: string): string {
  return `rb-${episodeHash(episodeId)}`;
}

/** `rb-<episode hash>-<step id with / as .>`, e.g. `rb-1l3k9x0a2bc-search-cost.rows-limit`. */
export function rollbackKey(episodeId: string, stepId: string): string {
  return `${episodeRollbackKey(episodeId)}-${stepId.replaceAll('/', '.')}`;
}

/**
 * The key of a step applied for another tenant of the incident in this episode's execution:
 * `rb-<episode hash>-<step>.<tenant>` (in the episode's ledger, so the episode key rolls it back too). A tenant name
 * that is long or has other characters than letters, digits, `_` and `-` is shortened and given a hash.
 */
export function peerRollbackKey(episodeId: string, stepId: string, tenant: string): string {
  const safe = tenant.replace(/[^A-Za-z0-9_-]/g, '_');
  const suffix = safe === tenant && safe.length <= 16 ? safe : `${safe.slice(0, 8)}_${hashId(tenant).slice(0, 6)}`;
  return `${rollbackKey(episodeId, stepId)}.${suffix}`;
}

/**
 * `plan-<episode hash>-<playbook id>`: letters, digits and `-` only, under 80 characters, so it
 * can name a Step Functions execution and a retried start is rejected as a duplicate.
 */
export function planId(episodeId: string, playbookId: string): string {
  return `plan-${episodeHash(episodeId)}-${playbookId}`;
}
