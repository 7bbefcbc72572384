import { AppConfigClient } from '@aws-sdk/client-appconfig';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { z } from 'zod';
import { actedVia, type AppliedAction, type PlannedAction, type PlaybookStep, type TargetKind } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../action-target.js';
import { AppConfigTarget, type AppConfigConfig } from './appconfig.js';
import { CdnInvalidationTarget, type CloudFrontConfig } from './cdn-invalidation.js';
import { TargetNotEnabledError } from './errors.js';
import { FlagTableTarget } from './flag-table.js';
import { DynamoDbSlotStore, type SlotStore } from './slot-store.js';
import { UsagePlanTarget, type UsagePlanConfig } from './usage-plan.js';
import { WafRateLimitTarget, type WafRateLimitConfig } from './waf-rate-limit.js';
import { WebhookTarget, type WebhookConfig, type WebhookOptions } from './webhook.js';

export { AppConfigTarget, CdnInvalidationTarget, FlagTableTarget, UsagePlanTarget, WafRateLimitTarget, WebhookTarget };
export type { AppConfigConfig, CloudFrontConfig, UsagePlanConfig, WafRateLimitConfig, WebhookConfig };
export { readFlags, readTenantFlags, flagItemKey, flagScopeOf, setOperatorFlag, type FlagView } from './flag-table.js';
export { verifyWebhookSignature, signatureHeader, SIGNATURE_HEADER, IDEMPOTENCY_HEADER, EVENT_HEADER } from './webhook.js';
export * from './errors.js';
export type { RollbackOutcome } from './layers.js';

/**
 * Which action targets are enabled, naming the exact resources each may touch. The flag table is
 * always on (it is the state table); every other adapter is on only when its key is present.
 */
export interface ActionTargetsConfig {
  appConfig?: AppConfigConfig;
  usagePlans?: UsagePlanConfig;
  cloudFront?: CloudFrontConfig;
  waf?: WafRateLimitConfig;
  webhook?: WebhookConfig;
  /**
   * What a playbook step whose target is not enabled does, for every kind or per kind (kinds a map
   * leaves out: 'error'):
   * - 'error' (default): the step is not applied; planning hands it off to an operator (listed in the
   *   plan with the missing configuration), and targetFor() throws TargetNotEnabledError as a backstop.
   *   A deployment must not believe it throttled a WAF rule when it only wrote a flag nobody reads.
   * - 'flag-table': the step is applied to the flag table instead, as flag `<kind>:<flag>` for the
   *   action's tenant (or `*` when platform-scoped), for the local runtime and for services that
   *   implement the control themselves by reading flags. Rollback goes the same way. The applied
   *   action says so (`actedVia`: flag written for the service to read, no <kind> control changed).
   */
  unconfiguredTargets?: UnconfiguredTargets;
}

export type UnconfiguredHandling = 'error' | 'flag-table';
export type UnconfiguredTargets = UnconfiguredHandling | Partial<Record<Exclude<TargetKind, 'flag'>, UnconfiguredHandling>>;

/** What happens to a step of each kind that is not configured. */
export function unconfiguredHandling(setting: UnconfiguredTargets | undefined, kind: TargetKind): UnconfiguredHandling {
  if (setting === undefined) return 'error';
  if (typeof setting === 'string') return setting;
  return kind === 'flag' ? 'error' : (setting[kind] ?? 'error');
}

/** The configuration key that enables each adapter, and what it needs. */
export const TARGET_CONFIG_KEYS: Record<Exclude<TargetKind, 'flag'>, { key: keyof ActionTargetsConfig; needs: string }> = {
  appconfig: { key: 'appConfig', needs: '{applicationId, environmentId, configurationProfileId, deploymentStrategyId}' },
  'usage-plan': { key: 'usagePlans', needs: '{usagePlanIds: [...]}' },
  'cdn-invalidation': { key: 'cloudFront', needs: '{distributionIds: [...]}' },
  'waf-rate-limit': { key: 'waf', needs: '{webAclName, webAclId, scope, ruleNames: [...]}' },
  webhook: { key: 'webhook', needs: '{url, secretArn}' },
};

const id = z.string().min(1);
const ids = z.array(id).min(1);

/** Validates an ActionTargetsConfig (from cdk.json context or a Lambda environment variable). */
export const actionTargetsConfigSchema = z
  .object({
    appConfig: z.object({ applicationId: id, environmentId: id, configurationProfileId: id, deploymentStrategyId: id }).strict().optional(),
    usagePlans: z
      .object({ usagePlanIds: ids, tenantPlans: z.record(z.string(), id).optional() })
      .strict()
      .refine((u) => Object.values(u.tenantPlans ?? {}).every((p) => u.usagePlanIds.includes(p)), { message: 'every tenantPlans value must be one of usagePlanIds' })
      .optional(),
    cloudFront: z.object({ distributionIds: ids }).strict().optional(),
    waf: z.object({ webAclName: id, webAclId: id, scope: z.enum(['REGIONAL', 'CLOUDFRONT']), ruleNames: ids }).strict().optional(),
    webhook: z
      .object({
        url: z.string().refine((u) => URL.canParse(u) && new URL(u).protocol === 'https:', { message: 'must be an https:// URL' }),
        secretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN'),
        timeoutMs: z.number().int().min(100).max(30_000).optional(),
        maxAttempts: z.number().int().min(1).max(10).optional(),
      })
      .strict()
      .optional(),
    unconfiguredTargets: z
      .union([
        z.enum(['error', 'flag-table']),
        z
          .object(Object.fromEntries((['appconfig', 'usage-plan', 'cdn-invalidation', 'waf-rate-limit', 'webhook'] as const).map((k) => [k, z.enum(['error', 'flag-table']).optional()])))
          .strict(),
      ])
      .optional(),
  })
  .strict();

export function parseActionTargetsConfig(raw: unknown): ActionTargetsConfig {
  const parsed = actionTargetsConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new Error(`invalid action targets configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data as ActionTargetsConfig;
}

/** SDK clients; those not given are created with the default provider chain when their adapter is enabled. */
export interface ActionTargetClients {
  dynamo: DynamoDBClient;
  /** The state table (flags and the layer stacks of the AWS controls live there). */
  tableName: string;
  appConfig?: AppConfigClient;
  apiGateway?: APIGatewayClient;
  cloudFront?: CloudFrontClient;
  /** For scope CLOUDFRONT it must be a us-east-1 client. */
  wafv2?: WAFV2Client;
  /** Required when the webhook is enabled: the HMAC key, or a function fetching it from Secrets Manager. */
  webhookSecret?: WebhookOptions['secret'];
  webhookOptions?: Omit<WebhookOptions, 'secret'>;
  /** Override where flags and the AWS controls' layer stacks are kept (default: the state table). */
  slots?: SlotStore;
}

/** Applies a step of a kind that is not enabled to the flag table, as flag `<kind>:<flag>`. */
export class FlagFallbackTarget implements ActionTarget {
  readonly kind = 'flag' as const;
  constructor(
    readonly fallbackFor: TargetKind,
    private readonly flags: FlagTableTarget,
  ) {}

  static flagName(kind: TargetKind, step: PlaybookStep): string {
    return `${kind}:${step.flag}`;
  }

  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    const done = await this.flags.apply(action, now, FlagFallbackTarget.flagName(this.fallbackFor, action.step));
    return { ...done, actedVia: actedVia('flag', this.fallbackFor) };
  }

  async rollback(applied: AppliedAction, now: number): Promise<void> {
    await this.flags.rollbackWithOutcome(applied, now, FlagFallbackTarget.flagName(this.fallbackFor, applied.step));
  }
}

/** Names the control on every applied action of a configured AWS target (the flag targets name themselves). */
class NamingTarget implements ActionTarget {
  constructor(private readonly inner: ActionTarget) {}
  get kind(): TargetKind {
    return this.inner.kind;
  }
  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    const done = await this.inner.apply(action, now);
    return done.actedVia ? done : { ...done, actedVia: actedVia(this.inner.kind) };
  }
  rollback(applied: AppliedAction, now: number): Promise<void> {
    return this.inner.rollback(applied, now);
  }
}

/** A step whose target is not configured, and what the deployment does with it. */
export interface UnconfiguredStep {
  step: PlaybookStep;
  /** 'flag-table': written as a flag for the service to read; 'hand-off': not applied, an operator takes it. */
  handling: 'flag-table' | 'hand-off';
  error: TargetNotEnabledError;
}

/** The enabled targets by kind; `targetFor` is what the apply/rollback tasks call. */
export class ActionTargets extends Map<TargetKind, ActionTarget> {
  constructor(
    entries: Iterable<[TargetKind, ActionTarget]>,
    private readonly unconfigured: UnconfiguredTargets,
  ) {
    super(entries);
  }

  /** The target for a step's kind; throws TargetNotEnabledError (see unconfiguredTargets). Safe to pass around unbound. */
  readonly targetFor = (kind: TargetKind): ActionTarget => {
    const target = this.get(kind);
    if (target) return kind === 'flag' ? target : new NamingTarget(target);
    if (kind !== 'flag' && unconfiguredHandling(this.unconfigured, kind) === 'flag-table') return new FlagFallbackTarget(kind, this.get('flag') as FlagTableTarget);
    throw notEnabled(kind);
  };

  /** Steps whose target is not configured, and whether they go to the flag table or to an operator: for dry runs. */
  unavailable(steps: readonly PlaybookStep[]): UnconfiguredStep[] {
    return unconfiguredSteps(new Set(this.keys()), this.unconfigured, steps);
  }

  /** Kinds whose steps are handed off rather than applied (planning's `unavailableTargets`), with the missing configuration. */
  handedOffKinds(): Partial<Record<TargetKind, string>> {
    return handedOffKinds(new Set(this.keys()), this.unconfigured);
  }
}

/** The kinds a configuration enables (the flag table always). */
export function configuredKinds(config: ActionTargetsConfig): Set<TargetKind> {
  const kinds = new Set<TargetKind>(['flag']);
  for (const [kind, { key }] of Object.entries(TARGET_CONFIG_KEYS) as [Exclude<TargetKind, 'flag'>, { key: keyof ActionTargetsConfig }][]) if (config[key] !== undefined) kinds.add(kind);
  return kinds;
}

/** See `ActionTargets.unavailable`; from the configuration alone (the API's dry run creates no SDK clients). */
export function unconfiguredSteps(configured: ReadonlySet<TargetKind>, setting: UnconfiguredTargets | undefined, steps: readonly PlaybookStep[]): UnconfiguredStep[] {
  return steps.filter((s) => !configured.has(s.target)).map((step) => ({ step, handling: unconfiguredHandling(setting, step.target) === 'flag-table' ? 'flag-table' : 'hand-off', error: notEnabled(step.target) }));
}

/** See `ActionTargets.handedOffKinds`. */
export function handedOffKinds(configured: ReadonlySet<TargetKind>, setting: UnconfiguredTargets | undefined): Partial<Record<TargetKind, string>> {
  const out: Partial<Record<TargetKind, string>> = {};
  for (const kind of Object.keys(TARGET_CONFIG_KEYS) as Exclude<TargetKind, 'flag'>[]) {
    if (!configured.has(kind) && unconfiguredHandling(setting, kind) === 'error') out[kind] = notEnabled(kind).message;
  }
  return out;
}

function notEnabled(kind: TargetKind): TargetNotEnabledError {
  if (kind === 'flag') return new TargetNotEnabledError(kind, 'tableName', 'the flag table needs the state table');
  const { key, needs } = TARGET_CONFIG_KEYS[kind];
  return new TargetNotEnabledError(kind, key, `configure actionTargets.${key} = ${needs} (or set unconfiguredTargets: 'flag-table' to write such steps to the flag table instead)`);
}

/** Only configured adapters are created; the flag table always is. */
export function createActionTargets(config: ActionTargetsConfig, clients: ActionTargetClients): ActionTargets {
  const slots = clients.slots ?? new DynamoDbSlotStore(clients.dynamo, clients.tableName);
  const targets: [TargetKind, ActionTarget][] = [['flag', new FlagTableTarget(slots)]];
  if (config.appConfig) targets.push(['appconfig', new AppConfigTarget(clients.appConfig ?? new AppConfigClient({}), config.appConfig, slots)]);
  if (config.usagePlans) targets.push(['usage-plan', new UsagePlanTarget(clients.apiGateway ?? new APIGatewayClient({}), config.usagePlans, slots)]);
  // CloudFront's API lives in us-east-1, as does WAF for CloudFront-scoped web ACLs.
  if (config.cloudFront) targets.push(['cdn-invalidation', new CdnInvalidationTarget(clients.cloudFront ?? new CloudFrontClient({ region: 'us-east-1' }), config.cloudFront)]);
  if (config.waf) {
    const waf = clients.wafv2 ?? new WAFV2Client(config.waf.scope === 'CLOUDFRONT' ? { region: 'us-east-1' } : {});
    targets.push(['waf-rate-limit', new WafRateLimitTarget(waf, config.waf, slots)]);
  }
  if (config.webhook) {
    if (clients.webhookSecret === undefined) throw new Error(`webhook enabled but no secret given: resolve ${config.webhook.secretArn} and pass it as webhookSecret`);
    targets.push(['webhook', new WebhookTarget(config.webhook, { ...clients.webhookOptions, secret: clients.webhookSecret })]);
  }
  return new ActionTargets(targets, config.unconfiguredTargets ?? 'error');
}
