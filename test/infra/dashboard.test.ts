import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../lambdas/core/api/routes.js';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { API_FUNCTION_LOGICAL_IDS } from '../../lib/operator-api.js';
import { synthTemplate } from '../../lib/synth.js';

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: unknown }>;
type Template = { Resources: Resources; Outputs: Record<string, any> };

const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** `GET /v1/anomaly/report` → the method of the RestApi `apiId`, with the function it integrates. */
function methodsOf(t: Template, apiId: string) {
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const r = id === undefined ? undefined : t.Resources[id];
    return r ? `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}` : '';
  };
  return ofType(t, 'AWS::ApiGateway::Method')
    .filter(([, m]) => JSON.stringify(m.Properties.RestApiId) === JSON.stringify({ Ref: apiId }))
    .map(([, m]) => ({
      route: `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`,
      authorization: m.Properties.AuthorizationType as string,
      authorizer: m.Properties.AuthorizerId,
      fn: JSON.stringify(m.Properties.Integration.Uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1],
    }))
    .sort((a, b) => a.route.localeCompare(b.route));
}

const DASHBOARD_TYPES = [
  'AWS::Cognito::UserPool',
  'AWS::Cognito::UserPoolClient',
  'AWS::Cognito::UserPoolGroup',
  'AWS::CloudFront::Distribution',
  'AWS::CloudFront::ResponseHeadersPolicy',
  'AWS::CloudFront::OriginAccessControl',
  'AWS::ApiGateway::Authorizer',
  'Custom::CDKBucketDeployment',
];

describe('the dashboard in the stack (cdk.json context)', () => {
  let on: Template;
  let off: Template;
  beforeAll(() => {
    on = synthTemplate({}, { nag: false }) as Template;
    off = synthTemplate({ anomalyGuard: { dashboard: { enabled: false } } }, { nag: false }) as Template;
  });

  it('is on by default: user pool, groups, client, distribution, site bucket and the dashboard API', () => {
    for (const id of [
      LOGICAL_IDS.dashboardApi,
      LOGICAL_IDS.dashboardUserPool,
      LOGICAL_IDS.dashboardUserPoolClient,
      LOGICAL_IDS.dashboardViewerGroup,
      LOGICAL_IDS.dashboardOperatorGroup,
      LOGICAL_IDS.dashboardBucket,
      LOGICAL_IDS.dashboardLogBucket,
      LOGICAL_IDS.dashboardDistribution,
    ])
      expect(on.Resources[id], id).toBeDefined();
    expect(on.Resources[LOGICAL_IDS.dashboardApi]!.Type).toBe('AWS::ApiGateway::RestApi');
    expect(
      ofType(on, 'AWS::ApiGateway::RestApi')
        .map(([id]) => id)
        .sort(),
    ).toEqual([LOGICAL_IDS.dashboardApi, LOGICAL_IDS.operatorApi].sort());
    expect(
      [LOGICAL_IDS.dashboardViewerGroup, LOGICAL_IDS.dashboardOperatorGroup].map(
        (id) => on.Resources[id]!.Properties.GroupName,
      ),
    ).toEqual(['viewer', 'operator']);
    const pool = on.Resources[LOGICAL_IDS.dashboardUserPool]!.Properties;
    expect(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(pool.MfaConfiguration).toBe('ON');
    expect(pool.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(pool.Policies.PasswordPolicy.MinimumLength).toBe(14);
    expect((on.Resources[LOGICAL_IDS.dashboardUserPool] as any).DeletionPolicy).toBe('Retain');
  });

  it('serves the same routes on both APIs: the IAM API stays AWS_IAM, every dashboard method needs a user', () => {
    const iam = methodsOf(on, LOGICAL_IDS.operatorApi);
    const dashboard = methodsOf(on, LOGICAL_IDS.dashboardApi);
    const routes = API_ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    expect(iam.map((m) => m.route)).toEqual(routes);
    expect(dashboard.map((m) => m.route)).toEqual(routes);
    for (const m of iam) expect(m.authorization, m.route).toBe('AWS_IAM');
    const [[authorizerId]] = ofType(on, 'AWS::ApiGateway::Authorizer') as [[string, unknown]];
    for (const m of dashboard.filter((x) => !x.route.startsWith('OPTIONS '))) {
      expect(m.authorization, m.route).toBe('COGNITO_USER_POOLS');
      expect(m.authorizer, m.route).toEqual({ Ref: authorizerId });
    }
    const authorizer = on.Resources[authorizerId]!.Properties;
    expect(authorizer.IdentitySource).toBe('method.request.header.Authorization');
    expect(authorizer.ProviderARNs).toEqual([{ 'Fn::GetAtt': [LOGICAL_IDS.dashboardUserPool, 'Arn'] }]);
  });

  it('fronts the same pinned route functions (the local runtime maps methods to routes by them)', () => {
    const iam = methodsOf(on, LOGICAL_IDS.operatorApi);
    const dashboard = methodsOf(on, LOGICAL_IDS.dashboardApi);
    expect(dashboard.map((m) => m.fn)).toEqual(iam.map((m) => m.fn));
    expect(new Set(dashboard.map((m) => m.fn))).toEqual(new Set(Object.values(API_FUNCTION_LOGICAL_IDS)));
    // Its only function is CDK's page-deployment provider.
    const added = ofType(on, 'AWS::Lambda::Function').filter(([id]) => !off.Resources[id]);
    expect(added.map(([id]) => id)).toEqual([expect.stringMatching(/^CustomCDKBucketDeployment/)]);
  });

  it("leaves every resource of the stack without it as it was (the IAM API's included)", () => {
    const changed = Object.keys(off.Resources).filter(
      (id) => JSON.stringify(on.Resources[id]) !== JSON.stringify(off.Resources[id]),
    );
    // Only the operations dashboard's alarm grid, which also shows the dashboard API's 5xx alarm.
    expect(changed).toEqual([LOGICAL_IDS.operationsDashboard]);
    const alarms = ofType(on, 'AWS::CloudWatch::Alarm').filter(([id]) => !off.Resources[id]);
    expect(alarms.map(([, a]) => a.Properties.Dimensions)).toEqual([
      [
        { Name: 'ApiName', Value: 'AnomalyGuard-dashboard-api' },
        { Name: 'Stage', Value: 'prod' },
      ],
    ]);
  });

  it('forwards /v1/* to the dashboard API through the distribution and deploys config.json next to the page', () => {
    const d = on.Resources[LOGICAL_IDS.dashboardDistribution]!.Properties.DistributionConfig;
    const api = d.CacheBehaviors.find((b: any) => b.PathPattern === '/v1/*');
    const origin = d.Origins.find((o: any) => o.Id === api.TargetOriginId);
    expect(JSON.stringify(origin.DomainName)).toContain(`{"Ref":"${LOGICAL_IDS.dashboardApi}"}`);
    expect(d.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    const [[, deployment]] = ofType(on, 'Custom::CDKBucketDeployment') as [[string, any]];
    const markers = JSON.stringify(deployment.Properties.SourceMarkers);
    expect(markers).toContain(`{"Ref":"${LOGICAL_IDS.dashboardUserPool}"}`);
    expect(markers).toContain(`{"Ref":"${LOGICAL_IDS.dashboardUserPoolClient}"}`);
    expect(deployment.Properties.DistributionPaths).toEqual(expect.arrayContaining(['/index.html', '/config.json']));
  });

  it('publishes DashboardUrl, DashboardUserPoolId and DashboardUserPoolClientId', () => {
    expect([OUTPUT_IDS.dashboardUrl, OUTPUT_IDS.dashboardUserPoolId, OUTPUT_IDS.dashboardUserPoolClientId]).toEqual([
      'DashboardUrl',
      'DashboardUserPoolId',
      'DashboardUserPoolClientId',
    ]);
    expect(on.Outputs.DashboardUrl.Value).toEqual({
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [LOGICAL_IDS.dashboardDistribution, 'DomainName'] }]],
    });
    expect(on.Outputs.DashboardUserPoolId.Value).toEqual({ Ref: LOGICAL_IDS.dashboardUserPool });
    expect(on.Outputs.DashboardUserPoolClientId.Value).toEqual({ Ref: LOGICAL_IDS.dashboardUserPoolClient });
  });

  it('is gone with dashboard.enabled false: no Cognito, CloudFront, site, second API or outputs', () => {
    for (const type of DASHBOARD_TYPES) expect(ofType(off, type), type).toEqual([]);
    expect(ofType(off, 'AWS::ApiGateway::RestApi').map(([id]) => id)).toEqual([LOGICAL_IDS.operatorApi]);
    for (const id of [LOGICAL_IDS.dashboardBucket, LOGICAL_IDS.dashboardLogBucket, LOGICAL_IDS.dashboardApi])
      expect(off.Resources[id], id).toBeUndefined();
    for (const o of ['DashboardUrl', 'DashboardUserPoolId', 'DashboardUserPoolClientId'])
      expect(off.Outputs[o], o).toBeUndefined();
    for (const [, m] of ofType(off, 'AWS::ApiGateway::Method')) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });
});

describe('the dashboard in the stack (overridden context)', () => {
  it('needs the operator API: without it there is no dashboard', () => {
    const t = synthTemplate({ anomalyGuard: { api: { enabled: false } } }, { nag: false }) as Template;
    for (const type of [...DASHBOARD_TYPES, 'AWS::ApiGateway::RestApi']) expect(ofType(t, type), type).toEqual([]);
    expect(t.Outputs.DashboardUrl).toBeUndefined();
  });

  it('follows dashboard settings: price class, threat protection, custom domain, log retention, destroy', () => {
    const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012';
    const t = synthTemplate(
      {
        anomalyGuard: {
          removalPolicy: 'destroy',
          dashboard: {
            priceClass: 'PriceClass_All',
            threatProtection: true,
            domainName: 'guard.example.com',
            certificateArn,
            accessLogRetentionDays: 30,
          },
        },
      },
      { nag: false },
    ) as Template;
    const d = t.Resources[LOGICAL_IDS.dashboardDistribution]!.Properties.DistributionConfig;
    expect(d.PriceClass).toBe('PriceClass_All');
    expect(d.Aliases).toEqual(['guard.example.com']);
    expect(d.ViewerCertificate).toMatchObject({
      AcmCertificateArn: certificateArn,
      MinimumProtocolVersion: 'TLSv1.2_2021',
    });
    const pool = t.Resources[LOGICAL_IDS.dashboardUserPool] as any;
    expect(pool.Properties.UserPoolTier).toBe('PLUS');
    expect(pool.Properties.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
    expect(pool.DeletionPolicy).toBe('Delete');
    expect(pool.Properties.DeletionProtection).toBe('INACTIVE');
    const logs = t.Resources[LOGICAL_IDS.dashboardLogBucket]!.Properties;
    expect(logs.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(30);
  });
});
