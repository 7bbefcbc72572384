import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Key and TTL attribute names; the adapters and the local runtime use the same ones. */
export const STATE_TABLE_SCHEMA = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;

/**
 * Item-level actions the consumer needs: key reads and per-tenant queries (changes, whitelist),
 * conditional single-item writes (window state, anomaly records), batched puts (change records,
 * dead-letter markers). No scans, no table admin.
 */
export const STATE_TABLE_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:BatchWriteItem',
] as const;

/**
 * Props of {@link StateTable}.
 * @example
 * const state = new StateTable(this, 'State', { removalPolicy: RemovalPolicy.DESTROY });
 * state.grantItemAccess(myFunction);
 */
export interface StateTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The single DynamoDB table holding per-key window state (and, later, anomaly records). */
export class StateTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // Plain AWS::DynamoDB::Table (not TableV2): the local runtime reads KeySchema/AttributeDefinitions from the
    // template.
    this.table = new Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: STATE_TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // AWS-owned keys are not auditable; the AWS-managed key (aws/dynamodb) is, needs no grants for
      // in-account callers and no key policy to maintain. The items are derived aggregates, not source data.
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: STATE_TABLE_SCHEMA.ttlAttribute,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
  }

  /** Grant exactly {@link STATE_TABLE_ITEM_ACTIONS} on this table (no index or stream ARNs). */
  grantItemAccess(grantee: IGrantable) {
    return this.table.grant(grantee, ...STATE_TABLE_ITEM_ACTIONS);
  }
}
