import { ArnFormat, type CfnResource, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Grant, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { z } from 'zod';
import { API_ROUTES, type ApiRoute, type RouteId } from '../lambdas/core/api/routes.js';
import { MAX_BODY_BYTES } from '../lambdas/core/api/schemas.js';
import { API_ENTRIES, API_ENV } from '../lambdas/handlers/api/environment.js';
import { REPORT_LINKS_ENV } from '../lambdas/handlers/report-environment.js';
import { type ApiConfig, DEFAULT_CONFIG } from './config.js';
import { HandlerFunction } from './handler-function.js';
import { nagArn } from './nag.js';
import { grantReadReports, REPORT_OBJECTS_ACK_REASON, reportObjectsNagName } from './reports.js';
import type { StateTable } from './state-table.js';
import type { MitigationTimings } from '../lambdas/core/ports/mitigation-starter.js';

/** The stage the API is deployed to: `https://<id>.execute-api.<region>.amazonaws.com/prod/v1/anomaly/...`. */
export const OPERATOR_API_STAGE = 'prod';

/**
 * Pinned logical ids of the route Lambdas. The local runtime walks the synthesized template's
 * methods → integration function logical id → route, so these must not move with construct ids.
 */
export const API_FUNCTION_LOGICAL_IDS: Readonly<Record<RouteId, string>> = {
  score: 'ApiScoreFunction',
  mitigate: 'ApiMitigateFunction',
  rollback: 'ApiRollbackFunction',
  report: 'ApiReportFunction',
  whitelist: 'ApiWhitelistFunction',
  timeline: 'ApiTimelineFunction',
  changes: 'ApiChangesFunction',
  feedback: 'ApiFeedbackFunction',
  approve: 'ApiApproveFunction',
};

/**
 * Sizing per route: reads and scoring are quick; mitigate/rollback call Step Functions (and Cedar, Lambda);
 * report/timeline query a range. All below the gateway's 29 s integration timeout.
 */
const ROUTE_FUNCTION: Readonly<Record<RouteId, { timeoutSeconds: number; description: string }>> = {
  score: { timeoutSeconds: 10, description: 'score signal values against the stored baselines (read-only)' },
  mitigate: { timeoutSeconds: 25, description: 'start or dry-run the mitigation workflow for an episode' },
  rollback: { timeoutSeconds: 25, description: 'roll back the actions applied under a rollback key' },
  report: { timeoutSeconds: 25, description: 'anomalies, actions, savings and report download links over a range' },
  whitelist: { timeoutSeconds: 10, description: 'store a campaign whitelist window for a tenant' },
  timeline: { timeoutSeconds: 25, description: "one tenant's signals, anomalies, changes and actions (dashboard)" },
  changes: {
    timeoutSeconds: 10,
    description: 'declare a change window for a tenant or every tenant (audited, idempotent by id)',
  },
  feedback: {
    timeoutSeconds: 10,
    description: 'store an operator verdict on an anomaly (appended, never overwritten)',
  },
  approve: {
    timeoutSeconds: 10,
    description: 'approve or deny the steps a mitigation waits on, and resume its execution',
  },
};
const API_FUNCTION_MEMORY_MB = 256;

/** Key reads and per-tenant queries; no writes, scans or table admin. */
export const API_TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
/**
 * The whitelist route writes only whitelist items (partition keys `wl#<tenant>`, see lambdas/adapters/change-store.ts).
 */
export const WHITELIST_LEADING_KEYS = ['wl#*'] as const;
/**
 * The rollback route writes only an episode's halt marker, kept in its own partition (`halt#rb-<hash>`)
 * so that it cannot write ledger entries (a forged `applied` would be "rolled back" by the mitigation
 * Lambda); it only reads the ledger (`ledger#rb-<hash>`, see lambdas/adapters/action-ledger.ts).
 */
export const LEDGER_HALT_LEADING_KEYS = ['halt#rb-*'] as const;
export const LEDGER_READ_LEADING_KEYS = ['ledger#rb-*'] as const;
/**
 * The changes route writes change items (`chg#<tenant>` and `chg#*`) and its idempotency markers
 * (`chgop#<id>`), and reads only the markers (see lambdas/adapters/change-store.ts).
 */
export const CHANGE_WRITE_LEADING_KEYS = ['chg#*', 'chgop#*'] as const;
export const CHANGE_MARKER_LEADING_KEYS = ['chgop#*'] as const;
/**
 * The feedback route appends verdicts to and queries only the feedback partitions (`fb#<tenant>#<signal>`,
 * see lambdas/adapters/feedback-store.ts), and reads one anomaly record by key (`anom#<day>`, see
 * lambdas/adapters/anomaly-store.ts): no anomaly, window or change is written.
 */
export const FEEDBACK_LEADING_KEYS = ['fb#*'] as const;
/**
 * The approve route reads and conditionally updates only approval requests (`approval#rb-<hash>`, see
 * lambdas/adapters/approval-store.ts): never the ledger, which the workflow writes from the stored answer.
 */
export const APPROVAL_LEADING_KEYS = ['approval#rb-*'] as const;
export const ANOMALY_READ_LEADING_KEYS = ['anom#*'] as const;

/**
 * Gateway-generated errors in the handlers' shape (lambdas/core/api/errors.ts):
 * `{"error":{"code","message","details"}}`.
 */
export const GATEWAY_ERRORS: readonly {
  type: apigw.ResponseType;
  statusCode?: string;
  code: string;
  validation?: boolean;
}[] = [
  { type: apigw.ResponseType.BAD_REQUEST_BODY, statusCode: '400', code: 'InvalidRequest', validation: true },
  { type: apigw.ResponseType.BAD_REQUEST_PARAMETERS, statusCode: '400', code: 'InvalidRequest', validation: true },
  { type: apigw.ResponseType.ACCESS_DENIED, statusCode: '403', code: 'AccessDenied' },
  // Also what API Gateway answers for a method or path that does not exist.
  { type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, statusCode: '403', code: 'MissingAuthenticationToken' },
  { type: apigw.ResponseType.INVALID_SIGNATURE, statusCode: '403', code: 'InvalidSignature' },
  { type: apigw.ResponseType.EXPIRED_TOKEN, statusCode: '403', code: 'ExpiredToken' },
  { type: apigw.ResponseType.WAF_FILTERED, statusCode: '403', code: 'RequestBlocked' },
  { type: apigw.ResponseType.RESOURCE_NOT_FOUND, statusCode: '404', code: 'NotFound' },
  { type: apigw.ResponseType.REQUEST_TOO_LARGE, statusCode: '413', code: 'PayloadTooLarge' },
  { type: apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, statusCode: '415', code: 'UnsupportedMediaType' },
  { type: apigw.ResponseType.THROTTLED, statusCode: '429', code: 'Throttled' },
  { type: apigw.ResponseType.QUOTA_EXCEEDED, statusCode: '429', code: 'QuotaExceeded' },
  { type: apigw.ResponseType.INTEGRATION_TIMEOUT, statusCode: '504', code: 'IntegrationTimeout' },
  // Without statusCode the gateway keeps the status it chose (any 4xx / 5xx).
  { type: apigw.ResponseType.DEFAULT_4XX, code: 'RequestRejected' },
  { type: apigw.ResponseType.DEFAULT_5XX, code: 'InternalError' },
];

/**
 * The gateway response body. Non-VTL substitution only: `$context.error.messageString` is already a
 * quoted JSON string; `$context.error.validationErrorString` is substituted with its quotes escaped
 * (e.g. `[object has missing required properties ([\"key\"])]`), so it goes inside quotes.
 */
export function gatewayErrorTemplate(code: string, validation = false): string {
  const message = validation ? '"$context.error.validationErrorString"' : '$context.error.messageString';
  const details = '{"responseType":"$context.error.responseType","requestId":"$context.requestId"}';
  return `{"error":{"code":"${code}","message":${message},"details":${details}}}`;
}

/**
 * One line per request in the access log group (JSON; every value a string so a missing one, `-`, stays valid JSON).
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  user: '$context.identity.user',
  userArn: '$context.identity.userArn',
  accountId: '$context.identity.accountId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  errorType: '$context.error.responseType',
  errorMessage: '$context.error.message',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  integrationLatency: '$context.integration.latency',
  wafResponseCode: '$context.wafResponseCode',
  xrayTraceId: '$context.xrayTraceId',
};

/**
 * Props of {@link OperatorApi}.
 * @example
 * const api = new OperatorApi(this, 'OperatorApi', {
 *   stateTable: state,
 *   stateMachine: mitigation.stateMachine,
 *   mitigationFunction: mitigation.handler.function,
 *   mitigationTimings: { observationSeconds: 900, finalCheckSeconds: 2700, rollbackIntervalSeconds: 300 },
 *   reportsBucket: reports.bucket,
 *   settings: { wafRateLimit: 500 },
 * });
 */
export interface OperatorApiProps {
  readonly stateTable: StateTable;
  /** The mitigation workflow: mitigate starts executions, rollback stops them. */
  readonly stateMachine: StateMachine;
  /** The workflow's task Lambda: rollback invokes it to undo actions (it holds the action targets' permissions). */
  readonly mitigationFunction: IFunction;
  /** Execution input timings for executions the API starts. */
  readonly mitigationTimings: MitigationTimings;
  /** The region label this deployment acts in (guardrails for dry runs). */
  readonly deploymentRegion?: string;
  /**
   * The reports bucket (lib/reports.ts): the report route lists `reports/` and presigns short-lived
   * download links. Its logical id must be final (pinned) before this construct is built.
   * @default no report links
   */
  readonly reportsBucket?: IBucket;
  /** Throttling, usage plan, WAF and logging role. @default DEFAULT_CONFIG.api */
  readonly settings?: Partial<Omit<ApiConfig, 'enabled'>>;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** Applies to the log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** What the mitigate route needs to plan a dry run as the workflow does (platformMinTenants, actionTargets). */
  readonly mitigationPlanning?: {
    platformMinTenants: number;
    actionTargets: Record<string, unknown>;
    stepApproval?: Readonly<Partial<Record<string, 'required' | 'auto'>>>;
  };
}

/**
 * The operator API (docs/architecture.md contract 2, seed 004 §H): a regional REST API, IAM (SigV4) authorization on
 * every method, one Lambda per route with least-privilege grants, request validation at the gateway
 * (JSON-schema models from the same zod schemas the handlers use), gateway errors in the handlers'
 * error shape, stage throttling and a usage plan, JSON access logs, execution logs (errors), X-Ray,
 * and a WAFv2 web ACL (per-IP rate limit, body size limit, AWS common rule set). The dashboard's
 * Cognito-authorized API (lib/dashboard-api.ts) fronts the same functions ({@link OperatorApi.routeFunctions})
 * with the same gateway pieces ({@link guardedRestApi}, {@link addRouteMethods}, {@link apiFirewall}).
 */
export class OperatorApi extends Construct {
  readonly api: apigw.RestApi;
  readonly handlers: Readonly<Record<RouteId, HandlerFunction>>;
  readonly accessLogs: LogGroup;
  readonly usagePlan: apigw.UsagePlan;
  readonly webAcl: wafv2.CfnWebACL;
  readonly wafLogs: LogGroup;
  /**
   * The account-level API Gateway logging setting (with `settings.cloudWatchRole`): other REST APIs' stages that log
   * must depend on it.
   */
  readonly accountLogging?: apigw.CfnAccount;

  constructor(scope: Construct, id: string, props: OperatorApiProps) {
    super(scope, id);
    const settings = { ...DEFAULT_CONFIG.api, ...props.settings };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = (props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays) as RetentionDays;
    const stack = Stack.of(this);

    const front = guardedRestApi(this, {
      restApiName: `${stack.stackName}-operator-api`,
      description:
        'anomaly-guard operator API: score, mitigate, rollback, report, whitelist, timeline, changes, feedback ' +
        '(IAM-signed)',
      settings,
      retention,
      removalPolicy,
    });
    this.accessLogs = front.accessLogs;
    this.api = front.api;
    if (settings.cloudWatchRole) this.accountLogging = this.setAccountLoggingRole();

    const handlers = {} as Record<RouteId, HandlerFunction>;
    for (const route of API_ROUTES) handlers[route.id] = this.routeFunction(route.id, props, retention, removalPolicy);
    addRouteMethods(
      this.api,
      front.requestValidator,
      this.functions(handlers),
      { authorizationType: apigw.AuthorizationType.IAM },
      (method) =>
        Validations.of(method.node.defaultChild as CfnResource).acknowledge({
          id: 'AwsSolutions-COG4',
          reason:
            'IAM (SigV4) authorization is the API contract (docs/architecture.md contract 2): operators are AWS ' +
            'principals granted execute-api:Invoke, not Cognito users.',
        }),
    );
    this.handlers = handlers;
    this.grantRoutes(props);

    // Usage plans meter and throttle per API key. With IAM auth and no API keys required (the contract),
    // requests carry no key, so this plan's throttle and quota do not apply to them: the stage throttle
    // above and the WAF rate rule are what limit callers. The plan is attached to the stage so that
    // operators who add API keys (apiKeyRequired) get per-client limits without another deployment.
    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      name: `${stack.stackName}-operator-api`,
      description: 'anomaly-guard operator API: per-client throttle and quota (applies to requests with an API key)',
      throttle: { rateLimit: settings.usagePlanRateLimit, burstLimit: settings.usagePlanBurstLimit },
      quota: { limit: settings.usagePlanQuotaLimit, period: apigw.Period[settings.usagePlanQuotaPeriod] },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });

    const { webAcl, logs } = apiFirewall(this, this.api, {
      rateLimit: settings.wafRateLimit,
      retention,
      removalPolicy,
      metricPrefix: 'OperatorApi',
      logGroupInfix: 'api',
      description: 'anomaly-guard operator API: per-IP rate limit, body size limit, AWS common rule set',
    });
    this.webAcl = webAcl;
    this.wafLogs = logs;
  }

  /** Each route's Lambda function. */
  get routeFunctions(): Readonly<Record<RouteId, IFunction>> {
    return this.functions(this.handlers);
  }

  private functions(handlers: Readonly<Record<RouteId, HandlerFunction>>): Record<RouteId, IFunction> {
    const functions = {} as Record<RouteId, IFunction>;
    for (const r of API_ROUTES) functions[r.id] = handlers[r.id].function;
    return functions;
  }

  /** The API URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod/`. */
  get url(): string {
    return this.api.url;
  }

  private routeFunction(
    id: RouteId,
    props: OperatorApiProps,
    logRetentionDays: number,
    removalPolicy: RemovalPolicy,
  ): HandlerFunction {
    const environment: Record<string, string> = { [API_ENV.stateTable]: props.stateTable.table.tableName };
    if (id === 'mitigate') {
      environment[API_ENV.stateMachineArn] = props.stateMachine.stateMachineArn;
      environment[API_ENV.mitigationTimings] = JSON.stringify(props.mitigationTimings);
      if (props.deploymentRegion) environment[API_ENV.deploymentRegion] = props.deploymentRegion;
      if (props.mitigationPlanning) environment[API_ENV.mitigationPlanning] = JSON.stringify(props.mitigationPlanning);
    }
    if (id === 'rollback') {
      environment[API_ENV.stateMachineArn] = props.stateMachine.stateMachineArn;
      environment[API_ENV.mitigationFunction] = props.mitigationFunction.functionName;
    }
    if (id === 'report' && props.reportsBucket)
      environment[REPORT_LINKS_ENV.reportsBucket] = props.reportsBucket.bucketName;
    return new HandlerFunction(this, `${pascal(id)}Handler`, {
      entry: API_ENTRIES[id],
      description: `anomaly-guard API: ${ROUTE_FUNCTION[id].description}`,
      memorySizeMb: API_FUNCTION_MEMORY_MB,
      timeoutSeconds: ROUTE_FUNCTION[id].timeoutSeconds,
      logRetentionDays,
      removalPolicy,
      environment,
      // The dry run evaluates the Cedar guardrails in-process; the evaluator loads its WebAssembly next to the bundle.
      ...(id === 'mitigate' && { copyFiles: ['node_modules/@cedar-policy/cedar-wasm/nodejs/cedar_wasm_bg.wasm'] }),
    });
  }

  /** Least privilege per route: exactly the actions each handler calls, on exactly its resources. */
  private grantRoutes(props: OperatorApiProps): void {
    const tableArn = props.stateTable.table.tableArn;
    const stack = Stack.of(this);
    // Execution ARNs are `execution:<state machine name>:<execution name>`; names are chosen per episode at start.
    const executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionsReason =
      'states:DescribeExecution/StopExecution act on execution ARNs, whose names are chosen per episode at start ' +
      'time; the wildcard covers only executions of the one mitigation state machine.';
    const allow = (id: RouteId, actions: string[], resourceArns: string[]) =>
      Grant.addToPrincipal({ grantee: this.handlers[id].role, actions, resourceArns });

    for (const id of ['score', 'mitigate', 'report', 'timeline'] as const)
      allow(id, [...API_TABLE_READ_ACTIONS], [tableArn]);
    this.handlers.rollback.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...LEDGER_READ_LEADING_KEYS] } },
      }),
    );
    const putOnly = (id: RouteId, leadingKeys: readonly string[]) =>
      this.handlers[id].role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:PutItem'],
          resources: [tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...leadingKeys] } },
        }),
      );
    putOnly('whitelist', WHITELIST_LEADING_KEYS);
    putOnly('changes', CHANGE_WRITE_LEADING_KEYS);
    this.handlers.changes.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...CHANGE_MARKER_LEADING_KEYS] } },
      }),
    );
    putOnly('rollback', LEDGER_HALT_LEADING_KEYS);
    this.handlers.feedback.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:Query'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...FEEDBACK_LEADING_KEYS] } },
      }),
    );
    this.handlers.feedback.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...ANOMALY_READ_LEADING_KEYS] } },
      }),
    );
    this.handlers.approve.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...APPROVAL_LEADING_KEYS] } },
      }),
    );
    // SendTaskSuccess on the one state machine (its task tokens); no SendTaskFailure: a denial resumes it too.
    allow('approve', ['states:SendTaskSuccess'], [props.stateMachine.stateMachineArn]);
    allow('mitigate', ['states:StartExecution'], [props.stateMachine.stateMachineArn]);
    allow('mitigate', ['states:DescribeExecution'], [executionsArn]);
    allow('rollback', ['states:DescribeExecution', 'states:StopExecution'], [executionsArn]);
    // The unqualified function ARN only: no versions or aliases (`:*`).
    allow('rollback', ['lambda:InvokeFunction'], [props.mitigationFunction.functionArn]);
    // Lists the range's reports and presigns GetObject links (the links carry this role's permission).
    if (props.reportsBucket) grantReadReports(this.handlers.report.role, props.reportsBucket);

    for (const id of Object.keys(this.handlers) as RouteId[]) {
      const handler = this.handlers[id];
      handler.acknowledgeXRayWildcard();
      if (id === 'mitigate' || id === 'rollback') {
        const policy = handler.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagArn(stack, executionsArn)}]`,
          reason: executionsReason,
        });
      }
      if (id === 'report' && props.reportsBucket) {
        const policy = handler.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${reportObjectsNagName(props.reportsBucket)}]`,
          reason: REPORT_OBJECTS_ACK_REASON,
        });
      }
    }
  }

  /**
   * API Gateway writes access and execution logs with the one CloudWatch Logs role set in the account's
   * API Gateway settings (per region, shared by every REST API there). CDK's `cloudWatchRole: true`
   * would attach the AWS managed AmazonAPIGatewayPushToCloudWatchLogs policy (every log group, every
   * region); this role gets the same write actions on this account's log groups in this region only.
   * Retained on stack deletion: other APIs in the account may rely on the setting.
   */
  private setAccountLoggingRole(): apigw.CfnAccount {
    const stack = Stack.of(this);
    const logGroups = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const role = new Role(this, 'AccountLoggingRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway account setting: writes access and execution logs of REST APIs in this region',
      inlinePolicies: {
        logs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              actions: [
                'logs:CreateLogGroup',
                'logs:CreateLogStream',
                'logs:DescribeLogGroups',
                'logs:DescribeLogStreams',
                'logs:PutLogEvents',
              ],
              resources: [logGroups],
            }),
          ],
        }),
      },
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(role.node.defaultChild as CfnResource).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(stack, logGroups)}]`,
      reason:
        "API Gateway's account-level logging role is shared by every REST API in this account and region, which " +
        'log to API-Gateway-Execution-Logs_<api>/<stage> and to any access log group they name; scoped to this ' +
        'account and region (the AWS managed policy allows every region).',
    });
    const account = new apigw.CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    // Stage logging settings are rejected until the account has a logging role.
    this.api.deploymentStage.node.addDependency(account);
    return account;
  }
}

/** What {@link guardedRestApi} builds a REST API with. */
export interface GuardedRestApiOptions {
  readonly restApiName: string;
  readonly description: string;
  /** Stage throttling. */
  readonly settings: Pick<ApiConfig, 'throttlingRateLimit' | 'throttlingBurstLimit'>;
  readonly retention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Access log line fields. @default ACCESS_LOG_FIELDS */
  readonly accessLogFields?: Readonly<Record<string, string>>;
  /** Gateway errors besides {@link GATEWAY_ERRORS} (e.g. the Cognito authorizer's 401). @default none */
  readonly extraGatewayErrors?: typeof GATEWAY_ERRORS;
}

/**
 * What both operator APIs (IAM-signed, and the dashboard's Cognito-authorized one) share: a regional REST API on the
 * `prod` stage with stage throttling, X-Ray, metrics, error-level execution logs without bodies and JSON access logs
 * (log group `AccessLogs` in `scope`), gateway errors in the handlers' error shape, and one request validator.
 * No account-level logging role (see OperatorApi) and no `Endpoint` output.
 */
export function guardedRestApi(
  scope: Construct,
  opts: GuardedRestApiOptions,
): { api: apigw.RestApi; accessLogs: LogGroup; requestValidator: apigw.RequestValidator } {
  const accessLogs = new LogGroup(scope, 'AccessLogs', {
    retention: opts.retention,
    removalPolicy: opts.removalPolicy,
  });
  const api = new apigw.RestApi(scope, 'Api', {
    restApiName: opts.restApiName,
    description: opts.description,
    endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
    // The account-level logging role is managed by OperatorApi (own least-privilege role, or none).
    cloudWatchRole: false,
    deployOptions: {
      stageName: OPERATOR_API_STAGE,
      throttlingRateLimit: opts.settings.throttlingRateLimit,
      throttlingBurstLimit: opts.settings.throttlingBurstLimit,
      tracingEnabled: true,
      metricsEnabled: true,
      // Execution logs for errors only; request/response bodies (dataTrace) never reach the logs.
      loggingLevel: apigw.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
      accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(opts.accessLogFields ?? ACCESS_LOG_FIELDS)),
    },
  });
  // RestApi adds an `Endpoint` output with a hashed id; the stack publishes the URL under a stable one.
  api.node.tryRemoveChild('Endpoint');

  for (const e of [...GATEWAY_ERRORS, ...(opts.extraGatewayErrors ?? [])]) {
    api.addGatewayResponse(`Gateway${pascal(e.type.responseType)}`, {
      type: e.type,
      ...(e.statusCode && { statusCode: e.statusCode }),
      responseHeaders: { 'Content-Type': "'application/json'" },
      templates: { 'application/json': gatewayErrorTemplate(e.code, e.validation) },
    });
  }

  // One validator for every method: body routes declare a model and no required parameters, query
  // routes declare parameters and no model, so each is checked for what it has.
  const requestValidator = api.addRequestValidator('RequestValidator', {
    validateRequestBody: true,
    validateRequestParameters: true,
  });
  return { api, accessLogs, requestValidator };
}

/**
 * One method per route of API_ROUTES (lambdas/core/api/routes.ts), each a Lambda proxy integration of the route's
 * function, validated at the gateway (JSON-schema models from the handlers' zod schemas, required query parameters),
 * authorized as `auth` says. `onMethod` sees each method (for cdk-nag acknowledgements).
 */
export function addRouteMethods(
  api: apigw.RestApi,
  requestValidator: apigw.IRequestValidator,
  functions: Readonly<Record<RouteId, IFunction>>,
  auth: Pick<apigw.MethodOptions, 'authorizationType' | 'authorizer'>,
  onMethod?: (method: apigw.Method, route: ApiRoute) => void,
): apigw.Method[] {
  return API_ROUTES.map((route) => {
    const resource = api.root.resourceForPath(route.path);
    const integration = new apigw.LambdaIntegration(functions[route.id], { proxy: true, allowTestInvoke: false });
    const method = resource.addMethod(route.method, integration, {
      ...auth,
      operationName: route.id,
      requestValidator,
      ...(route.input.in === 'body'
        ? { requestModels: { 'application/json': requestModel(api, route) } }
        : { requestParameters: queryParameters(route) }),
    });
    onMethod?.(method, route);
    return method;
  });
}

function requestModel(api: apigw.RestApi, route: ApiRoute): apigw.IModel {
  const name = `${pascal(route.id)}Request`;
  return api.addModel(name, {
    modelName: name,
    contentType: 'application/json',
    description: `${route.method} ${route.path} request body`,
    schema: gatewayModelSchema(route.input.schema) as apigw.JsonSchema,
  });
}

/** What {@link apiFirewall} protects a stage with. */
export interface ApiFirewallOptions {
  /** Requests one client may send in any 5 minutes before it is blocked. */
  readonly rateLimit: number;
  readonly retention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** CloudWatch metric names are `<stack>-<metricPrefix>-<rule>`. */
  readonly metricPrefix: string;
  /** The WAF log group is `aws-waf-logs-<stack>-<logGroupInfix>-<stack uuid>`. */
  readonly logGroupInfix: string;
  readonly description: string;
  /**
   * `IP`: the connection's source address. `FORWARDED_IP`: the first address of `X-Forwarded-For`, for a stage behind
   * CloudFront (whose edge addresses are the source addresses); without the header the rate rule counts the request.
   * @default 'IP'
   */
  readonly rateKey?: 'IP' | 'FORWARDED_IP';
}

/**
 * WAFv2 web ACL on the API's stage (constructs `WebAcl`, `WebAclAssociation`, `WafLogs`, `WafLogging` in `scope`): a
 * per-client rate limit over 5 minutes, a body size limit, and the AWS common rule set. Blocked and counted requests
 * are logged (Authorization header redacted).
 */
export function apiFirewall(
  scope: Construct,
  api: apigw.RestApi,
  opts: ApiFirewallOptions,
): { webAcl: wafv2.CfnWebACL; logs: LogGroup } {
  const stack = Stack.of(scope);
  const { rateLimit } = opts;
  const metric = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
    cloudWatchMetricsEnabled: true,
    sampledRequestsEnabled: true,
    metricName: `${stack.stackName}-${opts.metricPrefix}-${name}`,
  });
  const errorBody = (code: string, message: string) => JSON.stringify({ error: { code, message, details: {} } });
  const rateBasedStatement: wafv2.CfnWebACL.RateBasedStatementProperty =
    opts.rateKey === 'FORWARDED_IP'
      ? {
          limit: rateLimit,
          aggregateKeyType: 'FORWARDED_IP',
          forwardedIpConfig: { headerName: 'X-Forwarded-For', fallbackBehavior: 'MATCH' },
          evaluationWindowSec: 300,
        }
      : { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 };
  const webAcl = new wafv2.CfnWebACL(scope, 'WebAcl', {
    scope: 'REGIONAL',
    description: opts.description,
    defaultAction: { allow: {} },
    visibilityConfig: metric('WebAcl'),
    // WAF inspects the first 8 KB of an API Gateway body by default; a 100-signal score request is
    // ~15 KB. Inspect up to the handlers' limit (64 KB): bodies beyond it are "oversize" and the size
    // rule below MATCHes them. Inspection beyond 16 KB is billed per extra 16 KB, only for such bodies.
    associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } } },
    customResponseBodies: {
      RateLimited: {
        contentType: 'APPLICATION_JSON',
        content: errorBody(
          'Throttled',
          `Too many requests from this address (more than ${rateLimit} in 5 minutes); slow down and retry`,
        ),
      },
      BodyTooLarge: {
        contentType: 'APPLICATION_JSON',
        content: errorBody('PayloadTooLarge', `The request body is larger than ${MAX_BODY_BYTES} bytes`),
      },
    },
    rules: [
      {
        name: 'RateLimitPerIp',
        priority: 0,
        action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'RateLimited' } } },
        statement: { rateBasedStatement },
        visibilityConfig: metric('RateLimitPerIp'),
      },
      {
        name: 'BodySizeLimit',
        priority: 1,
        action: { block: { customResponse: { responseCode: 413, customResponseBodyKey: 'BodyTooLarge' } } },
        statement: {
          sizeConstraintStatement: {
            fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
            comparisonOperator: 'GT',
            size: MAX_BODY_BYTES,
            textTransformations: [{ priority: 0, type: 'NONE' }],
          },
        },
        visibilityConfig: metric('BodySizeLimit'),
      },
      {
        name: 'AWSManagedRulesCommonRuleSet',
        priority: 2,
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name: 'AWSManagedRulesCommonRuleSet',
            // Its 8 KB body limit would block valid score requests; BodySizeLimit enforces 64 KB instead.
            ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
          },
        },
        visibilityConfig: metric('CommonRuleSet'),
      },
    ],
  });
  new wafv2.CfnWebACLAssociation(scope, 'WebAclAssociation', {
    resourceArn: api.deploymentStage.stageArn,
    webAclArn: webAcl.attrArn,
  });

  // WAF requires the `aws-waf-logs-` prefix; the stack id's UUID keeps the name unique when a
  // retained group from a deleted stack still exists.
  const logs = new LogGroup(scope, 'WafLogs', {
    logGroupName: `aws-waf-logs-${stack.stackName}-${opts.logGroupInfix}-${Fn.select(2, Fn.split('/', stack.stackId))}`,
    retention: opts.retention,
    removalPolicy: opts.removalPolicy,
  });
  new wafv2.CfnLoggingConfiguration(scope, 'WafLogging', {
    resourceArn: webAcl.attrArn,
    // WAF wants the log group ARN without the trailing `:*` that LogGroup.logGroupArn carries.
    logDestinationConfigs: [
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: logs.logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ],
    redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    // Only what a rule blocked or counted: allowed traffic is already in the access log.
    loggingFilter: {
      DefaultBehavior: 'DROP',
      Filters: [
        {
          Behavior: 'KEEP',
          Requirement: 'MEETS_ANY',
          Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
        },
      ],
    },
  });
  return { webAcl, logs };
}

/** A route's input schema as an API Gateway model: JSON Schema draft 4 from the handlers' zod schema. */
export function gatewayModelSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-4', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** `method.request.querystring.<name>` → required, from the route's query schema. */
export function queryParameters(route: ApiRoute): Record<string, boolean> {
  const json = gatewayModelSchema(route.input.schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.fromEntries(
    Object.keys(json.properties ?? {}).map((name) => [
      `method.request.querystring.${name}`,
      (json.required ?? []).includes(name),
    ]),
  );
}

function pascal(id: string): string {
  return id
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
