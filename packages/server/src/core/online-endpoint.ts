/**
 * Online endpoints and their deployments (`…/workspaces/{ws}/onlineEndpoints/{e}[/deployments/{d}]`,
 * api-version 2022-10-01): PUT/PATCH validation and the JSON `@azure/arm-machinelearning` deserializes into
 * `OnlineEndpoint` / `OnlineDeployment`. mlgrid runs a deployment as a local scoring process (engine/deployer.ts).
 */
import { invalid } from './errors.js';
import { envMap, isAbsent, parseTags, requiredString, stringMap } from './arm-fields.js';
import { codePath } from './job.js';
import { integer, object, oneOf, optObject, optString, type Json } from './validate.js';

/** Azure's rule for both names: 3-32 characters, letters, digits and hyphens, starting with a letter. */
const NAME_RE = /^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$/;
export const AUTH_MODES = ['Key', 'AMLToken', 'AADToken'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const PROVISIONING_STATES = ['Creating', 'Updating', 'Succeeded', 'Failed', 'Deleting'] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];
/** Scoring scripts mlgrid can host, by extension (the harnesses in `packages/server/harness/`). */
export const SCRIPT_KINDS = { '.py': 'python', '.js': 'node', '.mjs': 'node' } as const;
/** `/subscriptions/…/workspaces/{ws}/models/{name}/versions/{version}` or the CLI's `azureml:{name}:{version}`. */
const MODEL_ID_RE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)\/models\/([^/]+)\/versions\/([^/]+)$/i;
const MODEL_SHORT_RE = /^azureml:([^:/]+):([^:/]+)$/i;

export function validateEndpointName(name: string, what = 'endpoint'): string {
  if (!NAME_RE.test(name)) {
    throw invalid(
      'name',
      `${what} names have 3-32 letters, digits and hyphens, start with a letter and end alphanumeric`,
      'InvalidResourceName',
    );
  }
  return name;
}

export interface EndpointSpec {
  location: string;
  tags: Record<string, string>;
  kind?: string;
  identity?: Json;
  authMode: AuthMode;
  description?: string;
  properties: Record<string, string>;
  /** Deployment name → percent; the values sum to 0 or 100. */
  traffic: Record<string, number>;
}

export interface EndpointKeys {
  primaryKey: string;
  secondaryKey: string;
}

export function parseEndpointPut(body: unknown, current?: EndpointSpec): EndpointSpec {
  const b = object(body, '(body)');
  const p = object(b.properties, 'properties');
  const spec: EndpointSpec = {
    location: optString(b.location, 'location') ?? current?.location ?? 'local',
    tags: parseTags(b.tags, 'tags'),
    authMode: oneOf(p.authMode, 'properties.authMode', AUTH_MODES),
    properties: stringMap(p.properties, 'properties.properties'),
    traffic: parseTraffic(p.traffic, 'properties.traffic'),
  };
  const kind = optString(b.kind, 'kind');
  if (kind !== undefined) spec.kind = kind;
  const identity = optObject(b.identity, 'identity');
  if (identity !== undefined) spec.identity = structuredClone(identity);
  const description = optString(p.description, 'properties.description');
  if (description !== undefined) spec.description = description;
  return spec;
}

/**
 * Azure's PATCH takes `tags` and `identity` only (`az ml online-endpoint update --traffic` GETs and PUTs); mlgrid
 * also takes `properties.traffic` and `properties.description` so a traffic shift is one request.
 */
export function applyEndpointPatch(current: EndpointSpec, body: unknown): EndpointSpec {
  const b = object(body, '(body)');
  const next = structuredClone(current);
  if (b.tags !== undefined) next.tags = parseTags(b.tags, 'tags');
  const identity = optObject(b.identity, 'identity');
  if (identity !== undefined) next.identity = structuredClone(identity);
  const p = optObject(b.properties, 'properties');
  if (p?.traffic !== undefined) next.traffic = parseTraffic(p.traffic, 'properties.traffic');
  const description = optString(p?.description, 'properties.description');
  if (description !== undefined) next.description = description;
  return next;
}

function parseTraffic(raw: unknown, path: string): Record<string, number> {
  if (isAbsent(raw)) return {};
  const out: Record<string, number> = {};
  let sum = 0;
  for (const [name, v] of Object.entries(object(raw, path))) {
    out[name.toLowerCase()] = integer(v, `${path}.${name}`, 0, 100);
    sum += out[name.toLowerCase()]!;
  }
  if (sum !== 0 && sum !== 100) throw invalid(path, `must sum to 100 (or 0), got ${sum}`);
  return out;
}

/** Picks a deployment by the traffic split; `r` in [0, 1). Undefined when no deployment takes traffic. */
export function pickDeployment(traffic: Record<string, number>, r: number): string | undefined {
  let acc = 0;
  const target = r * 100;
  for (const [name, pct] of Object.entries(traffic)) {
    acc += pct;
    if (pct > 0 && target < acc) return name;
  }
  return undefined;
}

export function renderEndpoint(
  spec: EndpointSpec,
  meta: { id: string; name: string; createdAt: string; updatedAt: string; scoringUri: string; state: string },
): Json {
  const properties: Json = {
    authMode: spec.authMode,
    properties: { ...spec.properties },
    traffic: { ...spec.traffic },
    scoringUri: meta.scoringUri,
    swaggerUri: null,
    provisioningState: meta.state,
  };
  if (spec.description !== undefined) properties.description = spec.description;
  const out: Json = {
    id: meta.id,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints',
    location: spec.location,
    tags: { ...spec.tags },
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
  if (spec.kind !== undefined) out.kind = spec.kind;
  if (spec.identity !== undefined) out.identity = structuredClone(spec.identity);
  return out;
}

// ---------------------------------------------------------------- deployments

export interface ModelRef {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  name: string;
  version: string;
}

export interface DeploymentSpec {
  location: string;
  tags: Record<string, string>;
  sku?: { name: string; capacity: number; tier?: string };
  kind?: string;
  /** As given (an ARM id or `azureml:name:version`). */
  model: string;
  codeId: string;
  codePath: string;
  /** Relative to the code folder. */
  scoringScript: string;
  environmentId?: string;
  environmentVariables: Record<string, string>;
  description?: string;
  properties: Record<string, string>;
  instanceType?: string;
  /** Milliseconds a scoring request may take (Azure's `requestSettings.requestTimeout`, default PT5S). */
  requestTimeoutMs: number;
}

export function parseDeploymentPut(body: unknown): DeploymentSpec {
  const b = object(body, '(body)');
  const p = object(b.properties, 'properties');
  if (p.endpointComputeType !== undefined && p.endpointComputeType !== 'Managed') {
    throw invalid(
      'properties.endpointComputeType',
      'must be Managed (mlgrid runs deployments as local processes)',
    );
  }
  const model = requiredString(p.model, 'properties.model');
  parseModelRef(model, 'properties.model');
  const code = object(p.codeConfiguration, 'properties.codeConfiguration');
  const codeId = requiredString(code.codeId, 'properties.codeConfiguration.codeId');
  const scoringScript = requiredString(code.scoringScript, 'properties.codeConfiguration.scoringScript');
  if (scoringScript.startsWith('/') || scoringScript.split(/[\\/]/).includes('..')) {
    throw invalid('properties.codeConfiguration.scoringScript', 'must be a path inside the code folder');
  }
  scriptKind(scoringScript, 'properties.codeConfiguration.scoringScript');
  const spec: DeploymentSpec = {
    location: optString(b.location, 'location') ?? 'local',
    tags: parseTags(b.tags, 'tags'),
    model,
    codeId,
    codePath: codePath(codeId, 'properties.codeConfiguration.codeId'),
    scoringScript,
    environmentVariables: envMap(p.environmentVariables, 'properties.environmentVariables'),
    properties: stringMap(p.properties, 'properties.properties'),
    requestTimeoutMs: requestTimeout(p.requestSettings),
  };
  const sku = parseSku(b.sku);
  if (sku) spec.sku = sku;
  for (const k of ['environmentId', 'description', 'instanceType'] as const) {
    const v = optString(p[k], `properties.${k}`);
    if (v !== undefined) spec[k] = v;
  }
  const kind = optString(b.kind, 'kind');
  if (kind !== undefined) spec.kind = kind;
  return spec;
}

/** Azure's PATCH: `tags` and `sku`. */
export function applyDeploymentPatch(current: DeploymentSpec, body: unknown): DeploymentSpec {
  const b = object(body, '(body)');
  const next = structuredClone(current);
  if (b.tags !== undefined) next.tags = parseTags(b.tags, 'tags');
  const sku = parseSku(b.sku);
  if (sku) next.sku = sku;
  return next;
}

function parseSku(raw: unknown): DeploymentSpec['sku'] {
  const s = optObject(raw, 'sku');
  if (!s) return undefined;
  const sku = {
    name: optString(s.name, 'sku.name') ?? 'Default',
    capacity: isAbsent(s.capacity) ? 1 : integer(s.capacity, 'sku.capacity', 1, 1000),
  };
  const tier = optString(s.tier, 'sku.tier');
  return tier === undefined ? sku : { ...sku, tier };
}

function requestTimeout(raw: unknown): number {
  const r = optObject(raw, 'properties.requestSettings');
  const v = optString(r?.requestTimeout, 'properties.requestSettings.requestTimeout');
  if (v === undefined) return 5000;
  const m = /^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/i.exec(v);
  if (!m || (m[1] === undefined && m[2] === undefined)) {
    throw invalid('properties.requestSettings.requestTimeout', 'must be an ISO-8601 duration such as PT5S');
  }
  const ms = (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000;
  if (ms < 1 || ms > 180_000)
    throw invalid('properties.requestSettings.requestTimeout', 'must be at most PT3M');
  return ms;
}

export function scriptKind(script: string, path: string): 'python' | 'node' {
  const ext = /\.[a-z]+$/i.exec(script)?.[0].toLowerCase() as keyof typeof SCRIPT_KINDS | undefined;
  const kind = ext ? SCRIPT_KINDS[ext] : undefined;
  if (!kind) throw invalid(path, `must be a ${Object.keys(SCRIPT_KINDS).join(', ')} file`);
  return kind;
}

/** The model version a deployment names; `ws` resolves the short form against the deployment's workspace. */
export function parseModelRef(
  model: string,
  path: string,
  ws?: { subscriptionId: string; resourceGroup: string; workspace: string },
): ModelRef {
  const long = MODEL_ID_RE.exec(model);
  if (long) {
    const [, subscriptionId, resourceGroup, workspace, name, version] = long as unknown as string[];
    return {
      subscriptionId: subscriptionId!,
      resourceGroup: resourceGroup!,
      workspace: workspace!,
      name: name!,
      version: version!,
    };
  }
  const short = MODEL_SHORT_RE.exec(model);
  if (short) {
    const w = ws ?? { subscriptionId: '', resourceGroup: '', workspace: '' };
    return { ...w, name: short[1]!, version: short[2]! };
  }
  throw invalid(
    path,
    'must be a model version id (…/models/{name}/versions/{version}) or azureml:{name}:{version}',
  );
}

/** What the deployment's GET shows of the local process (mlgrid extension under `properties.mlgrid`). */
export interface DeploymentRuntime {
  state: ProvisioningState;
  /** Set when provisioning failed: the cause as shown to users. */
  error?: { code: string; message: string };
  /** `name:version` of the deployed model. */
  modelId?: string;
}

export function renderDeployment(
  spec: DeploymentSpec,
  rt: DeploymentRuntime,
  meta: { id: string; name: string; createdAt: string; updatedAt: string },
): Json {
  const properties: Json = {
    endpointComputeType: 'Managed',
    model: spec.model,
    codeConfiguration: { codeId: spec.codeId, scoringScript: spec.scoringScript },
    environmentVariables: { ...spec.environmentVariables },
    properties: { ...spec.properties },
    requestSettings: { requestTimeout: `PT${spec.requestTimeoutMs / 1000}S` },
    provisioningState: rt.state,
    mlgrid: { ...(rt.modelId ? { modelId: rt.modelId } : {}), ...(rt.error ? { error: rt.error } : {}) },
  };
  for (const k of ['environmentId', 'description', 'instanceType'] as const) {
    if (spec[k] !== undefined) properties[k] = spec[k];
  }
  const out: Json = {
    id: meta.id,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments',
    location: spec.location,
    tags: { ...spec.tags },
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
  if (spec.sku) out.sku = { ...spec.sku };
  if (spec.kind !== undefined) out.kind = spec.kind;
  return out;
}
