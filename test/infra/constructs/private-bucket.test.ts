import { Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_BUCKET } from '../../../lib/private-bucket.js';
import { arnOf, bareStack, onlyResource, refOf, type Statement } from './helpers.js';

/**
 * PRIVATE_BUCKET is a props preset (not a construct): what a plain `Bucket` built from it looks like in a bare stack.
 */
describe('PRIVATE_BUCKET (bare stack)', () => {
  let template: Template;
  let bucketId: string;
  beforeAll(() => {
    const stack = bareStack();
    new Bucket(stack, 'Bucket', PRIVATE_BUCKET);
    template = Template.fromStack(stack);
    bucketId = onlyResource(template, 'AWS::S3::Bucket');
  });

  it('blocks all public access, encrypts with SSE-S3, disables ACLs and keeps no versions', () => {
    const props = template.toJSON().Resources[bucketId].Properties;
    expect(props).toEqual({
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
    });
  });

  it('denies every request without TLS or below TLS 1.2, on the bucket and its objects, and allows nothing', () => {
    const policy = template.toJSON().Resources[onlyResource(template, 'AWS::S3::BucketPolicy')].Properties;
    expect(policy.Bucket).toEqual(refOf(bucketId));
    const everything = [arnOf(bucketId), { 'Fn::Join': ['', [arnOf(bucketId), '/*']] }];
    expect(policy.PolicyDocument.Statement as Statement[]).toEqual([
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Resource: everything,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Resource: everything,
        Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
      },
    ]);
  });
});
