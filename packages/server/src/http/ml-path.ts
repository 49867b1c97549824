/**
 * Azure ML resource paths (api-version 2022-10-01): workspaces, model containers and versions, jobs, data assets,
 * online endpoints and deployments.
 */
import type { WorkspaceRef } from '../core/ml-events.js';
import { automationAllowedMethods, parseAutomationPath, type AutomationTarget } from './automation-path.js';

export { workspaceId, type WorkspaceRef } from '../core/ml-events.js';

export type MlTarget =
  | AutomationTarget
  | { kind: 'workspaces'; subscriptionId: string; resourceGroup?: string }
  | ({ kind: 'workspace' } & WorkspaceRef)
  | ({ kind: 'modelContainers' } & WorkspaceRef)
  | ({ kind: 'modelContainer'; model: string } & WorkspaceRef)
  | ({ kind: 'modelVersions'; model: string } & WorkspaceRef)
  | ({ kind: 'modelVersion'; model: string; version: string } & WorkspaceRef)
  | ({ kind: 'jobs' } & WorkspaceRef)
  | ({ kind: 'job'; job: string; action?: JobAction } & WorkspaceRef)
  | ({ kind: 'dataContainers' } & WorkspaceRef)
  | ({ kind: 'dataContainer'; data: string } & WorkspaceRef)
  | ({ kind: 'dataVersions'; data: string } & WorkspaceRef)
  | ({ kind: 'dataVersion'; data: string; version: string } & WorkspaceRef)
  | ({ kind: 'onlineEndpoints' } & WorkspaceRef)
  | ({ kind: 'onlineEndpoint'; endpoint: string; action?: EndpointAction } & WorkspaceRef)
  | ({ kind: 'onlineDeployments'; endpoint: string } & WorkspaceRef)
  | ({ kind: 'onlineDeployment'; endpoint: string; deployment: string; action?: 'logs' } & WorkspaceRef)
  | ({ kind: 'dataDriftDetectors' } & WorkspaceRef)
  /** mlgrid's lineage API (docs/lineage.md): a chain by correlation id, or (no id) by `?resourceId=`. */
  | ({ kind: 'lineage'; correlationId?: string } & WorkspaceRef)
  | ({
      kind: 'dataDriftDetector';
      detector: string;
      action?: DriftAction;
      operation?: string;
    } & WorkspaceRef);

/**
 * mlgrid's drift monitors (docs/drift-monitors.md): `run` and `backfill` (POST), `results` (GET), and
 * `backfillStatus` (GET `backfills/{operation}`, where a backfill's 202 points).
 */
export type DriftAction = 'run' | 'backfill' | 'results' | 'backfillStatus';

/** Azure's `listKeys` and `regenerateKeys` (POST). The scoring URI is served apart (`/endpoints/{name}/score`). */
export type EndpointAction = 'listKeys' | 'regenerateKeys';

/**
 * `cancel` (POST) is Azure's; `logs` (GET, mlgrid) returns the job's log; `cancelResult` (GET, mlgrid) is where
 * the SDK's poller follows a cancel (`.../jobs/{name}/operationResults/cancel`); `reportStatus` (POST) and
 * `metrics` (GET, POST) are mlgrid's reports from the job's code (http/job-report-routes.ts).
 */
export type JobAction = 'cancel' | 'logs' | 'cancelResult' | 'reportStatus' | 'metrics';

const ML = 'microsoft.machinelearningservices';

/** `seg`/`lower`: the decoded path segments after the leading slash (original and lower case). */
export function parseMlPath(seg: string[], lower: string[]): MlTarget | undefined {
  if (lower.length === 5 && lower[2] === 'providers' && lower[3] === ML && lower[4] === 'workspaces') {
    return { kind: 'workspaces', subscriptionId: seg[1]! };
  }
  if (
    lower[2] !== 'resourcegroups' ||
    lower[4] !== 'providers' ||
    lower[5] !== ML ||
    lower[6] !== 'workspaces'
  ) {
    return undefined;
  }
  const rg = { subscriptionId: seg[1]!, resourceGroup: seg[3]! };
  if (lower.length === 7) return { kind: 'workspaces', ...rg };
  const ws = { ...rg, workspace: seg[7]! };
  if (lower.length === 8) return { kind: 'workspace', ...ws };
  if (lower[8] === 'jobs') return parseJobPath(seg, lower, ws);
  if (lower[8] === 'data') return parseDataPath(seg, lower, ws);
  if (lower[8] === 'onlineendpoints') return parseEndpointPath(seg, lower, ws);
  if (lower[8] === 'datadriftdetectors') return parseDriftPath(seg, lower, ws);
  if (lower[8] === 'automations') return parseAutomationPath(seg, lower, ws);
  if (lower[8] === 'lineage') {
    if (lower.length === 9) return { kind: 'lineage', ...ws };
    return lower.length === 10 ? { kind: 'lineage', ...ws, correlationId: seg[9]! } : undefined;
  }
  if (lower[8] !== 'models') return undefined;
  if (lower.length === 9) return { kind: 'modelContainers', ...ws };
  const model = seg[9]!;
  if (lower.length === 10) return { kind: 'modelContainer', ...ws, model };
  if (lower[10] !== 'versions') return undefined;
  if (lower.length === 11) return { kind: 'modelVersions', ...ws, model };
  if (lower.length === 12) return { kind: 'modelVersion', ...ws, model, version: seg[11]! };
  return undefined;
}

function parseJobPath(seg: string[], lower: string[], ws: WorkspaceRef): MlTarget | undefined {
  if (lower.length === 9) return { kind: 'jobs', ...ws };
  const job = { kind: 'job' as const, ...ws, job: seg[9]! };
  if (lower.length === 10) return job;
  if (lower.length === 11 && lower[10] === 'cancel') return { ...job, action: 'cancel' };
  if (lower.length === 11 && lower[10] === 'logs') return { ...job, action: 'logs' };
  if (lower.length === 11 && lower[10] === 'reportstatus') return { ...job, action: 'reportStatus' };
  if (lower.length === 11 && lower[10] === 'metrics') return { ...job, action: 'metrics' };
  if (lower.length === 12 && lower[10] === 'operationresults' && lower[11] === 'cancel') {
    return { ...job, action: 'cancelResult' };
  }
  return undefined;
}

function parseDataPath(seg: string[], lower: string[], ws: WorkspaceRef): MlTarget | undefined {
  if (lower.length === 9) return { kind: 'dataContainers', ...ws };
  const data = seg[9]!;
  if (lower.length === 10) return { kind: 'dataContainer', ...ws, data };
  if (lower[10] !== 'versions') return undefined;
  if (lower.length === 11) return { kind: 'dataVersions', ...ws, data };
  if (lower.length === 12) return { kind: 'dataVersion', ...ws, data, version: seg[11]! };
  return undefined;
}

function parseEndpointPath(seg: string[], lower: string[], ws: WorkspaceRef): MlTarget | undefined {
  if (lower.length === 9) return { kind: 'onlineEndpoints', ...ws };
  const endpoint = seg[9]!;
  if (lower.length === 10) return { kind: 'onlineEndpoint', ...ws, endpoint };
  if (lower.length === 11 && lower[10] === 'listkeys')
    return { kind: 'onlineEndpoint', ...ws, endpoint, action: 'listKeys' };
  if (lower.length === 11 && lower[10] === 'regeneratekeys')
    return { kind: 'onlineEndpoint', ...ws, endpoint, action: 'regenerateKeys' };
  if (lower[10] !== 'deployments') return undefined;
  if (lower.length === 11) return { kind: 'onlineDeployments', ...ws, endpoint };
  const d = { kind: 'onlineDeployment' as const, ...ws, endpoint, deployment: seg[11]! };
  if (lower.length === 12) return d;
  if (lower.length === 13 && lower[12] === 'getlogs') return { ...d, action: 'logs' };
  return undefined;
}

function parseDriftPath(seg: string[], lower: string[], ws: WorkspaceRef): MlTarget | undefined {
  if (lower.length === 9) return { kind: 'dataDriftDetectors', ...ws };
  const d = { kind: 'dataDriftDetector' as const, ...ws, detector: seg[9]! };
  if (lower.length === 10) return d;
  if (lower.length === 11 && lower[10] === 'run') return { ...d, action: 'run' };
  if (lower.length === 11 && lower[10] === 'backfill') return { ...d, action: 'backfill' };
  if (lower.length === 11 && lower[10] === 'results') return { ...d, action: 'results' };
  if (lower.length === 12 && lower[10] === 'backfills')
    return { ...d, action: 'backfillStatus', operation: seg[11]! };
  return undefined;
}

export function mlAllowedMethods(t: MlTarget): string[] {
  switch (t.kind) {
    case 'automations':
    case 'automation':
    case 'automationRuns':
    case 'automationRun':
      return automationAllowedMethods(t);
    case 'workspaces':
    case 'modelContainers':
    case 'modelVersions':
    case 'jobs':
    case 'dataContainers':
    case 'dataVersions':
    case 'onlineEndpoints':
    case 'onlineDeployments':
    case 'dataDriftDetectors':
    case 'lineage':
      return ['GET'];
    case 'dataDriftDetector':
      if (t.action === 'run' || t.action === 'backfill') return ['POST'];
      return t.action ? ['GET'] : ['PUT', 'GET', 'DELETE'];
    case 'onlineEndpoint':
      if (t.action) return ['POST'];
      return ['PUT', 'GET', 'PATCH', 'DELETE'];
    case 'onlineDeployment':
      if (t.action) return ['POST'];
      return ['PUT', 'GET', 'PATCH', 'DELETE'];
    case 'job':
      if (t.action === 'cancel' || t.action === 'reportStatus') return ['POST'];
      if (t.action === 'metrics') return ['GET', 'POST'];
      return t.action ? ['GET'] : ['PUT', 'GET', 'DELETE'];
    case 'workspace':
      return ['PUT', 'GET', 'PATCH', 'DELETE'];
    default:
      return ['PUT', 'GET', 'DELETE'];
  }
}
