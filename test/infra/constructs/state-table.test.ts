import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE_ITEM_ACTIONS, StateTable, type StateTableProps } from '../../../lib/state-table.js';
import { arnOf, bareStack, grants, onlyResource, roleStatements } from './helpers.js';

function synth(props?: StateTableProps, grantee = false) {
  const stack = bareStack();
  const state = new StateTable(stack, 'State', props);
  let roleId: string | undefined;
  if (grantee) {
    const role = new Role(stack, 'Reader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    state.grantItemAccess(role);
    roleId = stack.getLogicalId(role.node.defaultChild as never);
  }
  const template = Template.fromStack(stack);
  const tableId = onlyResource(template, 'AWS::DynamoDB::Table');
  return { template, tableId, table: template.toJSON().Resources[tableId], roleId };
}

describe('StateTable (bare stack)', () => {
  let defaults: ReturnType<typeof synth>;
  beforeAll(() => {
    defaults = synth({}, true);
  });

  it('is a pk/sk, on-demand table with PITR, SSE (AWS-managed key) and TTL on expiresAt', () => {
    expect(defaults.table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // SSEEnabled: the AWS-managed key (aws/dynamodb); absent or false would be the unauditable AWS-owned key.
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(defaults.table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('is retained and deletion-protected by default', () => {
    expect(defaults.table.DeletionPolicy).toBe('Retain');
    expect(defaults.table.Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('with RemovalPolicy.DESTROY is deleted with the stack and not deletion-protected', () => {
    const { table } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
  });

  it('grantItemAccess grants exactly the item-level actions on the table ARN, no index, stream, scan or admin', () => {
    const { template, tableId, roleId } = defaults;
    const expected = [...STATE_TABLE_ITEM_ACTIONS].map((a) => `${a} ${JSON.stringify(arnOf(tableId))}`).sort();
    expect(grants(roleStatements(template, roleId!))).toEqual(expected);
    expect(expected.join()).not.toMatch(/Scan|DeleteItem|DescribeTable|\/index\//);
  });
});
