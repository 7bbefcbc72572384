import { describe, expect, it } from 'vitest';
import {
  trackEpisode,
  type EpisodeEvent,
  type EpisodeTracker,
  type MinuteScore,
} from '../../../lambdas/core/episodes.js';
import type { SignalCategory } from '../../../lambdas/core/signals.js';

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
