/** The global kill switch: a platform flag operators set to pause automatic mitigation. */
export const KILL_SWITCH_FLAG = 'mitigation.paused';

export interface KillSwitchState {
  paused: boolean;
  /** Who set it and why (`operator: <reason>`), when it is set. */
  setBy: string | null;
  updatedAt: number | null;
}

/** Whether automatic mitigation is paused now (the guardrails and the apply task ask before acting). */
export type KillSwitch = () => Promise<boolean>;
