/**
 * Command jobs of a workspace (Azure ML ARM shapes, api-version 2022-10-01): create (which queues the job for
 * the runner), read, list, cancel, delete, and mlgrid's log endpoint. Status changes belong to the runner.
 */
import {
  createReadStream,
  existsSync,
  openSync,
  readSync,
  closeSync,
  fstatSync,
  rmSync,
  statSync,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalid, notFound } from '../core/errors.js';
import { applyJobUpdate, isTerminal, parseJobPut, renderJob, type JobSpec } from '../core/job.js';
import { experimentId } from '../core/job-run.js';
import { runnerKind } from '../core/job-report.js';
import { checkLineage, lineageOf } from '../core/lineage.js';
import { jobDirectory } from '../engine/job-process.js';
import type { JobRunner } from '../engine/job-runner.js';
import { workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { JobRecord, Store, WorkspaceRecord } from '../store/types.js';
import type { LineageService } from './lineage.js';
import { requireWorkspace } from './require-workspace.js';

/** How long a DELETE waits for a running job to stop beyond the kill grace. */
const DELETE_SLACK_MS = 5000;

export class JobService {
  constructor(
    private readonly store: Store,
    private readonly runner: JobRunner,
    private readonly cfg: { dir: string; cancelGraceMs: number },
    private readonly now: () => Date = () => new Date(),
    private readonly lineage?: LineageService,
  ) {}

  /** PUT: a new job is created and queued (201); on an existing one only the updatable fields change (200). */
  async put(ref: WorkspaceRef, name: string, body: unknown, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    const spec = this.withOutputDefaults(parseJobPut(body, { name }), ws, name);
    const local = runnerKind(spec) === 'local'; // also validates properties.properties["mlgrid.runner"]
    checkLineage(spec.properties, 'properties.properties');
    const key = jobKey(ws, name);
    const existing = await this.store.getJob(key);
    if (existing) return { created: false, out: await this.update(ws, existing, spec, base) };
    // A job run elsewhere names a folder on its own machine.
    if (spec.codePath !== undefined && local && !isDir(spec.codePath)) {
      throw invalid('properties.codeId', `the folder ${spec.codePath} does not exist on the mlgrid host`);
    }
    const lineage = lineageOf(spec.properties); // a job an automation submits (docs/lineage.md)
    if (lineage) await this.lineage?.joined(ws, { kind: 'job', id: `${ws.id}/jobs/${name}`, lineage });
    const { created, job } = await this.runner.submit(ws, name, spec);
    if (!created) return { created, out: await this.update(ws, job, spec, base) }; // lost a race to a twin PUT
    return { created, out: this.render(ws, job, base) };
  }

  async get(ref: WorkspaceRef, name: string, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    return this.render(ws, await this.requireJob(ws, name), base);
  }

  async list(ref: WorkspaceRef, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    return (await this.store.listJobs(ws.key)).map((j) => this.render(ws, j, base));
  }

  /** POST cancel: the job as it is after the request (CancelRequested while its process is being stopped). */
  async cancel(ref: WorkspaceRef, name: string): Promise<JobRecord> {
    const ws = await requireWorkspace(this.store, ref);
    const job = await this.requireJob(ws, name);
    return (await this.runner.cancel(job.key)) ?? job;
  }

  /** Where a cancel stands: done once the job is in a final status. */
  async cancelDone(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    return isTerminal((await this.requireJob(ws, name)).status);
  }

  /** DELETE: a job still running is cancelled (and waited for) first; its directory goes with it. */
  async delete(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const job = await this.store.getJob(jobKey(ws, name));
    if (!job) return false;
    if (!isTerminal(job.status)) {
      await this.runner.cancel(job.key);
      await this.runner.settled(job.key, this.cfg.cancelGraceMs + DELETE_SLACK_MS);
      this.runner.abandon([job.key]);
    }
    const deleted = await this.store.deleteJob(job.key);
    await this.store.deleteResource(job.key, this.now().getTime()); // its metric series
    rmSync(jobDirectory(this.cfg.dir, ws.workspaceGuid, job.name), { recursive: true, force: true });
    return deleted;
  }

  /** Before a workspace is deleted: its jobs' processes are killed (their rows go with the workspace). */
  async workspaceDeleting(ref: WorkspaceRef): Promise<void> {
    const ws = await this.store.getWorkspace(workspaceId(ref).toLowerCase());
    if (!ws) return;
    this.runner.abandon((await this.store.listJobs(ws.key)).map((j) => j.key));
    rmSync(join(this.cfg.dir, ws.workspaceGuid), { recursive: true, force: true });
  }

  /**
   * mlgrid extension: the job's `std_log.txt` (stdout and stderr), whole, its last `tail` lines, or the bytes
   * from byte `offset` on (raw, so a follower can resume exactly where it stopped: `mlgrid ml job stream`).
   */
  async logs(ref: WorkspaceRef, name: string, tail?: number, offset?: number): Promise<string | Readable> {
    const ws = await requireWorkspace(this.store, ref);
    const job = await this.requireJob(ws, name);
    const file = join(jobDirectory(this.cfg.dir, ws.workspaceGuid, job.name), 'std_log.txt');
    if (!existsSync(file)) return ''; // not started yet
    if (offset !== undefined) return createReadStream(file, { start: offset });
    return tail === undefined ? createReadStream(file, 'utf8') : tailLines(file, tail);
  }

  private async update(ws: WorkspaceRecord, job: JobRecord, spec: JobSpec, base: string) {
    const next = applyJobUpdate(job.spec as JobSpec, spec);
    const at = this.now().toISOString();
    await this.store.updateJobSpec(job.key, next, at);
    return this.render(ws, { ...job, spec: next, updatedAt: at }, base);
  }

  /** Outputs without a URI are written under the job's directory, as Azure gives them a default location. */
  private withOutputDefaults(spec: JobSpec, ws: WorkspaceRecord, name: string): JobSpec {
    const dir = join(jobDirectory(this.cfg.dir, ws.workspaceGuid, name), 'outputs');
    for (const [k, b] of Object.entries(spec.outputs)) {
      if (b.uri === undefined) b.uri = pathToFileURL(join(dir, k)).href;
    }
    return spec;
  }

  private render(ws: WorkspaceRecord, j: JobRecord, base: string) {
    const spec = j.spec as JobSpec;
    return renderJob(spec, {
      workspaceId: ws.id,
      name: j.name,
      status: j.status,
      statusHistory: j.statusHistory,
      experimentId: experimentId(ws.id, spec.experimentName),
      createdAt: j.createdAt,
      updatedAt: j.updatedAt,
      logsUrl: `${base}${ws.id}/jobs/${j.name}/logs`,
      ...(j.startedAt !== undefined ? { startedAt: j.startedAt } : {}),
      ...(j.endedAt !== undefined ? { endedAt: j.endedAt } : {}),
      ...(j.exitCode !== undefined ? { exitCode: j.exitCode } : {}),
      ...(j.failureReason !== undefined ? { failureReason: j.failureReason } : {}),
    });
  }

  private async requireJob(ws: WorkspaceRecord, name: string): Promise<JobRecord> {
    const job = await this.store.getJob(jobKey(ws, name));
    if (!job) throw notFound('job', `${ws.id}/jobs/${name}`);
    return job;
  }
}

function jobKey(ws: WorkspaceRecord, name: string): string {
  return `${ws.key}/jobs/${name.toLowerCase()}`;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The last `n` lines, reading the file backwards in chunks (logs can be large). */
function tailLines(file: string, n: number): string {
  if (n === 0) return '';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const chunk = 64 * 1024;
    let pos = size;
    let buf = Buffer.alloc(0);
    let newlines = 0;
    while (pos > 0 && newlines <= n) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const part = Buffer.alloc(len);
      readSync(fd, part, 0, len, pos);
      for (const byte of part) if (byte === 0x0a) newlines++;
      buf = Buffer.concat([part, buf]);
    }
    const text = buf.toString('utf8');
    const lines = text.split('\n');
    if (text.endsWith('\n')) lines.pop();
    const out = lines.slice(-n).join('\n');
    return out !== '' && text.endsWith('\n') ? `${out}\n` : out;
  } finally {
    closeSync(fd);
  }
}
