/**
 * Data-drift monitors (mlgrid extension, `…/workspaces/{ws}/dataDriftDetectors/{name}`): create, run a period,
 * backfill (a long-running operation, polled by `backfillAndWait`), and the results over periods. A run whose
 * `driftCoefficient` is above the threshold raises `Microsoft.MachineLearningServices.DatasetDriftDetected`.
 */
import { API_VERSIONS, seg, type Transport } from './http.js';

const ML = API_VERSIONS.ml;
type List<T> = { value: T[] };

export type DriftFrequency = 'Day' | 'Week' | 'Month';
/** `{name, version}` in the monitor's workspace, `"name:version"`, or a data version's ARM id. */
export type DriftDataRef = { name: string; version: string } | string;

export interface DataDriftDetectorIn {
  tags?: Record<string, string>;
  properties: {
    baselineData: DriftDataRef;
    targetData: DriftDataRef;
    timestampColumn: string;
    frequency: DriftFrequency;
    /** Default 0; immutable, like frequency. */
    latencyHours?: number;
    /** At most 200; default every common column. */
    features?: string[];
    /** Default 0.2. */
    threshold?: number;
    scheduleEnabled?: boolean;
    startTime?: string;
    alertSettings?: Record<string, unknown>;
    description?: string;
  };
}

export interface DataDriftDetectorOut {
  id: string;
  name: string;
  type: string;
  tags: Record<string, string>;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Required<
    Pick<
      DataDriftDetectorIn['properties'],
      'timestampColumn' | 'frequency' | 'latencyHours' | 'features' | 'threshold' | 'scheduleEnabled'
    >
  > & {
    baselineData: { name: string; version: string };
    targetData: { name: string; version: string };
    baseDatasetId: string;
    targetDatasetId: string;
    /** The id in DatasetDriftDetected's subject `datadrift/{dataDriftId}/run/{runId}`. */
    dataDriftId: string;
    lastScheduledPeriod?: string;
    startTime?: string;
    description?: string;
    provisioningState: string;
  };
}

export interface DriftSkippedColumn {
  name: string;
  reason: string;
  detail: string;
}

export interface DriftFeatureResult {
  name: string;
  kind: 'numeric' | 'categorical';
  inCoefficient: boolean;
  contribution: number;
  /** Numeric: wasserstein, normedWasserstein, energy, ks, psi, jensenShannon, profiles; categorical: euclidean, … */
  metrics: Record<string, unknown>;
}

export interface DataDriftResultOut {
  id: string;
  /** The period start, compact (`20250102T000000Z`). */
  name: string;
  type: string;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: {
    runId: string;
    trigger: 'Run' | 'Backfill' | 'Schedule';
    status: 'Succeeded' | 'Failed';
    startTime: string;
    endTime: string;
    startedAt: string;
    endedAt: string;
    threshold: number;
    baseDatasetId: string;
    targetDatasetId: string;
    driftCoefficient?: number;
    mcc?: number;
    auc?: number;
    hasDrift?: boolean;
    rows?: { baseline: number; target: number; baselineUsed: number; targetUsed: number };
    features?: DriftFeatureResult[];
    skipped?: DriftSkippedColumn[];
    error?: { code: string; message: string };
    /** 1 for the first run of the period, +1 per rerun (the latest replaces the older). */
    mlgridRevision: number;
  };
}

export interface DataDriftBackfillOut {
  id: string;
  name: string;
  type: string;
  properties: {
    status: 'Running' | 'Succeeded' | 'Failed';
    startDate: string;
    endDate: string;
    total: number;
    completed: number;
    results: {
      startTime: string;
      status: string;
      runId: string;
      driftCoefficient?: number;
      hasDrift?: boolean;
    }[];
    startedAt: string;
    endedAt?: string;
  };
}

interface Ids {
  workspaceId(rg: string, name: string): string;
}

export class DataDrift {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  private path(rg: string, ws: string, name?: string): string {
    const p = `${this.ids.workspaceId(rg, ws)}/dataDriftDetectors`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  create(rg: string, ws: string, name: string, body: DataDriftDetectorIn): Promise<DataDriftDetectorOut> {
    return this.http.json('PUT', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  get(rg: string, ws: string, name: string): Promise<DataDriftDetectorOut> {
    return this.http.json('GET', this.path(rg, ws, name), { apiVersion: ML });
  }
  async list(rg: string, ws: string): Promise<DataDriftDetectorOut[]> {
    return (await this.http.json<List<DataDriftDetectorOut>>('GET', this.path(rg, ws), { apiVersion: ML }))
      .value;
  }
  /** Deletes the monitor with its results. */
  delete(rg: string, ws: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name), ML);
  }
  /** Runs one period now: the one containing `targetDate`, or the window [startTime, endTime). */
  run(
    rg: string,
    ws: string,
    name: string,
    body: { targetDate: string } | { startTime: string; endTime: string },
  ): Promise<DataDriftResultOut> {
    return this.http.json('POST', `${this.path(rg, ws, name)}/run`, { apiVersion: ML, body });
  }
  /** Starts a backfill (end date inclusive, at most 31 intervals): answers at once with the Running operation. */
  backfill(
    rg: string,
    ws: string,
    name: string,
    body: { startDate: string; endDate: string },
  ): Promise<DataDriftBackfillOut> {
    return this.http.json('POST', `${this.path(rg, ws, name)}/backfill`, { apiVersion: ML, body });
  }
  getBackfill(rg: string, ws: string, name: string, id: string): Promise<DataDriftBackfillOut> {
    return this.http.json('GET', `${this.path(rg, ws, name)}/backfills/${seg(id)}`, { apiVersion: ML });
  }
  /** Backfills and polls until the operation ends; `onProgress` sees each poll. */
  async backfillAndWait(
    rg: string,
    ws: string,
    name: string,
    body: { startDate: string; endDate: string },
    opts: { pollMs?: number; onProgress?: (op: DataDriftBackfillOut) => void } = {},
  ): Promise<DataDriftBackfillOut> {
    let op = await this.backfill(rg, ws, name, body);
    for (;;) {
      opts.onProgress?.(op);
      if (op.properties.status !== 'Running') return op;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      op = await this.getBackfill(rg, ws, name, op.name);
    }
  }
  /** Results over periods, oldest first; `startTime`/`endTime` keep the periods overlapping that window. */
  async results(
    rg: string,
    ws: string,
    name: string,
    opts: { startTime?: string; endTime?: string } = {},
  ): Promise<DataDriftResultOut[]> {
    const path = `${this.path(rg, ws, name)}/results`;
    return (await this.http.json<List<DataDriftResultOut>>('GET', path, { apiVersion: ML, query: opts }))
      .value;
  }
}
