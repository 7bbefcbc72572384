/**
 * The stream's arrival clock in simulated time. kinesalite stamps each record with the wall clock,
 * but a local scenario runs in its own event time (a day back, or whenever a recorded file was
 * taken), so the consumer's clock-skew and watermark guards would never see a fast producer clock.
 * The runtime tells this clock, before each put, what time it is in the scenario; the event-source
 * poller maps kinesalite's wall-clock stamps back to that time.
 *
 * The scenario's "now" is a high percentile of the event times put recently, not their maximum:
 * a few records from a fast clock must not move the clock they are checked against.
 *
 * @example
 * const clock = new ArrivalClock();
 * clock.put([t0, t0 + 1_000, t0 + 14 * 60_000], Date.now()); // one record from a clock 14 min ahead
 * clock.at(Date.now()); // ≈ t0 + 1 s: the honest records' time
 */
export class ArrivalClock {
  private readonly recent: number[] = [];
  /** (wall-clock ms at a put, scenario time then), in put order. */
  private readonly marks: { wall: number; at: number }[] = [];

  constructor(
    /** How many of the latest event times the clock is read from. */
    private readonly sample = 101,
    /** Which quantile of them is "now". */
    private readonly quantile = 0.9,
    private readonly maxMarks = 100_000,
  ) {}

  /** Called just before a put at wall time `wall` with the event times of the records it carries. */
  put(eventTimes: readonly number[], wall: number): void {
    for (const ts of eventTimes) {
      if (!Number.isFinite(ts)) continue;
      this.recent.push(ts);
      if (this.recent.length > this.sample) this.recent.shift();
    }
    if (!this.recent.length) return;
    const sorted = [...this.recent].sort((a, b) => a - b);
    const now = sorted[Math.min(sorted.length - 1, Math.floor(this.quantile * sorted.length))]!;
    // Arrival time never goes backwards, as on a real stream.
    const at = Math.max(now, this.marks.at(-1)?.at ?? Number.NEGATIVE_INFINITY);
    this.marks.push({ wall, at });
    if (this.marks.length > this.maxMarks) this.marks.splice(0, this.marks.length - this.maxMarks);
  }

  /** The scenario time of a record the stand-in stamped at wall time `wall` (the latest put at or before it). */
  at(wall: number): number | undefined {
    let lo = 0;
    let hi = this.marks.length - 1;
    let found: number | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.marks[mid]!.wall <= wall) {
        found = this.marks[mid]!.at;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
