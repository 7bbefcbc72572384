import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { AlertMessage } from '../core/anomaly.js';
import type { Notifier } from '../core/ports/notifier.js';

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(message: AlertMessage, _dedupeId: string): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: message.subject,
        Message: message.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(message.attributes)
            .filter((e): e is [string, string] => e[1] !== undefined)
            .map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      }),
    );
  }
}
