import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { IngestStream, type IngestStreamProps } from '../../../lib/ingest-stream.js';
import { arnOf, bareStack, onlyResource } from './helpers.js';

function synth(props?: IngestStreamProps, withKey = false) {
  const stack = bareStack();
  const key = withKey ? new Key(stack, 'ProducerKey') : undefined;
  new IngestStream(stack, 'Ingest', { ...props, ...(key && { encryptionKey: key }) });
  const template = Template.fromStack(stack);
  const id = onlyResource(template, 'AWS::Kinesis::Stream');
  return {
    template,
    stream: template.toJSON().Resources[id],
    keyId: key && stack.getLogicalId(key.node.defaultChild as never),
  };
}

describe('IngestStream (bare stack)', () => {
  it('defaults to one provisioned shard, 24 h retention, the AWS-managed kinesis key, retained', () => {
    const { stream } = synth();
    expect(stream.Properties).toMatchObject({
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 1,
      RetentionPeriodHours: 24,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
    expect(stream.DeletionPolicy).toBe('Retain');
    expect(stream.UpdateReplacePolicy).toBe('Retain');
  });

  it('creates nothing but the stream (no key, no policy, no grants)', () => {
    const { template } = synth();
    expect(Object.values(template.toJSON().Resources).map((r: any) => r.Type)).toEqual(['AWS::Kinesis::Stream']);
  });

  it('in on-demand mode drops the shard count, whatever shardCount says', () => {
    const { stream } = synth({ mode: 'on-demand', shardCount: 8 });
    expect(stream.Properties.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(stream.Properties.ShardCount).toBeUndefined();
  });

  it('follows shardCount and retentionHours in provisioned mode', () => {
    const { stream } = synth({ shardCount: 4, retentionHours: 168 });
    expect(stream.Properties).toMatchObject({ ShardCount: 4, RetentionPeriodHours: 168 });
  });

  it('encrypts with a customer-managed key when one is given', () => {
    const { stream, keyId } = synth({}, true);
    expect(stream.Properties.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: arnOf(keyId!) });
  });

  it('is deleted with the stack under RemovalPolicy.DESTROY', () => {
    const { stream } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    expect(stream.DeletionPolicy).toBe('Delete');
  });
});
