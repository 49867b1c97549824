/**
 * `mlgrid automation create|show|list|delete|trigger` and `mlgrid automation run list|show|cancel`
 * (docs/automations.md#cli).
 * The definition comes from a YAML or JSON file: the `properties` of the resource, or the whole body.
 */
import { Command } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { action, type Context, type GlobalFlags } from './eventgrid-common.js';
import { at, printList, workspaceArmId, wsLeaf, type Json, type WsScope } from './ml-cli-common.js';
import { applySets, isMap, loadSpecFile } from './ml-yaml.js';
import type { CliIo } from './output.js';

interface NameFlags extends WsScope {
  name: string;
}

const automations = (ctx: Context, f: WsScope) => `${workspaceArmId(ctx.subscription, f)}/automations`;
const automationPath = (ctx: Context, f: NameFlags) => `${automations(ctx, f)}/${f.name}`;

/** The request body from a definition file: `{properties: …}` as is, or a bare definition wrapped in it. */
export function automationBody(file: string, sets: readonly string[] = []): Json {
  const { doc } = loadSpecFile(file);
  const body = isMap(doc.properties) ? doc : { properties: doc };
  return sets.length ? { ...body, properties: applySets(body.properties as Json, sets) } : body;
}

const automationRow = (a: Json): Json => ({
  name: a.name,
  enabled: at(a, 'properties', 'enabled'),
  source: String(at(a, 'properties', 'trigger', 'source') ?? '')
    .split('/')
    .slice(-1)[0],
  eventTypes: ((at(a, 'properties', 'trigger', 'includedEventTypes') as string[] | null) ?? ['*'])
    .map((t) => t.split('.').at(-1))
    .join(','),
  steps: ((at(a, 'properties', 'steps') as Json[] | undefined) ?? [])
    .map((s) => `${s.name}:${s.type}`)
    .join(' '),
  queued: at(a, 'properties', 'runsQueued'),
  running: at(a, 'properties', 'runsInProgress'),
});

const runRow = (r: Json): Json => ({
  runId: r.name,
  status: at(r, 'properties', 'status'),
  key: at(r, 'properties', 'key'),
  events: at(r, 'properties', 'eventCount'),
  queuedAt: at(r, 'properties', 'queuedAt'),
  durationMs: at(r, 'properties', 'durationMs') ?? '',
  steps: ((at(r, 'properties', 'steps') as Json[] | undefined) ?? [])
    .map((s) => `${s.name}:${s.status}`)
    .join(' '),
  reason: at(r, 'properties', 'reason') ?? '',
});

export function registerAutomationCommands(program: Command, io: CliIo): void {
  const auto = program
    .command('automation')
    .description('Automations: trigger, condition and steps run by mlgrid on events (docs/automations.md)');

  wsLeaf(auto, 'create', 'Create or replace an automation from a YAML or JSON definition')
    .requiredOption('-n, --name <name>', 'automation name')
    .requiredOption(
      '-f, --file <file>',
      'definition (YAML or JSON): its properties, or the whole resource body',
    )
    .option('--set <key=value...>', 'override fields of the definition: --set enabled=false', [])
    .action(
      action<NameFlags & { file: string; set: string[] }>(io, async (f, ctx) => {
        ctx.print(await ctx.client.put(automationPath(ctx, f), automationBody(f.file, f.set)));
      }),
    );

  wsLeaf(auto, 'show', 'Show an automation')
    .requiredOption('-n, --name <name>', 'automation name')
    .action(action<NameFlags>(io, async (f, ctx) => ctx.print(await ctx.client.get(automationPath(ctx, f)))));

  wsLeaf(auto, 'list', 'List the automations of a workspace').action(
    action<WsScope & GlobalFlags>(io, async (f, ctx) => {
      const list = (await ctx.client.get<ArmList<Json>>(automations(ctx, f)))?.value ?? [];
      printList(ctx, f, list, automationRow);
    }),
  );

  wsLeaf(auto, 'delete', 'Delete an automation, its trigger subscription and its runs')
    .requiredOption('-n, --name <name>', 'automation name')
    .action(
      action<NameFlags>(io, async (f, ctx) => {
        await ctx.client.delete(automationPath(ctx, f));
      }),
    );

  wsLeaf(auto, 'trigger', 'Run an automation on an event now (its condition and storm control apply)')
    .requiredOption('-n, --name <name>', 'automation name')
    .option('--event-type <type>', 'the event type')
    .option('--subject <subject>', 'the event subject')
    .option('--data <json>', 'the event data (JSON)')
    .option('--id <id>', 'the event id (default: a new GUID); the same id twice starts one run')
    .option('--event-file <file>', 'the event (YAML or JSON) instead of the flags above')
    .action(
      action<
        NameFlags & { eventType?: string; subject?: string; data?: string; id?: string; eventFile?: string }
      >(io, async (f, ctx) => {
        let event: Json;
        if (f.eventFile !== undefined) event = loadSpecFile(f.eventFile).doc;
        else {
          if (f.eventType === undefined) throw new Error('give --event-type (or --event-file)');
          let data: unknown = {};
          if (f.data !== undefined) {
            try {
              data = JSON.parse(f.data);
            } catch {
              throw new Error('--data: not valid JSON');
            }
          }
          event = { eventType: f.eventType, subject: f.subject ?? '', data, ...(f.id ? { id: f.id } : {}) };
        }
        ctx.print(await ctx.client.post(`${automationPath(ctx, f)}/run`, { event }));
      }),
    );

  const run = auto.command('run').description('Runs of an automation');
  wsLeaf(run, 'list', 'Runs, newest first (waiting ones included)')
    .requiredOption('-n, --name <name>', 'automation name')
    .option('--status <status>', 'only Queued, Running, Succeeded, Failed, Skipped or Canceled runs')
    .option('--top <n>', 'at most this many (default 100)')
    .action(
      action<NameFlags & GlobalFlags & { status?: string; top?: string }>(io, async (f, ctx) => {
        const query: Record<string, string> = {};
        if (f.status !== undefined) query.status = f.status;
        if (f.top !== undefined) query.$top = f.top;
        const list =
          (await ctx.client.get<ArmList<Json>>(`${automationPath(ctx, f)}/runs`, query))?.value ?? [];
        printList(ctx, f, list, runRow);
      }),
    );
  wsLeaf(run, 'show', 'A run: its steps, outputs, errors and trigger events')
    .requiredOption('-n, --name <name>', 'automation name')
    .requiredOption('--run-id <id>', 'the run id')
    .action(
      action<NameFlags & { runId: string }>(io, async (f, ctx) =>
        ctx.print(await ctx.client.get(`${automationPath(ctx, f)}/runs/${f.runId}`)),
      ),
    );
  wsLeaf(run, 'cancel', 'Cancel a waiting or running run (what its steps did stays done)')
    .requiredOption('-n, --name <name>', 'automation name')
    .requiredOption('--run-id <id>', 'the run id')
    .action(
      action<NameFlags & { runId: string }>(io, async (f, ctx) =>
        ctx.print(await ctx.client.post(`${automationPath(ctx, f)}/runs/${f.runId}/cancel`)),
      ),
    );
}
