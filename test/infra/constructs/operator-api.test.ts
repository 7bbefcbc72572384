import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, type RouteId } from '../../../lambdas/core/api/routes.js';
import { API_ENV } from '../../../lambdas/handlers/api/environment.js';
import { REPORT_LINKS_ENV } from '../../../lambdas/handlers/report-environment.js';
import { OperatorApi, type OperatorApiProps } from '../../../lib/operator-api.js';
import { StateTable } from '../../../lib/state-table.js';
import { arnOf, bareStack, grants, idOf, list, onlyResource, refOf, roleStatements } from './helpers.js';

type Extra = Partial<Pick<OperatorApiProps, 'settings' | 'deploymentRegion' | 'mitigationPlanning'>> & {
  reportsBucket?: boolean;
};

const lambda = (stack: Stack, id: string) =>
  new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {}'),
  });

function synth(extra: Extra = {}) {
  const stack = bareStack();
  const state = new StateTable(stack, 'State');
  const machine = new StateMachine(stack, 'Machine', {
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Noop')),
  });
  const steps = lambda(stack, 'Steps');
  const reports = extra.reportsBucket ? new Bucket(stack, 'Reports') : undefined;
  const { reportsBucket: _r, ...rest } = extra;
  const api = new OperatorApi(stack, 'OperatorApi', {
    stateTable: state,
    stateMachine: machine,
    mitigationFunction: steps,
    mitigationTimings: { observationSeconds: 60, finalCheckSeconds: 120, rollbackIntervalSeconds: 30 },
    ...rest,
    ...(reports && { reportsBucket: reports }),
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const route = (id: RouteId) => ({ functionId: idOf(api.handlers[id].function), roleId: idOf(api.handlers[id].role) });
  const routeGrants = (id: RouteId) =>
    grants(roleStatements(template, route(id).roleId)).filter((g) => !g.startsWith('logs:') && !g.startsWith('xray:'));
  const env = (id: RouteId) =>
    json.Resources[route(id).functionId].Properties.Environment.Variables as Record<string, unknown>;
  return {
    template,
    json,
    api,
    route,
    routeGrants,
    env,
    ids: {
      table: idOf(state.table),
      machine: idOf(machine),
      steps: idOf(steps),
      api: idOf(api.api),
      ...(reports && { reports: idOf(reports) }),
    },
  };
}

describe('OperatorApi (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('serves one IAM-authorized, validated method per route, each proxied to its own function', () => {
    const methods = Object.values(t.template.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
    expect(methods).toHaveLength(API_ROUTES.length);
    const targets = new Set<string>();
    for (const m of methods) {
      expect(m.AuthorizationType, m.OperationName).toBe('AWS_IAM');
      expect(m.RequestValidatorId, m.OperationName).toBeDefined();
      expect(m.Integration.Type).toBe('AWS_PROXY');
      targets.add(JSON.stringify(m.Integration.Uri));
    }
    expect(targets.size).toBe(API_ROUTES.length);
    t.template.resourceCountIs('AWS::Lambda::Function', API_ROUTES.length + 1);
  });

  it(
    'protects the stage with its WAF web ACL (rate limit from settings) and logs only blocked/counted requests, ' +
      'Authorization redacted',
    () => {
      const aclId = onlyResource(t.template, 'AWS::WAFv2::WebACL');
      const stageId = onlyResource(t.template, 'AWS::ApiGateway::Stage');
      const association = t.json.Resources[onlyResource(t.template, 'AWS::WAFv2::WebACLAssociation')].Properties;
      expect(association.WebACLArn).toEqual(arnOf(aclId));
      expect(JSON.stringify(association.ResourceArn)).toContain(`{"Ref":"${stageId}"}`);
      const logging = t.json.Resources[onlyResource(t.template, 'AWS::WAFv2::LoggingConfiguration')].Properties;
      expect(logging.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }]);
      expect(logging.LoggingFilter.DefaultBehavior).toBe('DROP');
      const rateOf = (x: ReturnType<typeof synth>) =>
        x.json.Resources[onlyResource(x.template, 'AWS::WAFv2::WebACL')].Properties.Rules.find(
          (r: any) => r.Name === 'RateLimitPerIp',
        ).Statement.RateBasedStatement.Limit;
      expect(rateOf(t)).toBe(1000);
      expect(rateOf(synth({ settings: { wafRateLimit: 200 } }))).toBe(200);
    },
  );

  it(
    'lets the rollback route invoke only the given mitigation function (unqualified), and no other route invoke ' +
      'anything',
    () => {
      expect(t.routeGrants('rollback').filter((g) => g.startsWith('lambda:'))).toEqual([
        `lambda:InvokeFunction ${JSON.stringify(arnOf(t.ids.steps))}`,
      ]);
      expect(t.env('rollback')[API_ENV.mitigationFunction]).toEqual(refOf(t.ids.steps));
      for (const route of API_ROUTES.filter((r) => r.id !== 'rollback'))
        expect(
          t.routeGrants(route.id).filter((g) => g.startsWith('lambda:')),
          route.id,
        ).toEqual([]);
    },
  );

  it(
    'writes to the state table ' +
      'only under LeadingKeys ' +
      'conditions, and only from whitelist, changes, feedback, rollback and approve',
    () => {
      const writers = API_ROUTES.map((r) => r.id).filter((id) =>
        t.routeGrants(id).some((g) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(g)),
      );
      expect(writers.sort()).toEqual(['approve', 'changes', 'feedback', 'rollback', 'whitelist']);
      for (const id of writers) {
        const puts = roleStatements(t.template, t.route(id).roleId).filter((s) =>
          list(s.Action).some((a) => /^dynamodb:(Put|Update)/.test(a)),
        );
        expect(puts.length, id).toBeGreaterThan(0);
        for (const s of puts) {
          expect(s.Resource, id).toEqual(arnOf(t.ids.table));
          expect(Object.keys((s.Condition as any)['ForAllValues:StringLike']), id).toEqual(['dynamodb:LeadingKeys']);
        }
      }
    },
  );

  it(
    'gives the report route no S3 access and no bucket without reportsBucket; with it, list and get under ' +
      'reports/ only',
    () => {
      expect(t.routeGrants('report').filter((g) => g.startsWith('s3:'))).toEqual([]);
      expect(t.env('report')[REPORT_LINKS_ENV.reportsBucket]).toBeUndefined();
      const r = synth({ reportsBucket: true });
      const bucket = r.ids.reports!;
      expect(r.routeGrants('report').filter((g) => g.startsWith('s3:'))).toEqual([
        `s3:GetObject ${JSON.stringify({ 'Fn::Join': ['', [arnOf(bucket), '/reports/*']] })}`,
        `s3:ListBucket ${JSON.stringify(arnOf(bucket))}`,
      ]);
      expect(r.env('report')[REPORT_LINKS_ENV.reportsBucket]).toEqual(refOf(bucket));
      for (const route of API_ROUTES.filter((x) => x.id !== 'report'))
        expect(
          r.routeGrants(route.id).filter((g) => g.startsWith('s3:')),
          route.id,
        ).toEqual([]);
    },
  );

  it(
    'passes mitigationPlanning to the mitigate route only when given, and sets the account logging role only when ' +
      'settings.cloudWatchRole',
    () => {
      expect(t.env('mitigate')[API_ENV.mitigationPlanning]).toBeUndefined();
      t.template.resourceCountIs('AWS::ApiGateway::Account', 1);
      const c = synth({
        mitigationPlanning: { platformMinTenants: 5, actionTargets: {} },
        settings: { cloudWatchRole: false },
      });
      expect(JSON.parse(c.env('mitigate')[API_ENV.mitigationPlanning] as string)).toEqual({
        platformMinTenants: 5,
        actionTargets: {},
      });
      c.template.resourceCountIs('AWS::ApiGateway::Account', 0);
      expect(
        Object.values<any>(c.json.Resources).filter(
          (r) =>
            r.Type === 'AWS::IAM::Role' &&
            JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'),
        ),
      ).toEqual([]);
    },
  );
});
