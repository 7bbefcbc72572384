/**
 * Run the seed-004 scenario suite on its own (detection quality, then how the started mitigations end):
 *   npx tsx bench/quality/run.ts [--small] [--seed <n>] [--days <n>] [--out <dir>] [--json] [--no-mitigation]
 * With --out the generated scenario.jsonl (the stream), operator-changes.json (platform-wide windows,
 * declared through the operator route, not streamed), labels.json and alerts.jsonl are kept there (for
 * `npx tsx bench/quality/trace.ts <dir> <tenant#signal> <from> <to>`).
 */
import { formatQuality, formatScenarioMitigation, runScenarioQuality } from './evaluate.js';
import { DEFAULT_SCENARIO, SMALL_SCENARIO, type ScenarioOptions } from './scenario.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const base = flag('small') ? SMALL_SCENARIO : DEFAULT_SCENARIO;
const scenario: ScenarioOptions = { ...base };
if (value('seed') !== undefined) scenario.seed = Number(value('seed'));
if (value('days') !== undefined) scenario.days = Number(value('days'));
const out = value('out');
const started = performance.now();
const q = await runScenarioQuality({ scenario, mitigation: !flag('no-mitigation'), ...(out && { dir: out }) });
if (flag('json')) {
  const m = q.mitigation && {
    ...q.mitigation.summary,
    outcomes: undefined,
    coldStart: q.mitigation.coldStart,
    consumerDelayMs: q.mitigation.consumerDelayMs,
    lateCheck: q.mitigation.lateCheck,
  };
  console.log(JSON.stringify({ numbers: q.numbers, perKind: q.perKind, ...(m && { mitigation: m }) }, null, 2));
} else {
  console.log(formatQuality(q, { maxExamples: 25 }));
  if (q.mitigation) console.log(formatScenarioMitigation(q.mitigation, { examples: 25 }));
}
console.log(`   total ${((performance.now() - started) / 1000).toFixed(1)} s${out ? `; files in ${out}` : ''}`);
