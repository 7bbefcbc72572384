import { type CfnResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/**
 * What every bucket of the stack shares: private, SSE-S3, TLS (1.2+) only, ACLs disabled, unversioned.
 * SSE-S3 because S3 server access logs can only be delivered to an SSE-S3 bucket, and SSE-KMS would add
 * a key policy and per-request KMS charges for data that never leaves the account (see lib/reports.ts).
 */
export const PRIVATE_BUCKET = {
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  encryption: BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
  versioned: false,
} as const;

export interface AccessLogBucketProps {
  /** Whose accesses it holds, for the cdk-nag acknowledgement ("the reports bucket"). */
  readonly logsOf: string;
  readonly retentionDays: number;
  readonly removalPolicy: RemovalPolicy;
  /** CloudFront standard logging needs ACLs (BucketOwnerPreferred); S3 server access logs do not. */
  readonly objectOwnership?: ObjectOwnership;
}

/**
 * A private bucket for access logs, expiring them after `retentionDays`, emptied with DESTROY, and acknowledged for
 * not logging its own accesses.
 *
 * @example
 * const logs = accessLogBucket(this, 'AccessLogBucket', {
 *   logsOf: 'the reports bucket', retentionDays: 90, removalPolicy: RemovalPolicy.RETAIN,
 * });
 */
export function accessLogBucket(scope: Construct, id: string, props: AccessLogBucketProps): Bucket {
  const bucket = new Bucket(scope, id, {
    ...PRIVATE_BUCKET,
    ...(props.objectOwnership && { objectOwnership: props.objectOwnership }),
    lifecycleRules: [
      {
        id: 'ExpireAccessLogs',
        expiration: Duration.days(props.retentionDays),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    removalPolicy: props.removalPolicy,
    autoDeleteObjects: props.removalPolicy === RemovalPolicy.DESTROY,
  });
  Validations.of(bucket.node.defaultChild as CfnResource).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      `This is the access-log bucket of ${props.logsOf}: logging its own accesses into itself would log every log ` +
      'delivery, and a further log bucket would only move the question one bucket on.',
  });
  return bucket;
}
