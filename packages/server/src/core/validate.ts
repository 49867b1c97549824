/** Small typed readers for untrusted JSON: each throws `invalid(path, ...)` naming the field at fault. */
import { invalid } from './errors.js';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function object(v: unknown, path: string): Json {
  if (!isObject(v)) throw invalid(path, 'must be a JSON object');
  return v;
}

export function optObject(v: unknown, path: string): Json | undefined {
  return v === undefined || v === null ? undefined : object(v, path);
}

export function string(v: unknown, path: string, opts: { max?: number; min?: number } = {}): string {
  if (typeof v !== 'string') throw invalid(path, 'must be a string');
  if (opts.min !== undefined && v.length < opts.min)
    throw invalid(path, `must have at least ${opts.min} characters`);
  if (opts.max !== undefined && v.length > opts.max)
    throw invalid(path, `must have at most ${opts.max} characters`);
  return v;
}

export function optString(
  v: unknown,
  path: string,
  opts: { max?: number; min?: number } = {},
): string | undefined {
  return v === undefined || v === null ? undefined : string(v, path, opts);
}

export function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw invalid(path, 'must be true or false');
  return v;
}

export function optBoolean(v: unknown, path: string): boolean | undefined {
  return v === undefined || v === null ? undefined : boolean(v, path);
}

export function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(path, 'must be an integer');
  if (v < min || v > max) throw invalid(path, `must be between ${min} and ${max}`);
  return v;
}

export function optInteger(v: unknown, path: string, min: number, max: number): number | undefined {
  return v === undefined || v === null ? undefined : integer(v, path, min, max);
}

export function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(path, 'must be an array');
  return v;
}

export function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  // Azure enums are case-insensitive on input; return the canonical spelling.
  const s = string(v, path);
  const hit = allowed.find((a) => a.toLowerCase() === s.toLowerCase());
  if (!hit) throw invalid(path, `must be one of ${allowed.join(', ')}`);
  return hit;
}

/** ISO-8601 date-time (or date) → canonical ISO string. */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO-8601 date or date-time → epoch ms; no offset means UTC (never the server's local zone). NaN if invalid. */
export function parseIsoUtc(s: string): number {
  const m = ISO.exec(s.trim());
  if (!m) return NaN;
  const t = s.trim();
  // A bare date already parses as UTC; a date-time without an offset would parse as local time.
  return Date.parse(t.length > 10 && m[1] === undefined ? `${t.replace(' ', 'T')}Z` : t.replace(' ', 'T'));
}

/** ISO-8601 date-time (or date) → canonical ISO string. */
export function dateTime(v: unknown, path: string): string {
  const ms = parseIsoUtc(string(v, path));
  if (Number.isNaN(ms)) throw invalid(path, 'must be an ISO-8601 date-time');
  return new Date(ms).toISOString();
}
