import type { AppliedAction, PlannedAction, TargetKind } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';
import { ConcurrentUpdateError } from './errors.js';
import {
  appliedFrom,
  effectiveValue,
  observe,
  pushLayer,
  removeLayer,
  replace,
  sameSlotValue,
  withTargetRef,
  type Compose,
  type RollbackOutcome,
  type SlotState,
  type SlotValue,
} from './layers.js';
import { conflictBackoff, MAX_CONFLICT_RETRIES, type SlotKey, type SlotStore, type StoredSlot } from './slot-store.js';

/** The live value of an AWS control, and whatever the write needs from that read (lock token, content). */
export interface LiveRead<C> {
  value: SlotValue;
  context: C;
}

/** A resolved, allowed resource: `slot` names the one value the step controls. */
export interface ResolvedResource {
  slot: string;
}

/**
 * The shared apply/rollback for an AWS control (AppConfig flag, usage-plan throttle, WAF limit).
 *
 * The AWS control holds only the current value, so the layer stack (who applied what over which
 * previous value, see layers.ts) is kept in the state table, item pk `ctl#<kind>`, sk `<slot>`.
 * Order of work, so that a crash or a retry at any point converges:
 *   1. read the live value and the stored stack;
 *   2. push (or remove) the layer; conditional write of the stack with `pending: true` when the live
 *      value must change;
 *   3. write the new value to AWS — only when it differs from the live one, so a second apply sends
 *      no mutating request;
 *   4. conditional write `pending: false`; if someone wrote the stack in between, re-read and push
 *      their value instead (the stack in the table is the single source of the target value).
 * A live value that differs from the stack while nothing is pending means someone changed the
 * control by hand: that value wins and becomes the new base (outstanding rollbacks leave it alone).
 * While a push is pending, the stack wins (the push is finished on the next apply/rollback).
 */
export abstract class ControlTarget<R extends ResolvedResource, C> implements ActionTarget {
  abstract readonly kind: TargetKind;
  protected compose: Compose = replace;

  constructor(protected readonly slots: SlotStore) {}

  /** Check the step against the configuration and the value's shape; throws a permanent error. */
  protected abstract resolve(action: PlannedAction): R;
  protected abstract read(resource: R): Promise<LiveRead<C>>;
  /** Set the live control to `value`; returns a target reference (deployment number, ...) if any. */
  protected abstract write(
    resource: R,
    value: SlotValue,
    context: C,
    action: PlannedAction,
  ): Promise<string | undefined>;

  protected slotKey(resource: R): SlotKey {
    return { pk: `ctl#${this.kind}`, sk: resource.slot };
  }

  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    const resource = this.resolve(action);
    const key = this.slotKey(resource);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const [live, stored] = await Promise.all([this.read(resource), this.slots.get(key)]);
      const state = this.reconcile(stored, live.value, now);
      const pushed = pushLayer(state, action, now, this.compose);
      const target = effectiveValue(pushed.state, this.compose);
      const mustWrite = !sameSlotValue(live.value, target);
      let version = stored?.version;
      if (pushed.changed || state !== stored?.state || mustWrite !== (stored?.pending ?? false)) {
        version = await this.slots.put(
          key,
          { state: pushed.state, pending: mustWrite, now, attributes: { kind: this.kind } },
          stored?.version,
          this.compose,
        );
        if (version === undefined) {
          await conflictBackoff(attempt);
          continue;
        }
      }
      if (!mustWrite) return appliedFrom(action, pushed.layer);
      const ref = await this.converge(resource, key, pushed.state, version!, target, live.context, action, now);
      return appliedFrom(
        action,
        pushed.layer.targetRef === undefined && pushed.changed && ref !== undefined
          ? { ...pushed.layer, targetRef: ref }
          : pushed.layer,
      );
    }
    throw new ConcurrentUpdateError(`${this.kind} ${key.sk}: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`);
  }

  async rollback(applied: AppliedAction, now: number): Promise<void> {
    await this.rollbackWithOutcome(applied, now);
  }

  async rollbackWithOutcome(applied: AppliedAction, now: number): Promise<RollbackOutcome> {
    if (applied.step.undo === 'none') return 'nothing-to-undo';
    const resource = this.resolve(applied);
    const key = this.slotKey(resource);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const [live, stored] = await Promise.all([this.read(resource), this.slots.get(key)]);
      const state = this.reconcile(stored, live.value, now);
      const removed = removeLayer(state, applied, now, this.compose);
      const target = effectiveValue(removed.state, this.compose);
      const mustWrite = !sameSlotValue(live.value, target);
      let version = stored?.version;
      if (removed.changed || state !== stored?.state || mustWrite !== (stored?.pending ?? false)) {
        version = await this.slots.put(
          key,
          { state: removed.state, pending: mustWrite, now, attributes: { kind: this.kind } },
          stored?.version,
          this.compose,
        );
        if (version === undefined) {
          await conflictBackoff(attempt);
          continue;
        }
      }
      if (mustWrite) await this.converge(resource, key, removed.state, version!, target, live.context, applied, now);
      return removed.outcome;
    }
    throw new ConcurrentUpdateError(`${this.kind} ${key.sk}: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`);
  }

  private reconcile(stored: StoredSlot | undefined, live: SlotValue, now: number): SlotState {
    // A pending push that did not land yet: the stack is right, the live value is stale.
    if (stored?.pending) return stored.state;
    return observe(stored?.state, live, now, this.compose).state;
  }

  /** Steps 3–4: write the target, confirm; if the stack moved meanwhile, chase its value. */
  private async converge(
    resource: R,
    key: SlotKey,
    state: SlotState,
    version: number,
    target: SlotValue,
    context: C,
    action: PlannedAction,
    now: number,
  ): Promise<string | undefined> {
    let firstRef: string | undefined;
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const ref = await this.write(resource, target, context, action);
      firstRef ??= ref;
      const confirmed = await this.slots.put(
        key,
        {
          state: withTargetRef(
            state,
            action.rollbackKey,
            state.layers.find((l) => l.key === action.rollbackKey)?.targetRef ?? ref,
          ),
          pending: false,
          now,
          attributes: { kind: this.kind },
        },
        version,
        this.compose,
      );
      if (confirmed !== undefined) return firstRef;
      const [stored, live] = await Promise.all([this.slots.get(key), this.read(resource)]);
      if (!stored) return firstRef;
      const wanted = effectiveValue(stored.state, this.compose);
      if (sameSlotValue(live.value, wanted)) return firstRef;
      ({ state, version } = stored);
      target = wanted;
      context = live.context;
      await conflictBackoff(attempt);
    }
    throw new ConcurrentUpdateError(`${this.kind} ${key.sk}: the stored value kept moving while writing it`);
  }
}
