import { BlockPublicAccess, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';

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
