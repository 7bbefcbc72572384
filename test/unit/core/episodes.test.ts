import { describe, expect, it } from 'vitest';
import {
  trackEpisode,
  type EpisodeEvent,
  type EpisodeTracker,
  type MinuteScore,
} from '../../../lambdas/core/episodes.js';
import type { SignalCategory } from '../../../lambdas/core/signals.js';
import { scorePoint, slowReference, type DetectorState } from '../../../lambdas/core/detection/index.js';
import { gaussian, seededRandom as rng } from '../../../local/random.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');

/** Feed minutes given as [score, anomalous, observed?, expected?] and collect the events with their minute index. */
function run(minutes: [number, boolean, number?, number?][], category: SignalCategory = 'usage') {
  let tracker: EpisodeTracker | undefined;
  const events: (EpisodeEvent & { minute: number })[] = [];
  minutes.forEach(([score, anomalous, observed = 100, expected = 100], i) => {
    const m: MinuteScore = { ts: T0 + i * 60_000, score, anomalous, observed, expected, band: { lo: 90, hi: 110 } };
    const r = trackEpisode(tracker, 'acme#search_qps', m, category);
    tracker = r.tracker;
    events.push(...r.events.map((e) => ({ ...e, minute: i })));
  });
  return { events, tracker };
}

const normal: [number, boolean] = [0.1, false];
const high: [number, boolean] = [0.95, true];
const low: [number, boolean] = [0.6, true];

describe('trigger rules and episodes', () => {
  it("the page quotes the peak minute with what the detector's confidence rested on there", () => {
    let tracker: EpisodeTracker | undefined;
    const kinds = ['band', 'shift', 'shift'] as const;
    const scores = [0.85, 0.97, 0.9];
    const events: EpisodeEvent[] = [];
    kinds.forEach((kind, i) => {
      const m: MinuteScore = {
        ts: T0 + i * 60_000,
        score: scores[i]!,
        anomalous: true,
        observed: 150,
        expected: 100,
        band: { lo: 90, hi: 110 },
        kind,
      };
      const r = trackEpisode(tracker, 'acme#search_qps', m, 'usage');
      tracker = r.tracker;
      events.push(...r.events);
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'confirmed', episode: { peak: { ts: T0 + 60_000, kind: 'shift' } } });
  });

  it('3 consecutive high-confidence minutes make a mitigation candidate, once per episode', () => {
    const { events } = run([normal, high, high, high, high, high, normal, normal, normal, normal, normal]);
    const confirmed = events.filter((e) => e.kind === 'confirmed');
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]).toMatchObject({
      minute: 3,
      mitigate: true,
      trigger: 'high-confidence',
      episode: { start: T0 + 60_000 },
    });
    expect(events.filter((e) => e.kind === 'recovered').map((e) => e.minute)).toEqual([10]);
  });

  it('one- and two-minute blips never page, and close as blips', () => {
    const { events } = run([
      high,
      high,
      normal,
      normal,
      normal,
      normal,
      normal,
      high,
      normal,
      normal,
      normal,
      normal,
      normal,
    ]);
    expect(events.filter((e) => e.kind === 'confirmed')).toEqual([]);
    const recovered = events.filter((e) => e.kind === 'recovered');
    expect(recovered).toHaveLength(2);
    expect(recovered.every((e) => e.episode.confirmedAt === undefined)).toBe(true);
  });

  it('a sustained anomaly below the high-confidence bar pages without mitigating', () => {
    const { events } = run([low, low, low]);
    expect(events).toMatchObject([{ kind: 'confirmed', mitigate: false, trigger: 'sustained', minute: 2 }]);
  });

  it('a flapping anomaly stays one episode until it has been normal for 5 minutes', () => {
    const { events } = run([high, normal, high, normal, high, high, normal, normal, normal, normal, high]);
    expect(events.filter((e) => e.kind === 'confirmed')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'recovered')).toHaveLength(0);
  });

  it('cost: cumulative +15 % over the last 5 minutes triggers mitigation before 3 high-confidence minutes', () => {
    const cost = (observed: number, anomalous = false): [number, boolean, number, number] => [
      anomalous ? 0.7 : 0.1,
      anomalous,
      observed,
      100,
    ];
    const { events } = run([cost(104), cost(105), cost(103), cost(190, true), cost(185, true)], 'cost');
    expect(events).toMatchObject([{ kind: 'confirmed', mitigate: true, trigger: 'cost', minute: 4 }]);
    expect((events[0] as { costExcess: number }).costExcess).toBeCloseTo(687 / 500 - 1, 6);
  });

  it('a one-minute cost blip does not trigger, however expensive', () => {
    const cost = (observed: number, anomalous = false): [number, boolean, number, number] => [
      anomalous ? 0.99 : 0.1,
      anomalous,
      observed,
      100,
    ];
    const { events } = run(
      [
        cost(100),
        cost(100),
        cost(100),
        cost(100),
        cost(400, true),
        cost(100),
        cost(100),
        cost(100),
        cost(100),
        cost(100),
      ],
      'cost',
    );
    expect(events.filter((e) => e.kind === 'confirmed')).toEqual([]);
  });

  it('an episode that opened with high confidence stays high-confidence while it persists', () => {
    // The detector's confidence is highest where the anomaly starts and fades while it stays out of band.
    const { events } = run([high, [0.3, true], [0.2, true], [0.1, true]]);
    expect(events).toMatchObject([{ kind: 'confirmed', mitigate: true, trigger: 'high-confidence', minute: 2 }]);
  });

  it('the cost rule is for cost signals only', () => {
    const { events } = run([normal, normal, normal, normal, [0.7, true, 190, 100]], 'usage');
    expect(events).toEqual([]);
  });

  it('quotes the most anomalous minute of the episode', () => {
    const { tracker } = run([
      [0.9, true, 150, 100],
      [0.99, true, 180, 100],
      [0.85, true, 140, 100],
    ]);
    expect(tracker!.episode!.peak).toEqual({ ts: T0 + 60_000, observed: 180, expected: 100 });
  });
});

describe('slow cost creep (cost signals, slow seasonal reference)', () => {
  const DAY_MIN = 1440;
  const START = Date.parse('2026-11-16T00:00:00Z');

  /**
   * A cost series with a daily cycle (±30 %, peak at 14:00 UTC) and 5 % per-minute noise, scored like
   * score-windows.ts does; `creep`: from minute `at`, +`size` over ten minutes, then held for `hold` minutes.
   */
  function costSeries(
    days: number,
    seed: number,
    creep?: { at: number; size: number; hold: number },
    blip?: { at: number; size: number; minutes: number },
  ) {
    const r = rng(seed);
    const g = gaussian(r);
    let det: DetectorState | undefined;
    let tracker: EpisodeTracker | undefined;
    const events: (EpisodeEvent & { minute: number })[] = [];
    let maxBytes = 0;
    for (let i = 0; i < days * DAY_MIN; i++) {
      const ts = START + i * 60_000;
      const phase = (2 * Math.PI * ((i % DAY_MIN) - 14 * 60)) / DAY_MIN;
      let factor = 1;
      if (creep && i >= creep.at && i < creep.at + 10 + creep.hold)
        factor = 1 + creep.size * Math.min(1, (i - creep.at + 1) / 10);
      if (blip && i >= blip.at && i < blip.at + blip.minutes) factor = 1 + blip.size;
      const value = 0.003 * (1 + 0.3 * Math.cos(phase)) * factor * (1 + 0.05 * g());
      const reference = slowReference(det, ts);
      const scored = scorePoint(det, { ts, value }, 'up');
      det = scored.state;
      const m: MinuteScore = {
        ts,
        observed: value,
        expected: scored.expected,
        band: scored.band,
        score: scored.score,
        anomalous: (scored.anomalous || scored.ongoing) && !scored.warmingUp,
      };
      if (reference !== undefined && !scored.warmingUp) m.reference = reference;
      const step = trackEpisode(tracker, 'acme#cqs_p95', m, 'cost');
      tracker = step.tracker;
      maxBytes = Math.max(maxBytes, JSON.stringify(tracker).length);
      events.push(...step.events.map((e) => ({ ...e, minute: i })));
    }
    const confirmed = events.filter((e) => e.kind === 'confirmed');
    return { confirmed, creepPages: confirmed.filter((e) => e.creep !== undefined), maxBytes };
  }

  const at = 4 * DAY_MIN + 13 * 60 + 20; // day 5, 13:20 UTC: near the daily peak

  it('pages a +25 % creep over ten minutes, held, within 15 minutes of its end, explained on the event', () => {
    const { confirmed, maxBytes } = costSeries(5, 7, { at, size: 0.25, hold: 120 });
    const page = confirmed.find((e) => e.minute >= at && e.minute < at + 130);
    expect(page).toBeDefined();
    expect(page!.minute).toBeLessThanOrEqual(at + 10 + 15);
    if (page!.kind === 'confirmed' && page!.creep) {
      expect(page!.trigger).toBe('cost');
      expect(page!.mitigate).toBe(false);
      expect(page!.costExcess).toBeGreaterThanOrEqual(0.15);
      expect(page!.episode.peak.expected).toBeCloseTo(page!.creep.reference, 12);
    }
    expect(maxBytes).toBeLessThanOrEqual(2000);
  });

  it('pages the creep within 5 minutes of its end (the seed: +15 % within 5 minutes)', () => {
    const { creepPages } = costSeries(5, 7, { at, size: 0.25, hold: 120 });
    expect(creepPages[0]?.minute).toBeGreaterThanOrEqual(at + 5);
    expect(creepPages[0]?.minute).toBeLessThanOrEqual(at + 10 + 5);
  });

  it('a blip is no creep: one or two minutes ×8 keep the 5-minute excess up, but not its median minute', () => {
    for (const minutes of [1, 2])
      expect(costSeries(5, 7, undefined, { at, size: 7, minutes }).creepPages.map((e) => e.minute)).toEqual([]);
  });

  it('does not page the same series without the creep over several days, nor a +10 % creep', () => {
    for (const seed of [7, 8]) expect(costSeries(7, seed).creepPages.map((e) => e.minute)).toEqual([]);
    const small = costSeries(5, 7, { at, size: 0.1, hold: 120 });
    expect(small.creepPages).toEqual([]);
  });
});
