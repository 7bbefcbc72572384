/**
 * Seed-004 scenario suite: a deterministic multi-day, multi-tenant stream of contract-1 envelopes
 * (metric + change records) with ground-truth labels for what was injected.
 *
 * The background is meant to look like production telemetry, not like the detector's model:
 * per-region business-hours shape (two harmonics, local time), weekend dip on usage, slow
 * growth, autocorrelated drift (tenants' activity wanders), multiplicative noise with a heavy
 * tail, load-coupled latencies and cache misses, Poisson counts for the DLQ, jittered sampling,
 * missing points, short producer outages, late records (within the allowed lateness) and
 * producer retries (same id).
 *
 * Injected (seed 004 §C, §4 and the correlator's cases), only after a learning period:
 * - ingest_surge       one tenant's ingest_rpm ×3–8 for 20–60 min             → tenant, mitigate (high-cost)
 * - search_cost        cqs_p95 +30–80 %, search_qps up, hit ratio down (mostly KR) → app, mitigate (high-cost)
 * - notify_storm       notify_rpm ×5–20 (webhooks too, sometimes)                → abuse, mitigate (high-cost)
 * - origin_bottleneck  2–4 tenants: cache_hit_ratio down, origin/edge p95 up      → infra, mitigate (high-cost)
 * - release_spike      a release, then a cqs_p95 spike minutes later             → app, alert (never mitigate)
 * - campaign           campaign change + moderate, slow ingest (and search) surge  → tenant, soft only
 * - maintenance        maintenance window with an anomaly inside it               → suppressed
 *                      (every other window is platform-wide: declared through the operator route, not the stream)
 * - benign_release     a release with no effect                                    → no page
 * - blip               one point, or one minute, far off                           → no page
 */
import type { AnomalyClass } from '../../lambdas/core/classifier.js';
import type { OperatorChange } from '../../lambdas/core/ports/change-store.js';
import { seededRandom as prng } from '../../local/random.js';

export type LabelKind =
  | 'ingest_surge'
  | 'search_cost'
  | 'notify_storm'
  | 'origin_bottleneck'
  | 'release_spike'
  | 'campaign'
  | 'maintenance'
  | 'benign_release'
  | 'blip';

/**
 * What the system should do with the label's anomaly: `soft` = page or soft-only mitigation are both right; `none` =
 * must not page.
 */
export type ExpectedDecision = 'mitigate' | 'alert' | 'suppressed' | 'soft' | 'none';

export interface Label {
  id: string;
  kind: LabelKind;
  tenants: string[];
  /** Every signal the injection touched (an alert on any of them belongs to this label). */
  signals: string[];
  /** The signal whose alert is judged for class. */
  primary: string;
  /** Event time (ms) the injection starts (first point affected, ramp included). */
  start: number;
  /** Event time (ms) the injection is over (ramp-down included). */
  end: number;
  /** A cost / usage incident that should lead to automatic mitigation (seed §F "고비용 케이스"). */
  highCost: boolean;
  expectedDecision: ExpectedDecision;
  expectedClass?: AnomalyClass;
  /** Id of the change record involved (release, campaign, maintenance). */
  changeId?: string;
  /** Human description: magnitudes and durations. */
  detail: string;
}

export interface TenantSpec {
  tenant: string;
  region: string;
  /** Hours east of UTC (business-hours shape is in local time). */
  tz: number;
  signals: string[];
}

export interface ScenarioCounts {
  ingest_surge: number;
  search_cost: number;
  notify_storm: number;
  origin_bottleneck: number;
  release_spike: number;
  campaign: number;
  maintenance: number;
  benign_release: number;
  /** Single-point spikes. */
  blip_point: number;
  /** One whole minute far off. */
  blip_minute: number;
}

export interface ScenarioOptions {
  seed: number;
  /** Event time of the first record (default Thursday 2026-11-19T00:00Z, so a weekend follows). */
  startTs: number;
  days: number;
  /** No labelled injection starts before startTs + learnDays (the detector learns daily seasonality in ~1.5 days). */
  learnDays: number;
  tenants: TenantSpec[];
  /** Sampling interval per key is drawn from these (seconds). */
  stepSeconds: number[];
  counts: ScenarioCounts;
  /** Share of points that are simply missing. */
  missingRate: number;
  /** Producer outages (1–6 min without any point) per key per day. */
  outagesPerKeyDay: number;
  /** Share of records delivered 20–90 s late (inside the 2-min allowed lateness). */
  lateRate: number;
  /** Share of records sent twice (producer retry, same id). */
  retryRate: number;
}

export const FULL_TENANTS: TenantSpec[] = [
  {
    tenant: 'acme',
    region: 'kr',
    tz: 9,
    signals: ['ingest_rpm', 'search_qps', 'cqs_p95', 'cache_hit_ratio', 'origin_p95_ms', 'notify_rpm'],
  },
  {
    tenant: 'globex',
    region: 'us',
    tz: -5,
    signals: ['ingest_rpm', 'notify_rpm', 'webhook_rps', 'cache_hit_ratio', 'origin_p95_ms', 'edge_p95_ms'],
  },
  {
    tenant: 'initech',
    region: 'eu',
    tz: 1,
    signals: ['ingest_rpm', 'search_qps', 'cqs_p95', 'cache_hit_ratio', 'origin_p95_ms', 'dlq_growth'],
  },
  {
    tenant: 'umbrella',
    region: 'kr',
    tz: 9,
    signals: ['ingest_rpm', 'search_qps', 'cqs_p95', 'notify_rpm', 'dlq_growth'],
  },
  {
    tenant: 'hooli',
    region: 'eu',
    tz: 1,
    signals: ['ingest_rpm', 'notify_rpm', 'cache_hit_ratio', 'origin_p95_ms', 'edge_p95_ms'],
  },
  {
    tenant: 'stark',
    region: 'us',
    tz: -8,
    signals: ['ingest_rpm', 'search_qps', 'cqs_p95', 'notify_rpm', 'cache_hit_ratio', 'origin_p95_ms'],
  },
];

export const DEFAULT_SCENARIO: ScenarioOptions = {
  seed: 4004,
  startTs: Date.UTC(2026, 10, 19, 0, 0, 0),
  days: 7,
  learnDays: 1.5,
  tenants: FULL_TENANTS,
  stepSeconds: [10, 15, 20, 30],
  counts: {
    ingest_surge: 12,
    search_cost: 8,
    notify_storm: 8,
    origin_bottleneck: 6,
    release_spike: 5,
    campaign: 4,
    maintenance: 5,
    benign_release: 20,
    blip_point: 20,
    blip_minute: 12,
  },
  missingRate: 0.005,
  outagesPerKeyDay: 0.3,
  lateRate: 0.005,
  retryRate: 0.002,
};

/**
 * The smaller fixed-seed scenario of the e2e test: every kind at least once, 2.6 days (1.1 after learning), 3 tenants.
 */
export const SMALL_SCENARIO: ScenarioOptions = {
  ...DEFAULT_SCENARIO,
  seed: 11,
  days: 2.6,
  tenants: [
    {
      tenant: 'acme',
      region: 'kr',
      tz: 9,
      signals: ['ingest_rpm', 'search_qps', 'cqs_p95', 'cache_hit_ratio', 'origin_p95_ms', 'notify_rpm'],
    },
    {
      tenant: 'globex',
      region: 'us',
      tz: -5,
      signals: ['ingest_rpm', 'notify_rpm', 'cache_hit_ratio', 'origin_p95_ms'],
    },
    {
      tenant: 'initech',
      region: 'eu',
      tz: 1,
      signals: ['ingest_rpm', 'search_qps', 'cqs_p95', 'cache_hit_ratio', 'origin_p95_ms'],
    },
  ],
  stepSeconds: [20, 30],
  counts: {
    ingest_surge: 3,
    search_cost: 2,
    notify_storm: 2,
    origin_bottleneck: 1,
    release_spike: 1,
    campaign: 1,
    maintenance: 1,
    benign_release: 3,
    blip_point: 4,
    blip_minute: 3,
  },
};

export interface KeyInfo {
  tenant: string;
  signal: string;
  region: string;
  stepSeconds: number;
  points: number;
}

/**
 * A change window an operator declares through POST /v1/anomaly/changes (platform-wide `*`: the stream refuses those).
 */
export interface ScenarioOperatorChange {
  /** When the operator declares it (event time, ms): ahead of the window, like the stream's announcements. */
  at: number;
  change: OperatorChange;
}

/** Who declares the scenario's operator changes (the IAM principal the route records). */
export const SCENARIO_OPERATOR = 'arn:aws:sts::000000000000:assumed-role/operator/scenario';

export interface Scenario {
  options: ScenarioOptions;
  /** JSONL lines in stream (publish) order. */
  lines: string[];
  /**
   * Change windows declared through the operator route, by declaration time; replayed into the change store, not the
   * stream.
   */
  operatorChanges: ScenarioOperatorChange[];
  labels: Label[];
  keys: KeyInfo[];
  /** No labelled injection starts before this (event time, ms). */
  evalFrom: number;
  endTs: number;
  /** `changes`: change records on the stream; `operatorChanges`: declared through the operator route. */
  counts: { metrics: number; changes: number; operatorChanges: number; late: number; retries: number; missing: number };
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// ---- randomness -----------------------------------------------------------------------------

export { prng };

class Rand {
  constructor(readonly next: () => number) {}
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  int(a: number, b: number): number {
    return Math.floor(this.uniform(a, b + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  gauss(): number {
    return Math.sqrt(-2 * Math.log(this.next() || 1e-12)) * Math.cos(2 * Math.PI * this.next());
  }
  /** Multiplicative noise with median 1. */
  lognormal(sigma: number): number {
    return Math.exp(sigma * this.gauss());
  }
  poisson(lambda: number): number {
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.gauss()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > l);
    return k - 1;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

// ---- background model ------------------------------------------------------------------------

type Kind = 'usage' | 'cost' | 'ratio' | 'latency' | 'count';

interface SignalModel {
  kind: Kind;
  /** Base value (for `ratio`: the miss ratio). */
  base: [number, number];
  /** Diurnal swing of the tenant's load that reaches this signal (1 = all of it). */
  loadCoupling: number;
  /** Point noise (log-sigma). */
  noise: number;
  /** Autocorrelated drift (log-sigma) and its correlation time. */
  drift: number;
}

const MODELS: Record<string, SignalModel> = {
  ingest_rpm: { kind: 'usage', base: [800, 6000], loadCoupling: 1, noise: 0.035, drift: 0.04 },
  search_qps: { kind: 'usage', base: [20, 150], loadCoupling: 1, noise: 0.045, drift: 0.05 },
  notify_rpm: { kind: 'usage', base: [60, 600], loadCoupling: 1, noise: 0.06, drift: 0.06 },
  webhook_rps: { kind: 'usage', base: [5, 40], loadCoupling: 0.9, noise: 0.07, drift: 0.05 },
  cqs_p95: { kind: 'cost', base: [0.0025, 0.004], loadCoupling: 0.1, noise: 0.05, drift: 0.03 },
  cache_hit_ratio: { kind: 'ratio', base: [0.05, 0.12], loadCoupling: 0.2, noise: 0.06, drift: 0.05 },
  origin_p95_ms: { kind: 'latency', base: [150, 280], loadCoupling: 0.25, noise: 0.07, drift: 0.04 },
  edge_p95_ms: { kind: 'latency', base: [60, 110], loadCoupling: 0.15, noise: 0.06, drift: 0.03 },
  dlq_growth: { kind: 'count', base: [1, 4], loadCoupling: 0.8, noise: 0, drift: 0.1 },
};

/** Bad direction of every signal the scenario uses: what a blip pushes toward. */
const DOWN_IS_BAD = new Set(['cache_hit_ratio']);

interface TenantLoad {
  tz: number;
  /** Day/night amplitude of usage. */
  amp: number;
  /** Peak hour, local. */
  peak: number;
  /** Weekend level relative to weekdays. */
  weekend: number;
  /** Growth per day (relative). */
  growth: number;
}

/** Business-hours load shape, local time: two harmonics give a flat night and a broad day. */
function load(t: TenantLoad, ts: number, startTs: number): number {
  const localMs = ts + t.tz * HOUR;
  const h = (((localMs % DAY) + DAY) % DAY) / HOUR;
  const day =
    1 +
    t.amp * Math.cos((2 * Math.PI * (h - t.peak)) / 24) +
    0.3 * t.amp * Math.cos((4 * Math.PI * (h - t.peak + 1)) / 24);
  return day * weekendFactor(t, localMs) * (1 + t.growth * ((ts - startTs) / DAY));
}

/** 1 on weekdays, `weekend` on Sat/Sun, with three-hour transitions around local midnight. */
function weekendFactor(t: TenantLoad, localMs: number): number {
  // 1970-01-01 was a Thursday: day index 0 = Thursday.
  const dayIdx = Math.floor(localMs / DAY);
  const dow = (((dayIdx + 4) % 7) + 7) % 7; // 0 = Sunday
  const isWeekend = (d: number) => d === 0 || d === 6;
  const frac = (localMs - dayIdx * DAY) / DAY;
  const here = isWeekend(dow) ? t.weekend : 1;
  const edge = 3 / 24;
  if (frac < edge / 2) {
    const prev = isWeekend((dow + 6) % 7) ? t.weekend : 1;
    const w = 0.5 + frac / edge;
    return prev + (here - prev) * w;
  }
  if (frac > 1 - edge / 2) {
    const nxt = isWeekend((dow + 1) % 7) ? t.weekend : 1;
    const w = (frac - (1 - edge / 2)) / edge;
    return here + (nxt - here) * w;
  }
  return here;
}

// ---- injections ------------------------------------------------------------------------------

/** A multiplicative effect on one key over [from, to), with linear ramps; for ratios it multiplies the miss ratio. */
interface Effect {
  from: number;
  to: number;
  rampUp: number;
  rampDown: number;
  factor: number;
  /** Extra log-noise inside the effect (incidents are rarely flat). */
  wobble: number;
}

function effectAt(effects: readonly Effect[] | undefined, ts: number): { mult: number; wobble: number } {
  let mult = 1;
  let wobble = 0;
  if (!effects) return { mult, wobble };
  for (const e of effects) {
    if (ts < e.from || ts >= e.to) continue;
    let w = 1;
    if (e.rampUp > 0 && ts < e.from + e.rampUp) w = (ts - e.from + 1) / e.rampUp;
    if (e.rampDown > 0 && ts > e.to - e.rampDown) w = Math.min(w, (e.to - ts) / e.rampDown);
    mult *= 1 + (e.factor - 1) * Math.max(0, Math.min(1, w));
    wobble = Math.max(wobble, e.wobble);
  }
  return { mult, wobble };
}

interface Interval {
  from: number;
  to: number;
}

/** Per-tenant calendar of what has been placed, so injections never overlap (nor their correlation margins). */
class Calendar {
  private readonly busy = new Map<string, Interval[]>();
  free(tenants: readonly string[], from: number, to: number, margin: number): boolean {
    return tenants.every((t) => (this.busy.get(t) ?? []).every((i) => to + margin <= i.from || from - margin >= i.to));
  }
  take(tenants: readonly string[], from: number, to: number): void {
    for (const t of tenants) {
      const list = this.busy.get(t) ?? [];
      list.push({ from, to });
      this.busy.set(t, list);
    }
  }
}

interface ChangeOut {
  publishAt: number;
  record: Record<string, unknown>;
}

// ---- generator -------------------------------------------------------------------------------

/** Builds the scenario deterministically from `options.seed`. */
export function generateScenario(partial: Partial<ScenarioOptions> = {}): Scenario {
  const o: ScenarioOptions = {
    ...DEFAULT_SCENARIO,
    ...partial,
    counts: { ...DEFAULT_SCENARIO.counts, ...partial.counts },
  };
  const r = new Rand(prng(o.seed));
  const endTs = o.startTs + Math.round(o.days * DAY);
  const evalFrom = o.startTs + Math.round(o.learnDays * DAY);
  const lastStart = endTs - 2 * HOUR;
  if (lastStart <= evalFrom) throw new Error('scenario too short: no room after the learning period');

  const tenantLoad = new Map<string, TenantLoad>();
  for (const t of o.tenants) {
    tenantLoad.set(t.tenant, {
      tz: t.tz,
      amp: r.uniform(0.3, 0.5),
      peak: r.uniform(13, 16),
      weekend: r.uniform(0.55, 0.85),
      growth: r.uniform(-0.02, 0.06),
    });
  }

  const effects = new Map<string, Effect[]>();
  const keyOf = (tenant: string, signal: string) => `${tenant}#${signal}`;
  const addEffect = (tenant: string, signal: string, e: Effect) => {
    const k = keyOf(tenant, signal);
    const list = effects.get(k) ?? [];
    list.push(e);
    effects.set(k, list);
  };
  const has = (t: TenantSpec, s: string) => t.signals.includes(s);
  const tenantsWith = (s: string) => o.tenants.filter((t) => has(t, s));
  const labels: Label[] = [];
  const changes: ChangeOut[] = [];
  const operatorChanges: ScenarioOperatorChange[] = [];
  const cal = new Calendar();
  const counter = new Map<string, number>();
  const nextId = (prefix: string) => {
    const n = (counter.get(prefix) ?? 0) + 1;
    counter.set(prefix, n);
    return `${prefix}-${String(n).padStart(2, '0')}`;
  };
  const minuteAligned = (ts: number) => Math.floor(ts / MIN) * MIN + r.int(0, 59) * 1000;

  /** A random start for something lasting `span` on `tenants`, clear of other injections by `margin`. */
  const place = (
    tenants: readonly string[],
    span: number,
    margin: number,
    businessHours = false,
  ): number | undefined => {
    for (let attempt = 0; attempt < 400; attempt++) {
      let from = minuteAligned(r.uniform(evalFrom, lastStart - span));
      if (businessHours && attempt < 200) {
        const tz = tenantLoad.get(tenants[0]!)!.tz;
        const h = ((((from + tz * HOUR) % DAY) + DAY) % DAY) / HOUR;
        if (h < 9 || h > 18) continue;
      }
      if (from < evalFrom) from = evalFrom;
      if (cal.free(tenants, from, from + span, margin)) {
        cal.take(tenants, from, from + span);
        return from;
      }
    }
    return undefined;
  };
  const change = (
    kind: string,
    tenant: string,
    ts: number,
    until: number | undefined,
    region: string | undefined,
    title: string,
    publishAt: number,
  ): string => {
    const id = nextId(kind === 'release' ? 'rel' : kind === 'maintenance' ? 'mw' : kind === 'campaign' ? 'cmp' : kind);
    const record: Record<string, unknown> = {
      v: 1,
      type: 'change',
      id,
      ts: new Date(ts).toISOString(),
      tenant,
      change: kind,
    };
    if (until !== undefined) record.until = new Date(until).toISOString();
    if (region !== undefined) record.region = region;
    record.title = title;
    if (tenant === '*') {
      // A producer may announce only its own tenant on the stream: platform-wide windows are declared by an operator.
      if (until === undefined)
        throw new Error(`platform-wide ${kind} ${id} needs an end: the operator route takes windows`);
      const declared: OperatorChange = {
        v: 1,
        type: 'change',
        id,
        ts,
        tenant,
        change: kind as OperatorChange['change'],
        until,
        ...(region !== undefined && { region }),
        title,
        createdBy: SCENARIO_OPERATOR,
        createdAt: publishAt,
      };
      operatorChanges.push({ at: publishAt, change: declared });
    } else changes.push({ publishAt, record });
    return id;
  };
  const mins = (ms: number) => Math.round(ms / MIN);
  const MARGIN = 75 * MIN;

  // Multi-tenant and long injections first, so they find room.
  for (let i = 0; i < o.counts.origin_bottleneck; i++) {
    const pool = r.shuffle(tenantsWith('origin_p95_ms').filter((t) => has(t, 'cache_hit_ratio')));
    const n = Math.min(pool.length, r.int(2, 4));
    const tenants = pool.slice(0, n);
    const dur = r.int(15, 40) * MIN;
    const from = place(
      tenants.map((t) => t.tenant),
      dur,
      MARGIN,
    );
    if (from === undefined) continue;
    const rampUp = r.int(0, 2) * MIN;
    const missX = r.uniform(2.5, 5);
    const originX = r.uniform(1.6, 3);
    const signals = new Set<string>();
    for (const t of tenants) {
      // Not every tenant is hit equally hard.
      const k = r.uniform(0.7, 1);
      addEffect(t.tenant, 'cache_hit_ratio', {
        from,
        to: from + dur,
        rampUp,
        rampDown: 3 * MIN,
        factor: 1 + (missX - 1) * k,
        wobble: 0.08,
      });
      addEffect(t.tenant, 'origin_p95_ms', {
        from,
        to: from + dur,
        rampUp,
        rampDown: 3 * MIN,
        factor: 1 + (originX - 1) * k,
        wobble: 0.1,
      });
      signals.add('cache_hit_ratio').add('origin_p95_ms');
      if (has(t, 'edge_p95_ms')) {
        addEffect(t.tenant, 'edge_p95_ms', {
          from,
          to: from + dur,
          rampUp,
          rampDown: 3 * MIN,
          factor: 1 + (originX - 1) * 0.5 * k,
          wobble: 0.08,
        });
        signals.add('edge_p95_ms');
      }
    }
    labels.push({
      id: nextId('origin'),
      kind: 'origin_bottleneck',
      tenants: tenants.map((t) => t.tenant),
      signals: [...signals],
      primary: 'origin_p95_ms',
      start: from,
      end: from + dur,
      highCost: true,
      expectedDecision: 'mitigate',
      expectedClass: 'infra',
      detail:
        `${tenants.length} tenants: miss ratio ×${missX.toFixed(1)}, origin p95 ×${originX.toFixed(1)}, ` +
        `${mins(dur)} min`,
    });
  }

  for (let i = 0; i < o.counts.maintenance; i++) {
    // Every other window is platform-wide for one region (tenant "*").
    const wide = i % 2 === 1;
    const anchor = r.pick(o.tenants);
    const inWindow = wide ? o.tenants.filter((t) => t.region === anchor.region) : [anchor];
    const span = r.int(40, 90) * MIN;
    const from = place(
      inWindow.map((t) => t.tenant),
      span,
      MARGIN,
    );
    if (from === undefined) continue;
    const until = from + span;
    const id = change(
      'maintenance',
      wide ? '*' : anchor.tenant,
      from,
      until,
      anchor.region,
      wide ? `${anchor.region} storage migration` : `${anchor.tenant} reindex`,
      from - 10 * MIN,
    );
    const aFrom = from + r.int(3, 10) * MIN;
    const aTo = Math.min(until - 5 * MIN, aFrom + r.int(15, 35) * MIN);
    const hit = wide ? inWindow.slice(0, Math.max(1, r.int(1, inWindow.length))) : inWindow;
    const signals = new Set<string>();
    const what: string[] = [];
    for (const t of hit) {
      if (has(t, 'origin_p95_ms') && has(t, 'cache_hit_ratio')) {
        // Caches flushed by the maintenance: misses and origin latency up.
        addEffect(t.tenant, 'cache_hit_ratio', {
          from: aFrom,
          to: aTo,
          rampUp: MIN,
          rampDown: 5 * MIN,
          factor: r.uniform(3, 5),
          wobble: 0.08,
        });
        addEffect(t.tenant, 'origin_p95_ms', {
          from: aFrom,
          to: aTo,
          rampUp: MIN,
          rampDown: 5 * MIN,
          factor: r.uniform(1.8, 2.6),
          wobble: 0.1,
        });
        signals.add('cache_hit_ratio').add('origin_p95_ms');
        what.push(`${t.tenant} cache flush`);
      } else if (has(t, 'dlq_growth')) {
        addEffect(t.tenant, 'dlq_growth', {
          from: aFrom,
          to: aTo,
          rampUp: 0,
          rampDown: 2 * MIN,
          factor: r.uniform(8, 15),
          wobble: 0.2,
        });
        signals.add('dlq_growth');
        what.push(`${t.tenant} DLQ backlog`);
      } else {
        addEffect(t.tenant, 'ingest_rpm', {
          from: aFrom,
          to: aTo,
          rampUp: MIN,
          rampDown: 2 * MIN,
          factor: r.uniform(3, 5),
          wobble: 0.1,
        });
        signals.add('ingest_rpm');
        what.push(`${t.tenant} backfill`);
      }
    }
    const primary = [...signals][0]!;
    labels.push({
      id: nextId('maint'),
      kind: 'maintenance',
      tenants: hit.map((t) => t.tenant),
      signals: [...signals],
      primary,
      start: aFrom,
      end: aTo,
      highCost: false,
      expectedDecision: 'suppressed',
      changeId: id,
      detail:
        `${wide ? `* (${anchor.region})` : anchor.tenant} window ${mins(span)} min; inside: ${what.join(', ')} ` +
        `for ${mins(aTo - aFrom)} min`,
    });
  }

  for (let i = 0; i < o.counts.campaign; i++) {
    const t = r.pick(o.tenants);
    const span = r.int(2, 6) * HOUR;
    const from = place([t.tenant], span, MARGIN);
    if (from === undefined) continue;
    const id = change('campaign', t.tenant, from, from + span, t.region, `${t.tenant} winter promo`, from - 10 * MIN);
    const x = r.uniform(1.5, 2.5);
    const rampUp = r.int(10, 30) * MIN;
    addEffect(t.tenant, 'ingest_rpm', { from, to: from + span, rampUp, rampDown: 30 * MIN, factor: x, wobble: 0.05 });
    const signals = ['ingest_rpm'];
    if (has(t, 'search_qps')) {
      addEffect(t.tenant, 'search_qps', {
        from,
        to: from + span,
        rampUp,
        rampDown: 30 * MIN,
        factor: 1 + (x - 1) * 0.5,
        wobble: 0.05,
      });
      signals.push('search_qps');
    }
    labels.push({
      id: nextId('campaign'),
      kind: 'campaign',
      tenants: [t.tenant],
      signals,
      primary: 'ingest_rpm',
      start: from,
      end: from + span,
      highCost: false,
      expectedDecision: 'soft',
      expectedClass: 'tenant',
      changeId: id,
      detail: `ingest ×${x.toFixed(1)} (ramp ${mins(rampUp)} min) for ${mins(span)} min`,
    });
  }

  for (let i = 0; i < o.counts.release_spike; i++) {
    const pool = tenantsWith('cqs_p95');
    if (!pool.length) break;
    const t = r.pick(pool);
    const lag = r.int(3, 12) * MIN;
    const dur = r.int(20, 40) * MIN;
    const rel = place([t.tenant], lag + dur, MARGIN, true);
    if (rel === undefined) continue;
    const id = change('release', t.tenant, rel, undefined, t.region, `search ${r.int(2, 4)}.${r.int(0, 9)}`, rel);
    const from = rel + lag;
    const x = r.uniform(1.4, 1.8);
    addEffect(t.tenant, 'cqs_p95', {
      from,
      to: from + dur,
      rampUp: r.int(0, 2) * MIN,
      rampDown: 2 * MIN,
      factor: x,
      wobble: 0.05,
    });
    labels.push({
      id: nextId('relspike'),
      kind: 'release_spike',
      tenants: [t.tenant],
      signals: ['cqs_p95'],
      primary: 'cqs_p95',
      start: from,
      end: from + dur,
      highCost: false,
      expectedDecision: 'alert',
      expectedClass: 'app',
      changeId: id,
      detail: `release ${id}, ${mins(lag)} min later cqs_p95 ${pct(x)} for ${mins(dur)} min`,
    });
  }

  const incident = (kind: 'ingest_surge' | 'search_cost' | 'notify_storm', n: number) => {
    for (let i = 0; i < n; i++) {
      // Search cost surges: mostly in KR, like seed §4; elsewhere too.
      const kr = tenantsWith('cqs_p95').filter((t) => t.region === 'kr');
      const search = kr.length && r.chance(0.6) ? kr : tenantsWith('cqs_p95');
      const candidates =
        kind === 'ingest_surge'
          ? tenantsWith('ingest_rpm')
          : kind === 'notify_storm'
            ? tenantsWith('notify_rpm')
            : search;
      if (!candidates.length) return;
      const t = r.pick(candidates);
      const dur = (kind === 'notify_storm' ? r.int(15, 45) : r.int(20, 60)) * MIN;
      const from = place([t.tenant], dur, MARGIN);
      if (from === undefined) continue;
      const rampUp = r.int(0, 2) * MIN;
      const rampDown = r.int(2, 6) * MIN;
      if (kind === 'ingest_surge') {
        const x = r.uniform(3, 8);
        addEffect(t.tenant, 'ingest_rpm', { from, to: from + dur, rampUp, rampDown, factor: x, wobble: 0.08 });
        labels.push({
          id: nextId('ingest'),
          kind,
          tenants: [t.tenant],
          signals: ['ingest_rpm'],
          primary: 'ingest_rpm',
          start: from,
          end: from + dur,
          highCost: true,
          expectedDecision: 'mitigate',
          expectedClass: 'tenant',
          detail: `ingest_rpm ×${x.toFixed(1)} for ${mins(dur)} min`,
        });
      } else if (kind === 'notify_storm') {
        const x = r.uniform(5, 20);
        addEffect(t.tenant, 'notify_rpm', {
          from,
          to: from + dur,
          rampUp: Math.min(rampUp, MIN),
          rampDown,
          factor: x,
          wobble: 0.15,
        });
        const signals = ['notify_rpm'];
        if (has(t, 'webhook_rps') && r.chance(0.5)) {
          addEffect(t.tenant, 'webhook_rps', {
            from,
            to: from + dur,
            rampUp: Math.min(rampUp, MIN),
            rampDown,
            factor: r.uniform(2, 4),
            wobble: 0.15,
          });
          signals.push('webhook_rps');
        }
        labels.push({
          id: nextId('storm'),
          kind,
          tenants: [t.tenant],
          signals,
          primary: 'notify_rpm',
          start: from,
          end: from + dur,
          highCost: true,
          expectedDecision: 'mitigate',
          expectedClass: 'abuse',
          detail: `notify_rpm ×${x.toFixed(1)} for ${mins(dur)} min`,
        });
      } else {
        // Seed §4: cache keys explode, queries get expensive, more of them reach the backend.
        const x = r.uniform(1.3, 1.8);
        addEffect(t.tenant, 'cqs_p95', { from, to: from + dur, rampUp, rampDown, factor: x, wobble: 0.05 });
        const qx = r.uniform(1.2, 1.6);
        addEffect(t.tenant, 'search_qps', { from, to: from + dur, rampUp, rampDown, factor: qx, wobble: 0.05 });
        const signals = ['cqs_p95', 'search_qps'];
        let extra = '';
        if (has(t, 'cache_hit_ratio') && r.chance(0.5)) {
          const mx = r.uniform(1.6, 2.5);
          addEffect(t.tenant, 'cache_hit_ratio', { from, to: from + dur, rampUp, rampDown, factor: mx, wobble: 0.05 });
          signals.push('cache_hit_ratio');
          extra = `, miss ratio ×${mx.toFixed(1)}`;
        }
        labels.push({
          id: nextId('search'),
          kind,
          tenants: [t.tenant],
          signals,
          primary: 'cqs_p95',
          start: from,
          end: from + dur,
          highCost: true,
          expectedDecision: 'mitigate',
          expectedClass: 'app',
          detail: `cqs_p95 ${pct(x)}, search_qps ${pct(qx)}${extra} for ${mins(dur)} min`,
        });
      }
    }
  };
  incident('ingest_surge', o.counts.ingest_surge);
  incident('search_cost', o.counts.search_cost);
  incident('notify_storm', o.counts.notify_storm);

  for (let i = 0; i < o.counts.benign_release; i++) {
    const t = r.pick(o.tenants);
    const span = 30 * MIN;
    const ts = place([t.tenant], span, 40 * MIN, true);
    if (ts === undefined) continue;
    const kind = r.chance(0.8) ? 'release' : r.pick(['flag', 'experiment']);
    const id = change(
      kind,
      t.tenant,
      ts,
      undefined,
      t.region,
      `${r.pick(['api', 'web', 'search', 'ingest', 'notify'])} ${r.int(1, 9)}.${r.int(0, 30)}`,
      ts,
    );
    labels.push({
      id: nextId('benign'),
      kind: 'benign_release',
      tenants: [t.tenant],
      signals: [...t.signals],
      primary: t.signals[0]!,
      start: ts,
      end: ts + span,
      highCost: false,
      expectedDecision: 'none',
      changeId: id,
      detail: `${kind} ${id} with no effect`,
    });
  }

  // Blips: need the sampling grid, so keys are laid out first.
  const keys: (KeyInfo & { t0: number })[] = [];
  for (const t of o.tenants) {
    for (const s of t.signals) {
      const step = r.pick(o.stepSeconds);
      keys.push({
        tenant: t.tenant,
        signal: s,
        region: t.region,
        stepSeconds: step,
        points: 0,
        t0: o.startTs + r.int(0, step - 1) * 1000,
      });
    }
  }
  // Blips go round the signals (every signal gets its share), on a random key of each.
  const blipSignals = r.shuffle([...new Set(keys.map((k) => k.signal))]);
  for (let i = 0; i < o.counts.blip_point + o.counts.blip_minute; i++) {
    const wholeMinute = i >= o.counts.blip_point;
    const sig = blipSignals[i % blipSignals.length]!;
    const k = r.pick(keys.filter((x) => x.signal === sig));
    const span = (wholeMinute ? 1 : 0.5) * MIN;
    const at = place([k.tenant], span, 20 * MIN);
    if (at === undefined) continue;
    const down = DOWN_IS_BAD.has(k.signal);
    // For ratios the factor multiplies the miss ratio.
    const x = wholeMinute ? r.uniform(2, 4) : r.uniform(3, 10);
    const stepMs = k.stepSeconds * 1000;
    const first = k.t0 + Math.ceil((at - k.t0) / stepMs) * stepMs;
    let from = first;
    let to = first + 1;
    if (wholeMinute) {
      from = Math.ceil(at / MIN) * MIN;
      to = from + MIN;
    }
    addEffect(k.tenant, k.signal, { from, to, rampUp: 0, rampDown: 0, factor: x, wobble: 0 });
    labels.push({
      id: nextId('blip'),
      kind: 'blip',
      tenants: [k.tenant],
      signals: [k.signal],
      primary: k.signal,
      start: from,
      end: wholeMinute ? to : from + MIN,
      highCost: false,
      expectedDecision: 'none',
      detail: wholeMinute
        ? `one minute of ${k.signal} ${down ? `miss ratio ×${x.toFixed(1)}` : `×${x.toFixed(1)}`}`
        : `one point of ${k.signal} ${down ? `miss ratio ×${x.toFixed(1)}` : `×${x.toFixed(1)}`}`,
    });
  }

  // ---- emit ----
  const out: { at: number; line: string }[] = [];
  let late = 0;
  let retries = 0;
  let missing = 0;
  for (const k of keys) {
    const model = MODELS[k.signal] ?? MODELS.ingest_rpm!;
    const tl = tenantLoad.get(k.tenant)!;
    const base = r.uniform(model.base[0], model.base[1]);
    const stepMs = k.stepSeconds * 1000;
    const keyEffects = effects.get(keyOf(k.tenant, k.signal));
    // Producer outages.
    const outages: Interval[] = [];
    const nOut = r.poisson(o.outagesPerKeyDay * o.days);
    for (let j = 0; j < nOut; j++) {
      const from = r.uniform(o.startTs, endTs);
      outages.push({ from, to: from + r.uniform(1, 6) * MIN });
    }
    const tau = 20 * MIN;
    const phi = Math.exp(-stepMs / tau);
    const innov = Math.sqrt(1 - phi * phi);
    let drift = 0;
    let n = 0;
    for (let ts = k.t0; ts < endTs; ts += stepMs) {
      drift = phi * drift + innov * model.drift * r.gauss();
      const { mult, wobble } = effectAt(keyEffects, ts);
      const l = load(tl, ts, o.startTs);
      const coupled = 1 + model.loadCoupling * (l - 1);
      const noise = r.lognormal(model.noise + wobble);
      // A heavy tail: now and then a point is off by 15–50 % (a slow request, a GC pause, a batch flush).
      const tail = r.chance(0.002) ? (r.chance(0.5) ? r.uniform(1.15, 1.5) : 1 / r.uniform(1.15, 1.5)) : 1;
      let value: number;
      switch (model.kind) {
        case 'usage':
          value = base * l * Math.exp(drift) * noise * tail * mult;
          break;
        case 'cost':
        case 'latency':
          value = base * coupled * Math.exp(drift) * noise * tail * mult;
          break;
        case 'ratio': {
          const miss = Math.min(0.99, base * coupled * Math.exp(drift) * noise * tail * mult);
          value = 1 - miss;
          break;
        }
        case 'count':
          value = r.poisson(base * coupled * Math.exp(drift) * mult);
          break;
      }
      if (r.chance(o.missingRate) || outages.some((g) => ts >= g.from && ts < g.to)) {
        missing++;
        continue;
      }
      // Producers stamp on their own clock: a second or two of jitter.
      const stamp = ts + r.int(0, 1500);
      const id = `m-${k.tenant}-${k.signal}-${n}`;
      const line = JSON.stringify({
        v: 1,
        type: 'metric',
        id,
        ts: new Date(stamp).toISOString(),
        tenant: k.tenant,
        signal: k.signal,
        value: Number(value.toPrecision(5)),
        region: k.region,
      });
      let at = stamp + r.int(100, 3000);
      if (r.chance(o.lateRate)) {
        at += r.int(20, 90) * 1000;
        late++;
      }
      out.push({ at, line });
      if (r.chance(o.retryRate)) {
        out.push({ at: at + r.int(5, 30) * 1000, line });
        retries++;
      }
      n++;
    }
    k.points = n;
  }
  for (const c of changes) out.push({ at: c.publishAt, line: JSON.stringify(c.record) });
  out.sort((a, b) => a.at - b.at);
  labels.sort((a, b) => a.start - b.start);
  operatorChanges.sort((a, b) => a.at - b.at);
  return {
    options: o,
    lines: out.map((x) => x.line),
    operatorChanges,
    labels,
    keys: keys.map(({ t0: _t0, ...k }) => k),
    evalFrom,
    endTs,
    counts: {
      metrics: out.length - changes.length,
      changes: changes.length,
      operatorChanges: operatorChanges.length,
      late,
      retries,
      missing,
    },
  };
}

function pct(x: number): string {
  const p = Math.round((x - 1) * 100);
  return `${p >= 0 ? '+' : ''}${p}%`;
}
