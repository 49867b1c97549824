/**
 * Reading the `az ml` YAML files (jobs, online endpoints and deployments): loading, `--set key=value`
 * overrides, strict key checks and the value helpers shared by the mappings to Azure's REST bodies. Errors
 * name the file and the key at fault, as az's schema validation does.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export type Json = Record<string, unknown>;

export const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A YAML spec problem: `<file>: <key>: <message>`. */
export class SpecError extends Error {
  constructor(source: string, key: string, message: string) {
    super(key === '' ? `${source}: ${message}` : `${source}: ${key}: ${message}`);
    this.name = 'SpecError';
  }
}

/** Where a spec came from (for messages) and where its relative paths start. */
export interface SpecContext {
  source: string;
  baseDir: string;
  /** Whether a local path is an existing folder / exists; the real file system unless a test says otherwise. */
  isDir?: (p: string) => boolean;
  exists?: (p: string) => boolean;
}

export function fail(ctx: SpecContext, key: string, message: string): never {
  throw new SpecError(ctx.source, key, message);
}

/** Parses a YAML document that must be a mapping (an empty file gives `{}`). */
export function parseSpec(text: string, source: string): Json {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SpecError(source, '', `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === undefined || doc === null) return {};
  if (!isMap(doc)) throw new SpecError(source, '', 'must be a YAML mapping (key: value lines)');
  return doc;
}

/** `--file`: read and parse; relative paths inside are relative to the file's folder. */
export function loadSpecFile(file: string): { doc: Json; ctx: SpecContext } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`--file: cannot read ${file}${code === 'ENOENT' ? ': no such file' : `: ${code}`}`);
  }
  return { doc: parseSpec(text, file), ctx: { source: file, baseDir: dirname(resolve(file)) } };
}

/**
 * az's generic `--set path.to.key=value`: the value is read as YAML (so numbers, booleans and JSON work),
 * missing intermediate mappings are created.
 */
export function applySets(doc: Json, sets: readonly string[]): Json {
  const out = structuredClone(doc);
  for (const item of sets) {
    const eq = item.indexOf('=');
    // az's list syntax `steps[0].name` is the same as `steps.0.name`.
    const path =
      eq < 0
        ? ''
        : item
            .slice(0, eq)
            .trim()
            .replace(/\[(\d+)\]/g, '.$1');
    if (path === '' || path.split('.').some((p) => p === '')) {
      throw new Error(
        `--set: '${item}' is not key=value (nested keys with dots: inputs.lr=0.1, steps[0].name=x)`,
      );
    }
    const raw = item.slice(eq + 1);
    let value: unknown;
    try {
      value = raw === '' ? '' : parse(raw);
    } catch {
      value = raw;
    }
    const keys = path.split('.');
    let cur: Json | unknown[] = out;
    for (const [i, k] of keys.entries()) {
      if (Array.isArray(cur) && !(/^\d+$/.test(k) && Number(k) <= cur.length)) {
        throw new Error(
          `--set: '${keys.slice(0, i).join('.')}' is a list of ${cur.length}: '${k}' is not an index in it`,
        );
      }
      const c = cur as Record<string, unknown>;
      if (i === keys.length - 1) c[k] = value;
      else {
        if (!isMap(c[k]) && !Array.isArray(c[k])) c[k] = {};
        cur = c[k] as Json | unknown[];
      }
    }
  }
  return out;
}

/** Every key must be one of `allowed`; `refused` keys get their own reason. */
export function checkKeys(
  ctx: SpecContext,
  obj: Json,
  prefix: string,
  allowed: readonly string[],
  refused: Record<string, string> = {},
): void {
  for (const key of Object.keys(obj)) {
    const at = prefix === '' ? key : `${prefix}.${key}`;
    if (Object.hasOwn(refused, key)) fail(ctx, at, refused[key]!);
    if (!allowed.includes(key)) fail(ctx, at, `unknown key (known: ${allowed.join(', ')})`);
  }
}

export function mapAt(ctx: SpecContext, v: unknown, key: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) fail(ctx, key, 'must be a mapping');
  return v;
}

/** A scalar as text (YAML reads `1.0` or `true` as non-strings; az sends them as text). */
export function text(ctx: SpecContext, v: unknown, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return fail(ctx, key, 'must be a string');
}

export function requiredText(ctx: SpecContext, v: unknown, key: string): string {
  const s = text(ctx, v, key);
  if (s === undefined || s.trim() === '') fail(ctx, key, 'is required');
  return s;
}

/** `tags`, `environment_variables`, `properties`: a mapping of scalars, as strings. */
export function textMap(ctx: SpecContext, v: unknown, key: string): Record<string, string> | undefined {
  const m = mapAt(ctx, v, key);
  if (m === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(m)) out[k] = text(ctx, val, `${key}.${k}`) ?? '';
  return out;
}

export function int(
  ctx: SpecContext,
  v: unknown,
  key: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(ctx, key, `must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
  }
  return n;
}

export function bool(ctx: SpecContext, v: unknown, key: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  return fail(ctx, key, 'must be true or false');
}

/** One of `choices`, case-insensitive; returns the choice's spelling. */
export function choice<T extends string>(
  ctx: SpecContext,
  v: unknown,
  key: string,
  choices: readonly T[],
): T | undefined {
  const s = text(ctx, v, key);
  if (s === undefined) return undefined;
  const hit = choices.find((c) => c.toLowerCase() === s.toLowerCase());
  if (hit === undefined) fail(ctx, key, `must be one of ${choices.join(', ')}`);
  return hit;
}

const SCHEME_RE = /^[a-z][a-z0-9+.-]*:/i;

/**
 * A path in the YAML: a local one (relative to the YAML's folder, or `file:` + path) becomes absolute; a URI
 * of any other scheme (`azureml:`, `https:`, `abfss:` ...) is kept as written. `local` says which it was.
 */
export function specPath(ctx: SpecContext, p: string, key: string): { path: string; local: boolean } {
  if (/^file:\/\//i.test(p)) {
    try {
      return { path: fileURLToPath(p), local: true };
    } catch {
      fail(ctx, key, 'must be a file:// URL of an absolute path');
    }
  }
  if (/^file:/i.test(p)) return { path: resolve(ctx.baseDir, p.slice(5)), local: true };
  // A Windows drive letter is not a scheme, but mlgrid hosts are POSIX; anything `x:` is a URI.
  if (SCHEME_RE.test(p) && !isAbsolute(p)) return { path: p, local: false };
  return { path: resolve(ctx.baseDir, p), local: true };
}

export function isDirectory(ctx: SpecContext, p: string): boolean {
  if (ctx.isDir) return ctx.isDir(p);
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function pathExists(ctx: SpecContext, p: string): boolean {
  if (ctx.exists) return ctx.exists(p);
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
