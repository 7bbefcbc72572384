import { scorePoint, slowReference, type DetectorSettings, type DetectorState } from './detection/index.js';
import {
  DEFAULT_TRIGGER_SETTINGS,
  trackEpisode,
  type EpisodeEvent,
  type EpisodeTracker,
  type MinuteScore,
  type TriggerSettings,
} from './episodes.js';
import type { TraceCursor } from './episode-trace.js';
import { ENGAGEMENT_SIGNAL } from './observations.js';
import { signalSpec } from './signals.js';
import type { WindowResult, KeyState } from './key-state.js';
import { MINUTE_MS } from './time.js';

/** Per-key detection state, kept in the key state item (KeyState) next to the buckets. */
export interface KeyDetection {
  det?: DetectorState;
  trk?: EpisodeTracker;
  /** The closed episode whose recovery is still being traced (episode-trace.ts); absent: none. */
  trc?: TraceCursor;
}

export interface DetectionSettings {
  detector?: Partial<DetectorSettings>;
  triggers?: TriggerSettings;
}

export interface DetectionResult {
  detection: KeyDetection;
  minutes: MinuteScore[];
  events: EpisodeEvent[];
}

/**
 * Score every emitted window of one key and run the trigger rules over the scored minutes.
 * Metric keys are scored on the window's last minute; engagement keys on the whole 10-minute
 * window (seed 000: low engagement over the running window is the anomaly).
 *
 * @example
 * const folded = foldObservations(prev, observations, settings);
 * const { detection, minutes, events } = scoreWindows(folded.state, folded.state, folded.windows);
 * Object.assign(folded.state, detection); // events: episodes confirmed or recovered in these minutes
 */
export function scoreWindows(
  prev: KeyDetection | undefined,
  state: Pick<KeyState, 'key' | 'signal'>,
  windows: readonly WindowResult[],
  settings: DetectionSettings = {},
): DetectionResult {
  const spec = signalSpec(state.signal);
  let det = prev?.det;
  let trk = prev?.trk;
  const minutes: MinuteScore[] = [];
  const events: EpisodeEvent[] = [];
  for (const w of windows) {
    const value = state.signal === ENGAGEMENT_SIGNAL ? (w.n ? w.mean : undefined) : w.lastMinute?.mean;
    if (value === undefined) continue;
    const ts = w.end - MINUTE_MS;
    // Cost signals: the slow seasonal expectation before this point is learned (the creep rule's reference).
    const reference = spec.category === 'cost' ? slowReference(det, ts, settings.detector) : undefined;
    const scored = scorePoint(det, { ts, value }, spec.bad, settings.detector);
    det = scored.state;
    // `anomalous` marks where an anomaly starts (and new extremes); `ongoing` keeps it up while the
    // series stays out of band, which is what the consecutive-minute trigger counts.
    const anomalous = (scored.anomalous || scored.ongoing) && !scored.warmingUp;
    const minute: MinuteScore = {
      ts,
      observed: value,
      expected: scored.expected,
      band: scored.band,
      score: scored.score,
      anomalous,
    };
    if (reference !== undefined && !scored.warmingUp) minute.reference = reference;
    if (anomalous && scored.kind) minute.kind = scored.kind;
    minutes.push(minute);
    const tracked = trackEpisode(trk, state.key, minute, spec.category, settings.triggers ?? DEFAULT_TRIGGER_SETTINGS);
    trk = tracked.tracker;
    events.push(...tracked.events);
  }
  const detection: KeyDetection = {};
  if (det) detection.det = det;
  if (trk) detection.trk = trk;
  return { detection, minutes, events };
}
