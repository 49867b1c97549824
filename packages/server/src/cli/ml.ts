/**
 * `mlgrid ml ...` in the style of `az ml`: workspaces and the model registry. A model's `--path` is a local
 * file or folder, registered as a `file://` URI, or with `--upload` copied into mlgrid's artifact store and
 * registered as `mlgrid://artifacts/<sha256>`.
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArmList } from '@mlgrid/protocol';
import { nextVersion } from '../core/model.js';
import { defaultedOption, groupOption, locationOption, workspaceOption } from './defaults.js';
import { parseKeyValues } from './eventgrid-args.js';
import { action, addGlobalOptions, type Context } from './eventgrid-common.js';
import { registerMlData } from './ml-data.js';
import { registerMlDataDrift } from './ml-datadrift.js';
import { registerMlEndpoints } from './ml-endpoint.js';
import { registerMlJob } from './ml-job.js';
import { registerMlLineage } from './ml-lineage.js';
import { encodePath } from './http-client.js';
import { uploadArtifact } from './artifact-upload.js';
import type { CliIo } from './output.js';

interface WsFlags {
  name: string;
  resourceGroup: string;
}
interface ModelFlags {
  name: string;
  resourceGroup: string;
  workspaceName: string;
}

const workspacesPath = (sub: string, rg?: string) =>
  encodePath(
    rg === undefined
      ? `/subscriptions/${sub}/providers/Microsoft.MachineLearningServices/workspaces`
      : `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces`,
  );
const workspacePath = (sub: string, rg: string, ws: string) =>
  `${workspacesPath(sub, rg)}/${encodeURIComponent(ws)}`;
const modelPath = (ctx: Context, f: ModelFlags) =>
  `${workspacePath(ctx.subscription, f.resourceGroup, f.workspaceName)}/models/${encodeURIComponent(f.name)}`;

/** `--upload`: the stored artifact's URI; otherwise the local path as a `file://` URI, which only a server on
 *  this machine can read (hence the warning when the server is elsewhere). */
async function modelUriOf(
  f: ModelFlags & { path: string; upload?: boolean },
  ctx: Context,
  io: CliIo,
): Promise<string> {
  if (f.upload) {
    const ws = workspacePath(ctx.subscription, f.resourceGroup, f.workspaceName);
    return (await uploadArtifact(ctx.client, ws, resolve(f.path), io)).uri;
  }
  const host = new URL(ctx.client.baseUrl).hostname;
  if (!['localhost', '127.0.0.1', '[::1]'].includes(host)) {
    ctx.warn(`the server ${host} may not see ${resolve(f.path)}: add --upload to copy the model there`);
  }
  return pathToFileURL(resolve(f.path)).href;
}

function leaf(parent: Command, name: string, description: string): Command {
  const cmd = new Command(name).description(description);
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

export function registerMlCommands(program: Command, io: CliIo): void {
  const ml = program.command('ml').description('ML workspaces and models (flags as in `az ml`)');
  const ws = ml.command('workspace').description('Manage workspaces');
  const withWs = (c: Command) =>
    c.addOption(defaultedOption('-n, --name <name>', 'workspace name', 'workspace')).addOption(groupOption());

  withWs(leaf(ws, 'create', 'Create or update a workspace'))
    .addOption(locationOption())
    .option('--description <text>', 'description')
    .option('--display-name <text>', 'friendly name')
    .option('--tags <tags...>', 'space-separated tags: key=value ...')
    .action(
      action<WsFlags & { location: string; description?: string; displayName?: string; tags?: string[] }>(
        io,
        async (f, ctx) => {
          const body = {
            location: f.location,
            tags: parseKeyValues('--tags', f.tags ?? []),
            properties: { description: f.description, friendlyName: f.displayName },
          };
          ctx.print(await ctx.client.put(workspacePath(ctx.subscription, f.resourceGroup, f.name), body));
        },
      ),
    );
  withWs(leaf(ws, 'show', 'Show a workspace')).action(
    action<WsFlags>(io, async (f, ctx) =>
      ctx.print(await ctx.client.get(workspacePath(ctx.subscription, f.resourceGroup, f.name))),
    ),
  );
  withWs(leaf(ws, 'delete', 'Delete a workspace and its models')).action(
    action<WsFlags>(io, async (f, ctx) => {
      await ctx.client.delete(workspacePath(ctx.subscription, f.resourceGroup, f.name));
    }),
  );
  leaf(ws, 'list', 'List workspaces')
    .option('-g, --resource-group <group>', 'resource group (default: all)')
    .action(
      action<{ resourceGroup?: string }>(io, async (f, ctx) => {
        ctx.print(
          (await ctx.client.get<ArmList<unknown>>(workspacesPath(ctx.subscription, f.resourceGroup)))
            ?.value ?? [],
        );
      }),
    );

  registerMlJob(ml, io);
  registerMlEndpoints(ml, io);
  registerMlData(ml, io);
  registerMlDataDrift(ml, io);
  registerMlLineage(ml, io);

  const model = ml.command('model').description('Manage the model registry of a workspace');
  const withModel = (c: Command) =>
    c.requiredOption('-n, --name <name>', 'model name').addOption(workspaceOption()).addOption(groupOption());

  withModel(leaf(model, 'create', 'Register a model version (raises ModelRegistered)'))
    .option('-v, --version <version>', 'version (default: the next integer)')
    .requiredOption('-p, --path <path>', 'local file or folder of the model')
    .option('-t, --type <type>', 'custom_model, mlflow_model or triton_model', 'custom_model')
    .option('--tags <tags...>', 'space-separated tags: key=value ...')
    .option('-d, --description <text>', 'description')
    .option('--upload', "copy the file or folder into mlgrid's artifact store (mlgrid://artifacts/<sha256>)")
    .action(
      action<
        ModelFlags & {
          version?: string;
          path: string;
          type: string;
          tags?: string[];
          description?: string;
          upload?: boolean;
        }
      >(io, async (f, ctx) => {
        let version = f.version;
        if (version === undefined) {
          const existing = await ctx.client
            .get<ArmList<{ name: string }>>(`${modelPath(ctx, f)}/versions`)
            .catch(() => undefined); // no model yet: the first version
          version = nextVersion((existing?.value ?? []).map((v) => v.name));
        }
        const body = {
          properties: {
            modelUri: await modelUriOf(f, ctx, io),
            modelType: f.type,
            tags: parseKeyValues('--tags', f.tags ?? [], true),
            ...(f.description !== undefined ? { description: f.description } : {}),
          },
        };
        ctx.print(await ctx.client.put(`${modelPath(ctx, f)}/versions/${encodeURIComponent(version)}`, body));
      }),
    );
  withModel(leaf(model, 'show', 'Show a model version (or the model)'))
    .option('-v, --version <version>', 'version')
    .action(
      action<ModelFlags & { version?: string }>(io, async (f, ctx) => {
        const path =
          f.version === undefined
            ? modelPath(ctx, f)
            : `${modelPath(ctx, f)}/versions/${encodeURIComponent(f.version)}`;
        ctx.print(await ctx.client.get(path));
      }),
    );
  leaf(model, 'list', 'List the models of a workspace, or the versions of one')
    .option('-n, --name <name>', 'model name: list its versions')
    .addOption(workspaceOption())
    .addOption(groupOption())
    .action(
      action<Partial<ModelFlags> & { workspaceName: string; resourceGroup: string }>(io, async (f, ctx) => {
        const base = `${workspacePath(ctx.subscription, f.resourceGroup, f.workspaceName)}/models`;
        const path = f.name === undefined ? base : `${base}/${encodeURIComponent(f.name)}/versions`;
        ctx.print((await ctx.client.get<ArmList<unknown>>(path))?.value ?? []);
      }),
    );
}
