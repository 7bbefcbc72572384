import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { IUserPool } from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct, type IDependable } from 'constructs';
import type { RouteId } from '../lambdas/core/api/routes.js';
import { type ApiConfig, DEFAULT_CONFIG } from './config.js';
import {
  ACCESS_LOG_FIELDS,
  addRouteMethods,
  apiFirewall,
  type GATEWAY_ERRORS,
  guardedRestApi,
} from './operator-api.js';

/** The Cognito authorizer's own answer (no or a bad token), in the handlers' error shape. */
export const DASHBOARD_GATEWAY_ERRORS: typeof GATEWAY_ERRORS = [
  { type: apigw.ResponseType.UNAUTHORIZED, statusCode: '401', code: 'Unauthorized' },
];

/** The access log line of the dashboard API: the IAM API's fields and the signed-in user's `sub`. */
export const DASHBOARD_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  ...ACCESS_LOG_FIELDS,
  userSub: '$context.authorizer.claims.sub',
};

/**
 * Props of {@link DashboardApi}.
 * @example
 * const dashboardApi = new DashboardApi(this, 'DashboardApi', {
 *   functions: operatorApi.routeFunctions,
 *   userPool: signIn.userPool,
 *   accountLogging: operatorApi.accountLogging,
 * });
 */
export interface DashboardApiProps {
  /** The operator API's route functions (lib/operator-api.ts): the same Lambdas serve both APIs. */
  readonly functions: Readonly<Record<RouteId, IFunction>>;
  /** Whose ID tokens the authorizer accepts. */
  readonly userPool: IUserPool;
  /** Stage throttling and the WAF rate limit. @default DEFAULT_CONFIG.api */
  readonly settings?: Partial<Pick<ApiConfig, 'throttlingRateLimit' | 'throttlingBurstLimit' | 'wafRateLimit'>>;
  /** The account-level API Gateway logging setting the stage's logs need (OperatorApi.accountLogging). @default none */
  readonly accountLogging?: IDependable;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** Applies to the log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The operator API for the dashboard's signed-in users: the same routes and the same Lambdas as the IAM-signed
 * OperatorApi, each method authorized by a Cognito user pools authorizer reading the ID token from the `Authorization`
 * header; the roles (`viewer` reads, `operator` may also act) are enforced by the handlers from the token's
 * `cognito:groups` (lambdas/handlers/api/http.ts). Request validation, gateway errors, stage throttling, access and
 * execution logs, X-Ray and the WAF rules are the IAM API's; the WAF rate limit counts the client address CloudFront
 * forwards (`X-Forwarded-For`), since the dashboard calls it through its distribution.
 */
export class DashboardApi extends Construct {
  readonly api: apigw.RestApi;
  readonly authorizer: apigw.CognitoUserPoolsAuthorizer;
  readonly methods: readonly apigw.Method[];
  readonly accessLogs: LogGroup;
  readonly webAcl: wafv2.CfnWebACL;
  readonly wafLogs: LogGroup;

  constructor(scope: Construct, id: string, props: DashboardApiProps) {
    super(scope, id);
    const settings = { ...DEFAULT_CONFIG.api, ...props.settings };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = (props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays) as RetentionDays;
    const stack = Stack.of(this);

    const front = guardedRestApi(this, {
      restApiName: `${stack.stackName}-dashboard-api`,
      description:
        'anomaly-guard operator API for the dashboard: the same routes as the IAM-signed API, for signed-in users ' +
        '(Cognito ID token; viewer and operator roles)',
      settings,
      retention,
      removalPolicy,
      accessLogFields: DASHBOARD_ACCESS_LOG_FIELDS,
      extraGatewayErrors: DASHBOARD_GATEWAY_ERRORS,
    });
    this.api = front.api;
    this.accessLogs = front.accessLogs;
    if (props.accountLogging) this.api.deploymentStage.node.addDependency(props.accountLogging);

    this.authorizer = new apigw.CognitoUserPoolsAuthorizer(this, 'Authorizer', {
      cognitoUserPools: [props.userPool],
      identitySource: apigw.IdentitySource.header('Authorization'),
      authorizerName: 'dashboard-users',
    });
    this.methods = addRouteMethods(this.api, front.requestValidator, props.functions, {
      authorizationType: apigw.AuthorizationType.COGNITO,
      authorizer: this.authorizer,
    });

    const { webAcl, logs } = apiFirewall(this, this.api, {
      rateLimit: settings.wafRateLimit,
      retention,
      removalPolicy,
      metricPrefix: 'DashboardApi',
      logGroupInfix: 'dashboard-api',
      description: 'anomaly-guard dashboard API: per-client rate limit, body size limit, AWS common rule set',
      rateKey: 'FORWARDED_IP',
    });
    this.webAcl = webAcl;
    this.wafLogs = logs;
  }
}
