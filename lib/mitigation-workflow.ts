import { type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Construct } from 'constructs';
import type { AlertTopic } from './alert-topic.js';
import { parseActionTargetsConfig, type ActionTargetsConfig } from '../lambdas/adapters/targets/index.js';
import { MITIGATION_ENV } from '../lambdas/handlers/mitigation-environment.js';
import { HandlerFunction } from './handler-function.js';
import type { StateTable } from './state-table.js';

/** Names of the states the local runtime maps to the task handler (and tests refer to). */
export const MITIGATION_STATES = {
  plan: 'Plan',
  apply: 'Apply',
  awaitApproval: 'Await approval',
  applyApproved: 'Apply approved steps',
  approvalExpired: 'Approval expired',
  check: 'Check regression',
  rollbackOne: 'Roll back one step',
  rollbackAll: 'Roll back everything',
  notifyBlocked: 'Notify blocked',
  notifyRecovered: 'Notify recovered',
  notifyHandedOff: 'Notify hand-off',
  notifyFailed: 'Notify failed',
} as const;

/**
 * Props of {@link MitigationWorkflow}.
 * @example
 * const mitigation = new MitigationWorkflow(this, 'Mitigation', {
 *   stateTable: state,
 *   alertTopic: alerts,
 *   actionTargets: { cloudFront: { distributionIds: ['E2QWRUHAPOMQZL'] } },
 *   deploymentRegion: 'kr',
 * });
 */
export interface MitigationWorkflowProps {
  readonly stateTable: StateTable;
  readonly alertTopic: AlertTopic;
  /**
   * The region label this deployment acts in, in the producers' `region` vocabulary; actions elsewhere are
   * cross-region.
   */
  readonly deploymentRegion?: string;
  /**
   * Which action targets are enabled (see lambdas/adapters/targets); steps for others go to the flag table unless
   * `unconfiguredTargets` says 'error'.
   */
  readonly actionTargets?: Record<string, unknown>;
  /** The smallest incident, in tenants, a platform-wide or irreversible step answers automatically. @default 3 */
  readonly platformMinTenants?: number;
  /** Per playbook step id, whether it waits for an operator's approval, over the playbook's setting. @default {} */
  readonly stepApproval?: Readonly<Partial<Record<string, 'required' | 'auto'>>>;
  /** @default 30 */
  readonly logRetentionDays?: number;
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Where asynchronous invocations of the task Lambda (operator rollbacks from the API) land after their retries fail.
   */
  readonly asyncFailureQueue?: IQueue;
}

/**
 * The mitigation playbook runner (seed 004 §C, §I), a Standard state machine: policy check and plan →
 * apply the soft stage → observe (seconds from the execution input) → regression check → recovered:
 * staged rollback, one step per interval, newest first; not recovered: the hard stage where policy
 * allows, else hand off to on-call; any failed step: roll back everything applied, then notify.
 */
export class MitigationWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: MitigationWorkflowProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetentionDays = props.logRetentionDays ?? 30;
    this.handler = new HandlerFunction(this, 'Steps', {
      entry: 'lambdas/handlers/mitigation-workflow.ts',
      description: 'anomaly-guard: mitigation workflow steps (plan, apply, regression check, rollback, notify)',
      memorySizeMb: 512,
      timeoutSeconds: 120,
      logRetentionDays,
      removalPolicy,
      environment: {
        [MITIGATION_ENV.stateTable]: props.stateTable.table.tableName,
        [MITIGATION_ENV.alertTopicArn]: props.alertTopic.topic.topicArn,
        [MITIGATION_ENV.eventBusName]: 'default',
        [MITIGATION_ENV.actionTargets]: JSON.stringify({ unconfiguredTargets: 'flag-table', ...props.actionTargets }),
        ...(props.deploymentRegion && { [MITIGATION_ENV.deploymentRegion]: props.deploymentRegion }),
        [MITIGATION_ENV.platformMinTenants]: String(props.platformMinTenants ?? 3),
        [MITIGATION_ENV.stepApproval]: JSON.stringify(props.stepApproval ?? {}),
      },
      // The Cedar evaluator loads its WebAssembly module from next to the bundle.
      copyFiles: ['node_modules/@cedar-policy/cedar-wasm/nodejs/cedar_wasm_bg.wasm'],
    });
    props.stateTable.grantItemAccess(this.handler.role);
    props.alertTopic.grantPublish(this.handler.role);
    Grant.addToPrincipal({
      grantee: this.handler.role,
      actions: ['events:PutEvents'],
      resourceArns: [Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
    });
    const targetWildcards = grantActionTargets(
      this.handler.role,
      parseActionTargetsConfig(props.actionTargets ?? {}),
      Stack.of(this),
    );
    this.handler.acknowledgeXRayWildcard();
    const stepsPolicy = this.handler.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    for (const w of targetWildcards)
      Validations.of(stepsPolicy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${w.resource}]`, reason: w.reason });

    const fn = this.handler.function;
    if (props.asyncFailureQueue)
      fn.configureAsyncInvoke({
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        onFailure: new SqsDestination(props.asyncFailureQueue),
      });
    const task = (name: string, op: string, extra: Record<string, unknown> = {}) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject({ op, 'state.$': '$', ...extra }),
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      });

    const plan = task(MITIGATION_STATES.plan, 'plan');
    const apply = task(MITIGATION_STATES.apply, 'apply');
    // Steps that wait for a person: the task stores the token and pages; the approve route resumes the execution
    // (SendTaskSuccess). With no answer in $.input.approvalTimeoutSeconds the task times out: nothing is applied.
    const awaitApproval = new LambdaInvoke(this, MITIGATION_STATES.awaitApproval, {
      lambdaFunction: fn,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ op: 'request-approval', 'state.$': '$', taskToken: sfn.JsonPath.taskToken }),
      resultPath: '$.approval',
      taskTimeout: sfn.Timeout.at('$.input.approvalTimeoutSeconds'),
      retryOnServiceExceptions: true,
    });
    const applyApproved = task(MITIGATION_STATES.applyApproved, 'apply-approved');
    const approvalExpired = task(MITIGATION_STATES.approvalExpired, 'approval-expired');
    const check = task(MITIGATION_STATES.check, 'check');
    const rollbackOne = task(MITIGATION_STATES.rollbackOne, 'rollback-one');
    const rollbackAll = task(MITIGATION_STATES.rollbackAll, 'rollback-all');
    const notify = (name: string, outcome: string) => task(name, 'notify', { outcome });

    const failed = new sfn.Fail(this, 'Failed', {
      error: 'MitigationFailed',
      cause: 'a step failed; everything applied was rolled back',
    });
    const rollbackFailed = new sfn.Fail(this, 'Rollback failed', {
      error: 'RollbackFailed',
      cause: 'rolling back failed: check the action ledger and roll back by key',
    });
    const notifyFailed = notify(MITIGATION_STATES.notifyFailed, 'failed');
    const onFailure = rollbackAll.next(notifyFailed).next(failed);
    const catchAll = { resultPath: '$.error', errors: ['States.ALL'] };
    rollbackAll.addCatch(rollbackFailed, catchAll);

    const observe = new sfn.Wait(this, 'Observe', { time: sfn.WaitTime.secondsPath('$.input.observationSeconds') });
    const observeMore = new sfn.Wait(this, 'Observe until the final check', {
      time: sfn.WaitTime.secondsPath('$.input.finalCheckSeconds'),
    });
    const betweenRollbacks = new sfn.Wait(this, 'Wait between rollback steps', {
      time: sfn.WaitTime.secondsPath('$.input.rollbackIntervalSeconds'),
    });

    // A notification that cannot be sent ends the execution as failed, with the actions as they are.
    const notificationFailed = new sfn.Fail(this, 'Notification failed', {
      error: 'NotificationFailed',
      cause: 'the outcome could not be published; the actions are as the ledger says',
    });
    const notifiers: LambdaInvoke[] = [];
    const notifyOutcome = (name: string, outcome: string) => {
      const n = notify(name, outcome);
      notifiers.push(n);
      return n;
    };
    const recovered = notifyOutcome(MITIGATION_STATES.notifyRecovered, 'recovered').next(
      new sfn.Succeed(this, 'Recovered'),
    );
    const rollbackLoop = rollbackOne.next(
      new sfn.Choice(this, 'More to roll back?')
        .when(sfn.Condition.numberGreaterThan('$.remainingCount', 0), betweenRollbacks.next(rollbackOne))
        .otherwise(recovered),
    );
    const handOff = notifyOutcome(MITIGATION_STATES.notifyHandedOff, 'handed-off').next(
      new sfn.Succeed(this, 'Handed off'),
    );
    // The kill switch turned on mid-stage (MitigationPaused in lambdas/usecases/mitigation-steps.ts): hand off with the
    // actions in place (runbook §6). Added before the catch-all: Step Functions tries catchers in order.
    apply.addCatch(handOff, { resultPath: '$.error', errors: ['MitigationPaused'] });
    applyApproved.addCatch(handOff, { resultPath: '$.error', errors: ['MitigationPaused'] });
    awaitApproval.addCatch(approvalExpired, { resultPath: '$.error', errors: ['States.Timeout'] });
    // Every task has a Catch: a failure anywhere rolls back whatever the ledger says is applied (or was about to be).
    for (const t of [plan, apply, awaitApproval, applyApproved, approvalExpired, check, rollbackOne])
      t.addCatch(onFailure, catchAll);
    const afterCheck = new sfn.Choice(this, 'Recovered?')
      .when(sfn.Condition.stringEquals('$.transition', 'rollback'), rollbackLoop)
      .when(sfn.Condition.stringEquals('$.transition', 'escalate'), apply)
      .when(sfn.Condition.stringEquals('$.transition', 'observe'), observeMore.next(check))
      .otherwise(handOff);
    observe.next(check).next(afterCheck);
    const afterApproval = new sfn.Choice(this, 'Anything to observe?')
      .when(sfn.Condition.stringEquals('$.transition', 'hand-off'), handOff)
      .otherwise(observe);
    applyApproved.next(afterApproval);
    approvalExpired.next(afterApproval);
    apply.next(
      new sfn.Choice(this, 'Approval needed?')
        .when(sfn.Condition.numberGreaterThan('$.awaitingApprovalCount', 0), awaitApproval.next(applyApproved))
        .otherwise(observe),
    );

    const definition = plan.next(
      new sfn.Choice(this, 'Allowed?')
        .when(sfn.Condition.booleanEquals('$.plan.allowed', true), apply)
        .otherwise(notifyOutcome(MITIGATION_STATES.notifyBlocked, 'blocked').next(new sfn.Succeed(this, 'Blocked'))),
    );
    for (const n of [...notifiers, notifyFailed]) n.addCatch(notificationFailed, catchAll);

    const logGroup = new LogGroup(this, 'ExecutionLogs', {
      retention: logRetentionDays as RetentionDays,
      removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    const machinePolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as
      | CfnResource
      | undefined;
    if (machinePolicy) {
      Validations.of(machinePolicy).acknowledge(
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Step Functions execution logging uses CloudWatch Logs vended log delivery (logs:*LogDelivery, ' +
            'DescribeLogGroups/ResourcePolicies, PutResourcePolicy) and X-Ray, whose APIs support no ' +
            'resource-level permissions.',
        },
        {
          id: 'AwsSolutions-IAM5[Resource::<MitigationStepsFunction.Arn>:*]',
          reason:
            'lambda:InvokeFunction on the one task function and its versions (CDK grants the :* qualifier so a ' +
            'published version can be invoked); no other function.',
        },
      );
    }
  }
}

/**
 * Least privilege for each enabled action target: exactly the configured resources, nothing else.
 * Returns the few wildcard resources AWS leaves no alternative to, with the reason, for cdk-nag.
 */
function grantActionTargets(
  grantee: IGrantable,
  targets: ActionTargetsConfig,
  stack: Stack,
): { resource: string; reason: string }[] {
  const wildcards: { resource: string; reason: string }[] = [];
  // cdk-nag names resources with pseudo parameters as <AWS::Partition> etc.
  const nagName = (arnText: string) =>
    arnText
      .replace(`arn:${stack.partition}:`, 'arn:<AWS::Partition>:')
      .replace(`:${stack.region}:`, ':<AWS::Region>:')
      .replace(`:${stack.account}:`, ':<AWS::AccountId>:');
  const allow = (actions: string[], resourceArns: string[]) => Grant.addToPrincipal({ grantee, actions, resourceArns });
  const { appConfig, usagePlans, cloudFront, waf, webhook } = targets;
  const p = stack.partition;
  const r = stack.region;
  const a = stack.account;
  if (appConfig) {
    const app = `arn:${p}:appconfig:${r}:${a}:application/${appConfig.applicationId}`;
    allow(
      [
        'appconfig:ListDeployments',
        'appconfig:GetHostedConfigurationVersion',
        'appconfig:ListHostedConfigurationVersions',
        'appconfig:CreateHostedConfigurationVersion',
        'appconfig:StartDeployment',
      ],
      [
        app,
        `${app}/environment/${appConfig.environmentId}`,
        `${app}/environment/${appConfig.environmentId}/deployment/*`,
        `${app}/configurationprofile/${appConfig.configurationProfileId}`,
        `${app}/configurationprofile/${appConfig.configurationProfileId}/hostedconfigurationversion/*`,
        `arn:${p}:appconfig:${r}:${a}:deploymentstrategy/${appConfig.deploymentStrategyId}`,
      ],
    );
    wildcards.push(
      {
        resource: nagName(`${app}/environment/${appConfig.environmentId}/deployment/*`),
        reason:
          'Deployment numbers of the one configured AppConfig environment are assigned by AppConfig at ' +
          'StartDeployment; no other environment or application.',
      },
      {
        resource: nagName(
          `${app}/configurationprofile/${appConfig.configurationProfileId}/hostedconfigurationversion/*`,
        ),
        reason:
          'Hosted configuration version numbers of the one configured profile are assigned by AppConfig when the ' +
          'flag change is written; no other profile.',
      },
    );
  }
  if (usagePlans)
    allow(
      ['apigateway:GET', 'apigateway:PATCH'],
      usagePlans.usagePlanIds.map((id) => `arn:${p}:apigateway:${r}::/usageplans/${id}`),
    );
  if (cloudFront)
    allow(
      ['cloudfront:CreateInvalidation'],
      cloudFront.distributionIds.map((id) => `arn:${p}:cloudfront::${a}:distribution/${id}`),
    );
  if (waf) {
    const acl =
      waf.scope === 'CLOUDFRONT'
        ? `arn:${p}:wafv2:us-east-1:${a}:global/webacl/${waf.webAclName}/${waf.webAclId}`
        : `arn:${p}:wafv2:${r}:${a}:regional/webacl/${waf.webAclName}/${waf.webAclId}`;
    allow(['wafv2:GetWebACL', 'wafv2:UpdateWebACL'], [acl]);
  }
  // Secrets Manager appends a random 6-character suffix to secret ARNs.
  if (webhook) {
    const secret = webhook.secretArn.endsWith('-??????') ? webhook.secretArn : `${webhook.secretArn}-??????`;
    allow(['secretsmanager:GetSecretValue'], [secret]);
    wildcards.push({
      resource: secret,
      reason:
        'The "-??????" suffix matches only the random 6-character suffix Secrets Manager appends to the one ' +
        'configured webhook secret.',
    });
  }
  return wildcards;
}
