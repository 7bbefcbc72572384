import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { parseSourceConfigs, type UsageSourceConfig } from '../lambdas/core/ingest/source-config.js';
import {
  PollFailedError,
  pollSource,
  type PollResult,
  type SourceDeadLetter,
} from '../lambdas/handlers/source-poller.js';
import { SOURCE_POLLER_ENV } from '../lambdas/handlers/source-poller-environment.js';
import { LocalDeadLetterSink, type LocalQueue } from './queue.js';
import { resourcesOfType, type CfnTemplate } from './stand-ins.js';
import { MINUTE_MS } from '../lambdas/core/time.js';

export interface SourceTally {
  polls: number;
  failedPolls: number;
  put: number;
  rejected: number;
  putFailed: number;
}

export interface LocalSourceScheduleProps {
  template: CfnTemplate;
  kinesis: KinesisClient;
  streamName: string;
  failureQueue: LocalQueue<SourceDeadLetter>;
  /** The local secret store: secret id → value (what Secrets Manager holds in AWS). */
  secrets: ReadonlyMap<string, string>;
  onPoll?: (r: PollResult) => void;
  onError?: (e: unknown) => void;
}

/**
 * The EventBridge schedules of the synthesized source pollers, driven by event time: each time the
 * simulated clock passes a source's schedule boundary, the poller's own handler code runs with the
 * scheduled event EventBridge would send, configured from the function's environment in the template.
 */
export class LocalSourceSchedule {
  readonly tally: SourceTally = { polls: 0, failedPolls: 0, put: 0, rejected: 0, putFailed: 0 };
  private readonly sources: UsageSourceConfig[];
  private readonly nextRun = new Map<string, number>();

  constructor(private readonly props: LocalSourceScheduleProps) {
    this.sources = resourcesOfType(props.template, 'AWS::Lambda::Function')
      .map(([, r]) => r.Properties?.Environment?.Variables?.[SOURCE_POLLER_ENV.source] as string | undefined)
      .filter((v): v is string => typeof v === 'string')
      .map((v) => parseSourceConfigs([JSON.parse(v)])[0]!);
  }

  get sourceNames(): string[] {
    return this.sources.map((s) => s.name);
  }

  /** Runs every poll scheduled after the first call's time and up to `now`, in schedule order. */
  async advance(now: number): Promise<void> {
    for (const source of this.sources) {
      const step = source.scheduleMinutes * MINUTE_MS;
      let at = this.nextRun.get(source.name) ?? Math.floor(now / step) * step + step;
      for (; at <= now; at += step) await this.poll(source, at);
      this.nextRun.set(source.name, at);
    }
  }

  private async poll(source: UsageSourceConfig, at: number): Promise<void> {
    const { props } = this;
    this.tally.polls++;
    try {
      const result = await pollSource(
        { time: new Date(at).toISOString() },
        {
          source,
          kinesis: props.kinesis,
          streamName: props.streamName,
          deadLetters: new LocalDeadLetterSink(props.failureQueue),
          readSecret: async (id) => {
            const value = props.secrets.get(id);
            if (value === undefined) throw new Error(`no local secret ${id}`);
            return value;
          },
        },
      );
      this.count(result);
      props.onPoll?.(result);
    } catch (e) {
      // The window is already in the failure queue; what was fetched before the failure was put.
      this.tally.failedPolls++;
      if (e instanceof PollFailedError) this.count(e.result);
      props.onError?.(e);
    }
  }

  private count(r: PollResult): void {
    this.tally.put += r.put;
    this.tally.rejected += r.rejected;
    this.tally.putFailed += r.putFailed;
  }
}
