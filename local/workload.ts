import { partitionKeyOf, type Envelope } from '../lambdas/core/envelope.js';
import { seededRandom } from './random.js';
import { effectiveFactor } from './service-model.js';
import { MINUTE_MS } from '../lambdas/core/time.js';

/** One record as a producer would put it: the raw line (possibly malformed on purpose) and its partition key. */
export interface ProducedRecord {
  ts: number;
  line: string;
  partitionKey: string;
}

interface SignalProfile {
  signal: string;
  base: number;
  /** Relative day/night swing. */
  diurnal: number;
  /** Relative noise (standard deviation / base). */
  noise: number;
}

export interface TenantProfile {
  tenant: string;
  region: string;
  scale: number;
}

/** A change in behaviour the simulator injects: a multiplier on one tenant's signal over a span of minutes. */
export interface Incident {
  tenant: string;
  signal: string;
  fromMinute: number;
  toMinute: number;
  factor: number;
}

/** A change record the simulated tenant's deploy pipeline or marketing team sends (seed 004 §D correlation). */
export interface ScheduledChange {
  tenant: string;
  change: 'release' | 'flag' | 'experiment' | 'maintenance' | 'campaign';
  minute: number;
  /** Minutes the change stays in effect (campaigns). */
  forMinutes?: number;
  title: string;
}

export interface WorkloadOptions {
  startTs: number;
  /** Simulated minutes; Infinity streams forever. */
  minutes: number;
  stepSeconds: number;
  seed: number;
  tenants: TenantProfile[];
  signals: SignalProfile[];
  incidents: Incident[];
  changes?: ScheduledChange[];
  listeners: number;
  /** Share of records that are deliberately malformed, to exercise the dead-letter path. */
  invalidRate: number;
  /**
   * The flags set for a tenant right now (the flag table, as the runtime last read it). Read at every
   * step, so an applied mitigation changes the records that follow: the simulated service reacts.
   */
  flags?: (tenant: string) => ReadonlySet<string>;
}

const SIGNALS: SignalProfile[] = [
  { signal: 'ingest_rpm', base: 1200, diurnal: 0.35, noise: 0.04 },
  { signal: 'search_qps', base: 80, diurnal: 0.4, noise: 0.05 },
  { signal: 'cqs_p95', base: 0.0025, diurnal: 0.15, noise: 0.03 },
  { signal: 'cache_hit_ratio', base: 0.92, diurnal: 0.01, noise: 0.005 },
  { signal: 'edge_p95_ms', base: 120, diurnal: 0.1, noise: 0.05 },
  { signal: 'notify_rpm', base: 300, diurnal: 0.3, noise: 0.05 },
];

export function defaultWorkload(startTs: number, minutes: number): WorkloadOptions {
  return {
    startTs,
    minutes,
    stepSeconds: 10,
    seed: 42,
    tenants: [
      { tenant: 'acme', region: 'kr', scale: 1 },
      { tenant: 'globex', region: 'us', scale: 2.5 },
      { tenant: 'initech', region: 'eu', scale: 0.6 },
    ],
    signals: SIGNALS,
    // Modelled on seed 004's worked example: a KR search-cost spike of about +51 %.
    // The four incident kinds of seed 004's playbooks, 30 simulated minutes each, 30 minutes apart,
    // after the detectors' warm-up (about 70 minutes of history). The default run is 240 minutes.
    // The storm lasts 50: its soft stage does not reduce it, and the run escalates at the check about
    // 12 minutes later, with room to spare on a slow machine.
    incidents: [
      // Seed 004's worked example: a KR search-cost spike of about +51 %.
      { tenant: 'acme', signal: 'cqs_p95', fromMinute: 80, toMinute: 110, factor: 1.51 },
      ...['acme', 'globex', 'initech'].map((tenant) => ({
        tenant,
        signal: 'edge_p95_ms',
        fromMinute: 120,
        toMinute: 150,
        factor: 1.9,
      })),
      { tenant: 'initech', signal: 'notify_rpm', fromMinute: 160, toMinute: 210, factor: 4 },
      { tenant: 'globex', signal: 'ingest_rpm', fromMinute: 200, toMinute: 230, factor: 3.2 },
      // Expected: the campaign announced below; the tenant gets soft steps only.
      { tenant: 'initech', signal: 'ingest_rpm', fromMinute: 215, toMinute: 235, factor: 2.5 },
    ],
    changes: [
      // A benign release: nothing moves after it, so nothing is blamed on it.
      { tenant: 'initech', change: 'release', minute: 60, title: 'notify 3.1 (benign)' },
      { tenant: 'initech', change: 'campaign', minute: 210, forMinutes: 40, title: 'year-end sale' },
    ],
    listeners: 12,
    invalidRate: 0.002,
  };
}

const NO_FLAGS: ReadonlySet<string> = new Set();

const ACTIONS = ['listen', 'listen', 'listen', 'listen', 'pause', 'seek', 'exit'] as const;

/**
 * Records in event-time order: metrics for every tenant and signal each step, listener activity, and a few malformed
 * records.
 */
export function* simulateWorkload(o: WorkloadOptions): Generator<ProducedRecord> {
  const rnd = seededRandom(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const emit = (record: Envelope | Record<string, unknown>): ProducedRecord => {
    const ts = typeof record.ts === 'number' ? record.ts : Date.parse(String(record.ts));
    const valid = record as Envelope;
    if (rnd() < o.invalidRate) return malformed(valid, rnd, ts);
    return { ts, line: JSON.stringify(record), partitionKey: partitionKeyOf(valid) };
  };
  for (let step = 0; step * o.stepSeconds < o.minutes * 60; step++) {
    const ts = o.startTs + step * o.stepSeconds * 1000;
    const minute = Math.floor((step * o.stepSeconds) / 60);
    const hour = new Date(ts).getUTCHours() + new Date(ts).getUTCMinutes() / 60;
    const day = Math.sin((2 * Math.PI * (hour - 8)) / 24);
    for (const c of o.changes ?? []) {
      if (step * o.stepSeconds !== c.minute * 60) continue;
      const until = c.forMinutes === undefined ? {} : { until: new Date(ts + c.forMinutes * MINUTE_MS).toISOString() };
      yield emit({
        v: 1,
        type: 'change',
        id: `chg-${c.tenant}-${c.change}-${c.minute}`,
        ts,
        tenant: c.tenant,
        change: c.change,
        title: c.title,
        ...until,
      });
    }
    for (const t of o.tenants) {
      for (const s of o.signals) {
        const incident = o.incidents.find(
          (i) => i.tenant === t.tenant && i.signal === s.signal && minute >= i.fromMinute && minute < i.toMinute,
        );
        const scale = s.signal.endsWith('_ratio') || s.signal.endsWith('_ms') || s.signal.startsWith('c') ? 1 : t.scale;
        const factor = incident ? effectiveFactor(incident.factor, s.signal, o.flags?.(t.tenant) ?? NO_FLAGS) : 1;
        let value = s.base * scale * (1 + s.diurnal * day) * (1 + s.noise * gauss()) * factor;
        if (s.signal.endsWith('_ratio')) value = Math.min(1, value);
        yield emit({
          v: 1,
          type: 'metric',
          id: `m-${t.tenant}-${s.signal}-${step}`,
          ts,
          tenant: t.tenant,
          signal: s.signal,
          value: round(value),
          region: t.region,
        });
      }
    }
    for (let u = 0; u < o.listeners; u++) {
      if (rnd() > o.stepSeconds / 30) continue;
      const action = ACTIONS[Math.floor(rnd() * ACTIONS.length)]!;
      yield emit({
        v: 1,
        type: 'activity',
        id: `a-${u}-${step}`,
        ts: ts + Math.floor(rnd() * o.stepSeconds * 1000),
        key: `listener-${u}`,
        tenant: 'podcast',
        action,
        attrs: { episode: `e-${u % 4}` },
      });
    }
  }
}

function malformed(record: Envelope, rnd: () => number, ts: number): ProducedRecord {
  const json = JSON.stringify(record);
  const kind = Math.floor(rnd() * 3);
  const line =
    kind === 0
      ? json.slice(0, Math.floor(json.length / 2))
      : kind === 1
        ? json.replace(/"ts":[^,]+/, '"ts":"yesterday"')
        : json.replace(/"v":1/, '"v":2');
  return { ts, line, partitionKey: partitionKeyOf(record) };
}

function round(v: number): number {
  return Number(v.toPrecision(6));
}
