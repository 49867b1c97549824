/**
 * Deployment bodies for the deployModel step, from the deployments as the service renders them: the body of a
 * new deployment (code and environment copied from a template deployment, or given by the rule) and the body
 * that restores a deployment's previous definition on rollback. Pure.
 */
import { isObject, type Json } from './validate.js';
import { parseModelRef } from './online-endpoint.js';
import type { WorkspaceRef } from './ml-events.js';

/** A deployment as `DeploymentService.get/list` renders it (the fields read here). */
export interface DeploymentView {
  name: string;
  location?: string;
  tags?: Record<string, string>;
  sku?: Json;
  kind?: string;
  properties: {
    model?: string;
    provisioningState?: string;
    codeConfiguration?: { codeId: string; scoringScript: string };
    environmentId?: string;
    environmentVariables?: Record<string, string>;
    properties?: Record<string, string>;
    instanceType?: string;
    requestSettings?: Json;
    description?: string;
    mlgrid?: { error?: { code: string; message: string } };
  };
}

export interface NewDeployment {
  /** A deployment of the endpoint to copy code, environment, sku and request settings from. */
  template?: DeploymentView;
  code?: { codeId: string; scoringScript: string };
  environmentId?: string;
  instanceType?: string;
  environmentVariables: Record<string, string>;
  modelId: string;
  properties: Record<string, string>;
}

/** The PUT body of the new deployment; what the rule gives wins over the template. */
export function deploymentBody(n: NewDeployment): Json {
  const t = n.template?.properties;
  const code = n.code ?? t?.codeConfiguration ?? { codeId: '', scoringScript: '' }; // the service names the gap
  const props: Json = {
    endpointComputeType: 'Managed',
    model: n.modelId,
    codeConfiguration: { codeId: code.codeId, scoringScript: code.scoringScript },
    environmentVariables: { ...(t?.environmentVariables ?? {}), ...n.environmentVariables },
    properties: { ...n.properties },
  };
  const environmentId = n.environmentId ?? t?.environmentId;
  if (environmentId !== undefined) props.environmentId = environmentId;
  const instanceType = n.instanceType ?? t?.instanceType;
  if (instanceType !== undefined) props.instanceType = instanceType;
  if (t?.requestSettings) props.requestSettings = structuredClone(t.requestSettings);
  const body: Json = { location: n.template?.location ?? 'local', properties: props };
  if (n.template?.sku) body.sku = structuredClone(n.template.sku);
  return body;
}

/** The PUT body that puts a deployment back as it was (rollback of an update in place). */
export function restoreBody(d: DeploymentView): Json {
  const p = d.properties;
  const props: Json = { endpointComputeType: 'Managed' };
  for (const k of [
    'model',
    'codeConfiguration',
    'environmentId',
    'environmentVariables',
    'properties',
    'instanceType',
    'requestSettings',
    'description',
  ] as const) {
    if (p[k] !== undefined) props[k] = structuredClone(p[k]);
  }
  const body: Json = { location: d.location ?? 'local', tags: { ...(d.tags ?? {}) }, properties: props };
  if (d.sku) body.sku = structuredClone(d.sku);
  if (d.kind !== undefined) body.kind = d.kind;
  return body;
}

/** `name:version`, lower-cased, of the model a deployment names (undefined when it cannot be read). */
export function modelKey(model: unknown, ws: WorkspaceRef): string | undefined {
  if (typeof model !== 'string') return undefined;
  try {
    const r = parseModelRef(model, 'model', {
      subscriptionId: ws.subscriptionId,
      resourceGroup: ws.resourceGroup,
      workspace: ws.workspace,
    });
    const inWs =
      r.subscriptionId.toLowerCase() === ws.subscriptionId.toLowerCase() &&
      r.resourceGroup.toLowerCase() === ws.resourceGroup.toLowerCase() &&
      r.workspace.toLowerCase() === ws.workspace.toLowerCase();
    return inWs ? `${r.name}:${r.version}`.toLowerCase() : `${model}`.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The deployment to copy code from by default: the one taking the largest traffic share, else one that runs. */
export function mainDeployment(
  list: readonly DeploymentView[],
  traffic: Record<string, number>,
): DeploymentView | undefined {
  const withCode = list.filter((d) => isObject(d.properties.codeConfiguration));
  const share = (d: DeploymentView) => traffic[d.name.toLowerCase()] ?? 0;
  const sorted = [...withCode].sort((a, b) => share(b) - share(a) || a.name.localeCompare(b.name));
  if (sorted.length && share(sorted[0]!) > 0) return sorted[0];
  return withCode.find((d) => d.properties.provisioningState === 'Succeeded') ?? withCode[0];
}
