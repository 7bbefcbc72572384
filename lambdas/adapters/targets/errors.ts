import type { TargetKind } from '../../core/mitigation/actions.js';

/**
 * Errors the targets throw. The names are stable so a Step Functions Retry/Catch can tell the
 * permanent ones (a step the configuration does not allow, a malformed step: retrying cannot help)
 * from the transient ones (a lost optimistic-concurrency race, a deployment in progress).
 */

/** Permanent: the step names a resource that is not in the adapter's configuration. */
export class ResourceNotAllowedError extends Error {
  override readonly name = 'ResourceNotAllowedError';
  constructor(
    readonly kind: TargetKind,
    readonly resource: string,
    readonly allowed: readonly string[],
    configPath: string,
  ) {
    super(
      `${kind}: '${resource}' is not among the configured resources (${configPath}: ` +
        `${allowed.length ? allowed.map((a) => `'${a}'`).join(', ') : 'none'}); the adapter only touches what the ` +
        `configuration names`,
    );
  }
}

/** Permanent: the step's flag or value has the wrong shape for the target. */
export class InvalidStepError extends Error {
  override readonly name = 'InvalidStepError';
  constructor(
    readonly kind: TargetKind,
    readonly stepId: string,
    detail: string,
  ) {
    super(`${kind} step '${stepId}': ${detail}`);
  }
}

/** Permanent: a playbook step needs an adapter that is not enabled. */
export class TargetNotEnabledError extends Error {
  override readonly name = 'TargetNotEnabledError';
  constructor(
    readonly kind: TargetKind,
    readonly configKey: string,
    detail: string,
  ) {
    super(`action target '${kind}' is not enabled: ${detail}`);
  }
}

/** Transient: other writers kept winning the conditional write / lock token race. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
}

/** Transient: the AppConfig environment is busy with another deployment. */
export class DeploymentInProgressError extends Error {
  override readonly name = 'DeploymentInProgressError';
}
