import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { UsageSourceConfig } from '../lambdas/core/ingest/source-config.js';
import { SOURCE_POLLER_ENTRY, SOURCE_POLLER_ENV } from '../lambdas/handlers/source-poller-environment.js';
import { DEFAULT_CONFIG } from './config.js';
import { HandlerFunction } from './handler-function.js';

/** EventBridge delivery of a scheduled poll: retries of the Invoke call, then the failure queue. */
export const SOURCE_SCHEDULE_DELIVERY = { retryAttempts: 2, maxEventAgeMinutes: 60 } as const;
/** The handler retries each request itself and dead-letters the window; a Lambda retry would only poll again. */
export const SOURCE_ASYNC_RETRY_ATTEMPTS = 0;
export const SOURCE_POLLER_TIMEOUT_SECONDS = 300;

/**
 * Props of {@link SourcePollers}. `sources` are validated ones (`resolveConfig(...).sources`).
 * @example
 * new SourcePollers(this, 'Sources', {
 *   sources: resolveConfig({ sources: [billingSource] }).sources,
 *   stream: ingest.stream,
 *   failureQueue: deadLetters.sourceFailureQueue,
 * });
 */
export interface SourcePollersProps {
  readonly sources: readonly UsageSourceConfig[];
  /** The ingest stream: pollers may only PutRecords on it. */
  readonly stream: IStream;
  /** Windows, items and records that could not be fetched, mapped or put, and failed runs. */
  readonly failureQueue: IQueue;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default RemovalPolicy.RETAIN (log groups) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Scheduled pollers of third-party usage/cost APIs (seed 001): one Lambda per configured source, so
 * each can read only its own secret, run by an EventBridge schedule.
 */
export class SourcePollers extends Construct {
  readonly pollers: ReadonlyMap<string, { handler: HandlerFunction; schedule: Rule; secret?: ISecret }>;

  constructor(scope: Construct, id: string, props: SourcePollersProps) {
    super(scope, id);
    const pollers = new Map<string, { handler: HandlerFunction; schedule: Rule; secret?: ISecret }>();
    for (const source of props.sources) {
      const cid = pascalCase(source.name);
      const handler = new HandlerFunction(this, `${cid}Poller`, {
        entry: SOURCE_POLLER_ENTRY,
        description:
          `anomaly-guard: polls ${source.name} every ${source.scheduleMinutes} min and puts its usage records on ` +
          `the stream`,
        memorySizeMb: 256,
        timeoutSeconds: SOURCE_POLLER_TIMEOUT_SECONDS,
        logRetentionDays: props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays,
        ...(props.removalPolicy && { removalPolicy: props.removalPolicy }),
        environment: {
          [SOURCE_POLLER_ENV.source]: JSON.stringify(source),
          [SOURCE_POLLER_ENV.streamName]: props.stream.streamName,
          [SOURCE_POLLER_ENV.failureQueueUrl]: props.failureQueue.queueUrl,
        },
      });
      const fn = handler.function;
      fn.configureAsyncInvoke({
        retryAttempts: SOURCE_ASYNC_RETRY_ATTEMPTS,
        maxEventAge: Duration.hours(1),
        onFailure: new SqsDestination(props.failureQueue),
      });
      Grant.addToPrincipal({
        grantee: handler.role,
        actions: ['kinesis:PutRecords'],
        resourceArns: [props.stream.streamArn],
      });
      props.stream.encryptionKey?.grant(handler.role, 'kms:GenerateDataKey');
      props.failureQueue.grantSendMessages(handler.role);
      const secret = source.auth && this.secret(`${cid}Secret`, source.auth.secret);
      secret?.grantRead(handler.role);
      // Granted here rather than through the imported secret: an imported key in another account's
      // ARN form silently yields no statement. Decrypt only on behalf of Secrets Manager.
      if (source.auth?.kmsKeyArn) {
        Grant.addToPrincipal({
          grantee: handler.role,
          actions: ['kms:Decrypt'],
          resourceArns: [source.auth.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        });
      }
      handler.acknowledgeXRayWildcard();

      const schedule = new Rule(this, `${cid}Schedule`, {
        description: `anomaly-guard: poll ${source.name} every ${source.scheduleMinutes} min`,
        schedule: scheduleFor(source.scheduleMinutes),
        targets: [
          new LambdaFunction(fn, {
            retryAttempts: SOURCE_SCHEDULE_DELIVERY.retryAttempts,
            maxEventAge: Duration.minutes(SOURCE_SCHEDULE_DELIVERY.maxEventAgeMinutes),
            deadLetterQueue: props.failureQueue,
          }),
        ],
      });
      pollers.set(source.name, { handler, schedule, ...(secret && { secret }) });
    }
    this.pollers = pollers;
  }

  /**
   * The configured secret: an ARN is taken as the complete ARN (with the six characters Secrets Manager
   * appends, as the console shows it) and granted exactly; a name in this account and region is granted
   * as `<name>-??????`, which matches that one secret.
   */
  private secret(id: string, secret: string): ISecret {
    if (secret.startsWith('arn:')) return Secret.fromSecretAttributes(this, id, { secretCompleteArn: secret });
    const partial = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: secret,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    return Secret.fromSecretAttributes(this, id, { secretPartialArn: partial });
  }
}

/** On the clock when the step divides the hour or the day (windows then align to it), else a plain rate. */
export function scheduleFor(minutes: number): Schedule {
  if (minutes < 60 && 60 % minutes === 0) return Schedule.cron({ minute: minutes === 1 ? '*' : `0/${minutes}` });
  if (minutes % 60 === 0 && 1440 % minutes === 0)
    return Schedule.cron({ minute: '0', hour: minutes === 1440 ? '0' : `0/${minutes / 60}` });
  return Schedule.rate(Duration.minutes(minutes));
}

export function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
