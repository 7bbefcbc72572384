import {
  GetUsagePlanCommand,
  UpdateUsagePlanCommand,
  type APIGatewayClient,
  type PatchOperation,
  type ThrottleSettings,
} from '@aws-sdk/client-api-gateway';
import type { PlannedAction, PlaybookStep } from '../../core/mitigation/actions.js';
import { ControlTarget, type LiveRead, type ResolvedResource } from './control-target.js';
import { InvalidStepError, ResourceNotAllowedError } from './errors.js';
import { isRecord, type Compose, type SlotValue } from './layers.js';
import type { SlotStore } from './slot-store.js';

export interface UsagePlanConfig {
  /** The usage plans the mitigation may throttle. */
  usagePlanIds: string[];
  /** Per-tenant usage plans, so a playbook can say `@tenant` instead of an id. Each must be in usagePlanIds. */
  tenantPlans?: Record<string, string>;
}

/** A throttle as API Gateway has it: requests per second (steady) and burst. null: no throttle. */
export interface Throttle {
  rateLimit?: number;
  burstLimit?: number;
}

interface PlanResource extends ResolvedResource {
  usagePlanId: string;
  /** Method-level throttle inside one API stage of the plan: `apiId:stage` and `/resource/path/METHOD`. */
  stage?: { apiStage: string; methodKey: string };
}

/**
 * API Gateway usage-plan throttling. The step's `flag` names what to throttle:
 *
 * - `<usagePlanId>` — the plan's throttle (patch `/throttle/rateLimit`, `/throttle/burstLimit`);
 * - `<usagePlanId>/<apiId>:<stage>/<resource path>/<HTTP method>` — a method-level throttle of one
 *   API stage in the plan, e.g. `k3x9a1/a1b2c3:prod/pets/GET` (patch
 *   `/apiStages/a1b2c3:prod/throttle//pets/GET/rateLimit`);
 * - `@tenant` in place of the plan id — the plan configured for the action's tenant (`tenantPlans`).
 *
 * The step's `value` is the new rate limit (a number) or `{rateLimit?, burstLimit?}`; what it leaves
 * out keeps the value below it. previous = the whole throttle before; rolling back to "no throttle"
 * removes the throttle.
 */
export class UsagePlanTarget extends ControlTarget<PlanResource, Throttle | null> {
  readonly kind = 'usage-plan' as const;
  protected override compose: Compose = (below, layer) =>
    ({ ...(isRecord(below) ? below : {}), ...toThrottle(layer) }) as SlotValue;

  constructor(
    private readonly client: APIGatewayClient,
    private readonly config: UsagePlanConfig,
    slots: SlotStore,
  ) {
    super(slots);
  }

  protected resolve(action: PlannedAction): PlanResource {
    const { step } = action;
    const slash = step.flag.indexOf('/');
    const head = slash < 0 ? step.flag : step.flag.slice(0, slash);
    let usagePlanId = head;
    if (head === '@tenant') {
      const planned = this.config.tenantPlans?.[action.tenant];
      if (!planned)
        throw new ResourceNotAllowedError(
          this.kind,
          `@tenant (tenant '${action.tenant}')`,
          Object.keys(this.config.tenantPlans ?? {}),
          'usagePlans.tenantPlans',
        );
      usagePlanId = planned;
    }
    if (!this.config.usagePlanIds.includes(usagePlanId))
      throw new ResourceNotAllowedError(this.kind, usagePlanId, this.config.usagePlanIds, 'usagePlans.usagePlanIds');
    const throttle = toThrottle(step.value);
    if (!throttle)
      throw new InvalidStepError(
        this.kind,
        step.id,
        `value must be a rate limit (number) or {rateLimit?, burstLimit?} with non-negative numbers, got ` +
          `${JSON.stringify(step.value)}`,
      );
    if (slash < 0) return { slot: usagePlanId, usagePlanId };
    const rest = step.flag.slice(slash + 1);
    const m = /^([^/:]+:[^/]+)(\/.*)?\/([A-Z]+|\*)$/.exec(rest);
    if (!m)
      throw new InvalidStepError(
        this.kind,
        step.id,
        `flag '${step.flag}' must be <usagePlanId> or <usagePlanId>/<apiId>:<stage>/<resource path>/<METHOD>`,
      );
    const methodKey = `${m[2] ?? '/'}/${m[3]}`;
    return { slot: `${usagePlanId}/${m[1]}${methodKey}`, usagePlanId, stage: { apiStage: m[1]!, methodKey } };
  }

  protected async read(resource: PlanResource): Promise<LiveRead<Throttle | null>> {
    const plan = await this.client.send(new GetUsagePlanCommand({ usagePlanId: resource.usagePlanId }));
    let settings: ThrottleSettings | undefined;
    if (resource.stage) {
      const stage = plan.apiStages?.find((s) => `${s.apiId}:${s.stage}` === resource.stage!.apiStage);
      if (!stage)
        throw new Error(
          `usage-plan: API stage ${resource.stage.apiStage} is not in usage plan ${resource.usagePlanId}`,
        );
      settings = stage.throttle?.[resource.stage.methodKey];
    } else {
      settings = plan.throttle;
    }
    const value = fromSettings(settings);
    return { value: value as SlotValue, context: value };
  }

  protected async write(resource: PlanResource, value: SlotValue, live: Throttle | null): Promise<string | undefined> {
    const prefix = resource.stage
      ? `/apiStages/${resource.stage.apiStage}/throttle/${resource.stage.methodKey}`
      : '/throttle';
    const target = value === null ? null : toThrottle(value as PlaybookStep['value']);
    const ops: PatchOperation[] = [];
    if (!target || (target.rateLimit === undefined && target.burstLimit === undefined)) {
      if (live) ops.push({ op: 'remove', path: prefix });
    } else {
      for (const k of ['rateLimit', 'burstLimit'] as const) {
        if (target[k] !== undefined && target[k] !== live?.[k])
          ops.push({ op: 'replace', path: `${prefix}/${k}`, value: String(target[k]) });
        else if (target[k] === undefined && live?.[k] !== undefined) ops.push({ op: 'remove', path: `${prefix}/${k}` });
      }
    }
    if (ops.length)
      await this.client.send(new UpdateUsagePlanCommand({ usagePlanId: resource.usagePlanId, patchOperations: ops }));
    return undefined;
  }
}

function fromSettings(s: ThrottleSettings | undefined): Throttle | null {
  if (!s || (s.rateLimit === undefined && s.burstLimit === undefined)) return null;
  return {
    ...(s.rateLimit !== undefined && { rateLimit: s.rateLimit }),
    ...(s.burstLimit !== undefined && { burstLimit: s.burstLimit }),
  };
}

/** A step value as a throttle, or undefined when it is not one. */
function toThrottle(v: PlaybookStep['value']): Throttle | undefined {
  const ok = (n: unknown) => n === undefined || (typeof n === 'number' && Number.isFinite(n) && n >= 0);
  if (typeof v === 'number') return ok(v) ? { rateLimit: v } : undefined;
  if (!isRecord(v)) return undefined;
  const keys = Object.keys(v);
  if (
    !keys.length ||
    keys.some((k) => k !== 'rateLimit' && k !== 'burstLimit') ||
    !ok(v.rateLimit) ||
    !ok(v.burstLimit)
  )
    return undefined;
  return {
    ...(v.rateLimit !== undefined && { rateLimit: v.rateLimit as number }),
    ...(v.burstLimit !== undefined && { burstLimit: v.burstLimit as number }),
  };
}
