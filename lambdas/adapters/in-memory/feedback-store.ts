import type { FeedbackEntry } from '../../core/feedback.js';
import type { FeedbackStore } from '../../core/ports/feedback-store.js';

/** For replay and tests. */
export class InMemoryFeedbackStore implements FeedbackStore {
  readonly entries: FeedbackEntry[] = [];
  async add(entry: FeedbackEntry): Promise<void> {
    this.entries.push({ ...entry });
  }
  async ofAnomaly(anomaly: { id: string }): Promise<FeedbackEntry[]> {
    return this.sorted().filter((e) => e.anomaly === anomaly.id);
  }
  async givenBetween(key: string, from: number, to: number): Promise<FeedbackEntry[]> {
    return this.sorted().filter((e) => e.key === key && e.at >= from && e.at <= to);
  }
  private sorted(): FeedbackEntry[] {
    return [...this.entries].sort((a, b) => a.at - b.at);
  }
}
