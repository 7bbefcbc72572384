import type { FeedbackEntry } from '../feedback.js';

/** What the stream consumer reads when a key is about to page: its recent verdicts (lambdas/core/feedback.ts). */
export interface FeedbackReader {
  /** Verdicts given on the key's anomalies in [from, to] (by when they were given), oldest first. */
  givenBetween(key: string, from: number, to: number): Promise<FeedbackEntry[]>;
}

/** Operator verdicts on anomalies (POST /v1/anomaly/feedback): appended, never overwritten or deleted. */
export interface FeedbackStore extends FeedbackReader {
  /** Every verdict given on one anomaly, oldest first. */
  ofAnomaly(anomaly: { id: string; key: string }): Promise<FeedbackEntry[]>;
  /** Stores one more entry. */
  add(entry: FeedbackEntry): Promise<void>;
}
