import type { PositionLedger } from '../../core/ports/position-ledger.js';

/** Keeps the positions in process memory: for replay, backtests and tests. */
export class InMemoryPositionLedger implements PositionLedger {
  private readonly done = new Map<string, string>();
  async lastDone(groups: readonly string[]): Promise<Map<string, string>> {
    return new Map(groups.flatMap((g) => (this.done.has(g) ? [[g, this.done.get(g)!] as const] : [])));
  }
  async markDone(done: ReadonlyMap<string, string>): Promise<void> {
    for (const [g, s] of done) this.done.set(g, s);
  }
}
