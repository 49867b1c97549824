/**
 * Data-drift monitors (docs/drift-monitors.md): resource documents `dataDriftDetector` at
 * `{workspace}/datadriftdetectors/{name}`, one `dataDriftResult` per (monitor, period) below it at
 * `…/results/{periodStart}` (a rerun replaces it: latest wins, as Azure's get_output), and backfill operations
 * `dataDriftBackfill` at `…/backfills/{id}`. A run reads the baseline (whole, prepared once and cached per
 * monitor) and the target rows of the period, computes the statistics (core/drift-run.ts) and stores the
 * result with DatasetDriftDetected in the same transaction when the coefficient is above the threshold
 * (drift-runs.ts). This file: the resource, the run/backfill/results entry points, the scheduler's port.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { MlgridError, invalid, notFound } from '../core/errors.js';
import {
  nextScheduledPeriod,
  parseBackfillBody,
  parseMonitorPut,
  parseRunBody,
  renderMonitor,
  validateMonitorName,
  type DataRef,
  type DriftMonitorDoc,
  type Period,
} from '../core/drift-monitor.js';
import type { WorkspaceRef } from '../core/ml-events.js';
import { parseIsoUtc } from '../core/validate.js';
import type { DataVersionDoc } from '../core/data-asset.js';
import type { Publisher } from '../engine/publisher.js';
import type { ResourceRecord, Store, WorkspaceRecord } from '../store/types.js';
import type { DataAssetService } from './data-assets.js';
import { computeInline, type DriftCompute } from './drift-compute.js';
import {
  BACKFILL_KIND,
  dataId,
  DriftRuns,
  RESULT_KIND,
  wsRef,
  type BackfillDoc,
  type DriftResultDoc,
} from './drift-runs.js';
import { requireWorkspace } from './require-workspace.js';

export { BACKFILL_KIND, RESULT_KIND, type BackfillDoc, type DriftResultDoc } from './drift-runs.js';
export const MONITOR_KIND = 'dataDriftDetector';

export class DriftMonitorService {
  private readonly runs: DriftRuns;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly data: DataAssetService,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    computeStats: DriftCompute = computeInline,
  ) {
    this.runs = new DriftRuns(store, publisher, data, log, now, computeStats);
    this.stats = this.runs.stats;
  }

  /** Baseline reads (not served from the cache), for tests and metrics. */
  readonly stats: DriftRuns['stats'];

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async put(ref: WorkspaceRef, name: string, body: unknown) {
    const ws = await requireWorkspace(this.store, ref);
    validateMonitorName(name);
    const key = monitorKey(ws, name);
    // A scheduler claiming a period also writes the document: retry on its runtime, not on the client.
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.store.getResource(key);
      const cur = current?.spec as DriftMonitorDoc | undefined;
      const spec = parseMonitorPut(body, cur?.spec);
      if (attempt === 0) await this.checkMonitorData(ws, spec);
      const doc: DriftMonitorDoc = { spec, runtime: cur?.runtime ?? { dataDriftId: randomUUID() } };
      const at = this.now().toISOString();
      const r = await this.store.putResource(
        {
          key,
          kind: MONITOR_KIND,
          parentKey: ws.key,
          name: current?.name ?? name,
          spec: doc,
          createdAt: current?.createdAt ?? at,
          updatedAt: at,
        },
        this.now().getTime(),
        { ifSequencer: current?.sequencer ?? 0 },
      );
      if (!r.updated) continue;
      this.runs.forget(key);
      return { created: r.created, out: this.render(ws, r.rec!) };
    }
    throw new MlgridError(
      'Conflict',
      `${ws.id}/dataDriftDetectors/${name} was changed at the same time; retry.`,
    );
  }

  /** Both data versions exist; the timestamp column is a timestamp of the target (from its summary). */
  private async checkMonitorData(ws: WorkspaceRecord, spec: DriftMonitorDoc['spec']): Promise<void> {
    await this.checkData(ws, spec.baselineData, 'properties.baselineData');
    const target = await this.checkData(ws, spec.targetData, 'properties.targetData');
    const ts = target.summary.columns.find((c) => c.name === spec.timestampColumn);
    if (!ts)
      throw invalid('properties.timestampColumn', `the target data has no column '${spec.timestampColumn}'`);
    if (ts.type !== 'timestamp')
      throw invalid('properties.timestampColumn', `'${spec.timestampColumn}' is ${ts.type}, not a timestamp`);
  }

  async get(ref: WorkspaceRef, name: string) {
    const ws = await requireWorkspace(this.store, ref);
    return this.render(ws, await this.monitor(ws, name));
  }

  async list(ref: WorkspaceRef) {
    const ws = await requireWorkspace(this.store, ref);
    return (await this.store.listResources({ kind: MONITOR_KIND, parentKey: ws.key })).map((r) =>
      this.render(ws, r),
    );
  }

  /** Deletes the monitor with its results and backfill operations. */
  async delete(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const key = monitorKey(ws, name);
    this.runs.forget(key);
    return this.store.deleteResource(key, this.now().getTime());
  }

  /** Ad-hoc run of one period (synchronous: the answer is the stored result). */
  async run(ref: WorkspaceRef, name: string, body: unknown) {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.monitor(ws, name);
    const period = parseRunBody(body, (rec.spec as DriftMonitorDoc).spec.frequency);
    return this.renderResult(ws, rec, await this.runs.runPeriod(ws, rec, period, 'Run'));
  }

  /** Validates (≤ 31 intervals), stores a Running operation and processes the periods in order, off the request. */
  async backfill(ref: WorkspaceRef, name: string, body: unknown) {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.monitor(ws, name);
    const periods = parseBackfillBody(body, (rec.spec as DriftMonitorDoc).spec.frequency);
    const id = randomUUID();
    const at = this.now().toISOString();
    const op: BackfillDoc = {
      status: 'Running',
      startDate: periods[0]!.start.toISOString(),
      endDate: periods.at(-1)!.end.toISOString(),
      total: periods.length,
      completed: 0,
      results: [],
      startedAt: at,
    };
    const put = {
      key: `${rec.key}/backfills/${id}`,
      kind: BACKFILL_KIND,
      parentKey: rec.key,
      name: id,
      createdAt: at,
    };
    const { rec: stored } = await this.store.putResource(
      { ...put, spec: op, updatedAt: at },
      this.now().getTime(),
    );
    const p = this.runs
      .processBackfill(ws, rec, stored!, periods)
      .catch((e: Error) => this.log.error({ backfill: put.key, err: e.message }, 'backfill failed'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return { id, out: this.renderBackfill(ws, rec, stored!) };
  }

  async backfillStatus(ref: WorkspaceRef, name: string, id: string) {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.monitor(ws, name);
    const op = await this.store.getResource(`${rec.key}/backfills/${id.toLowerCase()}`);
    if (!op) throw notFound('backfill operation', `${this.idOf(ws, rec)}/backfills/${id}`);
    return this.renderBackfill(ws, rec, op);
  }

  /** Results over periods, oldest first; `startTime`/`endTime` keep those overlapping [startTime, endTime). */
  async results(ref: WorkspaceRef, name: string, query: { startTime?: string; endTime?: string } = {}) {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.monitor(ws, name);
    const from = query.startTime === undefined ? -Infinity : parseIsoUtc(query.startTime);
    const to = query.endTime === undefined ? Infinity : parseIsoUtc(query.endTime);
    if (Number.isNaN(from)) throw invalid('startTime', 'must be an ISO-8601 date-time');
    if (Number.isNaN(to)) throw invalid('endTime', 'must be an ISO-8601 date-time');
    const all = await this.store.listResources({ kind: RESULT_KIND, parentKey: rec.key });
    return all
      .filter((r) => {
        const d = r.spec as DriftResultDoc;
        return Date.parse(d.endTime) > from && Date.parse(d.startTime) < to;
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => this.renderResult(ws, rec, r));
  }

  // ---------------------------------------------------------------- scheduler port

  /** Every monitor with its schedule on, with the period due now (if any). */
  async due(now: Date, maxCatchUp?: number): Promise<{ rec: ResourceRecord; period: Period }[]> {
    const out: { rec: ResourceRecord; period: Period }[] = [];
    for (const rec of await this.store.listResources({ kind: MONITOR_KIND })) {
      const doc = rec.spec as DriftMonitorDoc;
      if (!doc.spec.scheduleEnabled) continue;
      const period = nextScheduledPeriod(doc.spec, doc.runtime.lastScheduledPeriod, now, maxCatchUp);
      if (period) out.push({ rec, period });
    }
    return out;
  }

  /** Claims a period by compare-and-set on the monitor: only one node wins; undefined when another did. */
  async claim(rec: ResourceRecord, period: Period): Promise<ResourceRecord | undefined> {
    const doc = rec.spec as DriftMonitorDoc;
    const next: DriftMonitorDoc = {
      ...doc,
      runtime: { ...doc.runtime, lastScheduledPeriod: period.start.toISOString() },
    };
    const r = await this.store.putResource({ ...rec, spec: next }, this.now().getTime(), {
      ifSequencer: rec.sequencer,
    });
    return r.updated ? r.rec : undefined;
  }

  async runScheduled(rec: ResourceRecord, period: Period): Promise<DriftResultDoc | undefined> {
    const ws = await this.store.getWorkspace(rec.parentKey);
    if (!ws) return undefined;
    return (await this.runs.runPeriod(ws, rec, period, 'Schedule')).spec as DriftResultDoc;
  }

  // ---------------------------------------------------------------- runs

  private async checkData(ws: WorkspaceRecord, ref: DataRef, path: string): Promise<DataVersionDoc> {
    try {
      const v = (await this.data.getVersion(
        ref.workspace ?? wsRef(ws),
        ref.name,
        ref.version,
      )) as unknown as {
        properties: { mlgridSummary: DataVersionDoc['summary'] };
      };
      return { summary: v.properties.mlgridSummary } as DataVersionDoc;
    } catch (e) {
      if (e instanceof MlgridError && e.code === 'ResourceNotFound')
        throw invalid(path, `data version ${ref.name}:${ref.version} does not exist`);
      throw e;
    }
  }

  private idOf(ws: WorkspaceRecord, rec: ResourceRecord): string {
    return `${ws.id}/dataDriftDetectors/${rec.name}`;
  }

  private render(ws: WorkspaceRecord, rec: ResourceRecord) {
    const doc = rec.spec as DriftMonitorDoc;
    return renderMonitor(doc, {
      id: this.idOf(ws, rec),
      name: rec.name,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      baseDatasetId: dataId(ws, doc.spec.baselineData),
      targetDatasetId: dataId(ws, doc.spec.targetData),
    });
  }

  private renderResult(ws: WorkspaceRecord, rec: ResourceRecord, r: ResourceRecord) {
    return {
      id: `${this.idOf(ws, rec)}/results/${r.name}`,
      name: r.name,
      type: 'Microsoft.MachineLearningServices/workspaces/dataDriftDetectors/results',
      systemData: { createdAt: r.createdAt, lastModifiedAt: r.updatedAt },
      properties: { ...(r.spec as DriftResultDoc), mlgridRevision: r.sequencer },
    };
  }

  private renderBackfill(ws: WorkspaceRecord, rec: ResourceRecord, op: ResourceRecord) {
    return {
      id: `${this.idOf(ws, rec)}/backfills/${op.name}`,
      name: op.name,
      type: 'Microsoft.MachineLearningServices/workspaces/dataDriftDetectors/backfills',
      properties: op.spec as BackfillDoc,
    };
  }

  private async monitor(ws: WorkspaceRecord, name: string): Promise<ResourceRecord> {
    const rec = await this.store.getResource(monitorKey(ws, name));
    if (!rec) throw notFound('data drift detector', `${ws.id}/dataDriftDetectors/${name}`);
    return rec;
  }
}

function monitorKey(ws: WorkspaceRecord, name: string): string {
  return `${ws.key}/datadriftdetectors/${name.toLowerCase()}`;
}
