/** Every applied or rolled-back action, and every workflow outcome, as an event on the default bus. */
export interface MitigationEvent {
  detailType: 'Mitigation Action Applied' | 'Mitigation Action Rolled Back' | 'Mitigation Outcome';
  detail: Record<string, unknown>;
}

export interface MitigationEventBus {
  publish(events: readonly MitigationEvent[]): Promise<void>;
}
