import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { ChangeRecord } from '../core/envelope.js';
import { hashId } from '../core/window-state.js';
import { batchPutAll } from './dynamodb-batch.js';

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

const KEEP_CHANGES_MS = 30 * 24 * 3600_000;

/** A change's identity: its id, or its content when the producer gave none, so re-puts overwrite. */
export function changeItemKey(c: ChangeRecord): { pk: string; sk: string } {
  return { pk: `chg#${c.tenant}`, sk: `${new Date(c.ts).toISOString()}#${c.id ?? hashId(JSON.stringify(c))}` };
}

export function whitelistItemKey(tenant: string, from: number, to: number): { pk: string; sk: string } {
  return { pk: `wl#${tenant}`, sk: `${new Date(from).toISOString()}#${new Date(to).toISOString()}` };
}

const CHANGE_FIELDS = ['v', 'type', 'id', 'ts', 'tenant', 'change', 'until', 'region', 'title'] as const;

export class DynamoDbChangeStore implements ChangeStore, WhitelistStore {
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
    await batchPutAll(this.doc, this.tableName, [...unique.values()].map((c) => ({ ...changeItemKey(c), ...c, expiresAt: expiresAt(c) })));
  }

  async startedBetween(tenant: string, from: number, to: number): Promise<ChangeRecord[]> {
    const tenants = tenant === '*' ? ['*'] : [tenant, '*'];
    const lists = await Promise.all(
      tenants.map((t) => this.queryAll(`chg#${t}`, 'sk BETWEEN :from AND :to', { ':from': new Date(from).toISOString(), ':to': `${new Date(to).toISOString()}#\uffff` })),
    );
    return lists.flat().map((item) => Object.fromEntries(CHANGE_FIELDS.filter((f) => item[f] !== undefined).map((f) => [f, item[f]])) as ChangeRecord);
  }

  async whitelisted(tenant: string, at: number): Promise<boolean> {
    // Entries are keyed by their start; any that started by `at` and has not ended covers it.
    const items = await this.queryAll(`wl#${tenant}`, 'sk <= :at', { ':at': `${new Date(at).toISOString()}#\uffff` });
    return items.some((i) => Number(i.from) <= at && at <= Number(i.to));
  }

  async addWhitelist(entry: WhitelistWindow): Promise<void> {
    const item = { ...whitelistItemKey(entry.tenant, entry.from, entry.to), ...entry, expiresAt: Math.floor((entry.to + KEEP_CHANGES_MS) / 1000) };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async whitelists(tenant: string, from: number, to: number): Promise<WhitelistWindow[]> {
    const items = await this.queryAll(`wl#${tenant}`, 'sk <= :to', { ':to': `${new Date(to).toISOString()}#\uffff` });
    return items
      .filter((i) => Number(i.to) >= from)
      .map((i) => ({ tenant, from: Number(i.from), to: Number(i.to), createdAt: Number(i.createdAt ?? i.from), ...(typeof i.reason === 'string' && { reason: i.reason }) }));
  }

  private async queryAll(pk: string, skCondition: string, values: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: `pk = :pk AND ${skCondition}`, ExpressionAttributeValues: { ':pk': pk, ...values }, ExclusiveStartKey: start }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

/** For replay and backtests: changes seen in the replayed stream, kept in memory. */
export class InMemoryChangeStore implements ChangeStore, WhitelistStore {
  private readonly changes = new Map<string, ChangeRecord>();
  private readonly whitelist: WhitelistWindow[] = [];

  async put(changes: readonly ChangeRecord[]): Promise<void> {
    for (const c of changes) this.changes.set(JSON.stringify(changeItemKey(c)), c);
  }
  async startedBetween(tenant: string, from: number, to: number): Promise<ChangeRecord[]> {
    return [...this.changes.values()].filter((c) => (c.tenant === tenant || c.tenant === '*') && c.ts >= from && c.ts <= to);
  }
  async whitelisted(tenant: string, at: number): Promise<boolean> {
    return this.whitelist.some((w) => w.tenant === tenant && w.from <= at && at <= w.to);
  }
  async addWhitelist(entry: WhitelistWindow): Promise<void> {
    const same = this.whitelist.findIndex((w) => w.tenant === entry.tenant && w.from === entry.from && w.to === entry.to);
    if (same >= 0) this.whitelist[same] = entry;
    else this.whitelist.push(entry);
  }
  async whitelists(tenant: string, from: number, to: number): Promise<WhitelistWindow[]> {
    return this.whitelist.filter((w) => w.tenant === tenant && w.to >= from && w.from <= to);
  }
}
