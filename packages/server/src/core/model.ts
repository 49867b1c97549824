/**
 * Model containers and versions of a workspace (`…/workspaces/{ws}/models/{name}[/versions/{version}]`,
 * api-version 2022-10-01): PUT validation and the JSON `@azure/arm-machinelearning` deserializes into
 * `ModelContainer` / `ModelVersion`. Registering a version is what raises ModelRegistered.
 */
import { invalid } from './errors.js';
import { stringMap } from './arm-fields.js';
import { isObject, object, oneOf, optBoolean, optString, string, type Json } from './validate.js';

/** Azure's values (azure-ai-ml `AssetTypes`); the first is the default, as in the CLI. */
export const MODEL_TYPES = ['custom_model', 'mlflow_model', 'triton_model'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
/** The 2022-05-01 API's enum spellings, still sent by older clients. */
const LEGACY_MODEL_TYPES: Record<string, ModelType> = {
  custommodel: 'custom_model',
  mlflowmodel: 'mlflow_model',
  tritonmodel: 'triton_model',
};

/**
 * The REST spec's pattern for `{name}` on model PUTs, api-version 2022-10-01 (carried as the `name1` URL
 * parameter mapper in `@azure/arm-machinelearning` 2.1.1, which does not enforce it client-side): 1-255 letters,
 * digits, hyphens and underscores, starting alphanumeric. No dots, and so never the `:` of the event subject.
 */
const MODEL_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$/;
/**
 * Azure puts no pattern on versions. mlgrid refuses only what would break the resource id or the event
 * subject `models/{name}:{version}`: URL delimiters, `:` (ambiguous in `azureml:name:version` asset ids),
 * whitespace and control characters, and the path segments `.` / `..`.
 */
const VERSION_MAX = 255;
// eslint-disable-next-line no-control-regex
const VERSION_BAD_CHARS = /[/\\:?#%\s\u0000-\u001f\u007f]/;
const SHA256_URI_RE = /^mlgrid:\/\/artifacts\/([0-9a-f]{64})$/i;

export interface ModelContainerSpec {
  description?: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  isArchived: boolean;
}

export interface FlavorData {
  data?: Record<string, string>;
}

export interface ModelVersionSpec {
  /** `file://…`, `mlgrid://artifacts/<sha256>` (lower-cased) or `azureml://…` as given. */
  modelUri: string;
  modelType: ModelType;
  description?: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  flavors?: Record<string, FlavorData>;
  jobName?: string;
  isArchived: boolean;
  isAnonymous: boolean;
}

export function validateModelName(name: string): string {
  if (typeof name !== 'string' || !MODEL_NAME_RE.test(name)) {
    throw invalid(
      'name',
      'must be 1-255 letters, digits, hyphens or underscores, starting with a letter or digit',
      'InvalidResourceName',
    );
  }
  return name;
}

export function validateModelVersion(version: string): string {
  if (
    typeof version !== 'string' ||
    version.length === 0 ||
    version.length > VERSION_MAX ||
    VERSION_BAD_CHARS.test(version) ||
    version === '.' ||
    version === '..'
  ) {
    throw invalid(
      'version',
      `must be 1-${VERSION_MAX} characters without whitespace or any of / \\ : ? # %`,
      'InvalidResourceName',
    );
  }
  return version;
}

/** PUT (`ModelContainer`): everything is optional, `properties` included. */
export function parseModelContainerPut(body: unknown, ctx: { name: string }): ModelContainerSpec {
  validateModelName(ctx.name);
  const p = optionalObject(object(body, 'body').properties, 'properties');
  const spec: ModelContainerSpec = {
    tags: stringMap(p.tags, 'properties.tags'),
    properties: stringMap(p.properties, 'properties.properties'),
    isArchived: optBoolean(p.isArchived, 'properties.isArchived') ?? false,
  };
  const description = optString(p.description, 'properties.description');
  if (description !== undefined) spec.description = description;
  return spec;
}

/**
 * PUT (`ModelVersion`): `properties.modelUri` is required (Azure rejects a version without one). With `current`
 * (the version exists) only `description`, `tags` and `isArchived` may change, as Azure: everything else of a
 * registered version is immutable, a change needs a new version.
 */
export function parseModelVersionPut(
  body: unknown,
  ctx: { name: string; version: string; current?: ModelVersionSpec },
): ModelVersionSpec {
  validateModelName(ctx.name);
  validateModelVersion(ctx.version);
  const b = object(body, 'body');
  if (b.properties === undefined || b.properties === null) throw invalid('properties', 'is required');
  const p = object(b.properties, 'properties');
  const spec: ModelVersionSpec = {
    modelUri: parseModelUri(p.modelUri, 'properties.modelUri'),
    modelType: parseModelType(p.modelType, 'properties.modelType'),
    tags: stringMap(p.tags, 'properties.tags'),
    properties: stringMap(p.properties, 'properties.properties'),
    isArchived: optBoolean(p.isArchived, 'properties.isArchived') ?? false,
    isAnonymous: optBoolean(p.isAnonymous, 'properties.isAnonymous') ?? false,
  };
  const description = optString(p.description, 'properties.description');
  if (description !== undefined) spec.description = description;
  const jobName = optString(p.jobName, 'properties.jobName');
  if (jobName !== undefined && jobName !== '') spec.jobName = jobName;
  if (p.flavors !== undefined && p.flavors !== null)
    spec.flavors = parseFlavors(p.flavors, 'properties.flavors');

  if (ctx.current) {
    const cur = ctx.current;
    const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
    for (const key of ['modelUri', 'modelType', 'jobName', 'flavors', 'properties', 'isAnonymous'] as const) {
      if (!same(spec[key], cur[key])) {
        throw invalid(
          `properties.${key}`,
          'cannot be changed on a registered version; register a new version',
        );
      }
    }
  }
  return spec;
}

export interface ModelContainerOut {
  id: string;
  name: string;
  type: 'Microsoft.MachineLearningServices/workspaces/models';
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Json;
}

export interface ModelVersionOut {
  id: string;
  name: string;
  type: 'Microsoft.MachineLearningServices/workspaces/models/versions';
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Json;
}

export function renderModelContainer(
  spec: ModelContainerSpec,
  meta: {
    /** The workspace's ARM resource id. */
    workspaceId: string;
    name: string;
    createdAt: string;
    updatedAt: string;
    /** The container's versions in creation order: the last one is `latestVersion`, as Azure's `latest` label. */
    versions: readonly string[];
  },
): ModelContainerOut {
  const properties: Json = {
    tags: { ...spec.tags },
    properties: { ...spec.properties },
    isArchived: spec.isArchived,
    nextVersion: nextVersion(meta.versions),
  };
  if (spec.description !== undefined) properties.description = spec.description;
  const latest = meta.versions.at(-1);
  if (latest !== undefined) properties.latestVersion = latest;
  return {
    id: `${meta.workspaceId}/models/${meta.name}`,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces/models',
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

export function renderModelVersion(
  spec: ModelVersionSpec,
  meta: {
    /** The workspace's ARM resource id. */
    workspaceId: string;
    name: string;
    version: string;
    createdAt: string;
    updatedAt: string;
  },
): ModelVersionOut {
  const properties: Json = {
    modelUri: spec.modelUri,
    modelType: spec.modelType,
    tags: { ...spec.tags },
    properties: { ...spec.properties },
    isArchived: spec.isArchived,
    isAnonymous: spec.isAnonymous,
  };
  if (spec.description !== undefined) properties.description = spec.description;
  if (spec.flavors !== undefined) properties.flavors = structuredClone(spec.flavors);
  if (spec.jobName !== undefined) properties.jobName = spec.jobName;
  return {
    id: `${meta.workspaceId}/models/${meta.name}/versions/${meta.version}`,
    // Azure names a version resource by its version, the container's name being the parent segment.
    name: meta.version,
    type: 'Microsoft.MachineLearningServices/workspaces/models/versions',
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

/**
 * The version Azure assigns when a model is registered without one (CLI/SDK auto-increment): the largest
 * all-digit version plus one, "1" for the first. Other versions ("v2", "1.0") do not count.
 */
export function nextVersion(existing: readonly string[]): string {
  let max = 0n;
  for (const v of existing) {
    if (!/^\d+$/.test(v)) continue;
    const n = BigInt(v);
    if (n > max) max = n;
  }
  return (max + 1n).toString();
}

// ---------------------------------------------------------------- helpers

function optionalObject(v: unknown, path: string): Json {
  return v === undefined || v === null ? {} : object(v, path);
}

function parseModelUri(raw: unknown, path: string): string {
  if (raw === undefined || raw === null) throw invalid(path, 'is required');
  const s = string(raw, path).trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(s)?.[1]?.toLowerCase();
  if (scheme === 'mlgrid') {
    const m = SHA256_URI_RE.exec(s);
    if (!m?.[1]) throw invalid(path, 'an mlgrid URI must be mlgrid://artifacts/<sha256 in hex>');
    return `mlgrid://artifacts/${m[1].toLowerCase()}`;
  }
  if (scheme === 'file') {
    let url: URL | undefined;
    try {
      url = new URL(s);
    } catch {
      url = undefined;
    }
    if (!url || !s.toLowerCase().startsWith('file://') || url.pathname.length <= 1) {
      throw invalid(path, 'a file URI must be file:// followed by an absolute path');
    }
    return s;
  }
  // Azure's own asset URIs (azureml://datastores/…, azureml://jobs/…) are references mlgrid does not resolve.
  if (scheme === 'azureml' && /^azureml:\/\/\S+$/i.test(s)) return s;
  throw invalid(path, 'must be a file://, mlgrid://artifacts/<sha256> or azureml:// URI');
}

function parseModelType(raw: unknown, path: string): ModelType {
  if (raw === undefined || raw === null || raw === '') return 'custom_model';
  const legacy = typeof raw === 'string' ? LEGACY_MODEL_TYPES[raw.toLowerCase()] : undefined;
  return legacy ?? oneOf(raw, path, MODEL_TYPES);
}

function parseFlavors(raw: unknown, path: string): Record<string, FlavorData> {
  const out: [string, FlavorData][] = [];
  for (const [k, v] of Object.entries(object(raw, path))) {
    const fp = `${path}.${k}`;
    if (v === null) {
      out.push([k, {}]);
      continue;
    }
    const f = object(v, fp);
    const flavor: FlavorData = {};
    if (f.data !== undefined && f.data !== null) flavor.data = stringMap(f.data, `${fp}.data`);
    out.push([k, flavor]);
  }
  return Object.fromEntries(out);
}

/** Key-order-independent form for comparing stored and restated values. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  }
  return v;
}
