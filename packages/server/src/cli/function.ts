/**
 * `mlgrid function create|show|list|delete`: local functions (docs/functions.md), the resources an
 * `AzureFunction` event subscription destination names by id
 * (`/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/functions/{fn}`).
 */
import { Command, Option } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { groupOption } from './defaults.js';
import { action, addGlobalOptions, type Context } from './eventgrid-common.js';
import { functionBody, type FunctionCreateFlags } from './function-args.js';
import { at, printList, type Json } from './ml-cli-common.js';
import type { CliIo } from './output.js';

interface AppFlags {
  resourceGroup: string;
  app: string;
}

const sitePath = (ctx: Context, f: AppFlags) =>
  `/subscriptions/${ctx.subscription}/resourceGroups/${f.resourceGroup}/providers/Microsoft.Web/sites/${f.app}`;
const fnPath = (ctx: Context, f: AppFlags & { name: string }) => `${sitePath(ctx, f)}/functions/${f.name}`;

function leaf(parent: Command, name: string, description: string, named = true): Command {
  const cmd = new Command(name)
    .description(description)
    .requiredOption('--app <app>', 'function app name (the Microsoft.Web/sites name in the id)')
    .addOption(groupOption());
  if (named) cmd.requiredOption('-n, --name <name>', 'function name');
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

/** One row of `list -o table`: what runs, and how. */
function row(f: Json): Json {
  const ml = (at(f, 'properties', 'config', 'mlgrid') ?? {}) as Json;
  const run = Array.isArray(ml.command) ? (ml.command as string[]).join(' ') : String(ml.module ?? '');
  return {
    name: f.name,
    language: at(f, 'properties', 'language'),
    run,
    timeoutSeconds: ml.timeoutSeconds,
    isDisabled: at(f, 'properties', 'isDisabled'),
  };
}

export function registerFunctionCommands(program: Command, io: CliIo): void {
  const fn = program
    .command('function')
    .description('Local functions: the targets of AzureFunction event subscriptions, run as local processes');

  leaf(fn, 'create', 'Create or replace a function (a command, or a JavaScript/TypeScript module)')
    .option('--command <command line>', 'program and arguments, split like a shell would (no shell runs)')
    .option('--module <file>', 'a .js/.mjs/.ts module exporting handler(events, context), relative to --cwd')
    .option('--cwd <dir>', 'working directory inside the functions directory (default: the app name)')
    .option('--timeout <seconds>', 'kill the process group after this long (default 30, at most 600)')
    .option('--max-concurrency <n>', 'processes of this function at once (default 4)')
    .addOption(new Option('--env <name=value...>', 'environment variables for the process').default([]))
    .option('--disabled', 'create it disabled (deliveries wait and are retried)')
    .action(
      action<AppFlags & { name: string } & FunctionCreateFlags>(io, async (f, ctx) => {
        ctx.print(await ctx.client.put(fnPath(ctx, f), functionBody(f)));
      }),
    );
  leaf(fn, 'show', 'Show a function').action(
    action<AppFlags & { name: string }>(io, async (f, ctx) =>
      ctx.print(await ctx.client.get(fnPath(ctx, f))),
    ),
  );
  leaf(fn, 'list', "List a function app's functions", false).action(
    action<AppFlags>(io, async (f, ctx) => {
      const list = await ctx.client.get<ArmList<Json>>(`${sitePath(ctx, f)}/functions`);
      printList(ctx, f, list?.value ?? [], row);
    }),
  );
  leaf(fn, 'delete', 'Delete a function').action(
    action<AppFlags & { name: string }>(io, async (f, ctx) => {
      await ctx.client.delete(fnPath(ctx, f));
    }),
  );
}
