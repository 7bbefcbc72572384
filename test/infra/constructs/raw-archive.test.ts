import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Stream, StreamEncryption } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_BUCKET } from '../../../lib/private-bucket.js';
import { RAW_ARCHIVE_LOGICAL_IDS, RawArchive, type RawArchiveProps } from '../../../lib/raw-archive.js';
import { arnOf, bareStack, grants, idOf, refOf, roleStatements, type Statement } from './helpers.js';

type Extra = Partial<Pick<RawArchiveProps, 'settings' | 'logRetentionDays' | 'removalPolicy'>>;

/**
 * The access-log bucket is a private (ACL-less) bucket, so S3 must deliver logs under its bucket policy:
 * the app sets the flag a `cdk init` project has (in the full stack, the Reports construct sets it on its scope).
 */
function synth(extra: Extra = {}, streamKey = false) {
  const stack = bareStack({ '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true });
  const key = streamKey ? new Key(stack, 'StreamKey') : undefined;
  const stream = new Stream(stack, 'Stream', key ? { encryption: StreamEncryption.KMS, encryptionKey: key } : {});
  const logs = new Bucket(stack, 'AccessLogs', { ...PRIVATE_BUCKET });
  const archive = new RawArchive(stack, 'Archive', { stream, accessLogBucket: logs, ...extra });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const ids = {
    stream: idOf(stream),
    logs: idOf(logs),
    role: idOf(archive.role),
    logGroup: idOf(archive.logGroup),
    ...(key && { key: idOf(key) }),
  };
  const delivery = json.Resources[RAW_ARCHIVE_LOGICAL_IDS.deliveryStream];
  return {
    template,
    json,
    ids,
    delivery,
    s3: delivery.Properties.ExtendedS3DestinationConfiguration,
    bucket: json.Resources[RAW_ARCHIVE_LOGICAL_IDS.bucket],
  };
}

describe('RawArchive (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('archives the given stream into its own bucket as gzip JSON lines under raw/, with the role it owns', () => {
    expect(t.delivery.Properties.KinesisStreamSourceConfiguration).toEqual({
      KinesisStreamARN: arnOf(t.ids.stream),
      RoleARN: arnOf(t.ids.role),
    });
    expect(t.s3).toMatchObject({
      BucketARN: arnOf(RAW_ARCHIVE_LOGICAL_IDS.bucket),
      RoleARN: arnOf(t.ids.role),
      CompressionFormat: 'GZIP',
      Prefix: 'raw/!{timestamp:yyyy/MM/dd/HH}/',
      BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
      CloudWatchLoggingOptions: { Enabled: true, LogGroupName: refOf(t.ids.logGroup) },
    });
    // Firehose validates the role when the stream is created: its policy must exist first.
    const policyId = Object.keys(t.template.findResources('AWS::IAM::Policy')).find(
      (id) => JSON.stringify(t.json.Resources[id].Properties.Roles) === JSON.stringify([refOf(t.ids.role)]),
    );
    expect(t.delivery.DependsOn).toContain(policyId);
  });

  it(
    'keeps the archive private, SSE-S3, TLS 1.2+ only, retained, and logs its access to the given bucket under ' +
      'raw-archive-bucket/',
    () => {
      expect(t.bucket.DeletionPolicy).toBe('Retain');
      expect(t.bucket.Properties).toMatchObject({
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
        LoggingConfiguration: { DestinationBucketName: refOf(t.ids.logs), LogFilePrefix: 'raw-archive-bucket/' },
      });
      const policy = Object.values<any>(t.json.Resources).find(
        (r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === RAW_ARCHIVE_LOGICAL_IDS.bucket,
      );
      expect((policy.Properties.PolicyDocument.Statement as Statement[]).map((s) => [s.Effect, s.Condition])).toEqual([
        ['Deny', { Bool: { 'aws:SecureTransport': 'false' } }],
        ['Deny', { NumericLessThan: { 's3:TlsVersion': 1.2 } }],
      ]);
    },
  );

  it('reads an AWS-managed-key stream with no KMS grant, and may decrypt a customer-managed stream key', () => {
    expect(grants(roleStatements(t.template, t.ids.role)).filter((g) => g.startsWith('kms:'))).toEqual([]);
    const k = synth({}, true);
    const kms = grants(roleStatements(k.template, k.ids.role)).filter((g) => g.startsWith('kms:'));
    expect(kms).toEqual([`kms:Decrypt ${JSON.stringify(arnOf(k.ids.key!))}`]);
  });

  it('leaves no Firehose CIDR mapping behind in a bare stack either', () => {
    expect(Object.keys(t.json.Mappings ?? {})).toEqual([]);
  });

  it('follows settings, logRetentionDays and removalPolicy (bucket emptied, then deleted)', () => {
    const c = synth({
      settings: { bufferingIntervalSeconds: 60, bufferingSizeMiB: 5, infrequentAccessAfterDays: 45, retentionDays: 90 },
      logRetentionDays: 7,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(c.s3.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: 5 });
    expect(c.bucket.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 45 }],
      ExpirationInDays: 90,
    });
    expect(c.json.Resources[c.ids.logGroup]).toMatchObject({
      Properties: { RetentionInDays: 7 },
      DeletionPolicy: 'Delete',
    });
    expect(c.bucket.DeletionPolicy).toBe('Delete');
    c.template.hasResourceProperties('Custom::S3AutoDeleteObjects', {
      BucketName: refOf(RAW_ARCHIVE_LOGICAL_IDS.bucket),
    });
    t.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });
});
