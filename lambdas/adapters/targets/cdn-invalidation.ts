import { CreateInvalidationCommand, type CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { AppliedAction, PlannedAction, PlaybookStep } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';
import { InvalidStepError, ResourceNotAllowedError } from './errors.js';
import { isRecord } from './layers.js';

export interface CloudFrontConfig {
  /** The distributions the mitigation may invalidate. */
  distributionIds: string[];
}

/** CloudFront accepts at most this many paths per invalidation batch (wildcard paths count the same). */
export const MAX_INVALIDATION_PATHS = 3000;

/**
 * CloudFront invalidation. The step's `flag` is the distribution id, its `value` a path
 * (`'/search/*'`) or `{paths: [...]}`; `undo` must be 'none' (an invalidation cannot be undone,
 * and rollback is a no-op).
 *
 * Idempotent by itself: CallerReference is the rollback key, and CloudFront answers a repeated
 * CreateInvalidation with the same reference and paths with the invalidation it already created
 * (same id, same create time), so a second apply returns the same AppliedAction.
 */
export class CdnInvalidationTarget implements ActionTarget {
  readonly kind = 'cdn-invalidation' as const;

  constructor(
    private readonly client: CloudFrontClient,
    private readonly config: CloudFrontConfig,
  ) {}

  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    const { step } = action;
    if (!this.config.distributionIds.includes(step.flag))
      throw new ResourceNotAllowedError(
        this.kind,
        step.flag,
        this.config.distributionIds,
        'cloudFront.distributionIds',
      );
    if (step.undo !== 'none')
      throw new InvalidStepError(
        this.kind,
        step.id,
        `an invalidation cannot be undone: the step's undo must be 'none', got '${step.undo}'`,
      );
    const paths = invalidationPaths(step);
    const out = await this.client.send(
      new CreateInvalidationCommand({
        DistributionId: step.flag,
        InvalidationBatch: { CallerReference: action.rollbackKey, Paths: { Quantity: paths.length, Items: paths } },
      }),
    );
    const created = out.Invalidation?.CreateTime;
    const applied: AppliedAction = {
      ...action,
      previous: null,
      appliedAt: created instanceof Date ? created.getTime() : now,
    };
    if (out.Invalidation?.Id) applied.targetRef = out.Invalidation.Id;
    return applied;
  }

  /** Nothing to undo: cached objects that were dropped just get fetched again. */
  async rollback(_applied: AppliedAction, _now: number): Promise<void> {}
}

function invalidationPaths(step: PlaybookStep): string[] {
  const raw =
    typeof step.value === 'string'
      ? [step.value]
      : isRecord(step.value) && Array.isArray(step.value.paths)
        ? step.value.paths
        : undefined;
  if (!raw?.length || raw.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw new InvalidStepError(
      'cdn-invalidation',
      step.id,
      `value must be a path starting with '/' or {paths: ['/...']}, got ${JSON.stringify(step.value)}`,
    );
  }
  const paths = [...new Set(raw as string[])];
  if (paths.length > MAX_INVALIDATION_PATHS)
    throw new InvalidStepError(
      'cdn-invalidation',
      step.id,
      `${paths.length} paths: CloudFront takes at most ${MAX_INVALIDATION_PATHS} per invalidation`,
    );
  return paths;
}
