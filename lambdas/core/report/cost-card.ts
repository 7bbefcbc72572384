import { signalSpec } from '../signals.js';
import { DAY_MS, MINUTE_MS } from '../time.js';
import { estimateSavings, round6, volumeWeighted } from './figures.js';
import { iso, minuteOf, round } from './format.js';
import type {
  CostCard,
  CostCardMitigationRow,
  CostCardPeriod,
  CostCardSeriesInput,
  CostFigures,
  CostPeriod,
  SeriesPoint,
} from './model.js';
import { normaliseSeries, type MinutePoint } from './series.js';

export const COST_PERIOD_DAYS: Readonly<Record<CostPeriod, number>> = { day: 1, week: 7, month: 30 };
const ALL_PERIODS: readonly CostPeriod[] = ['day', 'week', 'month'];

/** A cost signal's minutes, as an episode trace or the window state holds them (a `SeriesPoint` fits). */
export type CostCardSeries = CostCardSeriesInput;

export interface CostCardMitigation {
  /** The episode (anomaly) id. */
  id: string;
  tenant: string;
  signal: string;
  /** The anomaly's first minute. */
  start: number;
  firstActionAt: number;
  /** End of the episode (exclusive): the minute it stabilised; the end of the series' data when absent. */
  end?: number;
}

export interface CostCardInput {
  /** The periods end here (exclusive): a UTC midnight gives calendar days, `now` the trailing ones. */
  to: number;
  /** Default: day, week and month. */
  periods?: readonly CostPeriod[];
  /** Several entries for one tenant and signal are merged (a later entry's minute wins). */
  series: readonly CostCardSeries[];
  mitigations?: readonly CostCardMitigation[];
}

export const COST_CARD_METHOD =
  "Forecast = the detector's expected value of each minute, summed over the period; actual = the observed value of " +
  'the same minutes, summed. Both are × that minute’s volume for a series that carries a volume on every minute ' +
  '(dollars spent), otherwise each minute counts as one unit’s worth. Only minutes present in the series count: a ' +
  'period is as complete as its data (minutes says how many). Periods end at the card’s end: day = 1, week = 7, ' +
  'month = 30 days. Each mitigation: mean cost per minute from the anomaly’s first minute to the first action ' +
  '(before) and from the first action to the episode’s end (after); savings as the episode report estimates them ' +
  '(the pre-action excess rate projected over the minutes after the first action, minus the excess seen in them).';

/**
 * Seed 004 §G cost card: forecast vs actual for the day, week and month (per tenant and for all), and each
 * mitigation's before/after difference with its savings. Pure: plain data in (minute points with `expected`).
 *
 * @example
 * const card = costCard({ to: Date.UTC(2026, 10, 23), series: [{ tenant: 'acme', signal: 'cqs_p95', points }] });
 * card.periods[0]; // { period: 'day', all: { forecast, actual, difference, differencePercent, minutes, … }, … }
 */
export function costCard(input: CostCardInput): CostCard {
  const ignored = new Set<string>();
  const grouped = new Map<string, { tenant: string; signal: string; points: SeriesPoint[] }>();
  for (const s of input.series) {
    if (signalSpec(s.signal).category !== 'cost') {
      ignored.add(s.signal);
      continue;
    }
    const id = `${s.tenant}\u0000${s.signal}`;
    const group = grouped.get(id) ?? { tenant: s.tenant, signal: s.signal, points: [] };
    for (const p of s.points) {
      const expected = p.expected ?? s.expected;
      if (expected === undefined || !Number.isFinite(expected)) continue;
      const point: SeriesPoint = { ts: p.ts, observed: p.observed, expected };
      if (p.volume !== undefined) point.volume = p.volume;
      group.points.push(point);
    }
    grouped.set(id, group);
  }
  const series = [...grouped.values()]
    .map((g) => {
      // The band is not read here: the forecast stands in for it.
      const points = normaliseSeries(g.points, { expected: Number.NaN, band: { lo: Number.NaN, hi: Number.NaN } });
      return { tenant: g.tenant, signal: g.signal, points, weighted: volumeWeighted(points, true) };
    })
    .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.signal.localeCompare(b.signal));

  const mitigations: CostCardMitigationRow[] = [];
  for (const m of input.mitigations ?? []) {
    if (signalSpec(m.signal).category !== 'cost') {
      ignored.add(m.signal);
      continue;
    }
    const s = series.find((x) => x.tenant === m.tenant && x.signal === m.signal);
    mitigations.push(mitigationRow(m, s?.points ?? []));
  }
  mitigations.sort((a, b) => a.firstActionAt.localeCompare(b.firstActionAt) || a.id.localeCompare(b.id));

  const periods: CostCardPeriod[] = (input.periods ?? ALL_PERIODS).map((period) => {
    const from = input.to - COST_PERIOD_DAYS[period] * DAY_MS;
    const inPeriod = series.map((s) => ({ ...s, points: s.points.filter((p) => p.ts >= from && p.ts < input.to) }));
    const tenants = [...new Set(inPeriod.map((s) => s.tenant))].map((tenant) => ({
      tenant,
      ...figures(inPeriod.filter((s) => s.tenant === tenant)),
    }));
    const saved = mitigations.filter((m) => {
      const t = Date.parse(m.firstActionAt);
      return t >= from && t < input.to && m.savings !== null;
    });
    return {
      period,
      from: iso(from),
      to: iso(input.to),
      all: figures(inPeriod),
      tenants,
      savings: round6(saved.reduce((s, m) => s + m.savings!, 0)),
    };
  });

  return {
    to: iso(input.to),
    currency: 'USD',
    periods,
    mitigations,
    ignoredSignals: [...ignored].sort(),
    method: COST_CARD_METHOD,
    assumptions: [
      'The forecast is what the detector expected for each minute; it adapts toward a long anomaly, which if ' +
        'anything understates the difference.',
      'Minutes without data are in neither sum: outside the minutes the series hold, nothing is claimed.',
      'A per-unit cost signal (cqs_p95, cir_p95, cin_p95) without volume is summed per minute: one unit’s worth of ' +
        'spend a minute, not the bill.',
    ],
  };
}

function figures(series: readonly { points: readonly MinutePoint[]; weighted: boolean }[]): CostFigures {
  let forecast = 0;
  let actual = 0;
  let minutes = 0;
  let counted = 0;
  let weightedSeries = 0;
  for (const s of series) {
    if (!s.points.length) continue;
    counted++;
    if (s.weighted) weightedSeries++;
    for (const p of s.points) {
      const w = s.weighted ? p.volume! : 1;
      forecast += p.expected * w;
      actual += p.observed * w;
      minutes++;
    }
  }
  return {
    forecast: round6(forecast),
    actual: round6(actual),
    difference: round6(actual - forecast),
    differencePercent: forecast > 0 ? round(((actual - forecast) / forecast) * 100, 1) : null,
    minutes,
    series: counted,
    weightedSeries,
  };
}

function mitigationRow(m: CostCardMitigation, points: readonly MinutePoint[]): CostCardMitigationRow {
  const start = minuteOf(m.start);
  const firstAction = minuteOf(m.firstActionAt);
  const dataEnd = points.length ? points[points.length - 1]!.ts + MINUTE_MS : firstAction;
  const end = m.end ?? Math.max(dataEnd, firstAction);
  const episode = points.filter((p) => p.ts >= start && p.ts < end);
  const weighted = volumeWeighted(episode, true);
  const perMinute = (span: readonly MinutePoint[]) =>
    span.length
      ? {
          perMinute: round6(span.reduce((s, p) => s + p.observed * (weighted ? p.volume! : 1), 0) / span.length),
          minutes: span.length,
        }
      : null;
  const before = perMinute(episode.filter((p) => p.ts < firstAction));
  const after = perMinute(episode.filter((p) => p.ts >= firstAction));
  const savings = estimateSavings({
    points,
    signal: m.signal,
    unit: signalSpec(m.signal).unit,
    cost: true,
    // Every cost signal's rise is bad (lambdas/core/signals.ts).
    sign: 1,
    start,
    firstAction,
    end,
    stabilised: m.end !== undefined,
  });
  const row: CostCardMitigationRow = {
    id: m.id,
    tenant: m.tenant,
    signal: m.signal,
    firstActionAt: iso(m.firstActionAt),
    before,
    after,
    differencePercent:
      before && after && before.perMinute !== 0
        ? round(((after.perMinute - before.perMinute) / Math.abs(before.perMinute)) * 100, 1)
        : null,
    savings: after && savings.estimated && savings.amount !== undefined ? savings.amount : null,
    weighted,
  };
  if (!savings.estimated) row.reason = savings.reason;
  else if (!after) row.reason = 'no minute with data after the first action';
  return row;
}
