/**
 * Streaming, per-key, bounded-state anomaly detection (seed 004 §B, docs/architecture.md "Detection").
 * Pure: feed each new point of a series with the state returned for the previous one.
 */
export { incidentView, scorePoint, type AlertKind, type PointScore, type SeriesPoint } from './score-point.js';
export {
  DEFAULT_DETECTOR_SETTINGS,
  resolveSettings,
  validateDetectorSettings,
  type DetectorSettings,
} from './settings.js';
export { emptyState, initialState, type DetectorState } from './state.js';
export { parseDetectorState } from './state-schema.js';
export { slowReference } from './slow-reference.js';
