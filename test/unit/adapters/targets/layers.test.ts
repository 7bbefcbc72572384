import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppliedAction, PlannedAction } from '../../../../lambdas/core/mitigation/actions.js';
import {
  appliedFrom,
  effectiveValue,
  emptySlot,
  MAX_DONE,
  observe,
  owner,
  pushLayer,
  removeLayer,
  type SlotState,
} from '../../../../lambdas/adapters/targets/layers.js';

const act = (key: string, value: number): PlannedAction => ({
  rollbackKey: key,
  episodeId: key,
  tenant: 'acme',
  step: { id: key, title: key, level: 'soft', target: 'flag', flag: 'f', value, undo: 'restore-previous' },
});

describe('layered slot (the rule every target follows for stacked actions)', () => {
  it(
    'any interleaving of applies, repeated applies and rollbacks: the value is the newest active action’s, and ' +
      'the base once all are rolled back',
    () => {
      fc.assert(
        fc.property(
          fc
            .integer({ min: 1, max: 8 })
            .chain((n) =>
              fc.tuple(fc.constant(n), fc.array(fc.nat({ max: 3 * n - 1 }), { minLength: 1, maxLength: 40 })),
            ),
          fc.integer(),
          ([n, ops], base) => {
            let state: SlotState = emptySlot(base, 'operator');
            const applied = new Map<number, AppliedAction>();
            const active: number[] = []; // apply order of the actions still in effect
            const rolledBack = new Set<number>();
            let now = 0;
            for (const op of ops) {
              const i = op % n;
              now++;
              if (op < 2 * n) {
                const wasActive = active.includes(i);
                const r = pushLayer(state, act(`k${i}`, 100 + i), now);
                state = r.state;
                // applied once, never re-applied after rollback
                expect(r.changed).toBe(!wasActive && !rolledBack.has(i));
                if (applied.has(i))
                  expect(appliedFrom(act(`k${i}`, 100 + i), r.layer)).toEqual(applied.get(i)); // same answer every time
                else applied.set(i, appliedFrom(act(`k${i}`, 100 + i), r.layer));
                if (r.changed) active.push(i);
              } else if (applied.has(i)) {
                state = removeLayer(state, applied.get(i)!, now).state;
                if (active.includes(i)) active.splice(active.indexOf(i), 1);
                rolledBack.add(i);
              }
              const newest = active.at(-1);
              expect(effectiveValue(state)).toBe(newest === undefined ? base : 100 + newest);
              expect(owner(state)).toBe(newest === undefined ? 'operator' : `k${newest}`);
            }
            for (const a of applied.values()) state = removeLayer(state, a, ++now).state;
            expect(effectiveValue(state)).toBe(base);
            // Nothing rolled back comes back on a late apply retry (within the remembered window).
            if (applied.size <= MAX_DONE)
              for (const [i] of applied) expect(pushLayer(state, act(`k${i}`, 100 + i), ++now).changed).toBe(false);
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  it('a value changed by someone else becomes the base and outstanding layers lose ownership', () => {
    let state = pushLayer(emptySlot(1000), act('k1', 200), 1).state;
    const seen = observe(state, 500, 2, undefined, 'operator:bob');
    expect(seen.overridden).toBe(true);
    expect(seen.state.layers).toEqual([]);
    expect(effectiveValue(seen.state)).toBe(500);
    state = seen.state;
    const r = removeLayer(state, { ...act('k1', 200), previous: 1000, appliedAt: 1 }, 3);
    expect(r.outcome).toBe('not-owned');
    expect(effectiveValue(r.state)).toBe(500);
    // A late retry of the displaced apply does not put it back; a second rollback is a no-op.
    expect(pushLayer(r.state, act('k1', 200), 4).changed).toBe(false);
    expect(pushLayer(seen.state, act('k1', 200), 4).changed).toBe(false);
    expect(removeLayer(r.state, { ...act('k1', 200), previous: 1000, appliedAt: 1 }, 5).outcome).toBe(
      'already-rolled-back',
    );
  });

  it('an unchanged live value keeps the stored state as is (no write needed)', () => {
    const state = pushLayer(emptySlot(1000, 'op'), act('k1', 200), 1).state;
    expect(observe(state, 200, 2, undefined, 'k1').state).toBe(state);
    expect(observe(state, 200, 2).state).toBe(state);
  });
});
