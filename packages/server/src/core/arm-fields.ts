/** Field readers shared by the ARM resources (topics, workspaces): tags, location, required strings. */
import { invalid } from './errors.js';
import { object, string } from './validate.js';

/** ARM tags: at most 50, names 1-512 characters, string values up to 256. */
export const TAG_LIMITS = { max: 50, nameLength: 512, valueLength: 256 } as const;

export function isAbsent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** A present, non-blank string. */
export function requiredString(v: unknown, path: string): string {
  if (isAbsent(v)) throw invalid(path, 'is required');
  const s = string(v, path);
  if (s.trim() === '') throw invalid(path, 'must not be empty');
  return s;
}

/** ARM treats "West US 2" and "westus2" as the same region. */
export function sameLocation(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s+/g, '').toLowerCase();
  return norm(a) === norm(b);
}

export function parseTags(raw: unknown, path: string): Record<string, string> {
  if (isAbsent(raw)) return {};
  const entries = Object.entries(object(raw, path));
  if (entries.length > TAG_LIMITS.max) throw invalid(path, `must have at most ${TAG_LIMITS.max} tags`);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > TAG_LIMITS.nameLength) {
      throw invalid(`${path}.${k}`, `tag names must have 1-${TAG_LIMITS.nameLength} characters`);
    }
    string(v, `${path}.${k}`, { max: TAG_LIMITS.valueLength });
  }
  // fromEntries defines own properties, so a "__proto__" tag stays data.
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Asset tags/properties: string values; a null value (allowed by the SDK type) means "no such key". */
export function stringMap(raw: unknown, path: string): Record<string, string> {
  if (isAbsent(raw)) return {};
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(object(raw, path))) {
    if (k.length === 0) throw invalid(path, 'keys must not be empty');
    if (v === null) continue;
    out.push([k, string(v, `${path}.${k}`)]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(out);
}

/** Environment variables for a child process: names without `=` or NUL, values without NUL. */
export function envMap(raw: unknown, path: string): Record<string, string> {
  const out = stringMap(raw, path);
  for (const k of Object.keys(out)) {
    if (k.includes('=') || k.includes('\0')) throw invalid(`${path}.${k}`, 'is not a valid variable name');
    if (out[k]!.includes('\0')) throw invalid(`${path}.${k}`, 'must not contain NUL');
  }
  return out;
}
