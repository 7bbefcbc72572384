/**
 * Where the consumer core spends its time: CPU-profiles the same loop as bench/consumer-core.ts
 * and prints self time per function and per file.
 *
 *   npx tsx bench/profile-core.ts            # summary only
 *   npx tsx bench/profile-core.ts windowed   # the tumbling window's non-final invocation (warm state)
 *   node --cpu-prof --import tsx bench/profile-core.ts   # also writes a .cpuprofile for DevTools
 */
import { Session, type Profiler } from 'node:inspector';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { decodeBatch, decodeInto } = await import('../lambdas/core/batch.js');
const { foldObservations } = await import('../lambdas/core/key-state.js');
const { DEFAULT_WINDOW_SETTINGS } = await import('../lambdas/core/window-settings.js');
const { toRawRecord } = await import('../lambdas/handlers/stream-consumer.js');
const { aggregateFromState, WindowAggregator } = await import('../lambdas/core/window-aggregate.js');
const { ShardWorkload } = await import('./workload.js');

const ROUNDS = 60;
const workload = new ShardWorkload();
const previous = workload.nextEvent();
const event = workload.nextEvent();
/** As bench/consumer-core.ts `windowed`: state JSON in, decode + aggregate, state JSON out. */
const windowed = (e: typeof event, stateJson: string) => {
  const aggregator = new WindowAggregator(aggregateFromState(JSON.parse(stateJson)), DEFAULT_WINDOW_SETTINGS);
  decodeInto(
    e.Records.map(toRawRecord),
    {},
    { observation: (ob) => aggregator.add(ob), change: () => undefined, invalid: () => undefined },
  );
  aggregator.finish();
  return JSON.stringify(aggregator.agg);
};
/** The window state the previous delivery left (the warm case). */
const previousState = windowed(previous, '{}');
const run =
  process.argv[2] === 'windowed'
    ? () => windowed(event, previousState)
    : () => {
        const batch = decodeBatch(event.Records.map(toRawRecord));
        for (const observations of batch.byKey.values())
          foldObservations(undefined, observations, DEFAULT_WINDOW_SETTINGS);
      };
for (let i = 0; i < 5; i++) run();

const session = new Session();
session.connect();
const post = <T>(method: string, params?: object) =>
  new Promise<T>((resolve, reject) =>
    session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 100 });
await post('Profiler.start');
const t = performance.now();
for (let i = 0; i < ROUNDS; i++) run();
const elapsed = performance.now() - t;
const { profile } = await post<{ profile: Profiler.Profile }>('Profiler.stop');
session.disconnect();

const selfUs = new Map<number, number>();
profile.samples?.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0)));
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const file =
    url.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*$/, '$1').replace(/^.*\/(lambdas|bench)\//, '$1/') ||
    `(${functionName || 'native'})`;
  const fn = `${functionName || '(anonymous)'}  ${file}${url.includes('node_modules') ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  byFile.set(file, (byFile.get(file) ?? 0) + us);
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const top = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000 / ROUNDS).toFixed(2).padStart(6)} ms/batch  ` +
        `${k}`,
    )
    .join('\n');
console.log(
  `${ROUNDS} batches of ${event.Records.length} records: ${(elapsed / ROUNDS).toFixed(1)} ms/batch (profiled)\n`,
);
console.log(
  'self time by function (inlined callees such as JSON.parse, Date.parse, Number#toString count towards their caller):',
);
console.log(top(byFunction, 20));
console.log('\nself time by file / package:');
console.log(top(byFile, 10));
