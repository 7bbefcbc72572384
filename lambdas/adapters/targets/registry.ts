import type { PlaybookStep, TargetKind } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';
import {
  handedOffKinds,
  notEnabled,
  unconfiguredHandling,
  unconfiguredSteps,
  type UnconfiguredStep,
} from './config.js';
import { FlagFallbackTarget, NamingTarget } from './fallback.js';
import type { FlagTableTarget } from './flag-table.js';
import type { UnconfiguredTargets } from './schema.js';

/** The enabled targets by kind; `targetFor` is what the apply/rollback tasks call. */
export class ActionTargets extends Map<TargetKind, ActionTarget> {
  constructor(
    entries: Iterable<[TargetKind, ActionTarget]>,
    private readonly unconfigured: UnconfiguredTargets,
  ) {
    super(entries);
  }

  /**
   * The target for a step's kind; throws TargetNotEnabledError (see unconfiguredTargets). Safe to pass around unbound.
   */
  readonly targetFor = (kind: TargetKind): ActionTarget => {
    const target = this.get(kind);
    if (target) return kind === 'flag' ? target : new NamingTarget(target);
    if (kind !== 'flag' && unconfiguredHandling(this.unconfigured, kind) === 'flag-table')
      return new FlagFallbackTarget(kind, this.get('flag') as FlagTableTarget);
    throw notEnabled(kind);
  };

  /** Steps whose target is not configured, and whether they go to the flag table or to an operator: for dry runs. */
  unavailable(steps: readonly PlaybookStep[]): UnconfiguredStep[] {
    return unconfiguredSteps(new Set(this.keys()), this.unconfigured, steps);
  }

  /**
   * Kinds whose steps are handed off rather than applied (planning's `unavailableTargets`), with the missing
   * configuration.
   */
  handedOffKinds(): Partial<Record<TargetKind, string>> {
    return handedOffKinds(new Set(this.keys()), this.unconfigured);
  }
}
