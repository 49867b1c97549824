/**
 * Local functions (docs/functions.md), the Azure Functions analogue: a function resource at Azure's id shape
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/functions/{fn}`, so an
 * `AzureFunction` event subscription destination names it unchanged. Azure's FunctionEnvelope keeps its shape
 * (`properties.config` free-form, `properties.isDisabled`); what mlgrid runs sits in `properties.config.mlgrid`.
 * Pure: the PUT body, the rendering, and the path rules (lexical; the handler re-checks real paths at run time).
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { envMap, isAbsent } from './arm-fields.js';
import { invalid, MlgridError } from './errors.js';
import { array, boolean, integer, object, string, type Json } from './validate.js';

export interface SiteRef {
  subscriptionId: string;
  resourceGroup: string;
  /** The function app (Azure's site) name. */
  app: string;
}

export interface FunctionRef extends SiteRef {
  name: string;
}

export const FUNCTION_TYPE = 'Microsoft.Web/sites/functions';

export const FUNCTION_LIMITS = {
  timeoutSeconds: { min: 1, max: 600, default: 30 },
  maxConcurrency: { min: 1, max: 64, default: 4 },
  commandArgs: 256,
  argLength: 8192,
  envEntries: 100,
} as const;

/** The variables mlgrid sets for every invocation: a function's own `env` may not use these prefixes. */
export const RESERVED_ENV_PREFIXES = ['MLGRID_', 'AEG_'] as const;

/** A module handler's file: JavaScript, or TypeScript (run through tsx). */
export const MODULE_FILE = /\.(?:m|c)?[jt]s$/i;

export type FunctionHandlerSpec = { command: string[] } | { module: string };

export interface FunctionSpec {
  /** `properties.config` without `mlgrid`: Azure's free-form function.json part (bindings…), kept as given. */
  config: Json;
  handler: FunctionHandlerSpec;
  /** As given: relative to the functions directory, or absolute inside it. Default `<dir>/<app>`. */
  cwd?: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  maxConcurrency: number;
  isDisabled: boolean;
}

/** What is stored: the id as first spelled (keys are lower-cased) and the spec. */
export interface FunctionDoc {
  ref: FunctionRef;
  spec: FunctionSpec;
}

// Azure: a site name is 2-60 letters, digits and hyphens; a function name starts with a letter, ≤ 128 chars.
const APP_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,58}[a-zA-Z0-9])?$/;
const FUNCTION_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,127}$/;

export function validateFunctionNames(ref: SiteRef & { name?: string }): void {
  if (!APP_NAME.test(ref.app)) {
    throw new MlgridError(
      'InvalidResourceName',
      `Function app name '${ref.app}' must be 1-60 letters, digits or hyphens, not starting or ending with a hyphen.`,
    );
  }
  if (ref.name !== undefined && !FUNCTION_NAME.test(ref.name)) {
    throw new MlgridError(
      'InvalidResourceName',
      `Function name '${ref.name}' must start with a letter and have at most 128 letters, digits, '-' or '_'.`,
    );
  }
}

export function siteId(ref: SiteRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Web/sites/${ref.app}`;
}

export function functionId(ref: FunctionRef): string {
  return `${siteId(ref)}/functions/${ref.name}`;
}

/** The lookup key of a function or site id (ARM ids compare case-insensitively; `//` and a trailing `/` ignored). */
export function resourceKey(id: string): string {
  return id
    .replace(/\/{2,}/g, '/')
    .replace(/\/$/, '')
    .toLowerCase();
}

const CONFIG = 'properties.config';
const ML = `${CONFIG}.mlgrid`;

/** A PUT body (Azure's FunctionEnvelope) → the spec. Replaces the whole function, as Azure's PUT does. */
export function parseFunctionPut(body: unknown): FunctionSpec {
  const b = object(body ?? {}, 'body');
  if (isAbsent(b.properties)) throw invalid('properties', 'is required');
  const p = object(b.properties, 'properties');
  if (isAbsent(p.config)) throw invalid(CONFIG, 'is required');
  const { mlgrid, ...config } = object(p.config, CONFIG);
  if (isAbsent(mlgrid)) throw invalid(ML, 'is required: { command: [...] } or { module: "..." }');
  const m = object(mlgrid, ML);
  const hasCommand = !isAbsent(m.command);
  const hasModule = !isAbsent(m.module);
  if (hasCommand === hasModule) {
    throw invalid(hasCommand ? `${ML}.module` : ML, 'give exactly one of command and module');
  }
  const handler: FunctionHandlerSpec = hasCommand
    ? { command: parseCommand(m.command, `${ML}.command`) }
    : { module: parseModule(m.module, `${ML}.module`) };
  const spec: FunctionSpec = {
    config,
    handler,
    env: parseEnv(m.env, `${ML}.env`),
    timeoutSeconds: limited(m.timeoutSeconds, `${ML}.timeoutSeconds`, FUNCTION_LIMITS.timeoutSeconds),
    maxConcurrency: limited(m.maxConcurrency, `${ML}.maxConcurrency`, FUNCTION_LIMITS.maxConcurrency),
    isDisabled: isAbsent(p.isDisabled) ? false : boolean(p.isDisabled, 'properties.isDisabled'),
  };
  if (!isAbsent(m.cwd)) spec.cwd = pathString(m.cwd, `${ML}.cwd`);
  return spec;
}

function limited(v: unknown, path: string, l: { min: number; max: number; default: number }): number {
  return isAbsent(v) ? l.default : integer(v, path, l.min, l.max);
}

function pathString(v: unknown, path: string): string {
  const s = string(v, path, { max: 4096 });
  if (s.trim() === '') throw invalid(path, 'must not be empty');
  if (s.includes('\0')) throw invalid(path, 'must not contain NUL');
  return s;
}

function parseCommand(v: unknown, path: string): string[] {
  const args = array(v, path);
  if (args.length === 0) throw invalid(path, 'must not be empty: the program, then its arguments');
  if (args.length > FUNCTION_LIMITS.commandArgs) {
    throw invalid(path, `must have at most ${FUNCTION_LIMITS.commandArgs} entries`);
  }
  return args.map((a, i) => {
    const s = string(a, `${path}[${i}]`, { max: FUNCTION_LIMITS.argLength });
    if (s.includes('\0')) throw invalid(`${path}[${i}]`, 'must not contain NUL');
    if (i === 0 && s.trim() === '') throw invalid(`${path}[0]`, 'must name the program to run');
    return s;
  });
}

function parseModule(v: unknown, path: string): string {
  const s = pathString(v, path);
  if (!MODULE_FILE.test(s)) throw invalid(path, 'must be a .js, .mjs, .cjs, .ts, .mts or .cts file');
  return s;
}

function parseEnv(v: unknown, path: string): Record<string, string> {
  const env = envMap(v, path);
  const names = Object.keys(env);
  if (names.length > FUNCTION_LIMITS.envEntries) {
    throw invalid(path, `must have at most ${FUNCTION_LIMITS.envEntries} entries`);
  }
  for (const k of names) {
    if (RESERVED_ENV_PREFIXES.some((p) => k.toUpperCase().startsWith(p))) {
      throw invalid(
        `${path}.${k}`,
        `is reserved: mlgrid sets the ${RESERVED_ENV_PREFIXES.join('* and ')}* variables`,
      );
    }
  }
  return env;
}

/** `p` resolved against `base`, when it stays inside `root` (or is `root`); lexical, no symlinks followed. */
export function resolveInside(root: string, base: string, p: string): string | undefined {
  const abs = resolve(base, p);
  const rel = relative(resolve(root), abs);
  if (rel === '') return abs;
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return abs;
}

/** The working directory and (for modules) the module file, inside `root`; a 400 naming the field otherwise. */
export function functionPaths(
  root: string,
  ref: SiteRef,
  spec: FunctionSpec,
): { cwd: string; module?: string } {
  const cwd = resolveInside(root, root, spec.cwd ?? ref.app);
  if (cwd === undefined)
    throw invalid(`${ML}.cwd`, 'must be inside the functions directory (MLGRID_FUNCTIONS_DIR)');
  if (!('module' in spec.handler)) return { cwd };
  const module = resolveInside(root, cwd, spec.handler.module);
  if (module === undefined) {
    throw invalid(`${ML}.module`, 'must be inside the functions directory (MLGRID_FUNCTIONS_DIR)');
  }
  return { cwd, module };
}

/** Azure's `language`: node for modules, python for a python command, custom (Azure's custom handler) else. */
export function functionLanguage(h: FunctionHandlerSpec): string {
  if ('module' in h) return 'node';
  const program = h.command[0]!.split('/').pop()!;
  return /^python(?:\d+(?:\.\d+)?)?$/i.test(program) ? 'python' : 'custom';
}

/** Azure's FunctionEnvelope with mlgrid's part (defaults filled in) under `properties.config.mlgrid`. */
export function renderFunction(doc: FunctionDoc): Json {
  const { ref, spec } = doc;
  return {
    id: functionId(ref),
    name: `${ref.app}/${ref.name}`,
    type: FUNCTION_TYPE,
    properties: {
      function_app_id: siteId(ref),
      config: {
        ...spec.config,
        mlgrid: {
          ...spec.handler,
          ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
          env: spec.env,
          timeoutSeconds: spec.timeoutSeconds,
          maxConcurrency: spec.maxConcurrency,
        },
      },
      language: functionLanguage(spec.handler),
      isDisabled: spec.isDisabled,
    },
  };
}
