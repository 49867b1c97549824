/**
 * Drift runs of a monitor (docs/drift-monitors.md): reads the baseline (whole; prepared once per monitor and
 * cached) and the target's rows in the period, computes the statistics (off the event loop, drift-compute.ts),
 * and stores the result as the period's document — replacing an older one — with DatasetDriftDetected (or, where
 * enabled, DatasetDriftDetectionFailed) in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { MlgridError } from '../core/errors.js';
import { periodKey, type DataRef, type DriftMonitorDoc, type Period } from '../core/drift-monitor.js';
import {
  DriftRunError,
  planColumns,
  prepareBaseline,
  type DriftComputation,
  type PreparedBaseline,
} from '../core/drift-run.js';
import {
  datasetDriftDetected,
  datasetDriftDetectionFailed,
  workspaceId,
  type WorkspaceRef,
} from '../core/ml-events.js';
import { systemEvent } from '../core/publish.js';
import type { WorkspaceSpec } from '../core/workspace.js';
import { DatasetError, type Dataset } from '../data/tabular.js';
import type { Publisher } from '../engine/publisher.js';
import type { EventToStore, ResourceRecord, Store, WorkspaceRecord } from '../store/types.js';
import type { DataAssetService } from './data-assets.js';
import { computeInline, type DriftCompute } from './drift-compute.js';

export const RESULT_KIND = 'dataDriftResult';
export const BACKFILL_KIND = 'dataDriftBackfill';

export type RunTrigger = 'Run' | 'Backfill' | 'Schedule';

/** A stored result: what `results` returns under `properties`. */
export interface DriftResultDoc extends Partial<DriftComputation> {
  runId: string;
  trigger: RunTrigger;
  status: 'Succeeded' | 'Failed';
  startTime: string;
  endTime: string;
  startedAt: string;
  endedAt: string;
  threshold: number;
  hasDrift?: boolean;
  baseDatasetId: string;
  targetDatasetId: string;
  error?: { code: string; message: string };
}

export interface BackfillDoc {
  status: 'Running' | 'Succeeded' | 'Failed';
  startDate: string;
  endDate: string;
  total: number;
  completed: number;
  results: {
    startTime: string;
    status: string;
    driftCoefficient?: number;
    hasDrift?: boolean;
    runId: string;
  }[];
  startedAt: string;
  endedAt?: string;
  error?: { code: string; message: string };
}

interface CachedBaseline {
  signature: string;
  prepared: PreparedBaseline;
}

export class DriftRuns {
  /** Prepared baselines by monitor key: repeated runs skip re-reading and re-sorting the baseline. */
  private readonly baselines = new Map<string, CachedBaseline>();
  /** Baseline reads (not served from the cache), for tests and metrics. */
  readonly stats = { baselineReads: 0 };

  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly data: DataAssetService,
    private readonly log: Logger,
    private readonly now: () => Date,
    private readonly computeStats: DriftCompute = computeInline,
  ) {}

  /** Drops a monitor's cached baseline (changed or deleted). */
  forget(monitorKey: string): void {
    this.baselines.delete(monitorKey);
  }

  /**
   * Runs the periods in order, updating the operation after each (compare-and-set: a deleted monitor took its
   * operations with it, and nothing is written back). An unexpected error ends it as Failed.
   */
  async processBackfill(ws: WorkspaceRecord, rec: ResourceRecord, op: ResourceRecord, periods: Period[]) {
    let current = op;
    const save = async (doc: BackfillDoc) => {
      const at = this.now();
      const put = await this.store.putResource(
        { ...current, spec: doc, updatedAt: at.toISOString() },
        at.getTime(),
        {
          ifSequencer: current.sequencer,
        },
      );
      if (put.updated) current = put.rec!;
      return put.updated;
    };
    let doc = op.spec as BackfillDoc;
    try {
      for (const period of periods) {
        if (!(await this.store.getResource(rec.key))) return; // deleted meanwhile
        const r = (await this.runPeriod(ws, rec, period, 'Backfill')).spec as DriftResultDoc;
        const item = { startTime: r.startTime, status: r.status, runId: r.runId };
        if (r.driftCoefficient !== undefined)
          Object.assign(item, { driftCoefficient: r.driftCoefficient, hasDrift: r.hasDrift });
        doc = { ...doc, completed: doc.completed + 1, results: [...doc.results, item] };
        if (doc.completed === doc.total)
          doc = { ...doc, status: 'Succeeded', endedAt: this.now().toISOString() };
        if (!(await save(doc))) return;
      }
    } catch (e) {
      const error = { code: 'BackfillFailed', message: (e as Error).message };
      this.log.error({ backfill: op.key, err: error.message }, 'backfill failed');
      await save({ ...doc, status: 'Failed', endedAt: this.now().toISOString(), error });
    }
  }

  /** Runs one period and stores its result (replacing an older one), with its event in the same transaction. */
  async runPeriod(ws: WorkspaceRecord, rec: ResourceRecord, period: Period, trigger: RunTrigger) {
    const doc = rec.spec as DriftMonitorDoc;
    const spec = doc.spec;
    const startedAt = this.now().toISOString();
    const base = {
      runId: randomUUID(),
      trigger,
      startTime: period.start.toISOString(),
      endTime: period.end.toISOString(),
      startedAt,
      threshold: spec.threshold,
      baseDatasetId: dataId(ws, spec.baselineData),
      targetDatasetId: dataId(ws, spec.targetData),
    };
    let result: DriftResultDoc;
    try {
      const c = await this.compute(ws, rec, period);
      result = {
        ...base,
        status: 'Succeeded',
        endedAt: this.now().toISOString(),
        hasDrift: c.driftCoefficient > spec.threshold,
        ...c,
      };
    } catch (e) {
      const error =
        e instanceof DriftRunError
          ? { code: e.code, message: e.message }
          : e instanceof DatasetError || (e instanceof MlgridError && e.code === 'ResourceNotFound')
            ? { code: 'DataUnreadable', message: e.message }
            : { code: 'RunFailed', message: (e as Error).message };
      if (error.code === 'RunFailed')
        this.log.error({ monitor: rec.key, err: error.message }, 'drift run failed');
      result = { ...base, status: 'Failed', endedAt: this.now().toISOString(), error };
    }
    const key = `${rec.key}/results/${periodKey(period.start)}`.toLowerCase();
    let rows: EventToStore[] = [];
    const at = this.now();
    const { rec: stored } = await this.store.putResource(
      {
        key,
        kind: RESULT_KIND,
        parentKey: rec.key,
        name: periodKey(period.start),
        spec: result,
        createdAt: at.toISOString(),
        updatedAt: at.toISOString(),
      },
      at.getTime(),
      { events: () => (rows = this.events(ws, rec, result)) },
    );
    this.publisher.committed(ws.key, rows);
    return stored!;
  }

  private events(ws: WorkspaceRecord, rec: ResourceRecord, r: DriftResultDoc): EventToStore[] {
    const doc = rec.spec as DriftMonitorDoc;
    const base = {
      workspaceId: ws.id,
      id: randomUUID(),
      now: this.now(),
      dataDriftId: doc.runtime.dataDriftId,
      dataDriftName: rec.name,
      runId: r.runId,
      baseDatasetId: r.baseDatasetId,
      targetDatasetId: r.targetDatasetId,
    };
    if (r.status === 'Succeeded') {
      if (!r.hasDrift) return [];
      const e = datasetDriftDetected({
        ...base,
        driftCoefficient: r.driftCoefficient!,
        startTime: r.startTime,
        endTime: r.endTime,
      });
      return this.publisher.route(ws.key, [systemEvent(e)]);
    }
    if (!(ws.spec as WorkspaceSpec).failureEvents || !r.error) return [];
    const e = datasetDriftDetectionFailed({
      ...base,
      errorCode: r.error.code,
      errorMessage: r.error.message,
    });
    return this.publisher.route(ws.key, [systemEvent(e)]);
  }

  private async compute(ws: WorkspaceRecord, rec: ResourceRecord, period: Period): Promise<DriftComputation> {
    const spec = (rec.spec as DriftMonitorDoc).spec;
    const bds = await this.open(ws, spec.baselineData);
    const tds = await this.open(ws, spec.targetData);
    const plan = planColumns(spec.features, await bds.columns(), await tds.columns(), spec.timestampColumn);
    const signature = JSON.stringify([rec.updatedAt, spec.baselineData, plan.read, bds.files]);
    let cached = this.baselines.get(rec.key);
    if (!cached || cached.signature !== signature) {
      const read = await bds.readColumns(plan.read);
      this.stats.baselineReads++;
      cached = { signature, prepared: prepareBaseline(read, plan) };
      this.baselines.set(rec.key, cached);
    }
    const wanted = cached.prepared.columns.map((c) => plan.read.find((r) => r.name === c.name)!);
    const target = await tds.readColumns(wanted, {
      where: { column: spec.timestampColumn, start: period.start, end: period.end },
    });
    return this.computeStats(cached.prepared, target);
  }

  private open(ws: WorkspaceRecord, ref: DataRef): Promise<Dataset> {
    return this.data.openVersion(ref.workspace ?? wsRef(ws), ref.name, ref.version);
  }
}

export function dataId(ws: WorkspaceRecord, ref: DataRef): string {
  return `${workspaceId(ref.workspace ?? wsRef(ws))}/data/${ref.name}/versions/${ref.version}`;
}

export function wsRef(ws: WorkspaceRecord): WorkspaceRef {
  return { subscriptionId: ws.subscriptionId, resourceGroup: ws.resourceGroup, workspace: ws.name };
}
