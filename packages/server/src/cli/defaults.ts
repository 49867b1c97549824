/**
 * az-style persisted defaults (`mlgrid configure --defaults group=rg workspace=ws ...`) kept in
 * `<config dir>/config.json`, and the one helper through which every command's flags pick them up.
 * Precedence: an explicit flag > the environment (MLGRID_SUBSCRIPTION) > a configured default > built-in.
 */
import { Option, type Command } from 'commander';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { env } from '../config.js';

export const DEFAULT_KEYS = ['group', 'workspace', 'subscription', 'location'] as const;
export type DefaultKey = (typeof DEFAULT_KEYS)[number];
export type Defaults = Partial<Record<DefaultKey, string>>;

/** The flag each default stands in for, named in messages. */
export const FLAG_OF: Record<DefaultKey, string> = {
  group: '-g/--resource-group',
  workspace: '-w/--workspace-name',
  subscription: '--subscription',
  location: '-l/--location',
};

export function configDir(): string {
  return env('MLGRID_CONFIG_DIR') ?? join(homedir(), '.mlgrid');
}

export function configFile(dir = configDir()): string {
  return join(dir, 'config.json');
}

/**
 * `key=value ...` as az's `configure --defaults` takes them: an empty value unsets the key. Only the keys
 * mlgrid's commands use are accepted, so that a typo (`grp=rg`) is an error instead of a silent no-op.
 */
export function parseDefaultsArgs(args: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new Error(`--defaults: '${arg}' is not key=value (an empty value unsets the key)`);
    const key = arg.slice(0, eq).trim().toLowerCase();
    if (!(DEFAULT_KEYS as readonly string[]).includes(key)) {
      throw new Error(`--defaults: unknown key '${key}'; the keys are ${DEFAULT_KEYS.join(', ')}`);
    }
    const value = arg.slice(eq + 1).trim();
    out[key] = value === '' ? undefined : value;
  }
  return out;
}

/** The defaults after applying `changes` (undefined unsets). */
export function mergeDefaults(current: Defaults, changes: Record<string, string | undefined>): Defaults {
  const next: Record<string, string> = { ...current };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  return next;
}

type ConfigJson = { defaults?: Record<string, unknown> } & Record<string, unknown>;

function readConfig(file: string): ConfigJson {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file} is not a JSON object: fix it or delete it and run \`mlgrid configure\` again`);
  }
  return parsed as ConfigJson;
}

export function loadDefaults(file = configFile()): Defaults {
  const raw = readConfig(file).defaults ?? {};
  const out: Defaults = {};
  for (const k of DEFAULT_KEYS) {
    const v = raw[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/** Writes the defaults, keeping any other section of the file; replaced atomically. */
export function saveDefaults(defaults: Defaults, file = configFile(), dir = configDir()): void {
  const config = readConfig(file);
  config.defaults = { ...defaults };
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

interface DefaultedSpec {
  key: DefaultKey;
  /** Missing after the configured default: an error naming the flag. */
  required: boolean;
  /** Used when neither the flag nor a configured default is there. */
  fallback?: string;
}
const DEFAULTED = new WeakMap<Option, DefaultedSpec>();

/** An option whose value falls back to the configured default `key` (resolved by `resolveDefaults`). */
export function defaultedOption(
  flags: string,
  description: string,
  key: DefaultKey,
  opts: { required?: boolean; fallback?: string } = {},
): Option {
  const tail = opts.fallback === undefined ? '' : `, else ${opts.fallback}`;
  const o = new Option(flags, `${description} (default: the configured '${key}'${tail})`);
  DEFAULTED.set(o, {
    key,
    required: opts.required ?? true,
    ...(opts.fallback && { fallback: opts.fallback }),
  });
  return o;
}

export const groupOption = (description = 'resource group') =>
  defaultedOption('-g, --resource-group <group>', description, 'group');
export const workspaceOption = (description = 'workspace name') =>
  defaultedOption('-w, --workspace-name <ws>', description, 'workspace');
export const locationOption = (description = 'location') =>
  defaultedOption('-l, --location <location>', description, 'location', {
    required: false,
    fallback: 'local',
  });

/** `flag`: how the option is spelled on this command (`-n/--name` for a workspace's own commands). */
export function missingDefault(key: DefaultKey, flag = FLAG_OF[key]): Error {
  return new Error(
    `${flag} is required: give it, or set a default with \`mlgrid configure --defaults ${key}=<value>\``,
  );
}

/**
 * Fills the command's defaulted options left out on the command line, and `--subscription` when neither
 * the flag nor MLGRID_SUBSCRIPTION is set. The config file is read only when something is missing.
 */
export function resolveDefaults(
  cmd: Command,
  flags: Record<string, unknown>,
  opts: { load?: () => Defaults; envSubscription?: string | undefined } = {},
): void {
  let cache: Defaults | undefined;
  const defaults = () => (cache ??= (opts.load ?? loadDefaults)());
  for (const o of cmd.options) {
    const spec = DEFAULTED.get(o);
    const attr = o.attributeName();
    if (spec === undefined || flags[attr] !== undefined) continue;
    const value = defaults()[spec.key] ?? spec.fallback;
    if (value !== undefined) flags[attr] = value;
    else if (spec.required) {
      throw missingDefault(spec.key, [o.short, o.long].filter((x) => x !== undefined).join('/'));
    }
  }
  const envSub = 'envSubscription' in opts ? opts.envSubscription : env('MLGRID_SUBSCRIPTION');
  const hasSubscriptionFlag = cmd.options.some((o) => o.long === '--subscription');
  if (hasSubscriptionFlag && flags.subscription === undefined && envSub === undefined) {
    const sub = defaults().subscription;
    if (sub !== undefined) flags.subscription = sub;
  }
}
