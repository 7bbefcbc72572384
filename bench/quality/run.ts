/**
 * Run the seed-004 scenario suite on its own:
 *   npx tsx bench/quality/run.ts [--small] [--seed <n>] [--days <n>] [--out <dir>] [--json]
 * With --out the generated scenario.jsonl, labels.json and alerts.jsonl are kept there (for
 * `npx tsx bench/quality/trace.ts <dir> <tenant#signal> <from> <to>`).
 */
import { formatQuality, runScenarioQuality } from './evaluate.js';
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
const q = await runScenarioQuality({ scenario, ...(out && { dir: out }) });
if (flag('json')) console.log(JSON.stringify({ numbers: q.numbers, perKind: q.perKind }, null, 2));
else console.log(formatQuality(q, { maxExamples: 25 }));
console.log(`   total ${((performance.now() - started) / 1000).toFixed(1)} s${out ? `; files in ${out}` : ''}`);
