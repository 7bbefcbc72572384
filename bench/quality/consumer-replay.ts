/**
 * The scenario replay: envelopes (in memory) through the consumer's own batch path
 * (`processStreamBatch` with the in-memory stores of `local/replay-envelopes.ts`), exactly as
 * `replayEnvelopes` does — same batch size, positions and arrival guard — plus a recording
 * `MitigationStarter`, so every execution the consumer would start is kept with its input (the
 * full `Anomaly`, band and `softOnly` included, which alerts.jsonl does not carry). Change windows
 * declared through the operator route (the scenario's platform-wide maintenance) are stored in the
 * same change store when the replay reaches their declaration time, interleaved with the lines.
 *
 * `test/e2e/scenario-quality.test.ts` checks that the alert lines are byte-identical to
 * `replayEnvelopes`' alerts.jsonl.
 */
import type { Anomaly } from '../../lambdas/core/anomaly.js';
import type { DetectionSettings } from '../../lambdas/core/score-windows.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../../lambdas/core/window-settings.js';
import { InMemoryChangeStore } from '../../lambdas/adapters/in-memory/change-store.js';
import type { DeadLetter } from '../../lambdas/core/ports/dead-letter-sink.js';
import { executionName } from '../../lambdas/adapters/mitigation-starter.js';
import type { MitigationStarter } from '../../lambdas/core/ports/mitigation-starter.js';
import {
  inMemoryConsumerDeps,
  replayBatcher,
  type ReplayEnvelopesResult,
  type TimedOperatorChange,
} from '../../local/replay-envelopes.js';

/** What the consumer's trigger rules started: the execution input's anomaly, once per episode. */
export interface StartedMitigation {
  execution: string;
  anomaly: Anomaly;
}

export interface ConsumerReplay {
  result: ReplayEnvelopesResult;
  /** alerts.jsonl, line by line (one per confirmed episode, suppressed ones included). */
  alertLines: string[];
  deadLetters: DeadLetter[];
  mitigations: StartedMitigation[];
  /** The change records the consumer and the operator route stored (what the workflow's Plan task reads). */
  changes: InMemoryChangeStore;
}

/** Records one execution per episode, like Step Functions with the deterministic execution name. */
class RecordingStarter implements MitigationStarter {
  readonly started: StartedMitigation[] = [];
  private readonly names = new Set<string>();
  async start(anomaly: Anomaly): Promise<{ execution: string; started: boolean }> {
    const execution = executionName(anomaly);
    if (this.names.has(execution)) return { execution, started: false };
    this.names.add(execution);
    this.started.push({ execution, anomaly: structuredClone(anomaly) });
    return { execution, started: true };
  }
}

export interface ReplayLinesOptions {
  settings?: WindowSettings;
  detection?: DetectionSettings;
  batchSize?: number;
  /**
   * Declared through the operator route (POST /v1/anomaly/changes): stored when the replay reaches `at`, not streamed.
   */
  operatorChanges?: readonly TimedOperatorChange[];
}

export async function replayLines(lines: readonly string[], opts: ReplayLinesOptions = {}): Promise<ConsumerReplay> {
  const started = performance.now();
  const deadLetters: DeadLetter[] = [];
  const starter = new RecordingStarter();
  const changes = new InMemoryChangeStore();
  const deps = inMemoryConsumerDeps({
    changes,
    deadLetters: { send: async (l: readonly DeadLetter[]) => void deadLetters.push(...l) },
    mitigations: starter,
    settings: opts.settings ?? DEFAULT_WINDOW_SETTINGS,
    source: 'replay',
    ...(opts.detection && { detection: opts.detection }),
  });
  const replay = replayBatcher(deps, {
    ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
    ...(opts.operatorChanges && { operatorChanges: opts.operatorChanges, operatorStore: changes }),
  });
  for (const line of lines) await replay.push(line);
  const result = await replay.end();
  result.ms = performance.now() - started;
  const { alertLines } = replay;
  return { result, alertLines, deadLetters, mitigations: starter.started, changes };
}
