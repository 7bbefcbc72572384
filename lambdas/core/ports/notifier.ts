import type { AlertMessage } from '../anomaly.js';

/** Where on-call alerts go: the SNS topic in AWS, the terminal and alerts.jsonl locally. */
export interface Notifier {
  publish(message: AlertMessage, dedupeId: string): Promise<void>;
}
