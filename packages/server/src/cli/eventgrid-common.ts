/** Plumbing shared by the `mlgrid eventgrid ...` command groups: global flags, the client, error printing. */
import { Command, Option } from 'commander';
import { DEFAULT_PORT, DEFAULT_SUBSCRIPTION_ID, env } from '../config.js';
import { MlgridError } from '../core/errors.js';
import { collectOccurrence, markOccurrences, parseBool } from './eventgrid-args.js';
import { resolveDefaults } from './defaults.js';
import { ArmClient, ArmRequestError } from './http-client.js';
import { OUTPUT_FORMATS, formatOutput, type CliIo, type OutputFormat } from './output.js';

export const DEFAULT_SERVER = `http://127.0.0.1:${DEFAULT_PORT}`;

export interface GlobalFlags {
  server?: string;
  key?: string;
  subscription?: string;
  output: OutputFormat;
}

/**
 * A leaf command whose repeatable multi-value flags keep each occurrence separate (commander would merge
 * them): argv is rewritten before commander parses it, see `markOccurrences`.
 */
export class GroupedCommand extends Command {
  constructor(
    name: string,
    private readonly groupedFlags: readonly string[],
  ) {
    super(name);
  }
  override parseOptions(argv: string[]): ReturnType<Command['parseOptions']> {
    const grouped: Record<string, string> = {};
    const shorts = new Set(['-h']);
    const valued = new Set<string>();
    for (const o of this.options) {
      const flags = [o.short, o.long].filter((f) => f !== undefined);
      if (o.short) shorts.add(o.short);
      if (o.long && this.groupedFlags.includes(o.long)) for (const f of flags) grouped[f] = o.long;
      else if (o.required) for (const f of flags) valued.add(f);
    }
    const isOption = (t: string) => t.startsWith('--') || shorts.has(t);
    return super.parseOptions(markOccurrences(argv, grouped, isOption, (t) => valued.has(t)));
  }
}

/** `--advanced-filter` style option: `string[][]`, one entry per occurrence. Register its flags for marking. */
export function groupedOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(collectOccurrence);
}

/** az's three-state flag: bare means true, or an explicit true/false. */
export function boolOption(flags: string, description: string): Option {
  const long =
    flags
      .split(/[ ,|]+/)
      .filter((f) => f.startsWith('--'))
      .at(-1) ?? flags;
  return new Option(`${flags} [bool]`, description).argParser((v: string) => parseBool(long, v));
}

/**
 * az's global arguments, on every leaf so the root program stays free for other groups (serve).
 * Environment defaults are read at run time, not baked into help text, so the key never shows in `--help`.
 */
export function addGlobalOptions(cmd: Command): Command {
  const group = 'Global Arguments:';
  return cmd
    .addOption(
      new Option(
        '--subscription <id>',
        'subscription id (env MLGRID_SUBSCRIPTION, or mlgrid configure)',
      ).helpGroup(group),
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(OUTPUT_FORMATS)
        .default('json')
        .helpGroup(group),
    )
    .addOption(
      new Option(
        '--server <url>',
        `mlgrid server URL (env MLGRID_SERVER, default ${DEFAULT_SERVER})`,
      ).helpGroup(group),
    )
    .addOption(
      new Option(
        '--key <key>',
        'admin key or a principal API key, sent as Bearer (env MLGRID_KEY)',
      ).helpGroup(group),
    );
}

export interface Context {
  client: ArmClient;
  subscription: string;
  print: (value: unknown) => void;
  warn: (message: string) => void;
}

function contextFor(flags: GlobalFlags, io: CliIo): Context {
  const client = new ArmClient({
    server: flags.server ?? env('MLGRID_SERVER') ?? DEFAULT_SERVER,
    key: flags.key ?? env('MLGRID_KEY'),
    ...(io.fetch && { fetch: io.fetch }),
  });
  return {
    client,
    subscription: flags.subscription ?? env('MLGRID_SUBSCRIPTION') ?? DEFAULT_SUBSCRIPTION_ID,
    print: (value) => {
      const text = formatOutput(value, flags.output);
      if (text) io.stdout(text);
    },
    warn: (message) => io.stderr(`WARNING: ${message}\n`),
  };
}

/** `ERROR: <code>: <message>` for server errors, `ERROR: <message>` for local ones; the key is redacted. */
export function formatCliError(err: unknown, key?: string): string {
  let text: string;
  if (err instanceof ArmRequestError) text = `${err.code}: ${err.message}`;
  else if (err instanceof MlgridError || err instanceof Error) text = err.message;
  else text = String(err);
  if (key) text = text.split(key).join('***');
  return `ERROR: ${text}\n`;
}

/**
 * Wraps an action: options → context → handler. Failures are printed and reported through io.setExitCode
 * instead of thrown, so `program.parseAsync()` in main.ts never ends in an unhandled rejection.
 */
export function action<F extends object>(
  io: CliIo,
  handler: (flags: F & GlobalFlags, ctx: Context) => Promise<void>,
) {
  return async (_opts: unknown, cmd: Command): Promise<void> => {
    const flags = cmd.opts<F & GlobalFlags>();
    try {
      resolveDefaults(cmd, flags as Record<string, unknown>); // `mlgrid configure --defaults`
      await handler(flags, contextFor(flags, io));
    } catch (err) {
      io.stderr(formatCliError(err, flags.key ?? env('MLGRID_KEY')));
      io.setExitCode?.(1);
    }
  };
}
