/**
 * Lineage (mlgrid extension, `…/workspaces/{ws}/lineage`): the chain "drift → retraining job → model version →
 * deployment" an automation started, by its correlation id or from any of its objects. Objects carry their chain
 * as `properties.properties["mlgrid.correlationId"]` / `["mlgrid.causationId"]`, events as `data.correlationId`
 * / `data.causationId` (and the CloudEvents extensions `correlationid` / `causationid`).
 */
import { API_VERSIONS, seg, type Transport } from './http.js';

const ML = API_VERSIONS.ml;

/** The property names lineage travels under on jobs, model versions and deployments. */
export const LINEAGE_PROPERTIES = {
  correlationId: 'mlgrid.correlationId',
  causationId: 'mlgrid.causationId',
} as const;

export interface LineageIds {
  /** The id of the chain's first event. */
  correlationId: string;
  /** What caused this: an event id, or the ARM id of the job that made it. */
  causationId: string;
}

interface ChainNode {
  /** Position in the chain's causal order, shared by `events` and `objects`. */
  order: number;
  id: string;
  time: string;
  /** Absent on the chain's first event. */
  causationId?: string;
}

export interface ChainEvent extends ChainNode {
  type: string;
  subject: string;
  /** The ARM id of the object that raised it. */
  source?: string;
}

export interface ChainObject extends ChainNode {
  kind: 'job' | 'modelVersion' | 'deployment' | 'automationRun';
  name?: string;
  /** A job's status, a deployment's provisioning state. */
  status?: string;
  version?: string;
  endpoint?: string;
}

export interface Chain {
  correlationId: string;
  events: ChainEvent[];
  objects: ChainObject[];
  truncated?: boolean;
}

interface WorkspaceIds {
  workspaceId(rg: string, name: string): string;
}

export class Lineage {
  constructor(
    private readonly http: Transport,
    private readonly ids: WorkspaceIds,
  ) {}

  /** The chain with this correlation id (404 ApiError when the workspace knows none). */
  get(rg: string, ws: string, correlationId: string): Promise<Chain> {
    const path = `${this.ids.workspaceId(rg, ws)}/lineage`;
    // An id that cannot be one path segment goes as a parameter.
    if (/[/\\?#%]/.test(correlationId) || correlationId === '.' || correlationId === '..') {
      return this.http.json('GET', path, { apiVersion: ML, query: { correlationId } });
    }
    return this.http.json('GET', `${path}/${seg(correlationId)}`, { apiVersion: ML });
  }

  /** The chain a job, model version or online deployment (its ARM id) belongs to. */
  of(rg: string, ws: string, resourceId: string): Promise<Chain> {
    const path = `${this.ids.workspaceId(rg, ws)}/lineage`;
    return this.http.json('GET', path, { apiVersion: ML, query: { resourceId } });
  }
}

/** `properties.properties` with the lineage added where it names none. */
export function withLineage(
  props: Record<string, string> | undefined,
  lineage: LineageIds | undefined,
): Record<string, string> | undefined {
  if (!lineage || props?.[LINEAGE_PROPERTIES.correlationId] !== undefined) return props;
  return {
    [LINEAGE_PROPERTIES.correlationId]: lineage.correlationId,
    [LINEAGE_PROPERTIES.causationId]: lineage.causationId,
    ...props,
  };
}
