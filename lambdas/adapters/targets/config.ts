import type { PlaybookStep, TargetKind } from '../../core/mitigation/actions.js';
import { TargetNotEnabledError } from './errors.js';
import type { ActionTargetsConfig, UnconfiguredHandling, UnconfiguredTargets } from './schema.js';

/** What happens to a step of each kind that is not configured. */
export function unconfiguredHandling(setting: UnconfiguredTargets | undefined, kind: TargetKind): UnconfiguredHandling {
  if (setting === undefined) return 'error';
  if (typeof setting === 'string') return setting;
  return kind === 'flag' ? 'error' : (setting[kind] ?? 'error');
}

/** The configuration key that enables each adapter, and what it needs. */
export const TARGET_CONFIG_KEYS: Record<
  Exclude<TargetKind, 'flag'>,
  { key: keyof ActionTargetsConfig; needs: string }
> = {
  appconfig: {
    key: 'appConfig',
    needs: '{applicationId, environmentId, configurationProfileId, deploymentStrategyId}',
  },
  'usage-plan': { key: 'usagePlans', needs: '{usagePlanIds: [...]}' },
  'cdn-invalidation': { key: 'cloudFront', needs: '{distributionIds: [...]}' },
  'waf-rate-limit': { key: 'waf', needs: '{webAclName, webAclId, scope, ruleNames: [...]}' },
  webhook: { key: 'webhook', needs: '{url, secretArn}' },
};

/** A step whose target is not configured, and what the deployment does with it. */
export interface UnconfiguredStep {
  step: PlaybookStep;
  /** 'flag-table': written as a flag for the service to read; 'hand-off': not applied, an operator takes it. */
  handling: 'flag-table' | 'hand-off';
  error: TargetNotEnabledError;
}

/** The kinds a configuration enables (the flag table always). */
export function configuredKinds(config: ActionTargetsConfig): Set<TargetKind> {
  const kinds = new Set<TargetKind>(['flag']);
  for (const [kind, { key }] of Object.entries(TARGET_CONFIG_KEYS) as [
    Exclude<TargetKind, 'flag'>,
    { key: keyof ActionTargetsConfig },
  ][])
    if (config[key] !== undefined) kinds.add(kind);
  return kinds;
}

/** See `ActionTargets.unavailable`; from the configuration alone (the API's dry run creates no SDK clients). */
export function unconfiguredSteps(
  configured: ReadonlySet<TargetKind>,
  setting: UnconfiguredTargets | undefined,
  steps: readonly PlaybookStep[],
): UnconfiguredStep[] {
  return steps
    .filter((s) => !configured.has(s.target))
    .map((step) => ({
      step,
      handling: unconfiguredHandling(setting, step.target) === 'flag-table' ? 'flag-table' : 'hand-off',
      error: notEnabled(step.target),
    }));
}

/** See `ActionTargets.handedOffKinds`. */
export function handedOffKinds(
  configured: ReadonlySet<TargetKind>,
  setting: UnconfiguredTargets | undefined,
): Partial<Record<TargetKind, string>> {
  const out: Partial<Record<TargetKind, string>> = {};
  for (const kind of Object.keys(TARGET_CONFIG_KEYS) as Exclude<TargetKind, 'flag'>[]) {
    if (!configured.has(kind) && unconfiguredHandling(setting, kind) === 'error') out[kind] = notEnabled(kind).message;
  }
  return out;
}

/** The error for a step whose target kind is not configured, naming the configuration it needs. */
export function notEnabled(kind: TargetKind): TargetNotEnabledError {
  if (kind === 'flag') return new TargetNotEnabledError(kind, 'tableName', 'the flag table needs the state table');
  const { key, needs } = TARGET_CONFIG_KEYS[kind];
  return new TargetNotEnabledError(
    kind,
    key,
    `configure actionTargets.${key} = ${needs} (or set unconfiguredTargets: 'flag-table' to write such steps to ` +
      `the flag table instead)`,
  );
}
