import { z } from 'zod';

const id = z.string().min(1);
const ids = z.array(id).min(1);
const handling = z.enum(['error', 'flag-table']);

/**
 * Validates an ActionTargetsConfig (from cdk.json context or a Lambda environment variable): which
 * action targets are enabled, naming the exact resources each may touch. The flag table is always on
 * (it is the state table); every other adapter is on only when its key is present.
 *
 * `unconfiguredTargets`: what a playbook step whose target is not enabled does, for every kind or per
 * kind (kinds a map leaves out: 'error'):
 * - 'error' (default): the step is not applied; planning hands it off to an operator (listed in the
 *   plan with the missing configuration), and targetFor() throws TargetNotEnabledError as a backstop.
 *   A deployment must not believe it throttled a WAF rule when it only wrote a flag nobody reads.
 * - 'flag-table': the step is applied to the flag table instead, as flag `<kind>:<flag>` for the
 *   action's tenant (or `*` when platform-scoped), for the local runtime and for services that
 *   implement the control themselves by reading flags. Rollback goes the same way. The applied
 *   action says so (`actedVia`: flag written for the service to read, no <kind> control changed).
 */
export const actionTargetsConfigSchema = z
  .object({
    appConfig: z
      .object({ applicationId: id, environmentId: id, configurationProfileId: id, deploymentStrategyId: id })
      .strict()
      .optional(),
    usagePlans: z
      .object({ usagePlanIds: ids, tenantPlans: z.record(z.string(), id).optional() })
      .strict()
      .refine((u) => Object.values(u.tenantPlans ?? {}).every((p) => u.usagePlanIds.includes(p)), {
        message: 'every tenantPlans value must be one of usagePlanIds',
      })
      .optional(),
    cloudFront: z.object({ distributionIds: ids }).strict().optional(),
    waf: z
      .object({ webAclName: id, webAclId: id, scope: z.enum(['REGIONAL', 'CLOUDFRONT']), ruleNames: ids })
      .strict()
      .optional(),
    webhook: z
      .object({
        url: z
          .string()
          .refine((u) => URL.canParse(u) && new URL(u).protocol === 'https:', { message: 'must be an https:// URL' }),
        secretArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN'),
        timeoutMs: z.number().int().min(100).max(30_000).optional(),
        maxAttempts: z.number().int().min(1).max(10).optional(),
      })
      .strict()
      .optional(),
    unconfiguredTargets: z
      .union([
        handling,
        z
          .object({
            appconfig: handling.optional(),
            'usage-plan': handling.optional(),
            'cdn-invalidation': handling.optional(),
            'waf-rate-limit': handling.optional(),
            webhook: handling.optional(),
          })
          .strict(),
      ])
      .optional(),
  })
  .strict();

/** Which action targets are enabled (see actionTargetsConfigSchema). */
export type ActionTargetsConfig = z.infer<typeof actionTargetsConfigSchema>;
export type UnconfiguredTargets = NonNullable<ActionTargetsConfig['unconfiguredTargets']>;
export type UnconfiguredHandling = z.infer<typeof handling>;

/**
 * Parses and validates the action targets configuration; throws naming every invalid field.
 *
 * @example
 * const config = parseActionTargetsConfig(JSON.parse(process.env.ACTION_TARGETS || '{}'));
 * config.waf?.ruleNames; // string[] when the WAF target is enabled
 */
export function parseActionTargetsConfig(raw: unknown): ActionTargetsConfig {
  const parsed = actionTargetsConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new Error(
      `invalid action targets configuration: ` +
        `${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
