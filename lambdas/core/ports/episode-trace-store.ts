import type { TracePoint } from '../episode-trace.js';

/**
 * Episode traces: per episode, its minute series as the consumer scored it. Appending a minute
 * that is already there overwrites it, so a redelivered or retried batch never duplicates a point.
 */
export interface EpisodeTraceStore {
  append(episodeId: string, points: readonly TracePoint[]): Promise<void>;
  /** The episode's points, ascending by minute (empty when nothing was recorded). */
  series(episodeId: string): Promise<TracePoint[]>;
}
