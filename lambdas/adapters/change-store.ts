import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { CHANGE_LOOKBACK_MS } from '../core/correlator.js';
import type { ChangeRecord } from '../core/envelope.js';
import { hashId } from '../core/key-state.js';
import { batchPutAll } from './dynamodb-batch.js';
import type {
  ChangeStore,
  OperatorChange,
  OperatorChangeOutcome,
  OperatorChangeStore,
  StoredChange,
  WhitelistStore,
  WhitelistWindow,
} from '../core/ports/change-store.js';
import { DAY_MS } from '../core/time.js';
import { isConditionFailure } from './dynamodb-errors.js';

const KEEP_CHANGES_MS = 30 * DAY_MS;

/** The marker that makes an operator change idempotent by its id, whatever its ts. */
export function operatorChangeMarkerKey(id: string): { pk: string; sk: string } {
  return { pk: `chgop#${id}`, sk: 'op' };
}

/** What must match for a repeated request to be the same change. */
const OPERATOR_CHANGE_CONTENT = ['tenant', 'ts', 'change', 'until', 'region', 'title'] as const;

export function sameOperatorChange(a: ChangeRecord, b: ChangeRecord): boolean {
  return OPERATOR_CHANGE_CONTENT.every((f) => a[f] === b[f]);
}

/** A change's identity: its id, or its content when the producer gave none, so re-puts overwrite. */
export function changeItemKey(c: ChangeRecord): { pk: string; sk: string } {
  return { pk: `chg#${c.tenant}`, sk: `${new Date(c.ts).toISOString()}#${c.id ?? hashId(JSON.stringify(c))}` };
}

export function whitelistItemKey(tenant: string, from: number, to: number): { pk: string; sk: string } {
  return { pk: `wl#${tenant}`, sk: `${new Date(from).toISOString()}#${new Date(to).toISOString()}` };
}

const CHANGE_FIELDS = ['v', 'type', 'id', 'ts', 'tenant', 'change', 'until', 'region', 'title'] as const;
const STORED_CHANGE_FIELDS = [...CHANGE_FIELDS, 'createdBy', 'createdAt'] as const;

function storedChange(item: Record<string, unknown>, fields: readonly string[] = STORED_CHANGE_FIELDS): StoredChange {
  return Object.fromEntries(fields.filter((f) => item[f] !== undefined).map((f) => [f, item[f]])) as StoredChange;
}

/** Still running at `from` or started by `to`. */
export function runsWithin(c: ChangeRecord, from: number, to: number): boolean {
  return c.ts <= to && (c.until ?? c.ts) >= from;
}

export class DynamoDbChangeStore implements ChangeStore, WhitelistStore, OperatorChangeStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async put(changes: readonly ChangeRecord[]): Promise<void> {
    const unique = new Map(changes.map((c) => [JSON.stringify(changeItemKey(c)), c]));
    const expiresAt = (c: ChangeRecord) => Math.floor(((c.until ?? c.ts) + KEEP_CHANGES_MS) / 1000);
    await batchPutAll(
      this.doc,
      this.tableName,
      [...unique.values()].map((c) => ({ ...changeItemKey(c), ...c, expiresAt: expiresAt(c) })),
    );
  }

  async startedBetween(tenant: string, from: number, to: number): Promise<ChangeRecord[]> {
    const tenants = tenant === '*' ? ['*'] : [tenant, '*'];
    const lists = await Promise.all(
      tenants.map((t) =>
        this.queryAll(`chg#${t}`, 'sk BETWEEN :from AND :to', {
          ':from': new Date(from).toISOString(),
          ':to': `${new Date(to).toISOString()}#\uffff`,
        }),
      ),
    );
    return lists.flat().map((item) => storedChange(item, CHANGE_FIELDS) as ChangeRecord);
  }

  async affecting(tenant: string, from: number, to: number): Promise<StoredChange[]> {
    const tenants = tenant === '*' ? ['*'] : [tenant, '*'];
    const lists = await Promise.all(
      tenants.map((t) =>
        this.queryAll(`chg#${t}`, 'sk BETWEEN :from AND :to', {
          ':from': new Date(from - CHANGE_LOOKBACK_MS).toISOString(),
          ':to': `${new Date(to).toISOString()}#\uffff`,
        }),
      ),
    );
    return lists
      .flat()
      .map((item) => storedChange(item))
      .filter((c) => runsWithin(c, from, to));
  }

  /**
   * The marker first, conditionally: a second request with the id finds it and is answered from it.
   * The change item is written after it, also on a replay, so a request that failed in between is
   * completed by its retry.
   */
  async putOperatorChange(change: OperatorChange): Promise<OperatorChangeOutcome> {
    const expiresAt = Math.floor((change.until + KEEP_CHANGES_MS) / 1000);
    let result: OperatorChangeOutcome = { outcome: 'created', stored: change };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...operatorChangeMarkerKey(change.id), ...change, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const out = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: operatorChangeMarkerKey(change.id), ConsistentRead: true }),
      );
      if (!out.Item) throw new Error(`operator change ${change.id}: its marker exists but could not be read`);
      const stored = storedChange(out.Item) as OperatorChange;
      if (!sameOperatorChange(stored, change)) return { outcome: 'conflict', stored };
      result = { outcome: 'replayed', stored };
    }
    const { stored } = result;
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { ...changeItemKey(stored), ...stored, expiresAt } }),
    );
    return result;
  }

  async whitelisted(tenant: string, at: number): Promise<boolean> {
    // Entries are keyed by their start; any that started by `at` and has not ended covers it.
    const items = await this.queryAll(`wl#${tenant}`, 'sk <= :at', { ':at': `${new Date(at).toISOString()}#\uffff` });
    return items.some((i) => Number(i.from) <= at && at <= Number(i.to));
  }

  async addWhitelist(entry: WhitelistWindow): Promise<void> {
    const item = {
      ...whitelistItemKey(entry.tenant, entry.from, entry.to),
      ...entry,
      expiresAt: Math.floor((entry.to + KEEP_CHANGES_MS) / 1000),
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async whitelists(tenant: string, from: number, to: number): Promise<WhitelistWindow[]> {
    const items = await this.queryAll(`wl#${tenant}`, 'sk <= :to', { ':to': `${new Date(to).toISOString()}#\uffff` });
    return items
      .filter((i) => Number(i.to) >= from)
      .map((i) => ({
        tenant,
        from: Number(i.from),
        to: Number(i.to),
        createdAt: Number(i.createdAt ?? i.from),
        ...(typeof i.reason === 'string' && { reason: i.reason }),
      }));
  }

  private async queryAll(
    pk: string,
    skCondition: string,
    values: Record<string, unknown>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: `pk = :pk AND ${skCondition}`,
          ExpressionAttributeValues: { ':pk': pk, ...values },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
