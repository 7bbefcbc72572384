import { join } from 'node:path';
import { type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG } from './config.js';
import { PACKAGE_ROOT } from './handler-function.js';
import { nagArn } from './nag.js';
import { accessLogBucket, PRIVATE_BUCKET } from './private-bucket.js';
import { pinLogicalId } from './logical-id.js';

/** The page's runtime settings, deployed next to it as `config.json` (the local runtime serves the same shape). */
export interface DashboardPageConfig {
  auth: { region: string; userPoolId: string; clientId: string };
}

/**
 * Logical ids pinned by the construct itself: its cdk-nag acknowledgements name the site bucket by logical id, so the
 * id must be final before they are made. (The stack lists them in its LOGICAL_IDS.)
 */
export const DASHBOARD_SITE_LOGICAL_IDS = {
  bucket: 'DashboardBucket',
  logBucket: 'DashboardLogBucket',
  distribution: 'DashboardDistribution',
} as const;

/** Where the page is (the local runtime serves the same directory). */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, 'dashboard');

/** Paths invalidated on every deployment: the page (also as the default root object, `/`) and its config. */
export const DASHBOARD_INVALIDATION_PATHS = ['/', '/index.html', '/config.json'] as const;

/** The distribution behaviour that forwards to the dashboard API: the page calls it same-origin at `/v1/...`. */
export const DASHBOARD_API_PATH_PATTERN = '/v1/*';

/** Where the dashboard's logs go in its log bucket. */
export const DASHBOARD_LOG_PREFIXES = { cloudFront: 'cloudfront/', siteBucket: 'site-bucket/' } as const;

/**
 * The page's Content-Security-Policy. Nothing but its own origin (the page, `config.json` and the API behind `/v1/*`)
 * and Cognito's sign-in endpoint in `region`; inline script and style (the page is one file); no plugins, frames,
 * forms or base URI. Report downloads are presigned S3 links the browser navigates to, which CSP does not restrict.
 */
export function dashboardContentSecurityPolicy(region: string): string {
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline' 'self'",
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' https://cognito-idp.${region}.amazonaws.com`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Props of {@link DashboardSite}.
 * @example
 * new DashboardSite(this, 'Site', {
 *   api: dashboardApi.api,
 *   auth: { userPoolId: signIn.userPool.userPoolId, clientId: signIn.client.userPoolClientId },
 *   priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
 * });
 */
export interface DashboardSiteProps {
  /** The Cognito-authorized API (lib/dashboard-api.ts), served under `/v1/*`. */
  readonly api: RestApiBase;
  /** What the page signs in with. `region` defaults to the stack's. */
  readonly auth: { userPoolId: string; clientId: string; region?: string };
  /** @default PriceClass.PRICE_CLASS_100 */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * A custom domain and its ACM certificate (us-east-1); the distribution then refuses TLS below 1.2.
   * @default - the distribution's own name and the default CloudFront certificate
   */
  readonly customDomain?: { domainName: string; certificateArn: string };
  /** The directory deployed to the bucket (its `config.json`, if any, is replaced). @default DASHBOARD_DIR */
  readonly pageDirectory?: string;
  /** Days the CloudFront and S3 access logs are kept. @default 90 */
  readonly accessLogRetentionDays?: number;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /**
   * Applies to the buckets and the log group. With DESTROY the buckets are emptied on stack deletion.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The operator dashboard's front door: the page in a private, encrypted, TLS-only S3 bucket read by CloudFront through
 * origin access control; HTTPS only (HTTP is redirected for the page and refused for the API); security headers on
 * every answer (HSTS, nosniff, frame DENY, referrer policy, the CSP of {@link dashboardContentSecurityPolicy});
 * `/v1/*` forwarded uncached to the dashboard API with every viewer header but Host (the `Authorization` token reaches
 * the authorizer) and the query string; the page and a generated `config.json` deployed by a BucketDeployment (no
 * Docker), which invalidates them. CloudFront and the bucket log to a log bucket.
 */
export class DashboardSite extends Construct {
  readonly bucket: Bucket;
  readonly logBucket: Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  readonly deployment: BucketDeployment;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    // Server access logs are delivered under a bucket policy, as for the reports bucket (lib/reports.ts).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    const region = props.auth.region ?? stack.region;

    // CloudFront standard logging writes with an ACL (awslogsdelivery), so this bucket keeps ACLs enabled with the
    // bucket owner preferred; public access stays blocked.
    this.logBucket = accessLogBucket(this, 'LogBucket', {
      logsOf: 'the dashboard (CloudFront and the site bucket)',
      retentionDays: props.accessLogRetentionDays ?? 90,
      removalPolicy,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    });
    pinLogicalId(this.logBucket, DASHBOARD_SITE_LOGICAL_IDS.logBucket);

    this.bucket = new Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: DASHBOARD_LOG_PREFIXES.siteBucket,
      lifecycleRules: [{ id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    pinLogicalId(this.bucket, DASHBOARD_SITE_LOGICAL_IDS.bucket);

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'anomaly-guard dashboard: HSTS, nosniff, frame DENY, referrer policy, CSP',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.SAME_ORIGIN, override: true },
        contentSecurityPolicy: { contentSecurityPolicy: dashboardContentSecurityPolicy(region), override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          {
            header: 'Permissions-Policy',
            value: 'camera=(), microphone=(), geolocation=(), payment=()',
            override: true,
          },
        ],
      },
    });

    const custom = props.customDomain;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `anomaly-guard dashboard (${stack.stackName})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      additionalBehaviors: {
        [DASHBOARD_API_PATH_PATTERN]: {
          origin: new origins.RestApiOrigin(props.api),
          // A redirected POST would lose its body: the API answers HTTPS only.
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: this.responseHeadersPolicy,
        },
      },
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: DASHBOARD_LOG_PREFIXES.cloudFront,
      ...(custom && {
        domainNames: [custom.domainName],
        // Only with a certificate of our own: the default certificate's policy is CloudFront's.
        minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', custom.certificateArn),
      }),
    });
    pinLogicalId(this.distribution, DASHBOARD_SITE_LOGICAL_IDS.distribution);
    const distribution = this.distribution.node.defaultChild as CfnResource;
    Validations.of(distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'Operators sign in from wherever they are on call; access is limited by Cognito sign-in with MFA, not by ' +
        'country.',
    });
    Validations.of(distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'A CloudFront web ACL must live in us-east-1, outside this regional stack; the API behind /v1/* keeps its ' +
        'regional WAF (rate limit, body size, common rule set) and the page is static.',
    });
    if (!custom)
      Validations.of(distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain the distribution uses the default *.cloudfront.net certificate, whose minimum TLS ' +
          'version CloudFront fixes; dashboard.domainName and dashboard.certificateArn enforce TLS 1.2.',
      });

    this.deployment = this.deployPage(props, region, removalPolicy);
  }

  /** The page's URL: `https://<distribution domain>` (or the custom domain). */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * The page directory and `config.json`, copied by CDK's BucketDeployment custom resource, which then invalidates
   * {@link DASHBOARD_INVALIDATION_PATHS}. Its Lambda runs as a role of ours that BucketDeployment cannot widen (its
   * own grants are wildcard actions): it reads exactly the two asset objects, lists, writes and prunes the site bucket,
   * invalidates this distribution, and logs to its own log group; no AWS managed policy.
   */
  private deployPage(props: DashboardSiteProps, region: string, removalPolicy: RemovalPolicy): BucketDeployment {
    const stack = Stack.of(this);
    const logs = new LogGroup(this, 'DeploymentLogs', {
      retention: (props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays) as RetentionDays,
      removalPolicy,
    });
    const role = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'anomaly-guard dashboard: copies the page and config.json to the site bucket and invalidates them',
    });
    const page = new Asset(this, 'Page', {
      path: props.pageDirectory ?? DASHBOARD_DIR,
      exclude: ['config.json', '*.md', '.*'],
    });
    const config: DashboardPageConfig = {
      auth: { region, userPoolId: props.auth.userPoolId, clientId: props.auth.clientId },
    };
    const deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.bucket(page.bucket, page.s3ObjectKey), Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: [...DASHBOARD_INVALIDATION_PATHS],
      prune: true,
      role: role.withoutPolicyUpdates(),
      logGroup: logs,
      memoryLimit: 256,
    });

    // The page asset and the config.json asset BucketDeployment made (not the AWS CLI layer's, which Lambda reads).
    const assets = [
      page,
      ...deployment.node
        .findAll()
        .filter((c): c is Asset => c instanceof Asset && !c.node.path.includes('AwsCliLayer')),
    ];
    const distributionArn = stack.formatArn({
      service: 'cloudfront',
      region: '',
      resource: 'distribution',
      resourceName: this.distribution.distributionId,
    });
    const siteObjects = this.bucket.arnForObjects('*');
    const policy = new Policy(this, 'DeploymentPolicy', {
      statements: [
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: assets.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
        }),
        new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
        new PolicyStatement({ actions: ['s3:PutObject', 's3:DeleteObject'], resources: [siteObjects] }),
        new PolicyStatement({
          actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
          resources: [distributionArn],
        }),
        new PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logs.logGroupArn],
        }),
      ],
    });
    role.attachInlinePolicy(policy);
    // The copy runs once the role may read and write.
    deployment.node.addDependency(policy);
    Validations.of(policy.node.defaultChild as CfnResource).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(stack, siteObjects)}]`,
      reason:
        'The deployment syncs the page directory into the one site bucket and prunes what the directory no longer ' +
        "holds: the object keys are the directory's file names.",
    });
    const handler = stack.node.children.find(
      (c): c is LambdaFunction => c instanceof LambdaFunction && c.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (handler)
      Validations.of(handler.node.defaultChild as CfnResource).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          "CDK's BucketDeployment provider pins its own Python runtime (with the AWS CLI layer it needs); it runs " +
          'only during deployments, on the page asset.',
      });
    return deployment;
  }
}
