import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parseApprovalKey, type ApprovalRequest, type ApprovalStatus } from '../core/mitigation/approval.js';
import type { ApprovalStore } from '../core/ports/approval-store.js';
import { DAY_S } from '../core/time.js';
import { isConditionFailure } from './dynamodb-errors.js';

/** Approval requests live as long as the ledger they explain. */
const KEEP_APPROVALS_S = 400 * DAY_S;

/**
 * The partition of an episode's approval requests: the operator API's approve role may read and update
 * `approval#rb-*` only (IAM dynamodb:LeadingKeys), never the ledger.
 */
export const APPROVAL_PK_PREFIX = 'approval#';

export class DynamoDbApprovalStore implements ApprovalStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async request(request: ApprovalRequest): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `${APPROVAL_PK_PREFIX}${request.rollbackKey}`,
            sk: request.stage,
            ...request,
            expiresAt: Math.floor(request.requestedAt / 1000) + KEEP_APPROVALS_S,
          },
          // An answered request is never reopened by a retried task.
          ConditionExpression: 'attribute_not_exists(pk) OR #s = :pending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  async get(key: string): Promise<ApprovalRequest | undefined> {
    const parsed = parseApprovalKey(key);
    if (!parsed) return undefined;
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `${APPROVAL_PK_PREFIX}${parsed.rollbackKey}`, sk: parsed.stage },
        ConsistentRead: true,
      }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async ofEpisode(rollbackKey: string): Promise<ApprovalRequest[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${APPROVAL_PK_PREFIX}${rollbackKey}` },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(fromItem).sort((a, b) => a.requestedAt - b.requestedAt);
  }

  async decide(
    key: string,
    answer: { status: 'approved' | 'denied' | 'expired'; by: string; at: number; reason?: string },
    from: ApprovalStatus = 'pending',
  ): Promise<boolean> {
    const parsed = parseApprovalKey(key);
    if (!parsed) return false;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${APPROVAL_PK_PREFIX}${parsed.rollbackKey}`, sk: parsed.stage },
          UpdateExpression: 'SET #s = :s, decidedBy = :by, decidedAt = :at' + (answer.reason ? ', reason = :r' : ''),
          ConditionExpression: '#s = :pending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':s': answer.status,
            ':by': answer.by,
            ':at': answer.at,
            ':pending': from,
            ...(answer.reason && { ':r': answer.reason }),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }
}

function fromItem(item: Record<string, unknown>): ApprovalRequest {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, ...request } = item;
  return request as unknown as ApprovalRequest;
}
