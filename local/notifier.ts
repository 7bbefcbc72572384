import type { AlertMessage } from '../lambdas/core/anomaly.js';
import type { Notifier } from '../lambdas/core/ports/notifier.js';
import { LocalQueue } from './queue.js';

/** The local stand-in for the SNS alert topic: prints each alert and keeps the published messages. */
export class LocalAlertTopic implements Notifier {
  readonly published = new LocalQueue<AlertMessage & { dedupeId: string }>('AlertTopic');
  /** Subscribers (the demo's simulated on-call), called with every message. */
  readonly subscribers: ((message: AlertMessage) => void)[] = [];

  constructor(private readonly print: (line: string) => void) {}

  async publish(message: AlertMessage, dedupeId: string): Promise<void> {
    this.published.send({ ...message, dedupeId });
    for (const s of this.subscribers) s(message);
    const body = JSON.parse(message.body) as { plannedAction?: string; mitigation?: { detail?: string } };
    this.print(`ALERT ${message.subject} — ${body.mitigation?.detail ?? body.plannedAction ?? ''}`);
  }
}
