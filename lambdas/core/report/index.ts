export {
  buildReport,
  evidenceFiles,
  renderJson,
  renderReport,
  type RenderedReport,
  type ReportObject,
} from './bundle.js';
export {
  CONTROL_WINDOW_MINUTES,
  COST_CORRECTION_TARGET_PERCENT,
  OVERAGE_THRESHOLD_PERCENT,
  RELATIVE_TARGET_PERCENT,
  evaluateControlTarget,
  evaluateCostCorrection,
  type ControlTargetInput,
  type CostCorrectionInput,
} from './control-targets.js';
export {
  COST_PERIOD_DAYS,
  costCard,
  type CostCardInput,
  type CostCardMitigation,
  type CostCardSeries,
} from './cost-card.js';
export { buildDailyReport, summariseEpisode } from './daily.js';
export { buildEpisodeReport } from './episode.js';
export { STABLE_MINUTES, estimateSavings, stabilisedAt } from './figures.js';
export { renderHtml } from './html.js';
export { dailyReportId, episodeReportId, objectKeysFor, reportObjectKeys, type ReportObjectKeys } from './keys.js';
export { renderMarkdown } from './markdown.js';
export type * from './model.js';
export { MAX_CHART_POINTS, downsample, normaliseSeries } from './series.js';
export { ArchiveNameError, tarGz, ustar, type ArchiveFile } from './tar.js';
