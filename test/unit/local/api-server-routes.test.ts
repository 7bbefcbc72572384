import { describe, expect, it } from 'vitest';
import { pageCsp, routesFromTemplate } from '../../../local/api-server.js';
import type { CfnTemplate } from '../../../local/stand-ins.js';

/** Two REST APIs (IAM for machines, Cognito for the dashboard) with the same routes and the same Lambdas. */
function twoApis(mitigateOfDashboard = 'ApiMitigateFunction'): CfnTemplate {
  const resources: CfnTemplate['Resources'] = {};
  for (const [api, mitigateFn] of [
    ['Iam', 'ApiMitigateFunction'],
    ['Dash', mitigateOfDashboard],
  ] as const) {
    resources[`${api}V1`] = {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { PathPart: 'v1', ParentId: { 'Fn::GetAtt': [`${api}Api`, 'RootResourceId'] } },
    };
    resources[`${api}Anomaly`] = {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { PathPart: 'anomaly', ParentId: { Ref: `${api}V1` } },
    };
    for (const [route, fn, method] of [
      ['mitigate', mitigateFn, 'POST'],
      ['report', 'ApiReportFunction', 'GET'],
    ] as const) {
      resources[`${api}${route}`] = {
        Type: 'AWS::ApiGateway::Resource',
        Properties: { PathPart: route, ParentId: { Ref: `${api}Anomaly` } },
      };
      resources[`${api}${route}${method}`] = {
        Type: 'AWS::ApiGateway::Method',
        Properties: {
          HttpMethod: method,
          ResourceId: { Ref: `${api}${route}` },
          AuthorizationType: api === 'Iam' ? 'AWS_IAM' : 'COGNITO_USER_POOLS',
          Integration: {
            Uri: {
              'Fn::Join': ['', ['arn:', { 'Fn::GetAtt': [fn, 'Arn'] }, '/invocations']],
            },
          },
        },
      };
    }
    // CORS preflights and the like have no Lambda: not routes.
    resources[`${api}AnomalyOptions`] = {
      Type: 'AWS::ApiGateway::Method',
      Properties: { HttpMethod: 'OPTIONS', ResourceId: { Ref: `${api}Anomaly` }, Integration: { Type: 'MOCK' } },
    };
  }
  return { Resources: resources };
}

describe('routesFromTemplate', () => {
  it('serves each method and path once when two APIs (IAM and the dashboard) integrate the same Lambdas', () => {
    const routes = routesFromTemplate(twoApis());
    expect(routes).toHaveLength(2);
    expect(routes).toEqual(
      expect.arrayContaining([
        { method: 'POST', path: '/v1/anomaly/mitigate', route: 'mitigate' },
        { method: 'GET', path: '/v1/anomaly/report', route: 'report' },
      ]),
    );
  });

  it('refuses a template whose two APIs integrate different Lambdas on the same method and path', () => {
    expect(() => routesFromTemplate(twoApis('ApiRollbackFunction'))).toThrow(
      /POST \/v1\/anomaly\/mitigate integrates two different routes/,
    );
  });
});

describe('the page CSP of the local server', () => {
  it('lets the page connect only to its own origin, and to the sign-in endpoint only when sign-in is on', () => {
    expect(pageCsp()).toContain("connect-src 'self';");
    const withSignIn = pageCsp('http://127.0.0.1:40123/');
    expect(withSignIn).toContain("connect-src 'self' http://127.0.0.1:40123;");
    expect(withSignIn).toContain("default-src 'none'");
    expect(withSignIn).toContain("form-action 'none'");
  });
});
