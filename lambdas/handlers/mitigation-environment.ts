import type { StepApprovalConfig } from '../core/mitigation/guardrail-request.js';

/** Environment variables of the mitigation task Lambda (set by lib/mitigation-workflow.ts and by the local runtime). */
export const MITIGATION_ENV = {
  stateTable: 'STATE_TABLE_NAME',
  alertTopicArn: 'ALERT_TOPIC_ARN',
  eventBusName: 'EVENT_BUS_NAME',
  deploymentRegion: 'DEPLOYMENT_REGION',
  actionTargets: 'ACTION_TARGETS',
  /**
   * `mitigation.platformMinTenants`: the smallest incident (in tenants) a platform-wide or irreversible step answers.
   */
  platformMinTenants: 'PLATFORM_MIN_TENANTS',
  /** `mitigation.stepApproval` as JSON: per step id, `required` or `auto`. */
  stepApproval: 'STEP_APPROVAL',
} as const;

/** The global kill switch's flag (defined with the kill-switch port, re-exported for the handlers). */
export { KILL_SWITCH_FLAG } from '../core/ports/kill-switch.js';

/** `STEP_APPROVAL` as the task Lambda reads it; the local runtime reads the synthesized function's value with it. */
export function stepApprovalOf(value: string | undefined): StepApprovalConfig {
  return JSON.parse(value || '{}') as StepApprovalConfig;
}
