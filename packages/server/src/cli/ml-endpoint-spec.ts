/**
 * The `az ml` managed online endpoint and deployment YAML subsets → Azure's REST bodies (api-version
 * 2022-10-01: `OnlineEndpoint`, `ManagedOnlineDeployment`). Pure apart from checking local paths. A model
 * reference is parsed here and resolved to a model version's ARM id by the command (it may need a lookup).
 */
import { join } from 'node:path';
import {
  bool,
  checkKeys,
  choice,
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

const ENDPOINT_KEYS = [
  '$schema',
  'name',
  'description',
  'tags',
  'auth_mode',
  'traffic',
  'identity',
  'public_network_access',
];
const ENDPOINT_REFUSED: Record<string, string> = {
  compute: 'Kubernetes online endpoints are not supported; mlgrid serves managed online endpoints',
  mirror_traffic: 'is not supported yet',
};

/** az's `auth_mode` values and their REST spelling. */
const AUTH_MODES: Record<string, string> = { key: 'Key', aml_token: 'AMLToken', aad_token: 'AADToken' };

export function authMode(ctx: SpecContext, v: unknown, key = 'auth_mode'): string {
  const s = text(ctx, v, key) ?? 'key';
  const hit = Object.entries(AUTH_MODES).find(([k, rest]) =>
    [k, rest.toLowerCase()].includes(s.toLowerCase()),
  );
  if (hit === undefined) fail(ctx, key, `must be one of ${Object.keys(AUTH_MODES).join(', ')}`);
  return hit[1];
}

export interface EndpointSpecResult {
  name?: string;
  body: Json;
}

/** `location` is the workspace's, as az sends it. */
export function endpointBodyFromYaml(doc: Json, ctx: SpecContext, location: string): EndpointSpecResult {
  checkKeys(ctx, doc, '', ENDPOINT_KEYS, ENDPOINT_REFUSED);
  const properties: Json = { authMode: authMode(ctx, doc.auth_mode) };
  const description = text(ctx, doc.description, 'description');
  if (description !== undefined) properties.description = description;
  const traffic = mapAt(ctx, doc.traffic, 'traffic');
  if (traffic !== undefined) {
    properties.traffic = Object.fromEntries(
      Object.entries(traffic).map(([d, pct]) => [d, int(ctx, pct, `traffic.${d}`, 0, 100)]),
    );
  }
  const pna = choice(ctx, doc.public_network_access, 'public_network_access', ['enabled', 'disabled']);
  if (pna !== undefined) properties.publicNetworkAccess = pna === 'enabled' ? 'Enabled' : 'Disabled';
  const body: Json = { location, properties };
  const tags = textMap(ctx, doc.tags, 'tags');
  if (tags !== undefined) body.tags = tags;
  const identity = mapAt(ctx, doc.identity, 'identity');
  if (identity !== undefined) {
    checkKeys(ctx, identity, 'identity', ['type']);
    const t = choice(ctx, identity.type, 'identity.type', ['system_assigned', 'none']);
    body.identity = { type: t === 'system_assigned' ? 'SystemAssigned' : 'None' };
  }
  const name = text(ctx, doc.name, 'name');
  return { ...(name !== undefined && { name }), body };
}

const DEPLOYMENT_KEYS = [
  '$schema',
  'type',
  'name',
  'endpoint_name',
  'description',
  'tags',
  'properties',
  'model',
  'code_configuration',
  'environment',
  'environment_variables',
  'instance_type',
  'instance_count',
  'app_insights_enabled',
  'request_settings',
  'liveness_probe',
  'readiness_probe',
  'scale_settings',
  'egress_public_network_access',
];
const DEPLOYMENT_REFUSED: Record<string, string> = {
  data_collector: 'is not supported yet',
  private_network_connection: 'is not supported',
  resources: 'is for Kubernetes deployments; mlgrid serves managed ones (instance_type, instance_count)',
};
const PROBE_KEYS = ['initial_delay', 'period', 'timeout', 'success_threshold', 'failure_threshold'];

/** `azureml:name:version`, `azureml:name@latest`, or an ARM id of a model version. */
export type ModelRef =
  | { kind: 'version'; name: string; version: string }
  | { kind: 'latest'; name: string }
  | { kind: 'id'; id: string };

export function parseModelRef(ctx: SpecContext, v: unknown, key = 'model'): ModelRef {
  if (isMap(v)) {
    fail(
      ctx,
      key,
      'inline models are not supported: register it (mlgrid ml model create) and give azureml:name:version',
    );
  }
  const s = requiredText(ctx, v, key);
  const ref = s.replace(/^azureml:/i, '');
  if (/^\/subscriptions\//i.test(ref)) {
    if (!/\/models\/[^/]+\/versions\/[^/]+$/i.test(ref))
      fail(ctx, key, 'an ARM id must name a model version');
    return { kind: 'id', id: ref };
  }
  if (ref === s || ref.startsWith('//')) {
    fail(ctx, key, `'${s}': give a registered model as azureml:name:version or azureml:name@latest`);
  }
  const latest = /^([^:@/]+)@latest$/i.exec(ref);
  if (latest) return { kind: 'latest', name: latest[1]! };
  const version = /^([^:@/]+):([^:@/]+)$/.exec(ref);
  if (version) return { kind: 'version', name: version[1]!, version: version[2]! };
  return fail(ctx, key, `'${s}': give a registered model as azureml:name:version or azureml:name@latest`);
}

export function modelVersionId(workspaceId: string, name: string, version: string): string {
  return `${workspaceId}/models/${name}/versions/${version}`;
}

export interface DeploymentSpecResult {
  name?: string;
  endpointName?: string;
  /** Left out: no model (the server decides whether the deployment can do without one). */
  model?: ModelRef;
  /** `properties.model` is left for the command to fill in with the resolved ARM id. */
  body: Json & { properties: Json };
}

export function deploymentBodyFromYaml(doc: Json, ctx: SpecContext, location: string): DeploymentSpecResult {
  checkKeys(ctx, doc, '', DEPLOYMENT_KEYS, DEPLOYMENT_REFUSED);
  const type = text(ctx, doc.type, 'type') ?? 'managed';
  if (type.toLowerCase() !== 'managed')
    fail(ctx, 'type', 'mlgrid serves managed online deployments (type: managed)');
  const p: Json = { endpointComputeType: 'Managed' };
  const put = (key: string, v: unknown) => {
    if (v !== undefined) p[key] = v;
  };
  put('description', text(ctx, doc.description, 'description'));
  put('properties', textMap(ctx, doc.properties, 'properties'));
  put('codeConfiguration', codeConfiguration(ctx, doc.code_configuration));
  if (isMap(doc.environment)) {
    fail(ctx, 'environment', 'inline environments are not supported; name one (e.g. azureml:my-env:1)');
  }
  put('environmentId', text(ctx, doc.environment, 'environment'));
  put('environmentVariables', textMap(ctx, doc.environment_variables, 'environment_variables'));
  put('instanceType', text(ctx, doc.instance_type, 'instance_type'));
  put('appInsightsEnabled', bool(ctx, doc.app_insights_enabled, 'app_insights_enabled'));
  put('requestSettings', requestSettings(ctx, doc.request_settings));
  put('livenessProbe', probe(ctx, doc.liveness_probe, 'liveness_probe'));
  put('readinessProbe', probe(ctx, doc.readiness_probe, 'readiness_probe'));
  const scale = mapAt(ctx, doc.scale_settings, 'scale_settings');
  if (scale !== undefined) {
    checkKeys(ctx, scale, 'scale_settings', ['type']);
    choice(ctx, scale.type, 'scale_settings.type', ['default']);
    p.scaleSettings = { scaleType: 'Default' };
  }
  const egress = choice(ctx, doc.egress_public_network_access, 'egress_public_network_access', [
    'enabled',
    'disabled',
  ]);
  if (egress !== undefined) p.egressPublicNetworkAccess = egress === 'enabled' ? 'Enabled' : 'Disabled';
  const body: DeploymentSpecResult['body'] = {
    location,
    sku: { name: 'Default', capacity: int(ctx, doc.instance_count, 'instance_count', 1) ?? 1 },
    properties: p,
  };
  const tags = textMap(ctx, doc.tags, 'tags');
  if (tags !== undefined) body.tags = tags;
  const name = text(ctx, doc.name, 'name');
  const endpointName = text(ctx, doc.endpoint_name, 'endpoint_name');
  return {
    ...(name !== undefined && { name }),
    ...(endpointName !== undefined && { endpointName }),
    ...(doc.model !== undefined && doc.model !== null && { model: parseModelRef(ctx, doc.model) }),
    body,
  };
}

/** `code_configuration: {code: ./folder, scoring_script: score.py}` → `{codeId: <absolute folder>, scoringScript}`. */
function codeConfiguration(ctx: SpecContext, v: unknown): Json | undefined {
  const c = mapAt(ctx, v, 'code_configuration');
  if (c === undefined) return undefined;
  checkKeys(ctx, c, 'code_configuration', ['code', 'scoring_script']);
  const code = requiredText(ctx, c.code, 'code_configuration.code');
  const script = requiredText(ctx, c.scoring_script, 'code_configuration.scoring_script');
  const { path, local } = specPath(ctx, code, 'code_configuration.code');
  if (!local)
    fail(ctx, 'code_configuration.code', `'${code}': code assets are not supported; give a local folder`);
  if (!isDirectory(ctx, path)) fail(ctx, 'code_configuration.code', `${path} is not a folder`);
  if (!pathExists(ctx, join(path, script))) {
    fail(ctx, 'code_configuration.scoring_script', `${join(path, script)} does not exist`);
  }
  return { codeId: path, scoringScript: script };
}

/** ISO 8601 duration of a number of seconds, as the REST API takes timeouts. */
export function isoSeconds(seconds: number): string {
  return `PT${Number(seconds.toFixed(3))}S`;
}

function requestSettings(ctx: SpecContext, v: unknown): Json | undefined {
  const r = mapAt(ctx, v, 'request_settings');
  if (r === undefined) return undefined;
  const key = 'request_settings';
  checkKeys(ctx, r, key, ['request_timeout_ms', 'max_concurrent_requests_per_instance', 'max_queue_wait_ms']);
  const out: Json = {};
  const timeout = int(ctx, r.request_timeout_ms, `${key}.request_timeout_ms`, 1);
  if (timeout !== undefined) out.requestTimeout = isoSeconds(timeout / 1000);
  const conc = int(
    ctx,
    r.max_concurrent_requests_per_instance,
    `${key}.max_concurrent_requests_per_instance`,
    1,
  );
  if (conc !== undefined) out.maxConcurrentRequestsPerInstance = conc;
  const wait = int(ctx, r.max_queue_wait_ms, `${key}.max_queue_wait_ms`, 0);
  if (wait !== undefined) out.maxQueueWait = isoSeconds(wait / 1000);
  return out;
}

/** Probe settings are in seconds in the YAML, ISO durations on the wire. */
function probe(ctx: SpecContext, v: unknown, key: string): Json | undefined {
  const pr = mapAt(ctx, v, key);
  if (pr === undefined) return undefined;
  checkKeys(ctx, pr, key, PROBE_KEYS);
  const out: Json = {};
  const secs = (k: string, rest: string, min: number) => {
    const n = int(ctx, pr[k], `${key}.${k}`, min);
    if (n !== undefined) out[rest] = isoSeconds(n);
  };
  secs('initial_delay', 'initialDelay', 0);
  secs('period', 'period', 1);
  secs('timeout', 'timeout', 1);
  const success = int(ctx, pr.success_threshold, `${key}.success_threshold`, 1);
  if (success !== undefined) out.successThreshold = success;
  const failure = int(ctx, pr.failure_threshold, `${key}.failure_threshold`, 1);
  if (failure !== undefined) out.failureThreshold = failure;
  return out;
}
