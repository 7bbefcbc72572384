import {
  GetWebACLCommand,
  UpdateWebACLCommand,
  WAFOptimisticLockException,
  type Rule,
  type UpdateWebACLCommandInput,
  type WAFV2Client,
  type WebACL,
} from '@aws-sdk/client-wafv2';
import type { PlannedAction } from '../../core/mitigation/actions.js';
import { ControlTarget, type LiveRead, type ResolvedResource } from './control-target.js';
import { ConcurrentUpdateError, InvalidStepError, ResourceNotAllowedError } from './errors.js';
import type { SlotValue } from './layers.js';
import type { SlotStore } from './slot-store.js';

export interface WafRateLimitConfig {
  webAclName: string;
  webAclId: string;
  /** CLOUDFRONT web ACLs are managed through us-east-1: give a WAFV2 client for that region. */
  scope: 'REGIONAL' | 'CLOUDFRONT';
  /** The rate-based rules (by name) whose limit the mitigation may change. */
  ruleNames: string[];
}

interface WafResource extends ResolvedResource {
  ruleName: string;
}

interface WafContext {
  webAcl: WebACL;
  lockToken: string;
}

/** How often a lost lock-token race is retried (re-read, re-apply the change, update). */
export const WAF_LOCK_RETRIES = 5;

/**
 * WAFv2 rate-based rule limit. The step's `flag` is the rule name (one of `ruleNames`), its
 * `value` the new limit (requests per evaluation window, an integer). UpdateWebACL replaces the
 * whole web ACL, so the adapter sends back everything GetWebACL returned, changing only the
 * rule's `RateBasedStatement.Limit`, with the lock token; a WAFOptimisticLockException (someone
 * else updated the ACL in between) re-reads and retries.
 */
export class WafRateLimitTarget extends ControlTarget<WafResource, WafContext> {
  readonly kind = 'waf-rate-limit' as const;

  constructor(
    private readonly client: WAFV2Client,
    private readonly config: WafRateLimitConfig,
    slots: SlotStore,
  ) {
    super(slots);
  }

  protected resolve(action: PlannedAction): WafResource {
    const { step } = action;
    if (!this.config.ruleNames.includes(step.flag))
      throw new ResourceNotAllowedError(this.kind, step.flag, this.config.ruleNames, 'waf.ruleNames');
    if (typeof step.value !== 'number' || !Number.isInteger(step.value) || step.value <= 0) {
      throw new InvalidStepError(
        this.kind,
        step.id,
        `value must be a positive integer rate limit, got ${JSON.stringify(step.value)}`,
      );
    }
    return {
      slot: `${this.config.scope}/${this.config.webAclName}/${this.config.webAclId}/${step.flag}`,
      ruleName: step.flag,
    };
  }

  protected async read(resource: WafResource): Promise<LiveRead<WafContext>> {
    const context = await this.getWebAcl();
    return { value: rateRule(context.webAcl, resource.ruleName).Statement!.RateBasedStatement!.Limit ?? null, context };
  }

  protected async write(resource: WafResource, value: SlotValue, context: WafContext): Promise<string | undefined> {
    if (typeof value !== 'number')
      throw new InvalidStepError(this.kind, resource.ruleName, `cannot set a rate limit to ${JSON.stringify(value)}`);
    let current = context;
    for (let attempt = 0; ; attempt++) {
      const rule = rateRule(current.webAcl, resource.ruleName);
      if (rule.Statement!.RateBasedStatement!.Limit === value) return undefined;
      try {
        await this.client.send(
          new UpdateWebACLCommand(updateInput(current, resource.ruleName, value, this.config.scope)),
        );
        return undefined;
      } catch (e) {
        if (!(e instanceof WAFOptimisticLockException || (e as Error).name === 'WAFOptimisticLockException')) throw e;
        if (attempt + 1 >= WAF_LOCK_RETRIES)
          throw new ConcurrentUpdateError(
            `waf-rate-limit: web ACL ${this.config.webAclName} kept changing (lock token) over ${WAF_LOCK_RETRIES} ` +
              `attempts`,
          );
        current = await this.getWebAcl();
      }
    }
  }

  private async getWebAcl(): Promise<WafContext> {
    const out = await this.client.send(
      new GetWebACLCommand({ Name: this.config.webAclName, Scope: this.config.scope, Id: this.config.webAclId }),
    );
    if (!out.WebACL || !out.LockToken)
      throw new Error(`waf-rate-limit: GetWebACL returned no web ACL or lock token for ${this.config.webAclName}`);
    return { webAcl: out.WebACL, lockToken: out.LockToken };
  }
}

function rateRule(webAcl: WebACL, ruleName: string): Rule {
  const rule = webAcl.Rules?.find((r) => r.Name === ruleName);
  if (!rule) throw new Error(`waf-rate-limit: web ACL ${webAcl.Name} has no rule named '${ruleName}'`);
  if (!rule.Statement?.RateBasedStatement)
    throw new Error(`waf-rate-limit: rule '${ruleName}' of web ACL ${webAcl.Name} is not a rate-based rule`);
  return rule;
}

/** Every mutable field GetWebACL returned (UpdateWebACL resets what is left out), with one limit changed. */
function updateInput(
  { webAcl, lockToken }: WafContext,
  ruleName: string,
  limit: number,
  scope: WafRateLimitConfig['scope'],
): UpdateWebACLCommandInput {
  const rules = (webAcl.Rules ?? []).map((r) =>
    r.Name === ruleName
      ? {
          ...r,
          Statement: { ...r.Statement, RateBasedStatement: { ...r.Statement!.RateBasedStatement!, Limit: limit } },
        }
      : r,
  );
  const input: UpdateWebACLCommandInput = {
    Name: webAcl.Name,
    Scope: scope,
    Id: webAcl.Id,
    DefaultAction: webAcl.DefaultAction,
    Rules: rules,
    VisibilityConfig: webAcl.VisibilityConfig,
    LockToken: lockToken,
  };
  const optional = [
    'Description',
    'DataProtectionConfig',
    'CustomResponseBodies',
    'CaptchaConfig',
    'ChallengeConfig',
    'TokenDomains',
    'AssociationConfig',
    'OnSourceDDoSProtectionConfig',
    'ApplicationConfig',
    'MonetizationConfig',
  ] as const;
  for (const k of optional) if (webAcl[k] !== undefined) (input as unknown as Record<string, unknown>)[k] = webAcl[k];
  return input;
}
