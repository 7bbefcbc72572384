import { describe, expect, it } from 'vitest';
import { emptyControlTargetTally, tallyControlTargets } from '../../../local/summary.js';

describe("the demo's seed 004 §F tally over its episode reports", () => {
  it('counts met, missed and not judged targets, and only the cost corrections that applied', () => {
    const tally = emptyControlTargetTally();
    tallyControlTargets(tally, { controlTarget: { met: true }, costCorrection: { applicable: true, met: true } });
    tallyControlTargets(tally, { controlTarget: { met: false }, costCorrection: { applicable: true, met: false } });
    tallyControlTargets(tally, { controlTarget: { met: null }, costCorrection: { applicable: false, met: null } });
    // No action applied (blocked, handed off at once) or a report written before the targets: nothing to count.
    tallyControlTargets(tally, { controlTarget: null, costCorrection: null });
    tallyControlTargets(tally, {});
    expect(tally).toEqual({ met: 1, missed: 1, notJudged: 1, costCorrections: { applicable: 2, met: 1 } });
  });
});
