import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { actedVia, type AppliedAction, type PlannedAction, type PlaybookStep } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';
import { ConcurrentUpdateError } from './errors.js';
import {
  appliedFrom,
  observe,
  pushLayer,
  removeLayer,
  replace,
  type RollbackOutcome,
  type SlotValue,
} from './layers.js';
import {
  conflictBackoff,
  DynamoDbSlotStore,
  MAX_CONFLICT_RETRIES,
  type SlotKey,
  type SlotStore,
  type StoredSlot,
} from './slot-store.js';

/**
 * The built-in flag table: flags live in the state table, one item per (scope, flag), all flags of
 * a scope under one partition key so a service reads them with a single Query:
 *
 *   pk `flags#<tenant>` (or `flags#*` for flags that apply to every tenant), sk `<flag name>`
 *   value, setBy (the owning rollback key), previous (the value before the owning action),
 *   updatedAt, version (every write is conditional on it), plus the layer stack (base, layers,
 *   done) that makes stacked actions and out-of-order rollbacks come out right (see layers.ts).
 *
 * The scope is the action's tenant, or `*` for a platform-scoped step (`step.scope: 'platform'`,
 * e.g. the origin failover): platform readers (and every tenant's `readTenantFlags`) see it there. A flag whose value
 * is `null` is unset (the service uses its own default); readers skip it.
 *
 * Someone else may write a flag too (an operator, a deploy script): they set `value` and `setBy`
 * on the item. Such a write wins — the next apply stacks on top of it, and rollbacks of the actions
 * it displaced leave it alone (outcome 'not-owned').
 */
export const FLAG_PK_PREFIX = 'flags#';

export function flagItemKey(scope: string, flag: string): SlotKey {
  return { pk: `${FLAG_PK_PREFIX}${scope}`, sk: flag };
}

/** The partition an action's flag lives in: the tenant's, or `*` for platform-scoped steps. */
export function flagScopeOf(action: Pick<PlannedAction, 'tenant' | 'step'>): string {
  return (action.step.scope ?? 'tenant') === 'platform' ? '*' : action.tenant;
}

export class FlagTableTarget implements ActionTarget {
  readonly kind = 'flag' as const;
  private readonly store: SlotStore;

  /** Give a DynamoDB client and the state table name, or any SlotStore (tests, in-memory runs). */
  constructor(store: SlotStore);
  constructor(client: DynamoDBClient, tableName: string);
  constructor(storeOrClient: SlotStore | DynamoDBClient, tableName?: string) {
    this.store =
      tableName === undefined
        ? (storeOrClient as SlotStore)
        : new DynamoDbSlotStore(storeOrClient as DynamoDBClient, tableName);
  }

  /**
   * Set the step's flag for the action's tenant. A second apply of the same rollback key — also
   * after it was rolled back — writes nothing and returns the AppliedAction of the first one.
   * `flagName` lets the fallback for adapters that are not enabled store under another name.
   */
  async apply(action: PlannedAction, now: number, flagName: string = action.step.flag): Promise<AppliedAction> {
    return { ...(await this.applyToTable(action, now, flagName)), actedVia: actedVia('flag') };
  }

  private async applyToTable(action: PlannedAction, now: number, flagName: string): Promise<AppliedAction> {
    const key = flagItemKey(flagScopeOf(action), flagName);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const stored = await this.store.get(key);
      const { state } = observeItem(stored, now);
      const pushed = pushLayer(state, action, now);
      if (!pushed.changed && stored && state === stored.state) return appliedFrom(action, pushed.layer);
      const targetRef = `${key.pk}/${key.sk}`;
      const next = pushed.changed
        ? {
            ...pushed.state,
            layers: pushed.state.layers.map((l) => (l.key === action.rollbackKey ? { ...l, targetRef } : l)),
          }
        : pushed.state;
      const version = await this.store.put(
        key,
        { state: next, pending: false, now, attributes: attributes(action, flagName) },
        stored?.version,
      );
      if (version !== undefined)
        return appliedFrom(action, pushed.changed ? { ...pushed.layer, targetRef } : pushed.layer);
      await conflictBackoff(attempt);
    }
    throw new ConcurrentUpdateError(
      `flag ${key.pk}/${key.sk}: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`,
    );
  }

  async rollback(applied: AppliedAction, now: number): Promise<void> {
    await this.rollbackWithOutcome(applied, now);
  }

  /** Roll back and say what happened (see RollbackOutcome): for the action ledger and the report. */
  async rollbackWithOutcome(
    applied: AppliedAction,
    now: number,
    flagName: string = applied.step.flag,
  ): Promise<RollbackOutcome> {
    if (applied.step.undo === 'none') return 'nothing-to-undo';
    const key = flagItemKey(flagScopeOf(applied), flagName);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const stored = await this.store.get(key);
      const { state } = observeItem(stored, now);
      const removed = removeLayer(state, applied, now);
      if (!removed.changed && stored && state === stored.state) return removed.outcome;
      const version = await this.store.put(
        key,
        { state: removed.state, pending: false, now, attributes: attributes(applied, flagName) },
        stored?.version,
      );
      if (version !== undefined) return removed.outcome;
      await conflictBackoff(attempt);
    }
    throw new ConcurrentUpdateError(
      `flag ${key.pk}/${key.sk}: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`,
    );
  }
}

function observeItem(stored: StoredSlot | undefined, now: number) {
  // The item's own value/setBy are the "live" side: a direct write by someone else shows up there.
  return observe(stored?.state, stored ? stored.value : null, now, replace, stored ? stored.setBy : null);
}

function attributes(action: PlannedAction, flag: string): Record<string, unknown> {
  return { tenant: action.tenant, flag, ...(action.region !== undefined && { region: action.region }) };
}

/** A flag as a service sees it. */
export interface FlagView {
  value: PlaybookStep['value'];
  setBy: string | null;
  updatedAt: number;
}

/**
 * All set flags of one scope (a tenant, or `*` for the global ones) in one Query, eventually
 * consistent (half the read cost; a flag change reaches readers within about a second).
 * Services should cache the result for a few seconds rather than read per request.
 */
export async function readFlags(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  scope: string,
): Promise<Map<string, FlagView>> {
  const doc = client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
  const flags = new Map<string, FlagView>();
  let start: Record<string, unknown> | undefined;
  do {
    const out: QueryCommandOutput = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${FLAG_PK_PREFIX}${scope}` },
        ProjectionExpression: 'sk, #v, setBy, updatedAt',
        ExpressionAttributeNames: { '#v': 'value' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const value = item.value as SlotValue | undefined;
      if (value === null || value === undefined) continue;
      flags.set(String(item.sk), {
        value,
        setBy: (item.setBy ?? null) as string | null,
        updatedAt: Number(item.updatedAt ?? 0),
      });
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return flags;
}

/** A tenant's effective flags: the global (`*`) ones overridden by the tenant's own (two Queries). */
export async function readTenantFlags(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  tenant: string,
): Promise<Map<string, FlagView>> {
  if (tenant === '*') return readFlags(client, tableName, '*');
  const [global, own] = await Promise.all([readFlags(client, tableName, '*'), readFlags(client, tableName, tenant)]);
  return new Map([...global, ...own]);
}

/**
 * An operator's direct write of a flag (the kill switch, a manual override): `value` and `setBy` on the
 * item, as the module comment describes, so it wins over actions and their rollbacks leave it alone.
 * `null` unsets it.
 */
export async function setOperatorFlag(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  scope: string,
  flag: string,
  value: PlaybookStep['value'] | null,
  setBy: string,
  now: number,
): Promise<void> {
  const doc = client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: flagItemKey(scope, flag),
      // The version moves too, so an action's conditional write that read the item before this one conflicts and
      // re-reads.
      UpdateExpression: 'SET #v = :v, setBy = :by, updatedAt = :now ADD #ver :one',
      ExpressionAttributeNames: { '#v': 'value', '#ver': 'version' },
      ExpressionAttributeValues: { ':v': value, ':by': setBy, ':now': now, ':one': 1 },
    }),
  );
}
