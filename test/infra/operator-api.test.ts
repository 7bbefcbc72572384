import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, type RouteId } from '../../lambdas/core/api/routes.js';
import { API_ENV } from '../../lambdas/handlers/api/environment.js';
import { REPORT_LINKS_ENV } from '../../lambdas/handlers/report-environment.js';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { resolveConfig } from '../../lib/config.js';
import { API_FUNCTION_LOGICAL_IDS, gatewayModelSchema, OPERATOR_API_STAGE } from '../../lib/operator-api.js';
import { synthTemplate } from '../../lib/synth.js';
import { arnOf, executionsArnOf } from './constructs/helpers.js';

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string[] }>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);

/** `/v1/anomaly/score` for a method, walking Resource PathPart/ParentId up to the API root. */
function methodPath(resources: Resources, method: { Properties: { ResourceId: { Ref: string } } }): string {
  const parts: string[] = [];
  let ref: unknown = method.Properties.ResourceId;
  while (ref && typeof ref === 'object' && 'Ref' in ref) {
    const r = resources[(ref as { Ref: string }).Ref]!;
    parts.unshift(r.Properties.PathPart);
    ref = r.Properties.ParentId;
  }
  expect(ref, 'the path ends at the RestApi root').toEqual({
    'Fn::GetAtt': [LOGICAL_IDS.operatorApi, 'RootResourceId'],
  });
  return `/${parts.join('/')}`;
}

/** The template's methods, each with its route. */
function methods(resources: Resources) {
  return ofType(resources, 'AWS::ApiGateway::Method').map(([id, m]) => {
    const path = methodPath(resources, m as any);
    const route = API_ROUTES.find((r) => r.path === path && r.method === m.Properties.HttpMethod);
    if (!route) throw new Error(`${id}: ${m.Properties.HttpMethod} ${path} is not in API_ROUTES`);
    return { id, method: m.Properties, route };
  });
}

/**
 * The IAM API alone: the dashboard (its own Cognito-authorized RestApi, stage and web ACL over the same functions) is
 * left out here and checked in dashboard.test.ts, which also checks that it leaves this API's resources unchanged.
 */
const NO_DASHBOARD = { dashboard: { enabled: false } };

describe('OperatorApi (cdk.json context)', () => {
  let json: { Resources: Resources; Outputs: Record<string, any> };
  let template: Template;
  beforeAll(() => {
    json = synthTemplate({ anomalyGuard: NO_DASHBOARD }, { bundle: false, nag: false }) as typeof json;
    template = Template.fromJSON(json);
  });
  const policyOf = (functionId: string): Statement[] => {
    const roleId = json.Resources[functionId]!.Properties.Role['Fn::GetAtt'][0];
    const policies = ofType(json.Resources, 'AWS::IAM::Policy').filter(
      ([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    );
    expect(policies, `${functionId}: one policy on its role`).toHaveLength(1);
    expect(json.Resources[roleId]!.Properties.Policies ?? [], `${functionId}: no inline policies`).toEqual([]);
    expect(json.Resources[roleId]!.Properties.ManagedPolicyArns ?? [], `${functionId}: no managed policies`).toEqual(
      [],
    );
    return policies[0]![1].Properties.PolicyDocument.Statement;
  };

  it('is one regional REST API with the pinned logical id', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(json.Resources[LOGICAL_IDS.operatorApi]).toMatchObject({
      Type: 'AWS::ApiGateway::RestApi',
      Properties: { EndpointConfiguration: { Types: ['REGIONAL'] } },
    });
  });

  it('has exactly one method per route, each IAM-authorized and proxied to its own pinned function', () => {
    const found = methods(json.Resources);
    expect(found.map((m) => m.route.id).sort()).toEqual(API_ROUTES.map((r) => r.id).sort());
    for (const { id, method, route } of found) {
      expect(method.AuthorizationType, id).toBe('AWS_IAM');
      expect(method.Integration.Type, id).toBe('AWS_PROXY');
      expect(JSON.stringify(method.Integration.Uri), id).toContain(
        JSON.stringify(arnOf(API_FUNCTION_LOGICAL_IDS[route.id])),
      );
    }
  });

  it.each(API_ROUTES.map((r) => [r.id, r] as const))(
    'runs %s on nodejs22.x arm64, 256 MB, traced, within the gateway timeout',
    (id) => {
      const fn = json.Resources[API_FUNCTION_LOGICAL_IDS[id]]!;
      expect(fn.Type).toBe('AWS::Lambda::Function');
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: 256,
        TracingConfig: { Mode: 'Active' },
      });
      expect(fn.Properties.Timeout).toBeGreaterThanOrEqual(10);
      expect(fn.Properties.Timeout).toBeLessThan(29);
      const logGroup = json.Resources[fn.Properties.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup.Properties.RetentionInDays).toBe(30);
    },
  );

  it('validates each body route at the gateway against a draft-4 model of its zod schema', () => {
    for (const { id, method, route } of methods(json.Resources).filter((m) => m.route.input.in === 'body')) {
      const validator = json.Resources[method.RequestValidatorId.Ref]!;
      expect(validator.Type).toBe('AWS::ApiGateway::RequestValidator');
      expect(validator.Properties.ValidateRequestBody, id).toBe(true);
      const model = json.Resources[method.RequestModels['application/json'].Ref]!;
      expect(model.Type).toBe('AWS::ApiGateway::Model');
      expect(model.Properties.ContentType).toBe('application/json');
      expect(model.Properties.Schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(model.Properties.Schema, id).toEqual(gatewayModelSchema(route.input.schema));
    }
  });

  it('validates the query string of query routes: tenant required on timeline, range optional', () => {
    const query = methods(json.Resources).filter((m) => m.route.input.in === 'query');
    expect(query.map((q) => q.route.id).sort()).toEqual(['report', 'timeline']);
    for (const { method } of query) {
      expect(json.Resources[method.RequestValidatorId.Ref]!.Properties.ValidateRequestParameters).toBe(true);
      expect(method.RequestModels).toBeUndefined();
    }
    const params = (id: RouteId) => query.find((q) => q.route.id === id)!.method.RequestParameters;
    expect(params('timeline')).toEqual({
      'method.request.querystring.tenant': true,
      'method.request.querystring.range': false,
    });
    expect(params('report')).toEqual({ 'method.request.querystring.range': false });
  });

  it('throttles, traces, meters and logs the stage (JSON access log, execution log errors, no data trace)', () => {
    const stages = ofType(json.Resources, 'AWS::ApiGateway::Stage');
    expect(stages).toHaveLength(1);
    const stage = stages[0]![1].Properties;
    expect(stage).toMatchObject({
      StageName: OPERATOR_API_STAGE,
      RestApiId: { Ref: LOGICAL_IDS.operatorApi },
      TracingEnabled: true,
    });
    expect(stage.MethodSettings).toEqual([
      {
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
        LoggingLevel: 'ERROR',
        MetricsEnabled: true,
        DataTraceEnabled: false,
      },
    ]);
    const logGroupId = stage.AccessLogSetting.DestinationArn['Fn::GetAtt'][0];
    expect(json.Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
    });
    const sample = JSON.parse(
      (stage.AccessLogSetting.Format as string).replace(/\$context\.[A-Za-z.]+/g, 'x'),
    ) as Record<string, string>;
    for (const field of [
      'requestId',
      'ip',
      'caller',
      'user',
      'requestTime',
      'httpMethod',
      'resourcePath',
      'status',
      'protocol',
      'responseLength',
      'integrationError',
      'integrationLatency',
    ]) {
      expect(sample[field], field).toBe('x');
    }
  });

  it('sets the account-level logging role (own policy, retained) before the stage needs it', () => {
    const accounts = ofType(json.Resources, 'AWS::ApiGateway::Account');
    expect(accounts).toHaveLength(1);
    const [accountId, account] = accounts[0]!;
    const role = json.Resources[account.Properties.CloudWatchRoleArn['Fn::GetAtt'][0]]! as any;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'apigateway.amazonaws.com',
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(
      role.Properties.Policies[0].PolicyDocument.Statement.flatMap((s: Statement) => list(s.Action)).sort(),
    ).toEqual([
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:DescribeLogGroups',
      'logs:DescribeLogStreams',
      'logs:PutLogEvents',
    ]);
    expect(role.DeletionPolicy).toBe('Retain');
    expect((account as any).DeletionPolicy).toBe('Retain');
    const stage = ofType(json.Resources, 'AWS::ApiGateway::Stage')[0]![1];
    expect(stage.DependsOn).toContain(accountId);
  });

  it('attaches a usage plan with throttle and quota to the stage', () => {
    const plans = ofType(json.Resources, 'AWS::ApiGateway::UsagePlan');
    expect(plans).toHaveLength(1);
    const stageId = ofType(json.Resources, 'AWS::ApiGateway::Stage')[0]![0];
    expect(plans[0]![1].Properties).toMatchObject({
      ApiStages: [{ ApiId: { Ref: LOGICAL_IDS.operatorApi }, Stage: { Ref: stageId } }],
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: { Limit: 100_000, Period: 'DAY' },
    });
  });

  const wafTitle =
    'puts a regional WAF web ACL on the stage: per-IP rate limit over 5 minutes, 64 KB body limit, AWS common rules';
  it(wafTitle, () => {
    const acls = ofType(json.Resources, 'AWS::WAFv2::WebACL');
    expect(acls).toHaveLength(1);
    const [aclId, acl] = acls[0]!;
    expect(acl.Properties).toMatchObject({
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true },
    });
    expect(acl.Properties.AssociationConfig).toEqual({
      RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_64' } },
    });
    const rules = acl.Properties.Rules as any[];
    for (const r of rules)
      expect(r.VisibilityConfig, r.Name).toMatchObject({
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      });
    const rate = rules.find((r) => r.Statement.RateBasedStatement);
    expect(rate.Statement.RateBasedStatement).toEqual({
      AggregateKeyType: 'IP',
      EvaluationWindowSec: 300,
      Limit: 1000,
    });
    expect(rate.Action.Block.CustomResponse.ResponseCode).toBe(429);
    const size = rules.find((r) => r.Statement.SizeConstraintStatement);
    expect(size.Statement.SizeConstraintStatement).toMatchObject({
      ComparisonOperator: 'GT',
      Size: 65_536,
      FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
    });
    expect(size.Action.Block.CustomResponse.ResponseCode).toBe(413);
    const common = rules.find((r) => r.Statement.ManagedRuleGroupStatement);
    expect(common.Statement.ManagedRuleGroupStatement).toMatchObject({
      VendorName: 'AWS',
      Name: 'AWSManagedRulesCommonRuleSet',
      RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
    });
    // WAF's own block responses use the error shape too.
    for (const body of Object.values<any>(acl.Properties.CustomResponseBodies)) {
      expect(body.ContentType).toBe('APPLICATION_JSON');
      expectErrorShape(JSON.parse(body.Content));
    }

    const associations = ofType(json.Resources, 'AWS::WAFv2::WebACLAssociation');
    expect(associations).toHaveLength(1);
    const stageId = ofType(json.Resources, 'AWS::ApiGateway::Stage')[0]![0];
    const association = associations[0]![1].Properties;
    expect(association.WebACLArn).toEqual(arnOf(aclId));
    expect(JSON.stringify(association.ResourceArn)).toContain(
      `/restapis/",{"Ref":"${LOGICAL_IDS.operatorApi}"},"/stages/",{"Ref":"${stageId}"}`,
    );

    const logging = ofType(json.Resources, 'AWS::WAFv2::LoggingConfiguration');
    expect(logging).toHaveLength(1);
    expect(logging[0]![1].Properties).toMatchObject({
      ResourceArn: arnOf(aclId),
      RedactedFields: [{ SingleHeader: { Name: 'authorization' } }],
    });
  });

  it("answers every gateway-side error in the handlers' shape, as application/json", () => {
    const responses = ofType(json.Resources, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => r.Properties);
    const byType = new Map(responses.map((r) => [r.ResponseType as string, r]));
    const expected: Record<string, [string | undefined, string]> = {
      BAD_REQUEST_BODY: ['400', 'InvalidRequest'],
      BAD_REQUEST_PARAMETERS: ['400', 'InvalidRequest'],
      ACCESS_DENIED: ['403', 'AccessDenied'],
      MISSING_AUTHENTICATION_TOKEN: ['403', 'MissingAuthenticationToken'],
      INVALID_SIGNATURE: ['403', 'InvalidSignature'],
      EXPIRED_TOKEN: ['403', 'ExpiredToken'],
      WAF_FILTERED: ['403', 'RequestBlocked'],
      REQUEST_TOO_LARGE: ['413', 'PayloadTooLarge'],
      THROTTLED: ['429', 'Throttled'],
      QUOTA_EXCEEDED: ['429', 'QuotaExceeded'],
      DEFAULT_4XX: [undefined, 'RequestRejected'],
      DEFAULT_5XX: [undefined, 'InternalError'],
    };
    for (const [type, [status, code]] of Object.entries(expected)) {
      const r = byType.get(type);
      expect(r, type).toBeDefined();
      expect(r.StatusCode, type).toBe(status);
      expect(JSON.parse(substitute(r.ResponseTemplates['application/json'])).error.code, type).toBe(code);
    }
    for (const r of responses) {
      expect(r.RestApiId).toEqual({ Ref: LOGICAL_IDS.operatorApi });
      expect(r.ResponseParameters, r.ResponseType).toEqual({
        'gatewayresponse.header.Content-Type': "'application/json'",
      });
      expect(Object.keys(r.ResponseTemplates)).toEqual(['application/json']);
      expectErrorShape(JSON.parse(substitute(r.ResponseTemplates['application/json'])));
    }
    // Validation failures say what is wrong (e.g. which field or parameter).
    for (const type of ['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS'])
      expect(byType.get(type).ResponseTemplates['application/json']).toContain(
        '"message":"$context.error.validationErrorString"',
      );
  });

  describe('least-privilege roles, route by route', () => {
    const tableRead = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'];
    const executions = executionsArnOf(LOGICAL_IDS.mitigationStateMachine);
    const table = arnOf(LOGICAL_IDS.stateTable);
    const reportsBucket = arnOf(LOGICAL_IDS.reportsBucket);
    const reportObjects = { 'Fn::Join': ['', [reportsBucket, '/reports/*']] };
    /** Action → resource (and condition) per route, besides writing to its own log group and X-Ray. */
    const EXPECTED: Record<RouteId, { action: string; resource: unknown; condition?: unknown }[]> = {
      score: tableRead.map((action) => ({ action, resource: table })),
      report: [
        ...tableRead.map((action) => ({ action, resource: table })),
        // Lists the range's reports and presigns short-lived GetObject links: only under reports/.
        { action: 's3:ListBucket', resource: reportsBucket, condition: { StringLike: { 's3:prefix': ['reports/*'] } } },
        { action: 's3:GetObject', resource: reportObjects },
      ],
      timeline: tableRead.map((action) => ({ action, resource: table })),
      whitelist: [
        {
          action: 'dynamodb:PutItem',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['wl#*'] } },
        },
      ],
      // Change items (one tenant's or every tenant's) and the idempotency markers it reads back; no queries, nothing
      // else.
      changes: [
        {
          action: 'dynamodb:PutItem',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['chg#*', 'chgop#*'] } },
        },
        {
          action: 'dynamodb:GetItem',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['chgop#*'] } },
        },
      ],
      // Appends and queries verdicts in the feedback partitions; reads one anomaly record; writes nothing else.
      feedback: [
        {
          action: 'dynamodb:PutItem',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['fb#*'] } },
        },
        {
          action: 'dynamodb:Query',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['fb#*'] } },
        },
        {
          action: 'dynamodb:GetItem',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['anom#*'] } },
        },
      ],
      // Reads and answers approval requests only (never the ledger); resumes executions of the one state machine.
      approve: [
        ...['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'].map((action) => ({
          action,
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['approval#rb-*'] } },
        })),
        { action: 'states:SendTaskSuccess', resource: { Ref: LOGICAL_IDS.mitigationStateMachine } },
      ],
      mitigate: [
        ...tableRead.map((action) => ({ action, resource: table })),
        { action: 'states:StartExecution', resource: { Ref: LOGICAL_IDS.mitigationStateMachine } },
        { action: 'states:DescribeExecution', resource: executions },
      ],
      rollback: [
        // Reads the ledger only; writes only the halt marker (its own partition), never a ledger entry.
        {
          action: 'dynamodb:Query',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ledger#rb-*'] } },
        },
        { action: 'states:DescribeExecution', resource: executions },
        { action: 'states:StopExecution', resource: executions },
        { action: 'lambda:InvokeFunction', resource: arnOf(LOGICAL_IDS.mitigationFunction) },
        {
          action: 'dynamodb:PutItem',
          resource: table,
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['halt#rb-*'] } },
        },
      ],
    };

    it.each(API_ROUTES.map((r) => [r.id] as const))('%s has exactly its actions on exactly its resources', (id) => {
      const fnId = API_FUNCTION_LOGICAL_IDS[id];
      const logGroup = json.Resources[fnId]!.Properties.LoggingConfig.LogGroup.Ref;
      const grants = policyOf(fnId).flatMap((s) => {
        expect(s.Effect).toBe('Allow');
        return list(s.Action).flatMap((action) =>
          list(s.Resource).map((resource) => ({
            action,
            resource,
            ...(s.Condition !== undefined && { condition: s.Condition }),
          })),
        );
      });
      for (const g of grants) expect(g.action, 'no wildcard actions').not.toContain('*');
      const own = grants.filter(
        (g) =>
          !g.action.startsWith('xray:') &&
          !(g.action.startsWith('logs:') && JSON.stringify(g.resource) === JSON.stringify(arnOf(logGroup))),
      );
      const key = (g: { action: string; resource: unknown }) => `${g.action} ${JSON.stringify(g.resource)}`;
      expect(own.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
        [...EXPECTED[id]].sort((a, b) => key(a).localeCompare(key(b))),
      );
      // Only X-Ray (no resource-level permissions) may use "*"; logs only on the function's own group.
      for (const g of grants.filter((x) => x.resource === '*'))
        expect(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']).toContain(g.action);
      for (const g of grants.filter((x) => x.action.startsWith('logs:'))) expect(g.resource).toEqual(arnOf(logGroup));
    });

    const haltTitle =
      'the rollback function can write the halt marker but no action-ledger item (no forged `applied` entries)';
    it(haltTitle, () => {
      // Would any Allow statement let the role PutItem this partition key into the state table?
      const like = (pattern: string, value: string) =>
        new RegExp(
          `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
        ).test(value);
      const mayPut = (pk: string) =>
        policyOf(API_FUNCTION_LOGICAL_IDS.rollback).some((st) => {
          const actionOk = list(st.Action).some((a) => ['dynamodb:PutItem', 'dynamodb:*', '*'].includes(a));
          const resourceOk = list(st.Resource).some((r) => r === '*' || JSON.stringify(r) === JSON.stringify(table));
          const keys = (
            st.Condition as { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } } | undefined
          )?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
          return (
            st.Effect === 'Allow' && actionOk && resourceOk && (keys === undefined || keys.some((k) => like(k, pk)))
          );
        });
      expect(mayPut('halt#rb-1l3k9x0a2bc')).toBe(true);
      expect(mayPut('ledger#rb-1l3k9x0a2bc')).toBe(false);
      expect(mayPut('flags#acme')).toBe(false);
    });
  });

  it('gives each function only the environment it needs', () => {
    const env = (id: RouteId) => json.Resources[API_FUNCTION_LOGICAL_IDS[id]]!.Properties.Environment.Variables;
    const common = {
      [API_ENV.stateTable]: { Ref: LOGICAL_IDS.stateTable },
      POWERTOOLS_SERVICE_NAME: 'anomaly-guard',
      POWERTOOLS_METRICS_NAMESPACE: 'AnomalyGuard',
      NODE_OPTIONS: '--enable-source-maps',
    };
    for (const id of ['score', 'timeline', 'whitelist', 'changes', 'feedback'] as const)
      expect(env(id), id).toEqual(common);
    expect(env('report')).toEqual({ ...common, [REPORT_LINKS_ENV.reportsBucket]: { Ref: LOGICAL_IDS.reportsBucket } });
    expect(env('mitigate')).toEqual({
      ...common,
      [API_ENV.stateMachineArn]: { Ref: LOGICAL_IDS.mitigationStateMachine },
      [API_ENV.mitigationTimings]: JSON.stringify({
        observationSeconds: 900,
        finalCheckSeconds: 2700,
        rollbackIntervalSeconds: 300,
        approvalTimeoutSeconds: 900,
      }),
      // A dry run plans as the workflow does: same blast-radius minimum, same view of unconfigured targets.
      [API_ENV.mitigationPlanning]: JSON.stringify({
        platformMinTenants: 3,
        actionTargets: { unconfiguredTargets: 'flag-table' },
        stepApproval: {},
      }),
    });
    expect(env('rollback')).toEqual({
      ...common,
      [API_ENV.stateMachineArn]: { Ref: LOGICAL_IDS.mitigationStateMachine },
      [API_ENV.mitigationFunction]: { Ref: LOGICAL_IDS.mitigationFunction },
    });
  });

  it('outputs the API URL and the execute-api ARN to grant operators', () => {
    expect(JSON.stringify(json.Outputs[OUTPUT_IDS.operatorApiUrl].Value)).toContain(
      `{"Ref":"${LOGICAL_IDS.operatorApi}"},".execute-api."`,
    );
    expect(JSON.stringify(json.Outputs[OUTPUT_IDS.operatorApiExecuteArn].Value)).toContain(
      `{"Ref":"${LOGICAL_IDS.operatorApi}"},"/${OPERATOR_API_STAGE}/*/*"`,
    );
  });
});

describe('OperatorApi (overridden context)', () => {
  it('follows the api config: stage throttle, usage plan, WAF limit, deployment region, no account role', () => {
    const json = synthTemplate(
      {
        anomalyGuard: {
          ...NO_DASHBOARD,
          api: {
            throttlingRateLimit: 5,
            throttlingBurstLimit: 10,
            usagePlanRateLimit: 2,
            usagePlanBurstLimit: 4,
            usagePlanQuotaLimit: 500,
            usagePlanQuotaPeriod: 'WEEK',
            wafRateLimit: 200,
            cloudWatchRole: false,
          },
          mitigation: { deploymentRegion: 'kr', observationSeconds: 60 },
          logRetentionDays: 7,
        },
      },
      { nag: false },
    ) as { Resources: Resources };
    const stage = ofType(json.Resources, 'AWS::ApiGateway::Stage')[0]![1];
    expect(stage.Properties.MethodSettings[0]).toMatchObject({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 });
    expect(stage.DependsOn ?? []).toEqual([]);
    expect(ofType(json.Resources, 'AWS::ApiGateway::Account')).toEqual([]);
    expect(ofType(json.Resources, 'AWS::ApiGateway::UsagePlan')[0]![1].Properties).toMatchObject({
      Throttle: { RateLimit: 2, BurstLimit: 4 },
      Quota: { Limit: 500, Period: 'WEEK' },
    });
    const acl = ofType(json.Resources, 'AWS::WAFv2::WebACL')[0]![1];
    expect(
      acl.Properties.Rules.find((r: any) => r.Statement.RateBasedStatement).Statement.RateBasedStatement.Limit,
    ).toBe(200);
    const mitigate = json.Resources[API_FUNCTION_LOGICAL_IDS.mitigate]!.Properties.Environment.Variables;
    expect(mitigate[API_ENV.deploymentRegion]).toBe('kr');
    expect(JSON.parse(mitigate[API_ENV.mitigationTimings]).observationSeconds).toBe(60);
    for (const [, g] of ofType(json.Resources, 'AWS::Logs::LogGroup')) expect(g.Properties.RetentionInDays).toBe(7);
  });

  it('leaves the API out entirely when api.enabled is false', () => {
    const json = synthTemplate({ anomalyGuard: { api: { enabled: false } } }, { nag: false }) as {
      Resources: Resources;
      Outputs: Record<string, unknown>;
    };
    expect(Object.values(json.Resources).filter((r) => /^AWS::(ApiGateway|WAFv2)::/.test(r.Type))).toEqual([]);
    for (const id of Object.values(API_FUNCTION_LOGICAL_IDS)) expect(json.Resources[id]).toBeUndefined();
    expect(json.Outputs[OUTPUT_IDS.operatorApiUrl]).toBeUndefined();
  });
});

describe('resolveConfig: api', () => {
  it.each([
    [{ enabled: 'yes' }, 'api.enabled'],
    [{ cloudWatchRole: 1 }, 'api.cloudWatchRole'],
    [{ throttlingRateLimit: 0 }, 'api.throttlingRateLimit'],
    [{ throttlingRateLimit: 20_000 }, 'api.throttlingRateLimit'],
    [{ throttlingBurstLimit: 2.5 }, 'api.throttlingBurstLimit'],
    [{ throttlingBurstLimit: 0 }, 'api.throttlingBurstLimit'],
    [{ usagePlanRateLimit: -1 }, 'api.usagePlanRateLimit'],
    [{ usagePlanBurstLimit: 6000 }, 'api.usagePlanBurstLimit'],
    [{ usagePlanQuotaLimit: 0 }, 'api.usagePlanQuotaLimit'],
    [{ usagePlanQuotaPeriod: 'HOUR' }, 'api.usagePlanQuotaPeriod'],
    [{ wafRateLimit: 5 }, 'api.wafRateLimit'],
    [{ wafRateLimit: '1000' }, 'api.wafRateLimit'],
  ])('rejects api %j naming %s', (api, field) => {
    expect(() => resolveConfig({ api })).toThrow(field);
  });

  it('accepts fractional stage rates (API Gateway takes a double)', () => {
    expect(resolveConfig({ api: { throttlingRateLimit: 0.5 } }).api.throttlingRateLimit).toBe(0.5);
  });
});

/** Replace the gateway's `$context` variables the way API Gateway would (messageString is already quoted). */
function substitute(template: string): string {
  return template
    .replace(/\$context\.error\.messageString/g, '"Forbidden"')
    .replace(/\$context\.[A-Za-z.]+/g, 'sample');
}

function expectErrorShape(body: any): void {
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(typeof body.error.code).toBe('string');
  expect(body.error.code).toMatch(/^[A-Z][A-Za-z]+$/);
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.details).toBe('object');
  expect(body.error.details).not.toBeNull();
}
