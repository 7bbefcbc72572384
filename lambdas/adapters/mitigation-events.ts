import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { MitigationEvent, MitigationEventBus } from '../core/ports/event-bus.js';

export const EVENT_SOURCE = 'anomaly-guard';

export class EventBridgeMitigationEvents implements MitigationEventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName = 'default',
  ) {}

  async publish(events: readonly MitigationEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const out = await this.client.send(
        new PutEventsCommand({
          Entries: events.slice(i, i + 10).map((e) => ({
            Source: EVENT_SOURCE,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
            EventBusName: this.busName,
          })),
        }),
      );
      if (out.FailedEntryCount)
        throw new Error(
          `EventBridge rejected ${out.FailedEntryCount} event(s): ` +
            `${out.Entries?.find((x) => x.ErrorCode)?.ErrorMessage ?? ''}`,
        );
    }
  }
}
