import { beforeAll, describe, expect, it } from 'vitest';
import { LOGICAL_IDS, OUTPUT_IDS } from '../../lib/anomaly-guard-stack.js';
import { synthTemplate } from '../../lib/synth.js';
import { arnOf } from './constructs/helpers.js';

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string[]; DeletionPolicy?: string }>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Principal?: unknown;
}

const objectsOf = (bucketId: string, suffix: string) => ({ 'Fn::Join': ['', [arnOf(bucketId), suffix]] });
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('Raw archive (cdk.json context)', () => {
  let json: { Resources: Resources; Outputs: Record<string, any>; Mappings?: Record<string, unknown> };
  beforeAll(() => {
    json = synthTemplate({}, { nag: false }) as typeof json;
  });
  const delivery = () => json.Resources[LOGICAL_IDS.rawArchiveDeliveryStream]!;
  const s3Config = () => delivery().Properties.ExtendedS3DestinationConfiguration;

  it('reads the ingest stream with Firehose and delivers to the archive bucket', () => {
    expect(delivery().Type).toBe('AWS::KinesisFirehose::DeliveryStream');
    expect(delivery().Properties.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(delivery().Properties.KinesisStreamSourceConfiguration.KinesisStreamARN).toEqual(arnOf(LOGICAL_IDS.stream));
    expect(s3Config().BucketARN).toEqual(arnOf(LOGICAL_IDS.rawArchiveBucket));
    expect(ofType(json.Resources, 'AWS::KinesisFirehose::DeliveryStream')).toHaveLength(1);
  });

  it('writes gzip objects, one JSON record per line, under raw/ partitioned by arrival hour', () => {
    expect(s3Config()).toMatchObject({
      CompressionFormat: 'GZIP',
      BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
      Prefix: 'raw/!{timestamp:yyyy/MM/dd/HH}/',
      ErrorOutputPrefix: 'raw-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
      ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }] },
    });
    // UTC partitions (no custom time zone), no format conversion, no dynamic partitioning.
    expect(s3Config().CustomTimeZone).toBeUndefined();
    expect(s3Config().DataFormatConversionConfiguration).toBeUndefined();
    expect(s3Config().DynamicPartitioningConfiguration).toBeUndefined();
  });

  it('logs delivery errors to its own log group with the configured retention', () => {
    const logging = s3Config().CloudWatchLoggingOptions;
    expect(logging.Enabled).toBe(true);
    const group = json.Resources[logging.LogGroupName.Ref]!;
    expect(group).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
    });
    expect(json.Resources[logging.LogStreamName.Ref]).toMatchObject({
      Type: 'AWS::Logs::LogStream',
      Properties: { LogGroupName: { Ref: logging.LogGroupName.Ref } },
    });
  });

  it('keeps the archive in a private, SSE-S3, TLS-only bucket with ACLs disabled, retained, access-logged', () => {
    const bucket = json.Resources[LOGICAL_IDS.rawArchiveBucket]!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: LOGICAL_IDS.reportsAccessLogBucket },
        LogFilePrefix: 'raw-archive-bucket/',
      },
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    const policies = ofType(json.Resources, 'AWS::S3::BucketPolicy').filter(
      ([, p]) => p.Properties.Bucket.Ref === LOGICAL_IDS.rawArchiveBucket,
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]![1].Properties.PolicyDocument.Statement as Statement[];
    const everything = [arnOf(LOGICAL_IDS.rawArchiveBucket), objectsOf(LOGICAL_IDS.rawArchiveBucket, '/*')];
    expect(statements).toEqual([
      {
        Effect: 'Deny',
        Action: 's3:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Resource: everything,
      },
      {
        Effect: 'Deny',
        Action: 's3:*',
        Principal: { AWS: '*' },
        Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
        Resource: everything,
      },
    ]);
  });

  it('moves objects to Standard-IA after 30 days, expires them after 400, aborts incomplete uploads after 1', () => {
    expect(json.Resources[LOGICAL_IDS.rawArchiveBucket]!.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'ArchiveLifecycle',
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
          ExpirationInDays: 400,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  it(
    'gives Firehose a role of its own (this account only) that reads the one stream and writes archive objects, ' +
      'nothing else',
    () => {
      const roleId = s3Config().RoleARN['Fn::GetAtt'][0] as string;
      expect(delivery().Properties.KinesisStreamSourceConfiguration.RoleARN).toEqual(arnOf(roleId));
      const role = json.Resources[roleId]!;
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'firehose.amazonaws.com' },
          Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } },
        },
      ]);
      expect(role.Properties.Policies ?? [], 'no inline policies').toEqual([]);
      expect(role.Properties.ManagedPolicyArns ?? [], 'no managed policies').toEqual([]);
      const policies = ofType(json.Resources, 'AWS::IAM::Policy').filter(
        ([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
      );
      expect(policies).toHaveLength(1);
      const [policyId, policy] = policies[0]!;
      // Created before the delivery stream: Firehose checks the role when the stream is created.
      expect(delivery().DependsOn).toContain(policyId);
      const grants = (policy.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => {
        expect(s.Effect).toBe('Allow');
        expect(s.Condition).toBeUndefined();
        return list(s.Action).flatMap((action) =>
          list(s.Resource).map((resource) => `${action} ${JSON.stringify(resource)}`),
        );
      });
      const stream = arnOf(LOGICAL_IDS.stream);
      const bucket = LOGICAL_IDS.rawArchiveBucket;
      const logGroup = arnOf(s3Config().CloudWatchLoggingOptions.LogGroupName.Ref);
      const expected = [
        ...['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'].map(
          (a) => `${a} ${JSON.stringify(stream)}`,
        ),
        ...['s3:PutObject', 's3:AbortMultipartUpload'].flatMap((a) =>
          ['/raw/*', '/raw-errors/*'].map((p) => `${a} ${JSON.stringify(objectsOf(bucket, p))}`),
        ),
        `s3:GetBucketLocation ${JSON.stringify(arnOf(bucket))}`,
        `logs:PutLogEvents ${JSON.stringify(logGroup)}`,
      ];
      expect(grants.sort()).toEqual(expected.sort());
    },
  );

  it('leaves no unused Firehose CIDR mapping in the template', () => {
    expect(Object.keys(json.Mappings ?? {})).toEqual([]);
  });

  it('outputs the archive bucket name', () => {
    expect(json.Outputs[OUTPUT_IDS.rawArchiveBucketName].Value).toEqual({ Ref: LOGICAL_IDS.rawArchiveBucket });
  });
});

describe('Raw archive (overridden context)', () => {
  it('follows the archive config: buffering interval and size, IA transition, retention, log retention', () => {
    const json = synthTemplate(
      {
        anomalyGuard: {
          archive: {
            bufferingIntervalSeconds: 60,
            bufferingSizeMiB: 5,
            infrequentAccessAfterDays: 90,
            retentionDays: 730,
          },
          logRetentionDays: 14,
        },
      },
      { nag: false },
    ) as { Resources: Resources };
    const s3 = json.Resources[LOGICAL_IDS.rawArchiveDeliveryStream]!.Properties.ExtendedS3DestinationConfiguration;
    expect(s3.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 5 });
    expect(json.Resources[s3.CloudWatchLoggingOptions.LogGroupName.Ref]!.Properties.RetentionInDays).toBe(14);
    expect(json.Resources[LOGICAL_IDS.rawArchiveBucket]!.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 90 }],
      ExpirationInDays: 730,
    });
  });

  it('with removalPolicy destroy, deletes the bucket (emptied first) and the log group', () => {
    const json = synthTemplate({ anomalyGuard: { removalPolicy: 'destroy' } }, { nag: false }) as {
      Resources: Resources;
    };
    expect(json.Resources[LOGICAL_IDS.rawArchiveBucket]!.DeletionPolicy).toBe('Delete');
    const autoDelete = ofType(json.Resources, 'Custom::S3AutoDeleteObjects').filter(
      ([, r]) => r.Properties.BucketName.Ref === LOGICAL_IDS.rawArchiveBucket,
    );
    expect(autoDelete).toHaveLength(1);
    const logGroup =
      json.Resources[LOGICAL_IDS.rawArchiveDeliveryStream]!.Properties.ExtendedS3DestinationConfiguration
        .CloudWatchLoggingOptions.LogGroupName.Ref;
    expect(json.Resources[logGroup]!.DeletionPolicy).toBe('Delete');
  });

  it('stops the synth on an out-of-range buffering size, naming the field', () => {
    expect(() => synthTemplate({ anomalyGuard: { archive: { bufferingSizeMiB: 256 } } }, { nag: false })).toThrow(
      'archive.bufferingSizeMiB',
    );
  });
});
