import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_INVALIDATION_PATHS,
  DASHBOARD_SITE_LOGICAL_IDS,
  DashboardSite,
  type DashboardSiteProps,
  dashboardContentSecurityPolicy,
} from '../../../lib/dashboard-site.js';
import { acknowledged, bareStack, DASHBOARD_DEPLOYMENT_ACTIONS, idOf, onlyResource } from './helpers.js';

/** The managed policies the /v1/* behaviour uses. */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

function synth(extra: Partial<DashboardSiteProps> = {}) {
  const stack = bareStack();
  const api = new RestApi(stack, 'Api', { deployOptions: { stageName: 'prod' } });
  api.root.addMethod('GET', new MockIntegration());
  const site = new DashboardSite(stack, 'Site', {
    api,
    auth: { userPoolId: 'eu-west-1_pool', clientId: 'client123', region: 'eu-west-1' },
    ...extra,
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const distribution = json.Resources[DASHBOARD_SITE_LOGICAL_IDS.distribution].Properties.DistributionConfig;
  return { stack, template, json, site, api, distribution };
}

describe('DashboardSite (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('keeps the page in a private, encrypted, TLS-only bucket that logs its accesses', () => {
    const bucket = t.json.Resources[DASHBOARD_SITE_LOGICAL_IDS.bucket];
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    expect(bucket.Properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    expect(bucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: DASHBOARD_SITE_LOGICAL_IDS.logBucket },
      LogFilePrefix: 'site-bucket/',
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    const policies = Object.values(t.template.findResources('AWS::S3::BucketPolicy')).filter(
      (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: DASHBOARD_SITE_LOGICAL_IDS.bucket }),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as any[];
    const denies = statements.filter((s) => s.Effect === 'Deny');
    expect(denies.map((s) => s.Condition)).toEqual(
      expect.arrayContaining([
        { Bool: { 'aws:SecureTransport': 'false' } },
        { NumericLessThan: { 's3:TlsVersion': 1.2 } },
      ]),
    );
    // The only reader is this distribution, through origin access control.
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0].Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(allows[0].Action).toBe('s3:GetObject');
    expect(JSON.stringify(allows[0].Condition)).toContain(`{"Ref":"${DASHBOARD_SITE_LOGICAL_IDS.distribution}"}`);
  });

  it('logs CloudFront to a private, encrypted log bucket that expires the logs', () => {
    const logs = t.json.Resources[DASHBOARD_SITE_LOGICAL_IDS.logBucket].Properties;
    expect(logs.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
    expect(logs.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe(
      'AES256',
    );
    // CloudFront standard logging writes with an ACL.
    expect(logs.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerPreferred' }]);
    expect(logs.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(90);
    expect(t.distribution.Logging).toEqual({
      Bucket: { 'Fn::GetAtt': [DASHBOARD_SITE_LOGICAL_IDS.logBucket, 'RegionalDomainName'] },
      Prefix: 'cloudfront/',
    });
    expect(acknowledged(t.site.logBucket)).toEqual(['AwsSolutions-S1']);
  });

  it('serves index.html from the bucket through origin access control, HTTPS only', () => {
    const d = t.distribution;
    expect(d.DefaultRootObject).toBe('index.html');
    const s3 = d.Origins.find((o: any) => o.S3OriginConfig);
    expect(s3.DomainName).toEqual({ 'Fn::GetAtt': [DASHBOARD_SITE_LOGICAL_IDS.bucket, 'RegionalDomainName'] });
    expect(s3.OriginAccessControlId).toEqual({
      'Fn::GetAtt': [onlyResource(t.template, 'AWS::CloudFront::OriginAccessControl'), 'Id'],
    });
    expect(s3.S3OriginConfig.OriginAccessIdentity).toBe('');
    const oac = t.json.Resources[onlyResource(t.template, 'AWS::CloudFront::OriginAccessControl')].Properties;
    expect(oac.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
    });
    expect(d.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(d.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(d.PriceClass).toBe('PriceClass_100');
  });

  it('forwards /v1/* to the dashboard API uncached, with every viewer header but Host and the query string', () => {
    const [api] = t.distribution.CacheBehaviors;
    expect(t.distribution.CacheBehaviors).toHaveLength(1);
    expect(api.PathPattern).toBe('/v1/*');
    expect(api.ViewerProtocolPolicy).toBe('https-only');
    expect(api.AllowedMethods.sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
    expect(api.CachePolicyId).toBe(CACHING_DISABLED);
    expect(api.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
    const origin = t.distribution.Origins.find((o: any) => o.Id === api.TargetOriginId);
    expect(JSON.stringify(origin.DomainName)).toContain(`{"Ref":"${idOf(t.api)}"}`);
    expect(origin.CustomOriginConfig).toEqual({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    // The stage is the origin path: /v1/anomaly/score reaches /prod/v1/anomaly/score.
    expect(JSON.stringify(origin.OriginPath)).toContain(onlyResource(t.template, 'AWS::ApiGateway::Stage'));
  });

  it('adds the security headers to every answer: HSTS, nosniff, frame DENY, referrer policy and the CSP', () => {
    const policyId = onlyResource(t.template, 'AWS::CloudFront::ResponseHeadersPolicy');
    expect(t.distribution.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    expect(t.distribution.CacheBehaviors[0].ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    const headers = t.json.Resources[policyId].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toEqual({
      AccessControlMaxAgeSec: 730 * 86_400,
      IncludeSubdomains: true,
      Override: true,
    });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'same-origin', Override: true });
    expect(headers.ContentSecurityPolicy).toEqual({
      ContentSecurityPolicy:
        "default-src 'none'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com; base-uri 'none'; form-action 'none'; " +
        "frame-ancestors 'none'",
      Override: true,
    });
    expect(dashboardContentSecurityPolicy('us-east-2')).toContain('https://cognito-idp.us-east-2.amazonaws.com');
  });

  it('uses the default certificate (CFR4 acknowledged) or, with a custom domain, its certificate and TLS 1.2', () => {
    expect(t.distribution.ViewerCertificate).toBeUndefined();
    const byId = (site: DashboardSite) => acknowledged(site.distribution);
    expect(byId(t.site)).toEqual(['AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR4']);
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012';
    const custom = synth({ customDomain: { domainName: 'guard.example.com', certificateArn: arn } });
    expect(custom.distribution.Aliases).toEqual(['guard.example.com']);
    expect(custom.distribution.ViewerCertificate).toEqual({
      AcmCertificateArn: arn,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    expect(byId(custom.site)).toEqual(['AwsSolutions-CFR1', 'AwsSolutions-CFR2']);
  });

  it('deploys the page directory and a config.json naming the user pool, then invalidates the page', () => {
    const deployment = Object.values(t.template.findResources('Custom::CDKBucketDeployment'));
    expect(deployment).toHaveLength(1);
    const p = deployment[0]!.Properties;
    expect(p.DestinationBucketName).toEqual({ Ref: DASHBOARD_SITE_LOGICAL_IDS.bucket });
    expect(p.DistributionId).toEqual({ Ref: DASHBOARD_SITE_LOGICAL_IDS.distribution });
    expect(p.DistributionPaths).toEqual([...DASHBOARD_INVALIDATION_PATHS]);
    expect(DASHBOARD_INVALIDATION_PATHS).toEqual(expect.arrayContaining(['/index.html', '/config.json']));
    expect(p.Prune).toBe(true);
    expect(p.SourceObjectKeys).toHaveLength(2);
  });

  it('writes config.json in the shape the page reads, with deploy-time values for tokens', () => {
    const staged = (app: App) =>
      readdirSync(app.outdir)
        .filter((d) => d.startsWith('asset.') && existsSync(join(app.outdir, d, 'config.json')))
        .map((d) => JSON.parse(readFileSync(join(app.outdir, d, 'config.json'), 'utf8')));
    expect(staged(t.stack.node.root as App)).toEqual([
      { auth: { region: 'eu-west-1', userPoolId: 'eu-west-1_pool', clientId: 'client123' } },
    ]);
    // With a real pool the ids are tokens: the staged file holds markers the deployment replaces.
    const stack = bareStack();
    const pool = new UserPool(stack, 'Pool');
    const client = pool.addClient('Client');
    const api = new RestApi(stack, 'Api');
    api.root.addMethod('GET', new MockIntegration());
    new DashboardSite(stack, 'Site', { api, auth: { userPoolId: pool.userPoolId, clientId: client.userPoolClientId } });
    const template = Template.fromStack(stack);
    const [config] = staged(stack.node.root as App);
    expect(Object.keys(config.auth).sort()).toEqual(['clientId', 'region', 'userPoolId']);
    const markers = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0]!.Properties.SourceMarkers;
    const values = JSON.stringify(markers);
    expect(values).toContain(`{"Ref":"${idOf(pool)}"}`);
    expect(values).toContain(`{"Ref":"${idOf(client)}"}`);
    expect(values).toContain('{"Ref":"AWS::Region"}');
  });

  it('runs the deployment as its own role: asset objects, site bucket, distribution, log group', () => {
    const role = t.json.Resources[idOf(t.site.node.findChild('DeploymentRole') as never)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const fn = Object.values(t.template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f.Properties.Role).includes(idOf(t.site.node.findChild('DeploymentRole') as never)),
    );
    expect(fn).toBeDefined();
    const policy = Object.values(t.template.findResources('AWS::IAM::Policy'));
    expect(policy).toHaveLength(1);
    const actions = (policy[0]!.Properties.PolicyDocument.Statement as any[]).flatMap((s) =>
      [s.Action].flat().map((a: string) => a),
    );
    expect(actions.sort()).toEqual([...DASHBOARD_DEPLOYMENT_ACTIONS]);
  });

  it('empties and deletes its buckets with DESTROY', () => {
    const gone = synth({ removalPolicy: RemovalPolicy.DESTROY });
    expect(gone.json.Resources[DASHBOARD_SITE_LOGICAL_IDS.bucket].DeletionPolicy).toBe('Delete');
    expect(gone.json.Resources[DASHBOARD_SITE_LOGICAL_IDS.logBucket].DeletionPolicy).toBe('Delete');
    expect(Object.keys(gone.template.findResources('Custom::S3AutoDeleteObjects'))).toHaveLength(2);
  });
});
