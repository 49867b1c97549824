/**
 * `mlgrid ml lineage show` (mlgrid extension, docs/lineage.md): the chain "drift → job → model version →
 * deployment" an automation started, by its correlation id or from one of its objects. JSON as the API answers;
 * `-o table` / `-o tsv` as one timeline in causal order, events and objects interleaved.
 */
import { Command } from 'commander';
import { groupOption, workspaceOption } from './defaults.js';
import { action, addGlobalOptions } from './eventgrid-common.js';
import type { CliIo } from './output.js';

interface Flags {
  workspaceName: string;
  resourceGroup: string;
  correlationId?: string;
  resourceId?: string;
}

interface Node {
  order: number;
  id?: string;
  time?: string;
  causationId?: string;
  type?: string;
  subject?: string;
  kind?: string;
  name?: string;
  status?: string;
}

interface Chain {
  correlationId: string;
  events: Node[];
  objects: Node[];
}

const ML_EVENT = 'Microsoft.MachineLearningServices.';

/** One row per event and object, in the chain's causal order: what it is, which one, its state, what caused it. */
export function timeline(chain: Chain): Record<string, unknown>[] {
  const rows = [
    ...chain.events.map((e) => ({
      order: e.order,
      kind: 'event',
      what: e.type?.startsWith(ML_EVENT) ? e.type.slice(ML_EVENT.length) : e.type,
      name: e.subject,
      status: '',
      time: e.time,
      id: e.id,
      causedBy: e.causationId ?? '',
    })),
    ...chain.objects.map((o) => ({
      order: o.order,
      kind: 'object',
      what: o.kind,
      name: o.name ?? o.id,
      status: o.status ?? '',
      time: o.time,
      id: o.id,
      causedBy: o.causationId ?? '',
    })),
  ];
  return rows.sort((a, b) => a.order - b.order);
}

export function registerMlLineage(ml: Command, io: CliIo): void {
  const lineage = ml
    .command('lineage')
    .description('Follow what caused what: correlation and causation chains (mlgrid extension)');
  const show = new Command('show')
    .description('Show a chain, by its correlation id or from a job, model version or online deployment')
    .option('--correlation-id <id>', "the chain's id (the id of its first event)")
    .option('--resource-id <id>', 'a job, model version or online deployment: the chain it belongs to')
    .addOption(workspaceOption())
    .addOption(groupOption());
  lineage.addCommand(addGlobalOptions(show));
  show.action(
    action<Flags>(io, async (f, ctx) => {
      if ((f.correlationId === undefined) === (f.resourceId === undefined))
        throw new Error('give one of --correlation-id and --resource-id');
      // Raw segments: the client encodes each one.
      const path =
        `/subscriptions/${ctx.subscription}/resourceGroups/${f.resourceGroup}` +
        `/providers/Microsoft.MachineLearningServices/workspaces/${f.workspaceName}/lineage`;
      // Both as query parameters: a correlation id need not be one path segment.
      const chain = await ctx.client.get<Chain>(
        path,
        f.correlationId !== undefined ? { correlationId: f.correlationId } : { resourceId: f.resourceId },
      );
      ctx.print(f.output === 'table' || f.output === 'tsv' ? timeline(chain) : chain);
    }),
  );
}
