import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DAY_MS } from '../lambdas/core/time.js';
import { writeActionJournal } from './action-journal.js';
import { runLive, type LiveOptions } from './live.js';
import { chunks, scenarioRecords } from './scenario.js';
import { printSummary, type LocalSummary } from './summary.js';
import { startLocalSystem, type LocalSystem } from './system.js';

export type { LocalSummary } from './summary.js';

export interface LocalOptions {
  /** `default`, or a JSONL file of envelopes (one record per line, sent verbatim). */
  scenario: string;
  once: boolean;
  out: string;
  port: number;
  /** Simulated minutes of the built-in scenario. */
  minutes: number;
  /** Records put per PutRecords call while replaying the scenario. */
  chunk: number;
  log: (line: string) => void;
  /** Stops the live phase (besides Ctrl-C); tests use it. */
  signal?: AbortSignal;
  /** cdk.json context overrides for this run (`anomalyGuard.*`), e.g. the consumer's batch size; the bench uses it. */
  context?: Record<string, unknown>;
  /** Called once the API serves, with its base URL (and, with sign-in, the local pool and its demo users). */
  onServing?: LiveOptions['onServing'];
  /** Sign-in against a local Cognito stand-in for the dashboard and the API (the CLI's default); off: open. */
  auth?: boolean;
  /** The demo's simulated on-call approves what waits for approval (default); false leaves it to you. */
  autoApprove?: boolean;
}

/**
 * The whole system on the local stand-ins (`npm start`, `cli local`): wire it from the synthesized
 * template, run the scenario to the end and write the outputs, then (unless `once`) serve the API and
 * stream a live workload until stopped.
 *
 * @example
 * const summary = await runLocal({ scenario: 'default', once: true, out: 'out', port: 0, minutes: 90, chunk: 500, log:
 * console.log });
 * if (!summary.ok) console.error(summary.problems);
 */
export async function runLocal(opts: LocalOptions): Promise<LocalSummary> {
  const out = resolve(opts.out);
  const sys = await startLocalSystem({ ...opts, out });
  try {
    const { summary, reportCount } = await runScenario(sys, opts, out);
    if (opts.once) return summary;
    return await runLive(sys, { ...opts, out }, reportCount);
  } finally {
    await sys.close();
  }
}

/** Put the scenario on the stream, let everything settle, write the outputs and the summary. */
async function runScenario(
  sys: LocalSystem,
  opts: LocalOptions,
  out: string,
): Promise<{ summary: LocalSummary; reportCount: number }> {
  const progress = setInterval(() => opts.log(sys.progress()), 1000);
  try {
    const paced = opts.scenario === 'default';
    for (const chunk of chunks(scenarioRecords(opts.scenario, opts.minutes, sys.services.flagsOf), opts.chunk)) {
      await sys.put(chunk);
      if (paced) await sys.paced();
    }
    const drained = await sys.drain();
    await sys.settled();
    // The daily schedule, for the scenario's last event-time day.
    await sys.reports.daily(sys.simTs + DAY_MS);
    await sys.reports.drain();
    const reportCount = await sys.reports.copyTo(join(out, 'reports'));
    await sys.archiveAll();
    await writeActionJournal(sys.standIns.dynamo, sys.tableName, join(out, 'actions.jsonl'));
    writeFileSync(
      join(out, 'events.jsonl'),
      sys.mitigation.bus.events
        .peekAll()
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(''),
    );
    clearInterval(progress);
    const summary = sys.summary({
      drained,
      reportCount,
      settled: true,
      controlTargets: await sys.reports.controlTargets(),
    });
    writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    printSummary(summary, out, opts.log);
    return { summary, reportCount };
  } finally {
    clearInterval(progress);
  }
}
