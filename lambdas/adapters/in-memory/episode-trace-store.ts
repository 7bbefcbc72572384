import type { TracePoint } from '../../core/episode-trace.js';
import type { EpisodeTraceStore } from '../../core/ports/episode-trace-store.js';
import { MINUTE_MS } from '../../core/time.js';

/** For replay, backtests and tests. */
export class InMemoryEpisodeTraceStore implements EpisodeTraceStore {
  /** Episode id → minute → point. */
  readonly traces = new Map<string, Map<number, TracePoint>>();

  async append(episodeId: string, points: readonly TracePoint[]): Promise<void> {
    let trace = this.traces.get(episodeId);
    if (!trace) this.traces.set(episodeId, (trace = new Map()));
    for (const p of points) trace.set(Math.floor(p.ts / MINUTE_MS) * MINUTE_MS, structuredClone(p));
  }

  async series(episodeId: string): Promise<TracePoint[]> {
    return [...(this.traces.get(episodeId)?.values() ?? [])].sort((a, b) => a.ts - b.ts).map((p) => structuredClone(p));
  }
}
