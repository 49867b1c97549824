/**
 * The `az ml` Command job YAML subset → Azure's REST `JobBase` body (`properties.jobType: "Command"`,
 * camelCase). Pure apart from checking that local paths exist. `${{inputs.x}}` placeholders pass through to
 * the server, which substitutes them.
 */
import { randomBytes } from 'node:crypto';
import {
  checkKeys,
  fail,
  int,
  isDirectory,
  isMap,
  mapAt,
  pathExists,
  requiredText,
  specPath,
  text,
  textMap,
  type Json,
  type SpecContext,
} from './ml-yaml.js';

const JOB_KEYS = [
  '$schema',
  'type',
  'name',
  'display_name',
  'experiment_name',
  'description',
  'tags',
  'properties',
  'command',
  'code',
  'environment',
  'environment_variables',
  'inputs',
  'outputs',
  'compute',
  'resources',
];
/** Keys az knows that mlgrid cannot honour: refused rather than silently run differently. */
const JOB_REFUSED: Record<string, string> = {
  distribution:
    'distributed jobs are not supported: mlgrid runs the command once, as one process on its host',
  limits: 'is not supported yet (no job timeout)',
  identity: 'is not supported (the command runs as the mlgrid server user)',
  services: 'interactive services (Jupyter, SSH, TensorBoard) are not supported',
  queue_settings: 'is not supported (one local queue)',
  parameters: 'is not supported (command jobs have no parameters)',
};
const ASSET_TYPES = ['uri_file', 'uri_folder', 'mltable', 'custom_model', 'mlflow_model', 'triton_model'];
const INPUT_KEYS = ['type', 'path', 'mode', 'description'];
const OUTPUT_KEYS = ['type', 'path', 'mode', 'description'];

export interface JobSpecResult {
  /** From the YAML (`--name` wins over it). */
  name?: string;
  body: { properties: Json };
  /** Accepted but without effect in mlgrid: shown as warnings. */
  notes: string[];
}

/** Maps a parsed job YAML; throws a SpecError naming the key at fault. */
export function jobBodyFromYaml(doc: Json, ctx: SpecContext): JobSpecResult {
  checkKeys(ctx, doc, '', JOB_KEYS, JOB_REFUSED);
  const notes: string[] = [];
  const type = text(ctx, doc.type, 'type') ?? 'command';
  if (type.toLowerCase() !== 'command') {
    fail(ctx, 'type', `'${type}' jobs are not supported; mlgrid runs command jobs (type: command)`);
  }
  const p: Json = {
    jobType: 'Command',
    command: requiredText(ctx, doc.command, 'command'),
    environmentId: environment(ctx, doc.environment),
  };
  const put = (key: string, v: unknown) => {
    if (v !== undefined) p[key] = v;
  };
  put('displayName', text(ctx, doc.display_name, 'display_name'));
  put('experimentName', text(ctx, doc.experiment_name, 'experiment_name'));
  put('description', text(ctx, doc.description, 'description'));
  put('tags', textMap(ctx, doc.tags, 'tags'));
  put('properties', textMap(ctx, doc.properties, 'properties'));
  put('environmentVariables', textMap(ctx, doc.environment_variables, 'environment_variables'));
  put('codeId', code(ctx, doc.code));
  put('inputs', inputs(ctx, doc.inputs));
  put('outputs', outputs(ctx, doc.outputs));
  const compute = text(ctx, doc.compute, 'compute');
  if (compute !== undefined) {
    p.computeId = compute;
    notes.push(`compute '${compute}' is recorded only: every mlgrid job runs on the mlgrid host`);
  }
  if (doc.resources !== undefined && doc.resources !== null) {
    const r = mapAt(ctx, doc.resources, 'resources')!;
    int(ctx, r.instance_count, 'resources.instance_count', 1);
    notes.push('resources are ignored: the command runs once, on the mlgrid host');
  }
  const name = text(ctx, doc.name, 'name');
  return { ...(name !== undefined && { name }), body: { properties: p }, notes };
}

/** A named environment (`azureml:name:version`, `azureml:name@latest`, an ARM id), recorded as given. */
function environment(ctx: SpecContext, v: unknown): string {
  if (isMap(v)) {
    fail(
      ctx,
      'environment',
      'inline environments are not supported: mlgrid runs the command on its host and only records the ' +
        'environment; name one instead (e.g. azureml:my-env:1)',
    );
  }
  if (v === undefined || v === null) {
    fail(
      ctx,
      'environment',
      'is required (e.g. azureml:my-env:1; mlgrid records it, the command runs on the host)',
    );
  }
  return requiredText(ctx, v, 'environment');
}

/** `code`: a local folder, absolute after resolving (the job's working directory). */
function code(ctx: SpecContext, v: unknown): string | undefined {
  const c = text(ctx, v, 'code');
  if (c === undefined) return undefined;
  const { path, local } = specPath(ctx, c, 'code');
  if (!local) fail(ctx, 'code', `'${c}': code assets are not supported; give a local folder`);
  if (!isDirectory(ctx, path)) fail(ctx, 'code', `${path} is not a folder`);
  return path;
}

function inputs(ctx: SpecContext, v: unknown): Json | undefined {
  const m = mapAt(ctx, v, 'inputs');
  if (m === undefined) return undefined;
  const out: Json = {};
  for (const [name, raw] of Object.entries(m)) {
    const key = `inputs.${name}`;
    if (raw === null || raw === undefined) fail(ctx, key, 'has no value');
    if (!isMap(raw)) {
      const value = text(ctx, raw, key)!; // a literal: number, string or boolean
      out[name] = { jobInputType: 'literal', value };
      continue;
    }
    checkKeys(ctx, raw, key, INPUT_KEYS);
    const type = assetType(ctx, raw.type, `${key}.type`);
    const given = requiredText(ctx, raw.path, `${key}.path`);
    const { path, local } = specPath(ctx, given, `${key}.path`);
    if (local && !pathExists(ctx, path)) fail(ctx, `${key}.path`, `${path} does not exist`);
    out[name] = binding('jobInputType', type, path, raw, ctx, key);
  }
  return out;
}

function outputs(ctx: SpecContext, v: unknown): Json | undefined {
  const m = mapAt(ctx, v, 'outputs');
  if (m === undefined) return undefined;
  const out: Json = {};
  for (const [name, raw] of Object.entries(m)) {
    const key = `outputs.${name}`;
    const o = raw === null || raw === undefined ? {} : mapAt(ctx, raw, key)!;
    checkKeys(ctx, o, key, OUTPUT_KEYS);
    const type = assetType(ctx, o.type, `${key}.type`);
    const given = text(ctx, o.path, `${key}.path`);
    // Without a path the server places the output under the job's folder.
    const path = given === undefined ? undefined : specPath(ctx, given, `${key}.path`).path;
    out[name] = binding('jobOutputType', type, path, o, ctx, key);
  }
  return out;
}

function assetType(ctx: SpecContext, v: unknown, key: string): string {
  const t = text(ctx, v, key) ?? 'uri_folder'; // azure-ai-ml's default
  if (!ASSET_TYPES.includes(t)) fail(ctx, key, `must be one of ${ASSET_TYPES.join(', ')}`);
  return t;
}

function binding(
  typeKey: string,
  type: string,
  uri: string | undefined,
  raw: Json,
  ctx: SpecContext,
  key: string,
) {
  const b: Json = { [typeKey]: type };
  if (uri !== undefined) b.uri = uri;
  const mode = text(ctx, raw.mode, `${key}.mode`);
  if (mode !== undefined) b.mode = mode;
  const description = text(ctx, raw.description, `${key}.description`);
  if (description !== undefined) b.description = description;
  return b;
}

const ADJECTIVES = [
  'amber', 'bold', 'brave', 'calm', 'clever', 'coral', 'eager', 'gentle', 'happy', 'jolly',
  'keen', 'lively', 'lucid', 'mellow', 'nimble', 'plucky', 'quiet', 'shiny', 'swift', 'witty',
]; // prettier-ignore
const NOUNS = [
  'anchor', 'badger', 'cactus', 'comet', 'falcon', 'garden', 'harbor', 'island', 'kettle', 'lantern',
  'maple', 'meadow', 'otter', 'pepper', 'pillow', 'river', 'rocket', 'tiger', 'tulip', 'walrus',
]; // prettier-ignore

/** az's style of generated job names, `adjective_noun_<10 random base-36 characters>`. */
export function generateJobName(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(12);
  const id = [...bytes.subarray(2)].map((b) => (b % 36).toString(36)).join('');
  return `${ADJECTIVES[bytes[0]! % ADJECTIVES.length]}_${NOUNS[bytes[1]! % NOUNS.length]}_${id}`;
}
