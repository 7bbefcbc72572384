import type { AppliedAction, PlannedAction, PlaybookStep } from '../../core/mitigation/actions.js';

/**
 * The value of one controlled "slot" (a flag, a usage-plan throttle, a WAF rule limit, ...) as a
 * stack of layers over a base value. Pure: no I/O, no clock (time is passed in).
 *
 * Why a stack rather than "remember the previous value": two actions may touch the same slot
 * (two episodes, or two steps of one playbook). With only a per-action "previous", rolling back the
 * older one first would either clobber the newer one's value or leave the older value stuck forever.
 * With layers:
 *
 * - apply pushes a layer (key = rollback key) on top; the slot's value becomes the composition of the
 *   base and every layer in apply order (for plain flags: the top layer's value).
 * - rollback removes that action's layer wherever it sits. Removing the top layer restores the value
 *   below it; removing a buried layer changes nothing visible now, and the value it had set is never
 *   restored later. When the last layer goes, the base comes back.
 * - applying a key already in the stack, already rolled back or displaced (a late retry), changes
 *   nothing and returns the AppliedAction recorded the first time.
 * - a change made by someone else (the live value or owner no longer what the layers say) wins: it
 *   becomes the new base and every outstanding layer loses ownership, so their rollbacks will not
 *   overwrite it.
 */
export type SlotValue = PlaybookStep['value'] | null;

export interface Layer {
  /** The rollback key of the action that pushed this layer. */
  key: string;
  episodeId: string;
  value: PlaybookStep['value'];
  /** The slot's value just before this layer was pushed (reported as AppliedAction.previous). */
  previous: SlotValue;
  appliedAt: number;
  targetRef?: string;
}

export interface RolledBackLayer extends Layer {
  rolledBackAt: number;
  /**
   * Removed because someone else changed the slot (at `rolledBackAt`), not by the action's own
   * rollback, which is still to come: it will report 'not-owned' and leave the value alone.
   */
  displaced?: boolean;
}

export interface SlotState {
  /** The value before any of the current layers, and who had set it (null: unknown/nobody). */
  base: SlotValue;
  baseSetBy: string | null;
  /** Layers in apply order; the last one owns the slot. */
  layers: Layer[];
  /** Recently rolled-back layers (bounded), so a late apply or rollback retry stays a no-op. */
  done: RolledBackLayer[];
}

/** How the value of a layer combines with the value below it. Flags replace; throttles merge. */
export type Compose = (below: SlotValue, layer: PlaybookStep['value']) => SlotValue;

export const replace: Compose = (_below, layer) => layer;

/** Rolled-back keys remembered per slot. */
export const MAX_DONE = 20;

export function emptySlot(base: SlotValue, baseSetBy: string | null = null): SlotState {
  return { base, baseSetBy, layers: [], done: [] };
}

export function effectiveValue(state: SlotState, compose: Compose = replace): SlotValue {
  return state.layers.reduce<SlotValue>((v, l) => compose(v, l.value), state.base);
}

export function owner(state: SlotState): string | null {
  return state.layers.at(-1)?.key ?? state.baseSetBy;
}

export interface Observed {
  state: SlotState;
  /** True when the live value (or owner) differed from what the layers say: someone else changed it. */
  overridden: boolean;
}

/**
 * Reconcile the stored layers with the live value. `liveSetBy` is compared only when the live side
 * records an owner (the flag table does; AWS controls do not).
 */
export function observe(
  stored: SlotState | undefined,
  live: SlotValue,
  now: number,
  compose: Compose = replace,
  liveSetBy?: string | null,
): Observed {
  if (!stored) return { state: emptySlot(live, liveSetBy ?? null), overridden: false };
  const sameValue = sameSlotValue(effectiveValue(stored, compose), live);
  const sameOwner = liveSetBy === undefined || liveSetBy === owner(stored);
  if (sameValue && sameOwner) return { state: stored, overridden: false };
  // The displaced layers are remembered so that a late retry of their apply does not re-apply them.
  const displaced = stored.layers.map((l): RolledBackLayer => ({ ...l, rolledBackAt: now, displaced: true }));
  return {
    state: {
      base: live,
      baseSetBy: liveSetBy ?? 'external',
      layers: [],
      done: [...stored.done, ...displaced].slice(-MAX_DONE),
    },
    overridden: stored.layers.length > 0,
  };
}

export type ApplyResult =
  | { changed: true; state: SlotState; layer: Layer }
  | { changed: false; state: SlotState; layer: Layer; rolledBack: boolean };

export function pushLayer(
  state: SlotState,
  action: PlannedAction,
  now: number,
  compose: Compose = replace,
): ApplyResult {
  const existing = state.layers.find((l) => l.key === action.rollbackKey);
  if (existing) return { changed: false, state, layer: existing, rolledBack: false };
  const done = state.done.find((l) => l.key === action.rollbackKey);
  if (done) return { changed: false, state, layer: stripDone(done), rolledBack: true };
  const layer: Layer = {
    key: action.rollbackKey,
    episodeId: action.episodeId,
    value: action.step.value,
    previous: effectiveValue(state, compose),
    appliedAt: now,
  };
  return { changed: true, state: { ...state, layers: [...state.layers, layer] }, layer };
}

export type RollbackOutcome =
  /** The action's value no longer shows: the value below it is back (it owned the slot, or merged into it). */
  | 'restored'
  /** A newer action still holds the slot and the value stays as it is; this action's layer is gone. */
  | 'superseded'
  /** Someone else changed the slot after this action (or it was never applied here): their value is left alone. */
  | 'not-owned'
  /** Rolled back before: nothing to do. */
  | 'already-rolled-back'
  /** The step's undo is 'none' (e.g. a cache invalidation). */
  | 'nothing-to-undo';

export interface RemoveResult {
  changed: boolean;
  state: SlotState;
  outcome: RollbackOutcome;
}

export function removeLayer(
  state: SlotState,
  applied: AppliedAction,
  now: number,
  compose: Compose = replace,
): RemoveResult {
  const key = applied.rollbackKey;
  const doneIndex = state.done.findIndex((l) => l.key === key);
  if (doneIndex >= 0) {
    const entry = state.done[doneIndex]!;
    if (!entry.displaced) return { changed: false, state, outcome: 'already-rolled-back' };
    const { displaced: _, ...rolledBack } = entry;
    return {
      changed: true,
      state: { ...state, done: state.done.map((l, i) => (i === doneIndex ? { ...rolledBack, rolledBackAt: now } : l)) },
      outcome: 'not-owned',
    };
  }
  const index = state.layers.findIndex((l) => l.key === key);
  const layer: Layer =
    index >= 0
      ? state.layers[index]!
      : {
          key,
          episodeId: applied.episodeId,
          value: applied.step.value,
          previous: applied.previous,
          appliedAt: applied.appliedAt,
        };
  const done = [...state.done, { ...layer, rolledBackAt: now }].slice(-MAX_DONE);
  if (index < 0) return { changed: true, state: { ...state, done }, outcome: 'not-owned' };
  const layers = state.layers.filter((_, i) => i !== index);
  const next = { ...state, layers, done };
  // With merged values (throttles) a buried layer can still show through; with replaced ones it cannot.
  const visible =
    index === state.layers.length - 1 || !sameSlotValue(effectiveValue(state, compose), effectiveValue(next, compose));
  return { changed: true, state: next, outcome: visible ? 'restored' : 'superseded' };
}

export function withTargetRef(state: SlotState, key: string, targetRef: string | undefined): SlotState {
  if (targetRef === undefined) return state;
  return { ...state, layers: state.layers.map((l) => (l.key === key ? { ...l, targetRef } : l)) };
}

/** The AppliedAction a layer stands for: identical on every apply of the same key. */
export function appliedFrom(action: PlannedAction, layer: Layer): AppliedAction {
  const applied: AppliedAction = { ...action, previous: layer.previous, appliedAt: layer.appliedAt };
  if (layer.targetRef !== undefined) applied.targetRef = layer.targetRef;
  return applied;
}

function stripDone(l: RolledBackLayer): Layer {
  const { rolledBackAt: _, displaced: _d, ...layer } = l;
  return layer;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of slot values, key order ignored (DynamoDB maps do not keep it). */
export function sameSlotValue(a: unknown, b: unknown): boolean {
  return canonical(a ?? null) === canonical(b ?? null);
}

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isRecord(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
