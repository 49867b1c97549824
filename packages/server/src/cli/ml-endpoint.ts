/**
 * `mlgrid ml online-endpoint create|update|show|list|delete|get-credentials` and
 * `mlgrid ml online-deployment create|show|list|delete|get-logs`, in the style of `az ml`, against Azure's
 * 2022-10-01 REST shapes. PUTs and DELETEs are long-running: like az, the commands poll the resource until
 * its `provisioningState` is final (or it is gone) unless `--no-wait`.
 */
import { Command, Option } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { parseKeyValues } from './eventgrid-args.js';
import { action, type Context } from './eventgrid-common.js';
import { ArmRequestError } from './http-client.js';
import {
  at,
  noWaitOption,
  POLL_MS,
  printList,
  progressLine,
  setOption,
  sleep,
  workspaceArmId,
  wsLeaf,
  type Json,
  type WsScope,
} from './ml-cli-common.js';
import {
  deploymentBodyFromYaml,
  endpointBodyFromYaml,
  modelVersionId,
  type ModelRef,
} from './ml-endpoint-spec.js';
import { applySets, loadSpecFile, type SpecContext } from './ml-yaml.js';
import type { CliIo } from './output.js';

type EndpointIo = CliIo & { stderrIsTTY?: boolean };
interface EndpointFlags extends WsScope {
  name: string;
  wait: boolean;
}
interface DeploymentFlags extends WsScope {
  name: string;
  endpointName: string;
  wait: boolean;
}

/** Read-only endpoint properties, left out when the endpoint is written back (traffic changes). */
const ENDPOINT_READ_ONLY = ['provisioningState', 'scoringUri', 'swaggerUri'];

const endpointsPath = (ctx: Context, f: WsScope) => `${workspaceArmId(ctx.subscription, f)}/onlineEndpoints`;
const endpointPath = (ctx: Context, f: WsScope, e: string) => `${endpointsPath(ctx, f)}/${e}`;
const deploymentPath = (ctx: Context, f: WsScope, e: string, d: string) =>
  `${endpointPath(ctx, f, e)}/deployments/${d}`;
const endpointOption = () =>
  new Option('-e, --endpoint-name <name>', 'online endpoint name (default: endpoint_name in the YAML)');

export function registerMlEndpoints(ml: Command, io: EndpointIo): void {
  registerEndpoint(ml, io);
  registerDeployment(ml, io);
}

function registerEndpoint(ml: Command, io: EndpointIo): void {
  const ep = ml.command('online-endpoint').description('Managed online endpoints (az ml online-endpoint)');

  wsLeaf(ep, 'create', 'Create an online endpoint from a YAML file and/or flags')
    .option('-n, --name <name>', 'endpoint name (default: name in the YAML)')
    .option('-f, --file <path>', 'az ml managed online endpoint YAML')
    .option('--auth-mode <mode>', 'key (default), aml_token or aad_token')
    .addOption(setOption())
    .addOption(noWaitOption())
    .action(
      action<EndpointFlags & { file?: string; authMode?: string; set: string[] }>(io, async (f, ctx) => {
        const { doc, ctx: spec } = f.file ? loadSpecFile(f.file) : { doc: {}, ctx: flagSpec() };
        if (f.authMode !== undefined) doc.auth_mode = f.authMode;
        const mapped = endpointBodyFromYaml(applySets(doc, f.set), spec, await workspaceLocation(ctx, f));
        const name = f.name ?? mapped.name;
        if (name === undefined) throw new Error('--name is required (or name: in the YAML file)');
        const path = endpointPath(ctx, f, name);
        const put = await ctx.client.put<Json>(path, mapped.body);
        ctx.print(f.wait ? await waitProvisioned(io, ctx, path, `endpoint ${name}`) : put);
      }),
    );

  wsLeaf(ep, 'update', "Change an online endpoint's traffic")
    .requiredOption('-n, --name <name>', 'endpoint name')
    .requiredOption(
      '--traffic <pairs...>',
      'deployment=percent ...: the whole traffic split, e.g. blue=90 green=10',
    )
    .addOption(noWaitOption())
    .action(
      action<EndpointFlags & { traffic: string[] }>(io, async (f, ctx) => {
        const traffic = parseTraffic(f.traffic);
        ctx.print(await setTraffic(io, ctx, endpointPath(ctx, f, f.name), f.name, traffic, f.wait));
      }),
    );

  wsLeaf(ep, 'show', 'Show an online endpoint')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .action(
      action<EndpointFlags>(io, async (f, ctx) =>
        ctx.print(await ctx.client.get(endpointPath(ctx, f, f.name))),
      ),
    );

  wsLeaf(ep, 'list', 'List the online endpoints of a workspace').action(
    action<WsScope>(io, async (f, ctx) => {
      const items = (await ctx.client.get<ArmList<Json>>(endpointsPath(ctx, f)))?.value ?? [];
      printList(ctx, f, items, (e) => ({
        name: e.name,
        authMode: at(e, 'properties', 'authMode'),
        provisioningState: at(e, 'properties', 'provisioningState'),
        scoringUri: at(e, 'properties', 'scoringUri'),
        traffic: trafficText(at(e, 'properties', 'traffic')),
      }));
    }),
  );

  wsLeaf(ep, 'delete', 'Delete an online endpoint and its deployments')
    .requiredOption('-n, --name <name>', 'endpoint name')
    .option('-y, --yes', 'accepted for az compatibility (mlgrid does not prompt)')
    .addOption(noWaitOption())
    .action(
      action<EndpointFlags>(io, async (f, ctx) => {
        await deleteAndWait(io, ctx, endpointPath(ctx, f, f.name), `endpoint ${f.name}`, f.wait);
      }),
    );

  wsLeaf(ep, 'get-credentials', "Show an online endpoint's keys (auth mode key)")
    .requiredOption('-n, --name <name>', 'endpoint name')
    .action(
      action<EndpointFlags>(io, async (f, ctx) =>
        ctx.print(await ctx.client.post(`${endpointPath(ctx, f, f.name)}/listKeys`)),
      ),
    );
}

function registerDeployment(ml: Command, io: EndpointIo): void {
  const dep = ml
    .command('online-deployment')
    .description('Managed online deployments (az ml online-deployment)');

  wsLeaf(dep, 'create', 'Create an online deployment from a YAML file')
    .requiredOption('-f, --file <path>', 'az ml managed online deployment YAML')
    .option('-n, --name <name>', 'deployment name (default: name in the YAML)')
    .addOption(endpointOption())
    .option('--all-traffic', "then send all of the endpoint's traffic to this deployment")
    .addOption(setOption())
    .addOption(noWaitOption())
    .action(
      action<
        Partial<DeploymentFlags> &
          WsScope & { file: string; set: string[]; allTraffic?: boolean; wait: boolean }
      >(io, async (f, ctx) => {
        if (f.allTraffic && !f.wait) throw new Error('--all-traffic cannot be combined with --no-wait');
        const { doc, ctx: spec } = loadSpecFile(f.file);
        const mapped = deploymentBodyFromYaml(applySets(doc, f.set), spec, await workspaceLocation(ctx, f));
        const name = f.name ?? mapped.name;
        const endpoint = f.endpointName ?? mapped.endpointName;
        if (name === undefined) throw new Error('--name is required (or name: in the YAML file)');
        if (endpoint === undefined)
          throw new Error('--endpoint-name is required (or endpoint_name: in the YAML file)');
        if (mapped.model) mapped.body.properties.model = await resolveModel(ctx, f, mapped.model);
        const path = deploymentPath(ctx, f, endpoint, name);
        const put = await ctx.client.put<Json>(path, mapped.body);
        if (!f.wait) return ctx.print(put);
        const done = await waitProvisioned(io, ctx, path, `deployment ${name}`);
        if (f.allTraffic)
          await setTraffic(io, ctx, endpointPath(ctx, f, endpoint), endpoint, { [name]: 100 }, true);
        ctx.print(done);
      }),
    );

  const depLeaf = (name: string, description: string) =>
    wsLeaf(dep, name, description)
      .requiredOption('-n, --name <name>', 'deployment name')
      .requiredOption('-e, --endpoint-name <name>', 'online endpoint name');

  depLeaf('show', 'Show an online deployment').action(
    action<DeploymentFlags>(io, async (f, ctx) =>
      ctx.print(await ctx.client.get(deploymentPath(ctx, f, f.endpointName, f.name))),
    ),
  );

  wsLeaf(dep, 'list', 'List the deployments of an online endpoint')
    .requiredOption('-e, --endpoint-name <name>', 'online endpoint name')
    .action(
      action<WsScope & { endpointName: string }>(io, async (f, ctx) => {
        const path = `${endpointPath(ctx, f, f.endpointName)}/deployments`;
        const items = (await ctx.client.get<ArmList<Json>>(path))?.value ?? [];
        printList(ctx, f, items, (d) => ({
          name: d.name,
          endpoint: f.endpointName,
          model: String(at(d, 'properties', 'model') ?? '').replace(/^.*\/models\//, ''),
          instanceType: at(d, 'properties', 'instanceType'),
          instanceCount: at(d, 'sku', 'capacity'),
          provisioningState: at(d, 'properties', 'provisioningState'),
        }));
      }),
    );

  depLeaf('delete', 'Delete an online deployment')
    .option('-y, --yes', 'accepted for az compatibility (mlgrid does not prompt)')
    .addOption(noWaitOption())
    .action(
      action<DeploymentFlags>(io, async (f, ctx) => {
        const path = deploymentPath(ctx, f, f.endpointName, f.name);
        await deleteAndWait(io, ctx, path, `deployment ${f.name}`, f.wait);
      }),
    );

  depLeaf('get-logs', "Print an online deployment's container logs")
    .option('-l, --lines <n>', 'only the last N lines')
    .addOption(
      new Option('--container-type <type>', 'whose logs').choices([
        'inference-server',
        'storage-initializer',
      ]),
    )
    .action(
      action<DeploymentFlags & { lines?: string; containerType?: string }>(io, async (f, ctx) => {
        const body: Json = {
          containerType: f.containerType === 'storage-initializer' ? 'StorageInitializer' : 'InferenceServer',
        };
        if (f.lines !== undefined) {
          const n = Number(f.lines);
          if (!Number.isInteger(n) || n < 0) throw new Error('--lines: must be an integer from 0');
          body.tail = n;
        }
        const path = `${deploymentPath(ctx, f, f.endpointName, f.name)}/getLogs`;
        const out = await ctx.client.post<{ content?: string }>(path, body);
        const content = out?.content ?? '';
        io.stdout(content === '' || content.endsWith('\n') ? content : `${content}\n`);
      }),
    );
}

/** Flags without a file: relative paths (none are possible) would start at the working directory. */
const flagSpec = (): SpecContext => ({ source: 'flags', baseDir: process.cwd() });

/** az puts endpoints and deployments in the workspace's location. */
async function workspaceLocation(ctx: Context, f: WsScope): Promise<string> {
  const ws = await ctx.client.get<Json>(workspaceArmId(ctx.subscription, f));
  return typeof ws?.location === 'string' ? ws.location : 'local';
}

/** `azureml:name:version` / `@latest` → the model version's ARM id (checked to exist). */
async function resolveModel(ctx: Context, f: WsScope, ref: ModelRef): Promise<string> {
  if (ref.kind === 'id') return ref.id;
  const ws = workspaceArmId(ctx.subscription, f);
  let version: string;
  if (ref.kind === 'latest') {
    const container = await ctx.client.get<Json>(`${ws}/models/${ref.name}`);
    const latest = at(container, 'properties', 'latestVersion');
    if (typeof latest !== 'string') throw new Error(`model: ${ref.name} has no versions`);
    version = latest;
  } else {
    version = ref.version;
  }
  const id = modelVersionId(ws, ref.name, version);
  await ctx.client.get(id); // a clear ResourceNotFound now rather than a failed deployment later
  return id;
}

export function parseTraffic(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [d, pct] of Object.entries(parseKeyValues('--traffic', pairs, true))) {
    const n = Number(pct);
    if (!Number.isInteger(n) || n < 0 || n > 100)
      throw new Error(`--traffic: ${d}=${pct}: percent must be 0 to 100`);
    out[d] = n;
  }
  return out;
}

const trafficText = (t: unknown) =>
  typeof t === 'object' && t !== null
    ? Object.entries(t)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')
    : '';

/** Polls until `provisioningState` is final: the resource when Succeeded, an error when Failed or Canceled. */
async function waitProvisioned(io: EndpointIo, ctx: Context, path: string, what: string): Promise<Json> {
  const progress = progressLine(io);
  try {
    for (;;) {
      const r = await ctx.client.get<Json>(path);
      const state = String(at(r, 'properties', 'provisioningState') ?? 'Succeeded');
      if (state === 'Succeeded') return r;
      if (state === 'Failed' || state === 'Canceled') {
        const cause = at(r, 'properties', 'mlgrid', 'error', 'message'); // mlgrid says why
        throw new Error(`${what}: provisioning ${state}${typeof cause === 'string' ? `: ${cause}` : ''}`);
      }
      progress.update(`${what}: ${state}`);
      await sleep(POLL_MS);
    }
  } finally {
    progress.clear();
  }
}

async function deleteAndWait(io: EndpointIo, ctx: Context, path: string, what: string, wait: boolean) {
  await ctx.client.delete(path);
  if (!wait) return;
  const progress = progressLine(io);
  try {
    for (;;) {
      try {
        await ctx.client.get(path);
      } catch (err) {
        if (err instanceof ArmRequestError && err.status === 404) return;
        throw err;
      }
      progress.update(`deleting ${what}`);
      await sleep(POLL_MS);
    }
  } finally {
    progress.clear();
  }
}

/**
 * Sets the endpoint's traffic as az does: the endpoint is read and written back whole with the new split
 * (Azure's PATCH takes only tags and identity), then waited for.
 */
async function setTraffic(
  io: EndpointIo,
  ctx: Context,
  path: string,
  name: string,
  traffic: Record<string, number>,
  wait: boolean,
): Promise<Json> {
  const current = await ctx.client.get<Json>(path);
  const properties: Json = { ...((current.properties as Json | undefined) ?? {}) };
  for (const k of ENDPOINT_READ_ONLY) delete properties[k];
  properties.traffic = traffic;
  const body: Json = { location: current.location, properties };
  for (const k of ['tags', 'identity', 'kind']) if (current[k] !== undefined) body[k] = current[k];
  const put = await ctx.client.put<Json>(path, body);
  return wait ? waitProvisioned(io, ctx, path, `endpoint ${name}`) : put;
}
