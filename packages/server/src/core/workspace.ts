/**
 * Azure Machine Learning workspaces as ARM resources (`Microsoft.MachineLearningServices/workspaces`, api-version
 * 2022-10-01): PUT/PATCH validation and the JSON `@azure/arm-machinelearning` deserializes into `Workspace`.
 *
 * mlgrid's own per-workspace settings live at `properties.mlgridSettings`. The SDK's mappers list every field
 * they read, so an unknown property is dropped silently on deserialize (and never sent on serialize): Azure SDK
 * clients neither choke on it nor can set it. It is set with plain REST (`az rest`, `client.sendRequest`, curl).
 * Because of that, a PUT without `mlgridSettings` keeps the current settings instead of resetting them, so an
 * SDK `beginCreateOrUpdate` on an existing workspace does not silently turn failure events off again.
 */
import { isAbsent, parseTags, requiredString, sameLocation } from './arm-fields.js';
export { parseTags } from './arm-fields.js';
import { invalid } from './errors.js';
import {
  array,
  isObject,
  object,
  oneOf,
  optBoolean,
  optInteger,
  optString,
  string,
  type Json,
} from './validate.js';

export const IDENTITY_TYPES = [
  'None',
  'SystemAssigned',
  'UserAssigned',
  'SystemAssigned,UserAssigned',
] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];
const SKU_TIERS = ['Free', 'Basic', 'Standard', 'Premium'] as const;
const NETWORK_ACCESS = ['Enabled', 'Disabled'] as const;
/** `JobStatus` of the 2022-10-01 API (KnownJobStatus): the statuses a run can change to. */
export const RUN_STATUSES = [
  'NotStarted',
  'Starting',
  'Provisioning',
  'Preparing',
  'Queued',
  'Running',
  'Finalizing',
  'CancelRequested',
  'Completed',
  'Failed',
  'Canceled',
  'NotResponding',
  'Paused',
  'Unknown',
] as const;
/** Azure: "runStatusChanged events only trigger when the run status is failed". */
export const DEFAULT_RUN_STATUS_CHANGED_STATUSES: readonly string[] = ['Failed'];

export interface WorkspaceIdentity {
  type: IdentityType;
  /** ARM ids of user-assigned identities → `{}` (Azure fills principalId/clientId; mlgrid has none). */
  userAssignedIdentities?: Record<string, Json>;
}

export interface WorkspaceSku {
  name: string;
  tier?: (typeof SKU_TIERS)[number];
  size?: string;
  family?: string;
  capacity?: number;
}

export interface WorkspaceSpec {
  location: string;
  tags: Record<string, string>;
  friendlyName?: string;
  description?: string;
  identity?: WorkspaceIdentity;
  sku?: WorkspaceSku;
  /** ARM ids of the associated resources, stored as given (mlgrid provisions none of them). */
  storageAccount?: string;
  keyVault?: string;
  applicationInsights?: string;
  containerRegistry?: string;
  publicNetworkAccess: 'Enabled' | 'Disabled';
  hbiWorkspace: boolean;
  /** mlgrid (`properties.mlgridSettings`): the run statuses that raise RunStatusChanged; default `['Failed']`. */
  runStatusChangedStatuses: string[];
  /** mlgrid (`properties.mlgridSettings`): raise the MLGrid.* failure events; default false. */
  failureEvents: boolean;
}

/**
 * 3-33 characters, alphanumerics, hyphens and underscores, starting alphanumeric: "Naming rules and restrictions
 * for Azure resources" (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules,
 * Microsoft.MachineLearningServices/workspaces) and the ARM schema's pattern `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`.
 */
const WORKSPACE_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/;
// Azure Resource Manager tag limits.
/** Azure: "cannot be changed once the workspace has been created". */
const IMMUTABLE = ['storageAccount', 'keyVault'] as const;

export function validateWorkspaceName(name: string): string {
  if (typeof name !== 'string' || !WORKSPACE_NAME_RE.test(name)) {
    throw invalid(
      'name',
      'must be 3-33 letters, digits, hyphens or underscores, starting with a letter or digit',
      'InvalidResourceName',
    );
  }
  return name;
}

/**
 * PUT (`Workspace`). With `current` (the workspace exists) the location and the storage account / key vault may
 * only be restated, and absent mlgrid settings are kept.
 */
export function parseWorkspacePut(
  body: unknown,
  ctx: { name: string; current?: WorkspaceSpec },
): WorkspaceSpec {
  validateWorkspaceName(ctx.name);
  const b = object(body, 'body');
  const p = optionalObject(b.properties, 'properties');
  const location = requiredString(b.location, 'location');
  const spec: WorkspaceSpec = {
    location,
    tags: parseTags(b.tags, 'tags'),
    publicNetworkAccess: isAbsent(p.publicNetworkAccess)
      ? 'Enabled'
      : oneOf(p.publicNetworkAccess, 'properties.publicNetworkAccess', NETWORK_ACCESS),
    hbiWorkspace: optBoolean(p.hbiWorkspace, 'properties.hbiWorkspace') ?? false,
    runStatusChangedStatuses: [
      ...(ctx.current?.runStatusChangedStatuses ?? DEFAULT_RUN_STATUS_CHANGED_STATUSES),
    ],
    failureEvents: ctx.current?.failureEvents ?? false,
  };
  if (!isAbsent(b.identity)) spec.identity = parseIdentity(b.identity, 'identity');
  if (!isAbsent(b.sku)) spec.sku = parseSku(b.sku, 'sku');
  for (const key of ['friendlyName', 'description'] as const) {
    const v = optString(p[key], `properties.${key}`);
    if (v !== undefined) spec[key] = v;
  }
  for (const key of ['storageAccount', 'keyVault', 'applicationInsights', 'containerRegistry'] as const) {
    const v = optString(p[key], `properties.${key}`);
    if (v !== undefined && v !== '') spec[key] = v;
  }
  applySettings(spec, p.mlgridSettings, 'properties.mlgridSettings');

  const cur = ctx.current;
  if (cur) {
    if (!sameLocation(location, cur.location)) throw invalid('location', 'cannot be changed after creation');
    for (const key of IMMUTABLE) {
      if (cur[key] !== undefined && spec[key] !== undefined && !sameId(spec[key], cur[key])) {
        throw invalid(`properties.${key}`, 'cannot be changed after creation');
      }
      // A re-PUT that omits them keeps the association: it cannot be detached either.
      if (spec[key] === undefined && cur[key] !== undefined) spec[key] = cur[key];
    }
  }
  return spec;
}

/**
 * PATCH (`WorkspaceUpdateParameters`): `tags`, `sku`, `identity`, `properties.{description, friendlyName,
 * publicNetworkAccess, applicationInsights, containerRegistry}` and `properties.mlgridSettings` (each setting
 * optional). null clears a field (merge-patch). The location, storage account and key vault may only be restated.
 */
export function applyWorkspacePatch(current: WorkspaceSpec, body: unknown): WorkspaceSpec {
  const b = object(body, 'body');
  const p = optionalObject(b.properties, 'properties');
  const next = structuredClone(current);

  if (b.tags !== undefined) next.tags = parseTags(b.tags, 'tags');
  if (b.sku === null) delete next.sku;
  else if (b.sku !== undefined) next.sku = parseSku(b.sku, 'sku');
  if (b.identity === null) delete next.identity;
  else if (b.identity !== undefined) next.identity = parseIdentity(b.identity, 'identity');
  for (const key of ['friendlyName', 'description', 'applicationInsights', 'containerRegistry'] as const) {
    if (p[key] === null) delete next[key];
    else if (p[key] !== undefined) next[key] = string(p[key], `properties.${key}`);
  }
  if (p.publicNetworkAccess === null) next.publicNetworkAccess = 'Enabled';
  else if (p.publicNetworkAccess !== undefined) {
    next.publicNetworkAccess = oneOf(p.publicNetworkAccess, 'properties.publicNetworkAccess', NETWORK_ACCESS);
  }
  if (p.mlgridSettings === null) {
    next.runStatusChangedStatuses = [...DEFAULT_RUN_STATUS_CHANGED_STATUSES];
    next.failureEvents = false;
  } else applySettings(next, p.mlgridSettings, 'properties.mlgridSettings');

  if (!isAbsent(b.location) && !sameLocation(string(b.location, 'location'), current.location)) {
    throw invalid('location', 'cannot be changed after creation');
  }
  for (const key of IMMUTABLE) {
    if (isAbsent(p[key])) continue;
    const v = string(p[key], `properties.${key}`);
    if (current[key] === undefined || !sameId(v, current[key])) {
      throw invalid(`properties.${key}`, 'cannot be changed after creation');
    }
  }
  return next;
}

export interface WorkspaceOut {
  id: string;
  name: string;
  type: 'Microsoft.MachineLearningServices/workspaces';
  location: string;
  tags: Record<string, string>;
  identity?: WorkspaceIdentity;
  sku?: WorkspaceSku;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Json;
}

export function renderWorkspace(
  spec: WorkspaceSpec,
  meta: {
    /** ARM resource id. */
    id: string;
    name: string;
    /** The immutable GUID Azure returns as `properties.workspaceId`. */
    workspaceId: string;
    createdAt: string;
    updatedAt: string;
    provisioningState?: 'Succeeded' | 'Creating' | 'Updating' | 'Deleting' | 'Failed' | 'Canceled';
    /** Where clients find the regional endpoints; omitted unless mlgrid serves one. */
    discoveryUrl?: string;
  },
): WorkspaceOut {
  const properties: Json = {
    // Azure echoes the name when no friendly name was given.
    friendlyName: spec.friendlyName ?? meta.name,
    provisioningState: meta.provisioningState ?? 'Succeeded',
    workspaceId: meta.workspaceId,
    publicNetworkAccess: spec.publicNetworkAccess,
    hbiWorkspace: spec.hbiWorkspace,
  };
  if (spec.description !== undefined) properties.description = spec.description;
  for (const key of ['storageAccount', 'keyVault', 'applicationInsights', 'containerRegistry'] as const) {
    if (spec[key] !== undefined) properties[key] = spec[key];
  }
  if (meta.discoveryUrl !== undefined) properties.discoveryUrl = meta.discoveryUrl;
  properties.mlgridSettings = {
    runStatusChangedStatuses: [...spec.runStatusChangedStatuses],
    failureEvents: spec.failureEvents,
  };
  const out: WorkspaceOut = {
    id: meta.id,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces',
    location: spec.location,
    tags: { ...spec.tags },
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
  if (spec.identity) out.identity = structuredClone(spec.identity);
  if (spec.sku) out.sku = { ...spec.sku };
  return out;
}

/** Whether a run that changed to `status` raises RunStatusChanged in this workspace (statuses match case-blind). */
export function raisesRunStatusChanged(
  spec: Pick<WorkspaceSpec, 'runStatusChangedStatuses'>,
  status: string,
): boolean {
  const s = status.toLowerCase();
  return spec.runStatusChangedStatuses.some((x) => x.toLowerCase() === s);
}

// ---------------------------------------------------------------- helpers

function optionalObject(v: unknown, path: string): Json {
  return isAbsent(v) ? {} : object(v, path);
}

/** ARM ids compare case-insensitively. */
function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function parseIdentity(raw: unknown, path: string): WorkspaceIdentity {
  const o = object(raw, path);
  // The SDK's KnownManagedServiceIdentityType spells the combination without a space; tolerate one.
  const rawType = typeof o.type === 'string' ? o.type.replace(/\s+/g, '') : o.type;
  const type = oneOf(rawType, `${path}.type`, IDENTITY_TYPES);
  const identity: WorkspaceIdentity = { type };
  const up = `${path}.userAssignedIdentities`;
  if (type.includes('UserAssigned')) {
    const ids = object(o.userAssignedIdentities, up);
    if (Object.keys(ids).length === 0) throw invalid(up, `must name at least one identity for type ${type}`);
    const out: [string, Json][] = [];
    for (const [k, v] of Object.entries(ids)) {
      if (
        !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i.test(
          k,
        )
      ) {
        throw invalid(`${up}.${k}`, 'must be the ARM id of a user-assigned identity');
      }
      if (!isAbsent(v)) object(v, `${up}.${k}`);
      // Server-populated fields (principalId, clientId) are not the client's to set.
      out.push([k, {}]);
    }
    identity.userAssignedIdentities = Object.fromEntries(out);
  } else if (
    !isAbsent(o.userAssignedIdentities) &&
    Object.keys(object(o.userAssignedIdentities, up)).length
  ) {
    throw invalid(up, `is only allowed when type includes UserAssigned`);
  }
  return identity;
}

function parseSku(raw: unknown, path: string): WorkspaceSku {
  const o = object(raw, path);
  const sku: WorkspaceSku = { name: requiredString(o.name, `${path}.name`) };
  if (!isAbsent(o.tier)) sku.tier = oneOf(o.tier, `${path}.tier`, SKU_TIERS);
  const size = optString(o.size, `${path}.size`);
  if (size !== undefined) sku.size = size;
  const family = optString(o.family, `${path}.family`);
  if (family !== undefined) sku.family = family;
  const capacity = optInteger(o.capacity, `${path}.capacity`, 0, 2 ** 31 - 1);
  if (capacity !== undefined) sku.capacity = capacity;
  return sku;
}

/** Each setting is optional: absent keeps what `spec` has, null restores the default. */
function applySettings(spec: WorkspaceSpec, raw: unknown, path: string): void {
  if (isAbsent(raw)) return;
  const s = object(raw, path);
  const known = ['runStatusChangedStatuses', 'failureEvents'];
  // A typo here would otherwise be ignored silently and leave events off.
  for (const k of Object.keys(s)) if (!known.includes(k)) throw invalid(`${path}.${k}`, 'is not a setting');
  const sp = `${path}.runStatusChangedStatuses`;
  if (s.runStatusChangedStatuses === null) {
    spec.runStatusChangedStatuses = [...DEFAULT_RUN_STATUS_CHANGED_STATUSES];
  } else if (s.runStatusChangedStatuses !== undefined) {
    const list = array(s.runStatusChangedStatuses, sp).map((v, i) => oneOf(v, `${sp}[${i}]`, RUN_STATUSES));
    spec.runStatusChangedStatuses = [...new Set(list)];
  }
  if (s.failureEvents !== undefined)
    spec.failureEvents = optBoolean(s.failureEvents, `${path}.failureEvents`) ?? false;
}

export function isWorkspaceSpec(v: unknown): v is WorkspaceSpec {
  return (
    isObject(v) &&
    typeof v.location === 'string' &&
    Array.isArray(v.runStatusChangedStatuses) &&
    typeof v.failureEvents === 'boolean'
  );
}
