/**
 * `mlgrid ml data create|show|list|archive|restore|delete` in the style of `az ml data`. `--path` is a local file
 * or folder, sent as a `file://` URI of its absolute path: the server reads it, so it must be on the server's
 * machine (mlgrid does not upload data). `create --file data.yml` takes az's data YAML (name, version, type,
 * path, description, tags); flags override it. Without `--version` the CLI asks the asset's `nextVersion`.
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArmList } from '@mlgrid/protocol';
import { DATA_TYPES } from '../core/data-asset.js';
import { parseKeyValues } from './eventgrid-args.js';
import { action, type Context, type GlobalFlags } from './eventgrid-common.js';
import { ArmRequestError } from './http-client.js';
import { at, printList, workspaceArmId, wsLeaf, type Json, type WsScope } from './ml-cli-common.js';
import { checkKeys, choice, loadSpecFile, requiredText, specPath, text, textMap } from './ml-yaml.js';
import type { CliIo } from './output.js';

interface NameFlags extends WsScope {
  name: string;
  version?: string;
}
interface CreateFlags extends WsScope {
  name?: string;
  version?: string;
  path?: string;
  type?: string;
  description?: string;
  tags?: string[];
  file?: string;
}

// Unencoded: ArmClient encodes each segment.
const dataPath = (ctx: Context, f: WsScope, name?: string, version?: string) => {
  let p = `${workspaceArmId(ctx.subscription, f)}/data`;
  if (name !== undefined) p += `/${name}`;
  if (version !== undefined) p += `/versions/${version}`;
  return p;
};

/** A local path becomes the `file://` URI of its absolute path; a URI of another scheme is sent as written. */
export function dataUriOf(path: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(path)) return path;
  return pathToFileURL(resolve(path)).href;
}

const DATA_YAML_KEYS = ['$schema', 'name', 'version', 'type', 'path', 'description', 'tags'];

/** az's data YAML → the flags it stands for (flags given on the command line win). */
function fromYaml(file: string): Partial<CreateFlags> & { tagMap?: Record<string, string> } {
  const { doc, ctx } = loadSpecFile(file);
  checkKeys(ctx, doc, '', DATA_YAML_KEYS);
  const raw = requiredText(ctx, doc.path, 'path');
  const p = specPath(ctx, raw, 'path');
  const out: Partial<CreateFlags> & { tagMap?: Record<string, string> } = {
    path: p.local ? p.path : raw,
  };
  const set = <K extends keyof CreateFlags>(k: K, v: CreateFlags[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('name', text(ctx, doc.name, 'name'));
  set('version', text(ctx, doc.version, 'version'));
  set('type', choice(ctx, doc.type, 'type', DATA_TYPES));
  set('description', text(ctx, doc.description, 'description'));
  const tags = textMap(ctx, doc.tags, 'tags');
  if (tags) out.tagMap = tags;
  return out;
}

async function nextVersionOf(ctx: Context, f: WsScope, name: string): Promise<string> {
  try {
    return String(at(await ctx.client.get(dataPath(ctx, f, name)), 'properties', 'nextVersion') ?? '1');
  } catch (e) {
    if (e instanceof ArmRequestError && e.status === 404) return '1'; // a new asset
    throw e;
  }
}

const viewOf = (f: { archivedOnly?: boolean; includeArchived?: boolean }) =>
  f.archivedOnly ? 'ArchivedOnly' : f.includeArchived ? 'All' : undefined;

const versionRow = (v: Json): Json => ({
  name: v.name,
  dataType: at(v, 'properties', 'dataType'),
  files: at(v, 'properties', 'mlgridSummary', 'fileCount'),
  rows: at(v, 'properties', 'mlgridSummary', 'rowCount'),
  archived: at(v, 'properties', 'isArchived'),
  dataUri: at(v, 'properties', 'dataUri'),
});
const containerRow = (c: Json): Json => ({
  name: c.name,
  dataType: at(c, 'properties', 'dataType'),
  latestVersion: at(c, 'properties', 'latestVersion'),
  archived: at(c, 'properties', 'isArchived'),
  description: at(c, 'properties', 'description'),
});

export function registerMlData(ml: Command, io: CliIo): void {
  const data = ml.command('data').description('Data assets: local CSV and Parquet data (az ml data)');

  wsLeaf(data, 'create', 'Register a data asset version (the server describes its files)')
    .option('-n, --name <name>', 'data asset name')
    .option('-v, --version <version>', 'version (default: the next integer)')
    .option('-p, --path <path>', 'local file or folder (on the server machine)')
    .option('-t, --type <type>', `${DATA_TYPES.join(', ')} (default uri_folder, as az)`)
    .option('-d, --description <text>', 'description')
    .option('--tags <tags...>', 'space-separated tags: key=value ...')
    .option('-f, --file <yaml>', "az's data YAML (name, version, type, path, description, tags)")
    .action(
      action<CreateFlags>(io, async (flags, ctx) => {
        const y = flags.file ? fromYaml(flags.file) : {};
        const f = { ...y, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
        if (f.name === undefined) throw new Error('--name is required (or name: in --file)');
        if (f.path === undefined) throw new Error('--path is required (or path: in --file)');
        const type = f.type ?? 'uri_folder';
        const uri = dataUriOf(f.path);
        const host = new URL(ctx.client.baseUrl).hostname;
        if (uri.startsWith('file:') && !['localhost', '127.0.0.1', '[::1]'].includes(host)) {
          ctx.warn(`the server ${host} reads ${uri} on its own machine: the data must be there`);
        }
        const version = f.version ?? (await nextVersionOf(ctx, flags, f.name));
        const tags = { ...y.tagMap, ...parseKeyValues('--tags', flags.tags ?? [], true) };
        const body = {
          properties: {
            dataType: type,
            dataUri: uri,
            tags,
            ...(f.description !== undefined ? { description: f.description } : {}),
          },
        };
        ctx.print(await ctx.client.put(dataPath(ctx, flags, f.name, version), body));
      }),
    );

  wsLeaf(data, 'show', 'Show a data asset version (or the asset, without --version)')
    .requiredOption('-n, --name <name>', 'data asset name')
    .option('-v, --version <version>', 'version')
    .option('-l, --label <label>', "'latest': the latest version")
    .action(
      action<NameFlags & { label?: string }>(io, async (f, ctx) => {
        let version = f.version;
        if (f.label !== undefined) {
          if (f.label !== 'latest') throw new Error("--label: only 'latest' is supported");
          const c = await ctx.client.get(dataPath(ctx, f, f.name));
          version = String(at(c, 'properties', 'latestVersion') ?? '');
          if (version === '') throw new Error(`data asset ${f.name} has no version`);
        }
        ctx.print(await ctx.client.get(dataPath(ctx, f, f.name, version)));
      }),
    );

  wsLeaf(data, 'list', 'List the data assets of a workspace, or the versions of one')
    .option('-n, --name <name>', 'data asset name: list its versions')
    .option('--archived-only', 'only archived assets or versions')
    .option('--include-archived', 'archived ones too')
    .action(
      action<
        Partial<NameFlags> & WsScope & GlobalFlags & { archivedOnly?: boolean; includeArchived?: boolean }
      >(io, async (f, ctx) => {
        const view = viewOf(f);
        const query = view ? { listViewType: view } : undefined;
        const list = (
          await ctx.client.get<ArmList<Json>>(dataPath(ctx, f, f.name) + (f.name ? '/versions' : ''), query)
        )?.value;
        printList(ctx, f, list ?? [], f.name ? versionRow : containerRow);
      }),
    );

  for (const [verb, archived] of [
    ['archive', true],
    ['restore', false],
  ] as const) {
    wsLeaf(
      data,
      verb,
      `${archived ? 'Archive' : 'Restore'} a data asset version (or the asset, without --version)`,
    )
      .requiredOption('-n, --name <name>', 'data asset name')
      .option('-v, --version <version>', 'version')
      .action(
        action<NameFlags>(io, async (f, ctx) => {
          const path = dataPath(ctx, f, f.name, f.version);
          const cur = await ctx.client.get<Json>(path);
          const properties = { ...(cur.properties as Json), isArchived: archived };
          ctx.print(await ctx.client.put(path, { properties }));
        }),
      );
  }

  wsLeaf(
    data,
    'delete',
    'Delete a data asset version, or the asset with all its versions (mlgrid; az archives)',
  )
    .requiredOption('-n, --name <name>', 'data asset name')
    .option('-v, --version <version>', 'version (default: the whole asset)')
    .action(
      action<NameFlags>(io, async (f, ctx) => {
        await ctx.client.delete(dataPath(ctx, f, f.name, f.version));
      }),
    );
}
