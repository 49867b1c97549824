/**
 * Status and metrics reported by the job's own code (mlgrid extensions below `…/jobs/{name}`): status reports for
 * external jobs go through the same ledger as the local runner's changes (compare-and-set plus Run events in one
 * transaction); metrics are one resource document per series below the job, appended with compare-and-set.
 */
import { createHash } from 'node:crypto';
import { MlgridError, notFound } from '../core/errors.js';
import { ACTIVE_STATUSES, isTerminal, type JobSpec, type JobStatus } from '../core/job.js';
import {
  appendPoints,
  illegalReport,
  isExternal,
  jobToken,
  METRIC_LIMITS,
  parseMetrics,
  parseStatusReport,
  renderSeries,
  reportPath,
  verifyJobToken,
  type MetricIn,
  type MetricSeries,
  type StatusReport,
} from '../core/job-report.js';
import { lineageEnv, lineageOf } from '../core/lineage.js';
import { workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import { JobLedger } from '../engine/job-ledger.js';
import type { Publisher } from '../engine/publisher.js';
import type { JobRecord, JobStatusPatch, Store, WorkspaceRecord } from '../store/types.js';
import { requireWorkspace } from './require-workspace.js';

const METRIC_KIND = 'jobMetric';
/** The store meta key of the secret job tokens are signed with. */
export const JOB_TOKEN_META = 'job_token_secret';
/** Compare-and-set retries before a contended change gives up with a 409. */
const ATTEMPTS = 8;

export class JobReportService {
  private readonly ledger: JobLedger;

  constructor(
    private readonly store: Store,
    publisher: Publisher,
    /** Signs job tokens (`store.initMeta`, so every node of a shared store accepts every node's tokens). */
    private readonly secret: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.ledger = new JobLedger(store, publisher, now);
  }

  /**
   * Moves an external job to the reported status, step by step through the state machine, each step raising
   * what it raises for a local job. Reporting the current status again changes nothing (a retried report).
   */
  async reportStatus(ref: WorkspaceRef, name: string, body: unknown) {
    const report = parseStatusReport(body);
    const { ws, job: first } = await this.requireJob(ref, name);
    if (!isExternal(first.spec)) {
      throw new MlgridError(
        'Conflict',
        'mlgrid runs this job on its host, so its status follows its process; only jobs created with ' +
          'properties.properties["mlgrid.runner"] = "external" take status reports.',
        'status',
      );
    }
    let job = first;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const path = reportPath(job.status, report.status);
      if (!path) throw illegalReport(job.status, report.status);
      const changed = path.length > 0;
      let lost = false;
      for (const step of path) {
        const r = await this.ledger.change(job.key, this.patch(job, step, report), ws);
        if (!r.job) throw notFound('job', `${ws.id}/jobs/${name}`);
        job = r.job;
        if (!r.updated) {
          lost = true; // someone else changed it (a cancel, a parallel report): re-plan from where it is
          break;
        }
      }
      if (!lost) return { id: `${ws.id}/jobs/${job.name}`, name: job.name, status: job.status, changed };
    }
    throw new MlgridError('Conflict', 'The job kept changing while the report was applied; retry.', 'status');
  }

  /** Appends points to the job's series; each series is appended atomically (compare-and-set). */
  async logMetrics(ref: WorkspaceRef, name: string, body: unknown): Promise<{ logged: number }> {
    const metrics = parseMetrics(body);
    const { job } = await this.requireJob(ref, name);
    const byName = new Map<string, MetricIn[]>();
    for (const m of metrics) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
    const existing = await this.store.listResources({ kind: METRIC_KIND, parentKey: job.key });
    const known = new Set(existing.map((r) => r.name));
    const fresh = [...byName.keys()].filter((n) => !known.has(n));
    if (known.size + fresh.length > METRIC_LIMITS.namesPerJob) {
      throw new MlgridError(
        'Conflict',
        `A job has at most ${METRIC_LIMITS.namesPerJob} metric names; ${fresh[0]} would exceed it.`,
        `metrics[${metrics.findIndex((m) => m.name === fresh[0])}].name`,
      );
    }
    for (const [metric, points] of byName) await this.append(job, metric, points, metrics);
    return { logged: metrics.length };
  }

  /** Every series of the job (or the one named), with its points in logging order. */
  async getMetrics(ref: WorkspaceRef, name: string, metric?: string) {
    const { job } = await this.requireJob(ref, name);
    if (metric !== undefined) {
      const rec = await this.store.getResource(seriesKey(job, metric));
      return { value: rec ? [renderSeries(rec.spec as MetricSeries)] : [] };
    }
    const all = await this.store.listResources({ kind: METRIC_KIND, parentKey: job.key });
    return { value: all.map((r) => renderSeries(r.spec as MetricSeries)) };
  }

  /** Whether `token` is the job token of exactly this job (a local job's process reports with it). */
  async tokenAllows(ref: WorkspaceRef, name: string, token: string | undefined): Promise<boolean> {
    if (token === undefined || !token.startsWith('mlgj_')) return false;
    const job = await this.store.getJob(jobKeyOf(ref, name));
    return job !== undefined && verifyJobToken(this.secret, job, token);
  }

  /**
   * The running job of this workspace whose own token `token` is (a job registering a model, docs/lineage.md).
   * A token names no job, so it is checked against the workspace's active jobs: a handful, one HMAC each.
   */
  async activeJobOf(ref: WorkspaceRef, token: string | undefined): Promise<JobRecord | undefined> {
    if (token === undefined || !token.startsWith('mlgj_')) return undefined;
    const wsKey = workspaceId(ref).toLowerCase();
    const active = await this.store.listJobsByStatus(ACTIVE_STATUSES);
    return active.find((j) => j.workspaceKey === wsKey && verifyJobToken(this.secret, j, token));
  }

  /** What a local job's process gets to report with: the server, its ARM id, its token; its lineage if any. */
  processEnv(ws: WorkspaceRecord, job: JobRecord, serverUrl: string | undefined): Record<string, string> {
    const id = `${ws.id}/jobs/${job.name}`;
    return {
      ...(serverUrl !== undefined ? { MLGRID_SERVER: serverUrl } : {}),
      MLGRID_JOB_ID: id,
      MLGRID_JOB_TOKEN: jobToken(this.secret, job),
      ...lineageEnv(lineageOf((job.spec as JobSpec).properties), id),
    };
  }

  // ---------------------------------------------------------------- helpers

  private patch(job: JobRecord, step: JobStatus, r: StatusReport): Omit<JobStatusPatch, 'time'> {
    const at = this.ledger.iso();
    const p: Omit<JobStatusPatch, 'time'> = { status: step, from: [job.status] };
    if (step === 'Running' && job.startedAt === undefined) p.startedAt = at;
    if (isTerminal(step)) {
      p.endedAt = at;
      if (step === r.status && r.exitCode !== undefined) p.exitCode = r.exitCode;
      if (step === 'Failed') p.failureReason = r.failureReason ?? 'reported as Failed';
    }
    return p;
  }

  private async append(job: JobRecord, metric: string, points: MetricIn[], all: MetricIn[]): Promise<void> {
    const key = seriesKey(job, metric);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const cur = await this.store.getResource(key);
      const now = this.now();
      const next = appendPoints(cur?.spec as MetricSeries | undefined, metric, points, now.getTime());
      if (!next) {
        throw new MlgridError(
          'Conflict',
          `The series ${metric} has reached its ${METRIC_LIMITS.pointsPerSeries} points.`,
          `metrics[${all.findIndex((m) => m.name === metric)}].name`,
        );
      }
      const at = now.toISOString();
      const r = await this.store.putResource(
        {
          key,
          kind: METRIC_KIND,
          parentKey: job.key,
          name: metric,
          spec: next,
          createdAt: at,
          updatedAt: at,
        },
        now.getTime(),
        { ifSequencer: cur?.sequencer ?? 0 },
      );
      if (r.updated) return;
    }
    throw new MlgridError('Conflict', `The series ${metric} kept changing; retry.`);
  }

  private async requireJob(
    ref: WorkspaceRef,
    name: string,
  ): Promise<{ ws: WorkspaceRecord; job: JobRecord }> {
    const ws = await requireWorkspace(this.store, ref);
    const job = await this.store.getJob(`${ws.key}/jobs/${name.toLowerCase()}`);
    if (!job) throw notFound('job', `${ws.id}/jobs/${name}`);
    return { ws, job };
  }
}

function jobKeyOf(ref: WorkspaceRef, name: string): string {
  return `${workspaceId(ref).toLowerCase()}/jobs/${name.toLowerCase()}`;
}

/** Metric names are case-sensitive (`Loss` and `loss` are two series); resource keys are lower case. */
function seriesKey(job: JobRecord, metric: string): string {
  return `${job.key}/metrics/${createHash('sha256').update(metric, 'utf8').digest('hex').slice(0, 40)}`;
}
