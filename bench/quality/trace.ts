/**
 * Per-minute detector trace of one key of a kept scenario (see run.ts --out), to see why an
 * incident was missed or a blip paged:
 *   npx tsx bench/quality/trace.ts <dir> <tenant#signal> <from ISO> <to ISO>
 * Folds the key's records exactly as the consumer does and scores each emitted window's last
 * minute with the detector, printing observed / expected / robust z / confidence / whether the
 * minute is anomalous (what the trigger rules count) or only ongoing, and the novelty envelope
 * (horizon 1) and episode memory the point was judged against.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scorePoint, type DetectorState } from '../../lambdas/core/detection/index.js';
import type { Observation } from '../../lambdas/core/observations.js';
import { signalSpec } from '../../lambdas/core/signals.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../lambdas/core/window-settings.js';
import { foldObservations, type KeyState } from '../../lambdas/core/key-state.js';

const [dir, key, fromIso, toIso] = process.argv.slice(2);
if (!dir || !key || !fromIso || !toIso) {
  console.error('usage: trace.ts <dir> <tenant#signal> <from ISO> <to ISO>');
  process.exit(2);
}
const [tenant, signal] = key.split('#') as [string, string];
const obs: Observation[] = [];
let seq = 0;
for (const line of readFileSync(join(dir, 'scenario.jsonl'), 'utf8').split('\n')) {
  seq++;
  if (!line.includes(`"tenant":"${tenant}","signal":"${signal}"`)) continue;
  const r = JSON.parse(line) as { ts: string; value: number; id?: string; region?: string };
  const ob: Observation = {
    key,
    tenant,
    signal,
    ts: Date.parse(r.ts),
    value: r.value,
    position: { shardId: 'trace', sequenceNumber: String(seq) },
  };
  obs.push({ ...ob, ...(r.id !== undefined && { id: r.id }), ...(r.region !== undefined && { region: r.region }) });
}
const from = Date.parse(fromIso);
const to = Date.parse(toIso);
const spec = signalSpec(signal);
let state: KeyState | undefined;
let det: DetectorState | undefined;
const fmt = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toPrecision(4));
console.log(
  'minute       observed  expected        z   conf  anomalous ongoing  residual  env1[lo,hi]          episode ' +
    'memory[lo,hi]  quiet',
);
for (let i = 0; i < obs.length; i += 500) {
  const folded = foldObservations(state, obs.slice(i, i + 500), DEFAULT_WINDOW_SETTINGS);
  state = folded.state;
  for (const w of folded.windows) {
    if (!w.lastMinute) continue;
    const ts = w.end - 60_000;
    const prev = det;
    const s = scorePoint(det, { ts, value: w.lastMinute.mean }, spec.bad);
    det = s.state;
    if (ts < from || ts > to || !prev) continue;
    const unit = 10 ** prev.exp;
    const env = prev.env;
    const hi = env.length >= 4 ? Math.max(env[0]!, env[2]!) * unit : undefined;
    const lo = env.length >= 4 ? Math.min(env[1]!, env[3]!) * unit : undefined;
    const epi = prev.epi.length >= 2 ? `[${fmt(prev.epi[1]! * unit)}, ${fmt(prev.epi[0]! * unit)}]` : '-';
    console.log(
      (
        `${new Date(ts).toISOString().slice(5, 16)}  ${fmt(w.lastMinute.mean).padStart(8)}  ` +
        `${fmt(s.expected).padStart(8)}  ${s.z.toFixed(1).padStart(7)}  ${s.score.toFixed(3)}  ` +
        `${(s.anomalous ? 'yes' : '').padEnd(9)} ${(s.ongoing ? 'yes' : '').padEnd(7)}  ` +
        `${fmt(w.lastMinute.mean - s.expected).padStart(8)}  [${fmt(lo)}, ${fmt(hi)}]`
      ).padEnd(110) + `${epi.padEnd(22)} ${prev.quiet}`,
    );
  }
}
