import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

/**
 * A bare `App` + `Stack('Test')` for testing one construct alone, the way aws-solutions-constructs do.
 * Lambda bundling is skipped (`aws:cdk:bundling-stacks: []`): the template does not depend on the bundle.
 * No cdk.json context: the construct must not rely on the app's feature flags.
 */
export function bareStack(context: Record<string, unknown> = {}): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return new Stack(app, 'Test');
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Principal?: unknown;
  Sid?: string;
}

export const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The logical id of the one resource of `type` (fails when there is not exactly one). */
export function onlyResource(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}: ${ids.join(', ')}`);
  return ids[0]!;
}

/** Logical id of the role a function runs as. */
export function roleOfFunction(template: Template, functionId: string): string {
  const fn = template.toJSON().Resources[functionId];
  return fn.Properties.Role['Fn::GetAtt'][0];
}

/** Every statement of the identity policies (AWS::IAM::Policy) attached to the role. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => list(p.Properties.Roles).some((r: unknown) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** `"<action> <resource JSON>"` for every Allow statement, sorted: a flat, comparable picture of a role's grants. */
export function grants(statements: Statement[]): string[] {
  return statements
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => list(s.Action).flatMap((a) => list(s.Resource).map((r) => `${a} ${JSON.stringify(r)}`)))
    .sort();
}

export const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** `arn:…:states:<region>:<account>:execution:<state machine name>:*` as CDK synthesizes it. */
export function executionsArnOf(stateMachineId: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':states:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':execution:',
        { 'Fn::GetAtt': [stateMachineId, 'Name'] },
        ':*',
      ],
    ],
  };
}
export const refOf = (logicalId: string) => ({ Ref: logicalId });

/** The logical id of an L2's CloudFormation resource. */
export function idOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The rules acknowledged on an L2's CloudFormation resource (`Validations.of(...).acknowledge`), with the reasons. */
export function acknowledgements(construct: IConstruct): Record<string, string> {
  const node = (construct.node.defaultChild ?? construct).node;
  const entries = node.metadata
    .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
  return Object.fromEntries(entries.map(([id, reason]) => [id.replace(/^Annotation::/, ''), reason]));
}

/** The rule ids acknowledged on an L2's CloudFormation resource, sorted. */
export function acknowledged(construct: IConstruct): string[] {
  return Object.keys(acknowledgements(construct)).sort();
}

/**
 * Everything the dashboard's page deployment may do, sorted: read its assets, sync the site bucket, invalidate its
 * distribution, write its own log (what both the construct test and the stack's IAM test expect).
 */
export const DASHBOARD_DEPLOYMENT_ACTIONS = [
  'cloudfront:CreateInvalidation',
  'cloudfront:GetInvalidation',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  's3:DeleteObject',
  's3:GetObject',
  's3:ListBucket',
  's3:PutObject',
] as const;
