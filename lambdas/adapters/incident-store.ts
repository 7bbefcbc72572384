import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { placeMember, type IncidentMember, type IncidentView, type OpenIncident } from '../core/incidents.js';
import type { IncidentStore } from '../core/ports/incident-store.js';
import { DAY_S } from '../core/time.js';
import { isConditionFailure } from './dynamodb-errors.js';

const KEEP_INCIDENTS_S = 400 * DAY_S;
const MAX_ATTEMPTS = 10;

/**
 * Incidents on the state table, by conditional writes only (no transactions):
 * - `inc#open#<family>` / `open`: the family's open incident, written conditionally on the version read;
 * - `incm#<anomaly id>` / `inc`: the anomaly's incident, created once (a redelivery reads it back);
 * - `inc#<id>` / `inc`: tenants, signals and members as string sets (ADD is idempotent);
 * - `inc#<id>` / `m#<anomaly id>`: one item per member; `inc#<id>` / `claim#<purpose>`: who claimed an effect.
 */
export class DynamoDbIncidentStore implements IncidentStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async join(member: IncidentMember & { family: string }, windowMs: number): Promise<IncidentView> {
    const expiresAt = Math.floor(member.start / 1000) + KEEP_INCIDENTS_S;
    const byAnomaly = { pk: `incm#${member.anomalyId}`, sk: 'inc' };
    let id = (await this.item(byAnomaly))?.incident as string | undefined;
    if (id === undefined) {
      id = await this.place(member, windowMs, expiresAt);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...byAnomaly, incident: id, expiresAt },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        // A concurrent invocation placed the same anomaly first: its incident stands.
        id = (await this.item(byAnomaly))!.incident as string;
      }
    }
    const { family, ...m } = member;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `inc#${id}`, sk: `m#${member.anomalyId}`, ...m, expiresAt },
      }),
    );
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `inc#${id}`, sk: 'inc' },
        UpdateExpression: 'SET #f = if_not_exists(#f, :f), #e = :e ADD #t :t, #s :s, #m :m',
        ExpressionAttributeNames: { '#f': 'family', '#e': 'expiresAt', '#t': 'tenants', '#s': 'signals', '#m': 'ids' },
        ExpressionAttributeValues: {
          ':f': family,
          ':e': expiresAt,
          ':t': new Set([member.tenant]),
          ':s': new Set([member.signal]),
          ':m': new Set([member.anomalyId]),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toView(id, out.Attributes!);
  }

  /** The incident for a member not placed before: the family's open incident, read and written optimistically. */
  private async place(member: IncidentMember & { family: string }, windowMs: number, expiresAt: number) {
    const Key = { pk: `inc#open#${member.family}`, sk: 'open' };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = (await this.item(Key)) as (OpenIncident & Record<string, unknown>) | undefined;
      const open = current && {
        id: current.id,
        firstStart: current.firstStart,
        lastStart: current.lastStart,
        version: current.version,
      };
      const placed = placeMember(open, member, windowMs);
      if (!placed.next) return placed.id;
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...Key, ...placed.next, expiresAt: Math.max(expiresAt, Number(current?.expiresAt ?? 0)) },
            ...(open
              ? {
                  ConditionExpression: '#v = :v',
                  ExpressionAttributeNames: { '#v': 'version' },
                  ExpressionAttributeValues: { ':v': open.version },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return placed.id;
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        // Another member of the family got there first: read it again and decide afresh.
      }
    }
    throw new Error(`the open incident of ${member.family} kept changing under us (${MAX_ATTEMPTS} conflicts)`);
  }

  async get(id: string): Promise<IncidentView | undefined> {
    const item = await this.item({ pk: `inc#${id}`, sk: 'inc' });
    return item && toView(id, item);
  }

  async members(id: string): Promise<IncidentMember[]> {
    const members: IncidentMember[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :m)',
          ExpressionAttributeValues: { ':pk': `inc#${id}`, ':m': 'm#' },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const i of out.Items ?? [])
        members.push({ anomalyId: i.anomalyId, tenant: i.tenant, signal: i.signal, start: Number(i.start) });
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return members.sort((a, b) => a.start - b.start);
  }

  async claim(id: string, purpose: string, anomalyId: string): Promise<boolean> {
    const Key = { pk: `inc#${id}`, sk: `claim#${purpose}` };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, by: anomalyId },
          ConditionExpression: 'attribute_not_exists(pk) OR #by = :me',
          ExpressionAttributeNames: { '#by': 'by' },
          ExpressionAttributeValues: { ':me': anomalyId },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  private async item(Key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
    return out.Item;
  }
}

function toView(id: string, item: Record<string, unknown>): IncidentView {
  const list = (v: unknown) => [...((v as Set<string> | undefined) ?? [])].sort();
  return {
    id,
    family: String(item.family ?? ''),
    tenants: list(item.tenants),
    signals: list(item.signals),
    members: list(item.ids).length,
  };
}
