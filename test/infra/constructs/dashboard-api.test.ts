import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { Code, type IFunction, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, type RouteId } from '../../../lambdas/core/api/routes.js';
import { DashboardApi, type DashboardApiProps } from '../../../lib/dashboard-api.js';
import { GATEWAY_ERRORS } from '../../../lib/operator-api.js';
import { arnOf, bareStack, idOf, onlyResource } from './helpers.js';

const lambda = (stack: Stack, id: string) =>
  new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {}'),
  });

function synth(extra: Partial<Pick<DashboardApiProps, 'settings'>> & { accountLogging?: boolean } = {}) {
  const stack = bareStack();
  const functions = {} as Record<RouteId, IFunction>;
  for (const r of API_ROUTES) functions[r.id] = lambda(stack, `Route${r.id}`);
  const pool = new UserPool(stack, 'Pool');
  const account = extra.accountLogging ? new CfnAccount(stack, 'Account', { cloudWatchRoleArn: 'arn' }) : undefined;
  const api = new DashboardApi(stack, 'DashboardApi', {
    functions,
    userPool: pool,
    ...(extra.settings && { settings: extra.settings }),
    ...(account && { accountLogging: account }),
  });
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON(), api, functions, pool };
}

describe('DashboardApi (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('serves every route with a Cognito user pools authorizer, validated, proxied to the given function', () => {
    const methods = Object.values(t.template.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
    expect(methods).toHaveLength(API_ROUTES.length);
    const authorizerId = idOf(t.api.authorizer as never);
    for (const m of methods) {
      expect(m.HttpMethod).not.toBe('OPTIONS');
      expect(m.AuthorizationType, m.OperationName).toBe('COGNITO_USER_POOLS');
      expect(m.AuthorizerId, m.OperationName).toEqual({ Ref: authorizerId });
      expect(m.RequestValidatorId, m.OperationName).toBeDefined();
      expect(m.Integration.Type).toBe('AWS_PROXY');
      const route = API_ROUTES.find((r) => r.id === m.OperationName)!;
      expect(JSON.stringify(m.Integration.Uri)).toContain(`"${idOf(t.functions[route.id] as LambdaFunction)}"`);
    }
    // No function of its own: it fronts the given ones.
    t.template.resourceCountIs('AWS::Lambda::Function', API_ROUTES.length);
  });

  it('reads the ID token from the Authorization header and trusts only the given user pool', () => {
    const authorizer = t.json.Resources[onlyResource(t.template, 'AWS::ApiGateway::Authorizer')].Properties;
    expect(authorizer.Type).toBe('COGNITO_USER_POOLS');
    expect(authorizer.IdentitySource).toBe('method.request.header.Authorization');
    expect(authorizer.ProviderARNs).toEqual([arnOf(idOf(t.pool))]);
  });

  it("answers the gateway's errors in the handlers' shape, with 401 for a missing or bad token", () => {
    const responses = Object.values(t.template.findResources('AWS::ApiGateway::GatewayResponse')).map(
      (r) => r.Properties,
    );
    expect(responses).toHaveLength(GATEWAY_ERRORS.length + 1);
    const unauthorized = responses.find((r) => r.ResponseType === 'UNAUTHORIZED');
    expect(unauthorized.StatusCode).toBe('401');
    expect(unauthorized.ResponseTemplates['application/json']).toContain('"code":"Unauthorized"');
  });

  it('throttles, traces and logs the stage like the IAM API, with the user in the access log', () => {
    const stage = t.json.Resources[onlyResource(t.template, 'AWS::ApiGateway::Stage')].Properties;
    expect(stage.StageName).toBe('prod');
    expect(stage.TracingEnabled).toBe(true);
    expect(stage.MethodSettings).toEqual([
      expect.objectContaining({
        DataTraceEnabled: false,
        LoggingLevel: 'ERROR',
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
      }),
    ]);
    const format = JSON.parse(stage.AccessLogSetting.Format);
    expect(format.userSub).toBe('$context.authorizer.claims.sub');
    expect(format.requestId).toBe('$context.requestId');
    const custom = synth({ settings: { throttlingRateLimit: 5, throttlingBurstLimit: 7, wafRateLimit: 300 } });
    const customStage = custom.json.Resources[onlyResource(custom.template, 'AWS::ApiGateway::Stage')].Properties;
    expect(customStage.MethodSettings[0]).toMatchObject({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 });
    const acl = custom.json.Resources[onlyResource(custom.template, 'AWS::WAFv2::WebACL')].Properties;
    expect(acl.Rules[0].Statement.RateBasedStatement.Limit).toBe(300);
  });

  it('puts the WAF rules on its stage, rate-limiting the client address CloudFront forwards', () => {
    const acl = t.json.Resources[onlyResource(t.template, 'AWS::WAFv2::WebACL')].Properties;
    expect(acl.Scope).toBe('REGIONAL');
    expect(acl.Rules.map((r: any) => r.Name)).toEqual([
      'RateLimitPerIp',
      'BodySizeLimit',
      'AWSManagedRulesCommonRuleSet',
    ]);
    expect(acl.Rules[0].Statement.RateBasedStatement).toEqual({
      Limit: 1000,
      AggregateKeyType: 'FORWARDED_IP',
      ForwardedIPConfig: { HeaderName: 'X-Forwarded-For', FallbackBehavior: 'MATCH' },
      EvaluationWindowSec: 300,
    });
    const association = t.json.Resources[onlyResource(t.template, 'AWS::WAFv2::WebACLAssociation')].Properties;
    expect(JSON.stringify(association.ResourceArn)).toContain(onlyResource(t.template, 'AWS::ApiGateway::Stage'));
    const logging = t.json.Resources[onlyResource(t.template, 'AWS::WAFv2::LoggingConfiguration')].Properties;
    expect(logging.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }]);
  });

  it('waits for the account logging setting when given one', () => {
    const withAccount = synth({ accountLogging: true });
    const stageId = onlyResource(withAccount.template, 'AWS::ApiGateway::Stage');
    expect(withAccount.json.Resources[stageId].DependsOn).toContain('Account');
    expect(t.json.Resources[onlyResource(t.template, 'AWS::ApiGateway::Stage')].DependsOn ?? []).not.toContain(
      'Account',
    );
  });
});
