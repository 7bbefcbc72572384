import { beforeAll, describe, expect, it } from 'vitest';
import { LOGICAL_IDS } from '../../lib/anomaly-guard-stack.js';
import { API_FUNCTION_LOGICAL_IDS } from '../../lib/operator-api.js';
import { synthTemplate } from '../../lib/synth.js';
import { DASHBOARD_DEPLOYMENT_ACTIONS } from './constructs/helpers.js';

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
}
interface Found {
  resource: string;
  kind: string;
  statement: Statement;
}

/** Every policy document in the template: identity policies, role inline policies and resource policies. */
function policyStatements(template: Record<string, any>): Found[] {
  const found: Found[] = [];
  const add = (resource: string, kind: string, doc: { Statement?: Statement[] } | undefined) => {
    for (const statement of doc?.Statement ?? []) found.push({ resource, kind, statement });
  };
  for (const [id, r] of Object.entries<any>(template.Resources)) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add(id, 'identity', p.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
        for (const inline of p.Policies ?? []) add(id, 'identity', inline.PolicyDocument);
        break;
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::Kinesis::ResourcePolicy':
        add(id, 'resource', p.PolicyDocument);
        break;
      case 'AWS::KMS::Key':
        add(id, 'key', p.KeyPolicy);
        break;
    }
  }
  return found;
}

const actionsOf = (s: Statement) => (s.Action === undefined ? [] : Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) =>
  s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource];

/**
 * Explicitly allowed wildcard grants. Only the CDK default key policy: `kms:*` for the account root
 * principal, which delegates access control of the alert- and ops-topic keys to IAM (the AWS-recommended default).
 */
const ALLOWED_WILDCARD_ACTIONS = [
  { resource: LOGICAL_IDS.alertTopicKey, kind: 'key', action: 'kms:*' },
  { resource: LOGICAL_IDS.opsTopicKey, kind: 'key', action: 'kms:*' },
];
/** X-Ray has no resource-level permissions; nothing else may use Resource "*" in an identity policy... */
const ALLOWED_STAR_RESOURCE_ACTIONS = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
/**
 * ...except, on the state machine's role only, what execution logging (vended log delivery) and X-Ray sampling need.
 */
const STATE_MACHINE_STAR_RESOURCE_ACTIONS = new Set([
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
]);

describe('IAM least privilege', () => {
  let template: Record<string, any>;
  let statements: Found[];
  beforeAll(() => {
    template = synthTemplate({}, { nag: false });
    statements = policyStatements(template);
  });

  it('finds the policies it is meant to check', () => {
    const kinds = new Set(statements.map((s) => s.kind));
    expect(kinds).toEqual(new Set(['identity', 'resource', 'key']));
    expect(statements.filter((s) => s.kind === 'identity').length).toBeGreaterThanOrEqual(7);
  });

  it('never allows "*" or a service-wide wildcard action (except the listed key-policy default)', () => {
    const offenders = statements.flatMap(({ resource, kind, statement }) => {
      if (statement.Effect !== 'Allow') return []; // broad Denies (enforceSSL) only narrow access
      expect(statement.NotAction, `${resource}: NotAction grants everything else`).toBeUndefined();
      return actionsOf(statement)
        .filter((a) => a === '*' || a.endsWith(':*'))
        .filter(
          (action) =>
            !ALLOWED_WILDCARD_ACTIONS.some((x) => x.resource === resource && x.kind === kind && x.action === action),
        )
        .map((action) => `${resource} (${kind}): ${action}`);
    });
    expect(offenders).toEqual([]);
  });

  it('uses no partial wildcards in identity policies (no kms:GenerateDataKey*, dynamodb:Batch*, ...)', () => {
    const wildcards = statements
      .filter((s) => s.kind === 'identity' && s.statement.Effect === 'Allow')
      .flatMap((s) => actionsOf(s.statement).filter((a) => a.includes('*')));
    expect(wildcards).toEqual([]);
  });

  it("scopes every identity statement to resources, except X-Ray (and the state machine's log delivery)", () => {
    const stateMachineRole = template.Resources[LOGICAL_IDS.mitigationStateMachine].Properties.RoleArn['Fn::GetAtt'][0];
    const unscoped = statements
      .filter((s) => s.kind === 'identity' && s.statement.Effect === 'Allow')
      .filter((s) => resourcesOf(s.statement).some((r) => r === '*'))
      .flatMap((s) => {
        const roles = JSON.stringify(template.Resources[s.resource]?.Properties?.Roles ?? []);
        const allowed = roles.includes(`"${stateMachineRole}"`)
          ? new Set([...ALLOWED_STAR_RESOURCE_ACTIONS, ...STATE_MACHINE_STAR_RESOURCE_ACTIONS])
          : ALLOWED_STAR_RESOURCE_ACTIONS;
        return actionsOf(s.statement).filter((a) => !allowed.has(a));
      });
    expect(unscoped).toEqual([]);
  });

  it(
    'gives the consumer and the mitigation steps exactly ' + 'the item-level DynamoDB actions, only on the state table',
    () => {
      const dynamo = statements.filter(
        (s) => s.kind === 'identity' && actionsOf(s.statement).some((a) => a.startsWith('dynamodb:')),
      );
      const pipeline = [
        roleOfFunction(LOGICAL_IDS.consumerFunction),
        roleOfFunction(LOGICAL_IDS.mitigationFunction),
      ].map(policyOfRole);
      const apiPolicies = Object.values(API_FUNCTION_LOGICAL_IDS).map((id) => policyOfRole(roleOfFunction(id)));
      const reportGenerator = policyOfRole(roleOfFunction(LOGICAL_IDS.reportGenerator));
      // The operator API roles' and the report generator's narrower (read-only) grants are checked in
      // operator-api.test.ts and reports.test.ts.
      expect([...new Set(dynamo.map((d) => d.resource))].sort()).toEqual(
        [...pipeline, ...apiPolicies, reportGenerator].sort(),
      );
      for (const d of dynamo) {
        expect(d.statement.Resource).toEqual({ 'Fn::GetAtt': [LOGICAL_IDS.stateTable, 'Arn'] });
        if (!pipeline.includes(d.resource)) continue;
        expect(actionsOf(d.statement).sort()).toEqual([
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ]);
      }
    },
  );

  it(
    'lets the consumer send only to the invalid-record queue, publish only to the alert topic and start only the ' +
      'mitigation workflow',
    () => {
      const identity = statements.filter((s) => s.kind === 'identity').map((s) => s.statement);
      const sendInvalid = identity.filter(
        (s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [LOGICAL_IDS.invalidRecordQueue, 'Arn'] }),
      );
      expect(sendInvalid.flatMap(actionsOf)).toEqual(['sqs:SendMessage']);
      const publish = statements.filter((s) => s.kind === 'identity' && actionsOf(s.statement).includes('sns:Publish'));
      // The consumer (alerts), the mitigation steps (outcomes) and the report generator (report links).
      expect(publish.map((s) => s.resource).sort()).toEqual(
        [LOGICAL_IDS.consumerFunction, LOGICAL_IDS.mitigationFunction, LOGICAL_IDS.reportGenerator]
          .map((fn) => policyOfRole(roleOfFunction(fn)))
          .sort(),
      );
      for (const s of publish) expect(s.statement.Resource).toEqual({ Ref: LOGICAL_IDS.alertTopic });
      const start = statements.filter((s) => actionsOf(s.statement).includes('states:StartExecution'));
      // The consumer (automatic mitigation) and the operator API's mitigate route, nothing else.
      expect(start.map((s) => [s.resource, s.statement.Resource])).toEqual(
        [LOGICAL_IDS.consumerFunction, API_FUNCTION_LOGICAL_IDS.mitigate].map((fn) => [
          policyOfRole(roleOfFunction(fn)),
          { Ref: LOGICAL_IDS.mitigationStateMachine },
        ]),
      );
    },
  );

  it(
    'lets only the report generator write report objects, ' + 'and only it and the API report route read or list them',
    () => {
      // The raw archive's delivery role and the dashboard's page deployment are checked on their own below.
      const s3 = statements.filter(
        (s) =>
          s.kind === 'identity' &&
          s.resource !== archivePolicy() &&
          s.resource !== dashboardDeploymentPolicy() &&
          actionsOf(s.statement).some((a) => a.startsWith('s3:')),
      );
      const generator = policyOfRole(roleOfFunction(LOGICAL_IDS.reportGenerator));
      const reportRoute = policyOfRole(roleOfFunction(API_FUNCTION_LOGICAL_IDS.report));
      expect([...new Set(s3.map((s) => s.resource))].sort()).toEqual([generator, reportRoute].sort());
      const reportObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [LOGICAL_IDS.reportsBucket, 'Arn'] }, '/reports/*']] };
      for (const { resource, statement } of s3) {
        for (const action of actionsOf(statement)) {
          if (action === 's3:ListBucket') {
            expect(statement.Resource).toEqual({ 'Fn::GetAtt': [LOGICAL_IDS.reportsBucket, 'Arn'] });
            expect((statement as { Condition?: unknown }).Condition).toEqual({
              StringLike: { 's3:prefix': ['reports/*'] },
            });
          } else {
            expect(statement.Resource, action).toEqual(reportObjects);
            expect(
              resource === generator ? ['s3:GetObject', 's3:PutObject'] : ['s3:GetObject'],
              `${resource} ${action}`,
            ).toContain(action);
          }
        }
      }
    },
  );

  it(
    'lets only the Firehose delivery role touch the raw archive: writes under raw/ and raw-errors/, no reads, ' +
      'lists or deletes',
    () => {
      const bucket = JSON.stringify({ 'Fn::GetAtt': [LOGICAL_IDS.rawArchiveBucket, 'Arn'] });
      const touching = statements.filter(
        (s) => s.kind === 'identity' && JSON.stringify(s.statement.Resource ?? null).includes(bucket),
      );
      expect([...new Set(touching.map((s) => s.resource))]).toEqual([archivePolicy()]);
      expect(touching.flatMap((s) => actionsOf(s.statement)).sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:PutObject',
      ]);
      // And it reads only the ingest stream (the consumer's event source is the stream's other reader).
      const archiveActions = statements
        .filter((s) => s.resource === archivePolicy())
        .flatMap((s) => actionsOf(s.statement).map((a) => `${a} ${JSON.stringify(s.statement.Resource)}`));
      expect(archiveActions.filter((a) => a.startsWith('kinesis:'))).toEqual(
        ['kinesis:DescribeStream', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'].map(
          (a) => `${a} ${JSON.stringify({ 'Fn::GetAtt': [LOGICAL_IDS.stream, 'Arn'] })}`,
        ),
      );
    },
  );

  it(
    "lets the dashboard's page deployment read only its two asset objects, write only the site bucket and " +
      'invalidate only its distribution',
    () => {
      const grants = statements
        .filter((s) => s.resource === dashboardDeploymentPolicy())
        .flatMap((s) => actionsOf(s.statement).map((a) => [a, JSON.stringify(s.statement.Resource)] as const));
      const site = { 'Fn::GetAtt': [LOGICAL_IDS.dashboardBucket, 'Arn'] };
      const byAction = Object.fromEntries(grants);
      expect(Object.keys(byAction).sort()).toEqual([...DASHBOARD_DEPLOYMENT_ACTIONS]);
      expect(byAction['s3:ListBucket']).toBe(JSON.stringify(site));
      expect(byAction['s3:PutObject']).toBe(JSON.stringify({ 'Fn::Join': ['', [site, '/*']] }));
      const assets = JSON.parse(byAction['s3:GetObject']!) as unknown[];
      expect(assets).toHaveLength(2);
      for (const a of assets) expect(JSON.stringify(a)).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip"/);
      expect(byAction['cloudfront:CreateInvalidation']).toContain(`{"Ref":"${LOGICAL_IDS.dashboardDistribution}"}`);
      // No other identity policy touches the site bucket.
      const touching = statements.filter(
        (s) => s.kind === 'identity' && JSON.stringify(s.statement.Resource ?? null).includes(JSON.stringify(site)),
      );
      expect([...new Set(touching.map((s) => s.resource))]).toEqual([dashboardDeploymentPolicy()]);
    },
  );

  function dashboardDeploymentPolicy(): string {
    const found = statements.filter(
      (s) => s.kind === 'identity' && actionsOf(s.statement).includes('cloudfront:CreateInvalidation'),
    );
    expect(found).toHaveLength(1);
    return found[0]!.resource;
  }

  it('lets the mitigation steps put events only on the default bus', () => {
    const put = statements.filter((s) => actionsOf(s.statement).includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(JSON.stringify(put[0]!.statement.Resource)).toMatch(/event-bus\/default/);
    expect(put[0]!.resource).toBe(policyOfRole(roleOfFunction(LOGICAL_IDS.mitigationFunction)));
  });

  function archivePolicy(): string {
    return policyOfRole(
      template.Resources[LOGICAL_IDS.rawArchiveDeliveryStream].Properties.ExtendedS3DestinationConfiguration.RoleARN[
        'Fn::GetAtt'
      ][0],
    );
  }

  function roleOfFunction(functionId: string): string {
    return template.Resources[functionId].Properties.Role['Fn::GetAtt'][0];
  }

  function policyOfRole(roleId: string): string {
    const found = Object.entries<any>(template.Resources).find(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    );
    if (!found) throw new Error(`no policy for role ${roleId}`);
    return found[0];
  }
});
