import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * Props of {@link IngestStream}.
 * @example
 * const ingest = new IngestStream(this, 'Ingest', { mode: 'on-demand', retentionHours: 48 });
 * ingest.stream.grantWrite(producerRole);
 */
export interface IngestStreamProps {
  /** @default 'provisioned' */
  readonly mode?: 'on-demand' | 'provisioned';
  /** Ignored in on-demand mode. @default 1 */
  readonly shardCount?: number;
  /** @default 24 */
  readonly retentionHours?: number;
  /**
   * Customer-managed key. Default is the AWS-managed `alias/aws/kinesis`: producers and the
   * consumer in this account need no KMS grants and every producer call avoids per-request CMK
   * charges (cdk-nag KDS3). Pass a key only if cross-account producers or key-policy control are required.
   * @default - AWS-managed key `alias/aws/kinesis`
   */
  readonly encryptionKey?: IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The Kinesis data stream producers write record envelopes to. */
export class IngestStream extends Construct {
  readonly stream: Stream;

  constructor(scope: Construct, id: string, props: IngestStreamProps = {}) {
    super(scope, id);
    const onDemand = (props.mode ?? 'provisioned') === 'on-demand';
    this.stream = new Stream(this, 'Stream', {
      streamMode: onDemand ? StreamMode.ON_DEMAND : StreamMode.PROVISIONED,
      shardCount: onDemand ? undefined : (props.shardCount ?? 1),
      retentionPeriod: Duration.hours(props.retentionHours ?? 24),
      encryption: props.encryptionKey ? StreamEncryption.KMS : StreamEncryption.MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
