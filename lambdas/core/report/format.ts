import { MINUTE_MS } from '../time.js';
/** Formatting shared by the renderers. Everything here is a pure function of its arguments. */

export function iso(ts: number): string {
  return new Date(ts).toISOString();
}

export function minuteOf(ts: number): number {
  return Math.floor(ts / MINUTE_MS) * MINUTE_MS;
}

/** `2026-11-22` */
export function dayOf(ts: number): string {
  return iso(ts).slice(0, 10);
}

/** `10:04 UTC`, or with the date when `ts` is not on `sameDayAs`'s UTC day. */
export function clock(at: string | number, sameDayAs?: string | number, seconds = false): string {
  const t = typeof at === 'number' ? iso(at) : at;
  const time = t.slice(11, seconds ? 19 : 16);
  const ref = sameDayAs === undefined ? undefined : typeof sameDayAs === 'number' ? iso(sameDayAs) : sameDayAs;
  return ref !== undefined && ref.slice(0, 10) === t.slice(0, 10) ? `${time} UTC` : `${t.slice(0, 10)} ${time} UTC`;
}

/** Three significant digits, no exponent noise for everyday magnitudes: 0.0037, 12.5, 1234. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a === 0) return '0';
  return String(Number(v.toPrecision(3)));
}

/** `+51%`, `−19%` (a real minus sign reads better next to digits). */
export function pct(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const r = Number(v.toFixed(digits));
  if (r === 0) return '±0%';
  return `${r > 0 ? '+' : '\u2212'}${Math.abs(r).toFixed(digits)}%`;
}

export function usd(v: number): string {
  const sign = v < 0 ? '\u2212' : '';
  const a = Math.abs(v);
  return `${sign}USD ${a >= 1 ? a.toFixed(2) : a === 0 ? '0' : String(Number(a.toPrecision(3)))}`;
}

export function withUnit(v: number, unit: string): string {
  return unit ? `${num(v)} ${unit}` : num(v);
}

export function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** A step value as people read it: numbers and strings bare, objects as compact JSON. */
export function value(v: unknown): string {
  if (v === null || v === undefined) return 'unset';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `tenants a, b`; `signal x`: a label, plural for several, and the items (already rendered). */
export function names(what: string, items: readonly string[]): string {
  return `${what}${items.length === 1 ? '' : 's'} ${items.join(', ')}`;
}

/** A digest row's savings: an amount, a share of the excess, or n/a. */
export function savingsCell(savings: { amount?: number; percent: number | null } | undefined | null): string {
  if (!savings) return 'n/a';
  if (savings.amount !== undefined) return usd(savings.amount);
  return savings.percent === null ? 'n/a' : `${num(savings.percent)}% of excess`;
}
