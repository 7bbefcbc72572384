/**
 * Keys as they are after weeks in production: the cost benches' warm-up is minutes long, so their
 * detector states are young (short residual history, small envelopes, nothing learned yet) and their
 * items smaller than a mature key's. `matureKeys` gives every stored key the detector it would have after
 * `days` of minutes like the workload's, through the store the consumer uses (its cache stays coherent).
 */
import { scorePoint, type DetectorState } from '../lambdas/core/detection/index.js';
import type { WindowStore } from '../lambdas/core/ports/window-store.js';
import { gaussian, seededRandom } from '../local/random.js';
import type { LocalDynamo } from './dynamo-harness.js';
import { SIGNAL_LEVELS } from './workload.js';

const MIN = 60_000;

/**
 * A detector after `days` of minute means ending at `endTs`: `level` with Gaussian noise of `noise` × level
 * and a spike of twice the level about once a day (each one a closed episode in the state).
 */
function matureDetector(days: number, endTs: number, level: number, noise: number, seed: number): DetectorState {
  const r = seededRandom(seed);
  const normal = gaussian(r);
  let det: DetectorState | undefined;
  for (let i = -days * 1440; i < 0; i++) {
    const value = level * (1 + noise * normal()) + (r() < 1 / 1440 ? 2 * level : 0);
    det = scorePoint(det, { ts: endTs + i * MIN, value }, 'up').state;
  }
  return det as DetectorState;
}

/**
 * Replaces the detector of every window item in `table` with a mature one for its signal (`eventsPerKeyMinute`
 * sets the noise of a minute's mean).
 */
export async function matureKeys(
  o: { local: LocalDynamo; table: string; windows: WindowStore },
  days: number,
  endTs: number,
  eventsPerKeyMinute: number,
): Promise<void> {
  const keys = (await o.local.items(o.table, 'w#')).map((item) => String(item.pk?.S).slice(2));
  // a minute's mean of values uniform within ±20 %: sd 0.4 / √12 / √n of the level
  const noise = 0.4 / Math.sqrt(12) / Math.sqrt(Math.max(1, eventsPerKeyMinute));
  const bySignal = new Map<string, DetectorState>();
  for (const { state, version } of (await o.windows.loadMany(keys)).values()) {
    const level = SIGNAL_LEVELS[state.signal as keyof typeof SIGNAL_LEVELS];
    if (!state.det || level === undefined) continue;
    let det = bySignal.get(state.signal);
    if (!det) bySignal.set(state.signal, (det = matureDetector(days, endTs, level, noise, bySignal.size + 1)));
    const out = await o.windows.save({ ...state, det }, version);
    if (!out.saved) throw new Error(`could not mature ${state.key}`);
  }
}
