// The action targets: one adapter per control, the configuration that enables them, and the
// registry the mitigation tasks ask for a step's target. This file only re-exports.
export { AppConfigTarget, type AppConfigConfig } from './appconfig.js';
export { CdnInvalidationTarget, type CloudFrontConfig } from './cdn-invalidation.js';
export {
  FlagTableTarget,
  readFlags,
  readTenantFlags,
  flagItemKey,
  flagScopeOf,
  setOperatorFlag,
  type FlagView,
} from './flag-table.js';
export { UsagePlanTarget, type UsagePlanConfig } from './usage-plan.js';
export { WafRateLimitTarget, type WafRateLimitConfig } from './waf-rate-limit.js';
export {
  WebhookTarget,
  verifyWebhookSignature,
  signatureHeader,
  SIGNATURE_HEADER,
  IDEMPOTENCY_HEADER,
  EVENT_HEADER,
  type WebhookConfig,
} from './webhook.js';
export * from './errors.js';
export type { RollbackOutcome } from './layers.js';
export {
  actionTargetsConfigSchema,
  parseActionTargetsConfig,
  type ActionTargetsConfig,
  type UnconfiguredHandling,
  type UnconfiguredTargets,
} from './schema.js';
export {
  configuredKinds,
  handedOffKinds,
  TARGET_CONFIG_KEYS,
  unconfiguredHandling,
  unconfiguredSteps,
  type UnconfiguredStep,
} from './config.js';
export { FlagFallbackTarget } from './fallback.js';
export { ActionTargets } from './registry.js';
export { createActionTargets, type ActionTargetClients } from './factory.js';
