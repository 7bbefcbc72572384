import { CfnMapping, type CfnResource, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import {
  AppendDelimiterToRecordProcessor,
  Compression,
  DeliveryStream,
  EnableLogging,
  KinesisStreamSource,
  S3Bucket,
} from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, type IBucket, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type ArchiveConfig, DEFAULT_CONFIG } from './config.js';
import { nagArn } from './nag.js';
import { PRIVATE_BUCKET } from './private-bucket.js';

/** Pinned here: the acknowledgements below name the bucket by logical id. (The stack lists them in its LOGICAL_IDS.) */
export const RAW_ARCHIVE_LOGICAL_IDS = {
  bucket: 'RawArchiveBucket',
  deliveryStream: 'RawArchiveDeliveryStream',
} as const;

/** Every archived record lives under this prefix; `replay --input` reads what is below it. */
export const RAW_ARCHIVE_PREFIX = 'raw/';
/** Partitioned by arrival hour (UTC), so an incident's records are one or two prefixes to download. */
export const RAW_ARCHIVE_DATA_PREFIX = `${RAW_ARCHIVE_PREFIX}!{timestamp:yyyy/MM/dd/HH}/`;
export const RAW_ARCHIVE_ERROR_PREFIX = 'raw-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/';
/** Where the archive bucket's server access logs go in the reports' access-log bucket. */
export const RAW_ARCHIVE_ACCESS_LOG_PREFIX = 'raw-archive-bucket/';

/**
 * What Firehose calls on a Kinesis source (Firehose developer guide, "Kinesis Data Streams as the source").
 * The L2's `grantRead` would add ListStreams, SubscribeToShard, DescribeStreamConsumer and more.
 */
export const RAW_ARCHIVE_STREAM_READ_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:GetShardIterator',
  'kinesis:GetRecords',
  'kinesis:ListShards',
] as const;
/** Object writes only (a multipart upload may be aborted); no reads, lists or deletes. */
export const RAW_ARCHIVE_OBJECT_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'] as const;
/** The object patterns Firehose writes: delivered records and records it could not deliver. */
export const RAW_ARCHIVE_OBJECT_PATTERNS = [`${RAW_ARCHIVE_PREFIX}*`, 'raw-errors/*'] as const;

/**
 * Props of {@link RawArchive}.
 * @example
 * new RawArchive(this, 'RawArchive', { stream: ingest.stream, accessLogBucket: reports.accessLogBucket, settings: {
 * retentionDays: 90 } });
 */
export interface RawArchiveProps {
  /** The ingest stream: every record producers put on it is archived. */
  readonly stream: IStream;
  /** Receives the archive bucket's server access logs under `raw-archive-bucket/`. */
  readonly accessLogBucket: IBucket;
  /** @default DEFAULT_CONFIG.archive */
  readonly settings?: Partial<ArchiveConfig>;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /**
   * Applies to the bucket and the delivery log group; with DESTROY the bucket is emptied first. @default
   * RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The raw archive (seed 001, docs/architecture.md, data flow): a Firehose delivery stream reading the ingest stream
 * and writing every record, one JSON line each, to gzip objects under `raw/YYYY/MM/DD/HH/` in a
 * private bucket, for replay and RCA evidence. It reads the stream with its own iterators, so it
 * neither slows nor depends on the consumer.
 */
export class RawArchive extends Construct {
  readonly bucket: Bucket;
  readonly deliveryStream: DeliveryStream;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RawArchiveProps) {
    super(scope, id);
    const settings = { ...DEFAULT_CONFIG.archive, ...props.settings };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);

    // The access-log bucket delivers under its bucket policy (feature flag set on the Reports construct,
    // whose scope the log bucket is in), so allowLogDelivery adds a policy statement, not an ACL.
    this.bucket = new Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: RAW_ARCHIVE_ACCESS_LOG_PREFIX,
      lifecycleRules: [
        {
          // Delivery errors (raw-errors/) age with the records. Archive objects are buffered up to
          // bufferingSizeMiB, well above the 128 KB minimum billed size of Standard-IA.
          id: 'ArchiveLifecycle',
          transitions: [
            {
              storageClass: StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(settings.infrequentAccessAfterDays),
            },
          ],
          expiration: Duration.days(settings.retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    (this.bucket.node.defaultChild as CfnResource).overrideLogicalId(RAW_ARCHIVE_LOGICAL_IDS.bucket);

    this.logGroup = new LogGroup(this, 'DeliveryLogs', {
      retention: (props.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays) as RetentionDays,
      removalPolicy,
    });

    // Our own role, handed to the L2 without policy updates: the L2 would grant grantReadWrite on the whole
    // bucket (s3:GetObject*, s3:List*, s3:DeleteObject*, ...) and the stream's full read set. The policy
    // below is exactly what Firehose needs. The external id is the account, which Firehose always passes.
    this.role = new Role(this, 'DeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com').withConditions({
        StringEquals: { 'sts:ExternalId': stack.account },
      }),
      description: 'anomaly-guard: Firehose reads the ingest stream and writes the raw archive',
    });
    const objectArns = RAW_ARCHIVE_OBJECT_PATTERNS.map((p) => this.bucket.arnForObjects(p));
    const policy = new Policy(this, 'DeliveryPolicy', {
      roles: [this.role],
      statements: [
        new PolicyStatement({ actions: [...RAW_ARCHIVE_STREAM_READ_ACTIONS], resources: [props.stream.streamArn] }),
        new PolicyStatement({ actions: [...RAW_ARCHIVE_OBJECT_WRITE_ACTIONS], resources: objectArns }),
        // Firehose checks the bucket's region before delivering.
        new PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [this.bucket.bucketArn] }),
        new PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
      ],
    });
    // The stream's own key would need kms:Decrypt here; the ingest stream uses the AWS-managed key.
    if (props.stream.encryptionKey) props.stream.encryptionKey.grantDecrypt(this.role);

    const role = this.role.withoutPolicyUpdates();
    this.deliveryStream = new DeliveryStream(this, 'DeliveryStream', {
      source: new KinesisStreamSource(props.stream),
      role,
      destination: new S3Bucket(this.bucket, {
        role,
        compression: Compression.GZIP,
        bufferingInterval: Duration.seconds(settings.bufferingIntervalSeconds),
        bufferingSize: Size.mebibytes(settings.bufferingSizeMiB),
        dataOutputPrefix: RAW_ARCHIVE_DATA_PREFIX,
        errorOutputPrefix: RAW_ARCHIVE_ERROR_PREFIX,
        // One record per line: `replay --input` and any JSON-lines tool can read an object directly.
        processors: [new AppendDelimiterToRecordProcessor()],
        loggingConfig: new EnableLogging(this.logGroup),
      }),
    });
    const cfn = this.deliveryStream.node.defaultChild as CfnResource;
    cfn.overrideLogicalId(RAW_ARCHIVE_LOGICAL_IDS.deliveryStream);
    // Firehose validates the role on creation: the policy must exist first (the no-op grants add no dependency).
    cfn.node.addDependency(policy);

    Validations.of(cfn).acknowledge({
      id: 'AwsSolutions-KDF1',
      reason:
        'Firehose server-side encryption cannot be enabled on a delivery stream whose source is a Kinesis stream: ' +
        'the records are encrypted in the source stream (KMS) and at rest in the archive bucket (SSE-S3).',
    });
    // The L2 always adds a mapping of Firehose's CIDR blocks, read only by `connections` (security groups of
    // VPC destinations). An S3 destination never reads it, and the template validator warns about the
    // unused mapping on every synth; acknowledging that on the stack would stamp every resource, so drop it.
    const cidrMapping = stack.node.children.find(
      (c) => c instanceof CfnMapping && c.node.id.endsWith('aws-kinesisfirehose.CidrBlocks'),
    );
    if (cidrMapping) stack.node.tryRemoveChild(cidrMapping.node.id);
    Validations.of(policy.node.defaultChild as CfnResource).acknowledge(
      ...objectArns.map((arn) => ({
        id: `AwsSolutions-IAM5[Resource::${nagArn(stack, arn)}]`,
        reason:
          'Firehose names each archive object at delivery time (<prefix>/<stream>-1-<date>-<uuid>.gz); the ' +
          'wildcard covers only the raw/ or raw-errors/ prefix of the one archive bucket, for writes only.',
      })),
    );
  }
}
