/**
 * Reporting from training code: `Run` logs metrics (batched) and, for jobs run elsewhere, the job's status.
 * Inside a job mlgrid runs, `Run.fromEnv()` finds everything it needs (`MLGRID_SERVER`, `MLGRID_JOB_ID`,
 * `MLGRID_JOB_TOKEN`); elsewhere set `MLGRID_SERVER`, `MLGRID_JOB_ID` and `MLGRID_KEY` yourself.
 */
import { ApiError } from './errors.js';
import { API_VERSIONS, seg, Transport, type FetchLike } from './http.js';
import { withLineage, type LineageIds } from './lineage.js';
import type { ModelVersionIn, ModelVersionOut } from './types.js';

const ML = API_VERSIONS.ml;

/** The statuses a report may name (the job's state machine walks there from where it is). */
export type ReportedStatus =
  'Queued' | 'Starting' | 'Running' | 'Finalizing' | 'CancelRequested' | 'Completed' | 'Failed' | 'Canceled';

export interface StatusReportIn {
  status: ReportedStatus;
  /** With Completed, Failed or Canceled. */
  exitCode?: number;
  /** With Failed. */
  failureReason?: string;
}

export interface StatusReportOut {
  id: string;
  name: string;
  status: string;
  /** false when the job already was in that status (a retried report). */
  changed: boolean;
}

export interface MetricIn {
  name: string;
  value: number;
  /** Default: one after the series' last step (0 for its first point). */
  step?: number;
  /** ISO 8601; default the server's time of arrival. */
  time?: string;
}

export interface MetricPoint {
  step: number;
  value: number;
  time: string;
}

export interface MetricSeriesOut {
  name: string;
  last?: MetricPoint;
  points: MetricPoint[];
}

/** The job report calls, by the job's ARM id (what `client.jobs.*` and `Run` share). */
export class JobReports {
  constructor(private readonly http: Transport) {}

  reportStatus(jobId: string, report: StatusReportIn): Promise<StatusReportOut> {
    return this.http.json('POST', `${jobId}/reportStatus`, { apiVersion: ML, body: report });
  }

  logMetrics(jobId: string, metrics: MetricIn[]): Promise<{ logged: number }> {
    return this.http.json('POST', `${jobId}/metrics`, { apiVersion: ML, body: { metrics } });
  }

  async getMetrics(jobId: string, name?: string): Promise<MetricSeriesOut[]> {
    const query = name === undefined ? {} : { name };
    return (
      await this.http.json<{ value: MetricSeriesOut[] }>('GET', `${jobId}/metrics`, { apiVersion: ML, query })
    ).value;
  }
}

export interface RunOptions {
  /** The mlgrid server. */
  server: string;
  /** The job's ARM id (`/subscriptions/…/workspaces/{ws}/jobs/{name}`). */
  jobId: string;
  /** The job token, or an admin or principal key. */
  key: string;
  /** The chain the job belongs to (`MLGRID_CORRELATION_ID`, `MLGRID_CAUSATION_ID`), passed on by `registerModel`. */
  lineage?: LineageIds;
  fetch?: FetchLike;
  /** Points are sent when this many are waiting (default 100) … */
  batchSize?: number;
  /** … or this long after the first of them was logged (default 2000 ms). */
  flushIntervalMs?: number;
}

/** At most this many points wait while the server cannot be reached; older ones are dropped first. */
const MAX_PENDING = 10_000;

export class Run {
  readonly jobId: string;
  /** The job's chain, when an automation started it. */
  readonly lineage?: LineageIds;
  private readonly http: Transport;
  private readonly reports: JobReports;
  private pending: MetricIn[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(private readonly opts: RunOptions) {
    const f = opts.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new TypeError('No fetch: pass `fetch` (Node 20 has a global one).');
    this.jobId = opts.jobId.replace(/\/+$/, '');
    if (opts.lineage) this.lineage = opts.lineage;
    this.http = new Transport(opts.server.replace(/\/+$/, ''), opts.key, f);
    this.reports = new JobReports(this.http);
  }

  /** From the variables mlgrid sets in a job's process (or that you set for a job run elsewhere). */
  static fromEnv(
    env: Record<string, string | undefined> = globalThis.process?.env ?? {},
    opts: Partial<RunOptions> = {},
  ): Run {
    const server = opts.server ?? env.MLGRID_SERVER;
    const jobId = opts.jobId ?? env.MLGRID_JOB_ID;
    const key = opts.key ?? env.MLGRID_JOB_TOKEN ?? env.MLGRID_KEY;
    const missing = [
      ...(server ? [] : ['MLGRID_SERVER']),
      ...(jobId ? [] : ['MLGRID_JOB_ID']),
      ...(key ? [] : ['MLGRID_JOB_TOKEN or MLGRID_KEY']),
    ];
    if (missing.length > 0) throw new Error(`Run.fromEnv: ${missing.join(', ')} not set`);
    const correlationId = env.MLGRID_CORRELATION_ID;
    const lineage =
      opts.lineage ??
      (correlationId ? { correlationId, causationId: env.MLGRID_CAUSATION_ID || correlationId } : undefined);
    return new Run({ ...opts, server: server!, jobId: jobId!, key: key!, ...(lineage ? { lineage } : {}) });
  }

  /**
   * Registers a model version in the job's workspace (raising ModelRegistered), naming this job as Azure's
   * `jobName` and, where the body names no lineage, the job's chain with this job as the cause (as the server
   * does when a job registers). Inside a job mlgrid runs, the job token may do this while the job runs.
   */
  async registerModel(name: string, version: string, body: ModelVersionIn): Promise<ModelVersionOut> {
    const at = this.jobId.toLowerCase().lastIndexOf('/jobs/');
    const ws = this.jobId.slice(0, at);
    const p = body.properties;
    const l = this.lineage;
    const props = withLineage(p.properties, l && { correlationId: l.correlationId, causationId: this.jobId });
    const properties = {
      ...p,
      jobName: p.jobName ?? this.jobId.slice(at + '/jobs/'.length),
      ...(props ? { properties: props } : {}),
    };
    const path = `${ws}/models/${seg(name)}/versions/${seg(version)}`;
    return this.http.json('PUT', path, { apiVersion: ML, body: { ...body, properties } });
  }

  /** Queues a point; it is sent with the next batch. Use `flush()` to know it arrived. */
  logMetric(name: string, value: number, step?: number): void {
    this.pending.push({
      name,
      value,
      ...(step !== undefined ? { step } : {}),
      time: new Date().toISOString(),
    });
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    if (this.pending.length >= (this.opts.batchSize ?? 100)) void this.send().catch(() => undefined);
    else if (this.timer === undefined) {
      this.timer = setTimeout(
        () => void this.send().catch(() => undefined),
        this.opts.flushIntervalMs ?? 2000,
      );
      (this.timer as { unref?: () => void }).unref?.(); // never keeps a finished script alive
    }
  }

  /** Sends every queued point; rejects with the error of a failed batch (its points are kept when retriable). */
  async flush(): Promise<void> {
    await this.send();
    const err = this.failure;
    this.failure = undefined;
    if (err !== undefined) throw err;
  }

  /** Flushes the metrics, then reports the status (jobs run elsewhere; mlgrid's own follow their process). */
  async reportStatus(
    status: ReportedStatus,
    extra: Omit<StatusReportIn, 'status'> = {},
  ): Promise<StatusReportOut> {
    await this.flush();
    return this.reports.reportStatus(this.jobId, { status, ...extra });
  }

  /** The job's series as stored (flushes first, so they include what was logged here). */
  async metrics(name?: string): Promise<MetricSeriesOut[]> {
    await this.flush();
    return this.reports.getMetrics(this.jobId, name);
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    await this.flush();
  }

  private send(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    // One batch at a time, in order, so that default steps follow the logging order.
    this.sending = this.sending.then(async () => {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, 1000);
        try {
          await this.reports.logMetrics(this.jobId, batch);
        } catch (err) {
          const retriable = !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
          if (retriable) this.pending.unshift(...batch);
          this.failure = err;
          return;
        }
      }
    });
    return this.sending;
  }
}
