/**
 * A job's creation and status changes with the Run events they raise, committed together (outbox, as model
 * versions): the events are routed inside the store's transaction and announced only after it committed.
 */
import { randomUUID } from 'node:crypto';
import { transition, type JobSpec, type JobStatus } from '../core/job.js';
import { jobEtag, runEvents } from '../core/job-run.js';
import { EXTERNAL_RUNNER, isExternal } from '../core/job-report.js';
import { systemEvent } from '../core/publish.js';
import type { WorkspaceSpec } from '../core/workspace.js';
import type { EventToStore, JobRecord, JobStatusPatch, Store, WorkspaceRecord } from '../store/types.js';
import type { Publisher } from './publisher.js';

export function workspaceKeyOf(jobKey: string): string {
  return jobKey.slice(0, jobKey.lastIndexOf('/jobs/'));
}

export class JobLedger {
  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly now: () => Date = () => new Date(),
    private readonly newId: () => string = randomUUID,
  ) {}

  /** A new job in NotStarted; an existing one is returned unchanged (`created: false`). */
  async create(
    ws: WorkspaceRecord,
    name: string,
    spec: JobSpec,
  ): Promise<{ created: boolean; job: JobRecord }> {
    const now = this.now();
    const at = now.toISOString();
    let rows: EventToStore[] = [];
    const r = await this.store.createJob(
      {
        key: `${ws.key}/jobs/${name.toLowerCase()}`,
        workspaceKey: ws.key,
        name,
        spec,
        status: 'NotStarted',
        statusHistory: [{ status: 'NotStarted', time: at }],
        createdAt: at,
        updatedAt: at,
        // Held by no runner process from its first commit on: no node may claim it in between.
        ...(isExternal(spec) ? { runnerId: EXTERNAL_RUNNER } : {}),
      },
      (seq, job) => (rows = this.eventRows(ws, job, seq, now)),
      now.getTime(),
    );
    if (r.created) this.publisher.committed(ws.key, rows);
    return r;
  }

  /** One compare-and-set status change (see `JobStatusPatch`); `known` saves reading the workspace again. */
  async change(
    key: string,
    p: Omit<JobStatusPatch, 'time'>,
    known?: WorkspaceRecord,
  ): Promise<{ updated: boolean; job?: JobRecord }> {
    // Every guard must name a legal predecessor: the store's compare-and-set then enforces the state machine.
    for (const from of p.from) transition(from, p.status as JobStatus);
    const ws = known ?? (await this.store.getWorkspace(workspaceKeyOf(key)));
    const now = this.now();
    let rows: EventToStore[] = [];
    const r = await this.store.updateJobStatus(
      key,
      { ...p, time: now.toISOString() },
      (seq, job) => (rows = ws ? this.eventRows(ws, job, seq, now) : []),
      now.getTime(),
    );
    if (r.updated) this.publisher.committed(workspaceKeyOf(key), rows);
    return r;
  }

  iso(): string {
    return this.now().toISOString();
  }

  private eventRows(ws: WorkspaceRecord, job: JobRecord, seq: number, now: Date): EventToStore[] {
    const spec = job.spec as JobSpec;
    const events = runEvents({
      workspaceId: ws.id,
      workspace: ws.spec as WorkspaceSpec,
      jobName: job.name,
      spec,
      status: job.status,
      sequencer: seq,
      etag: jobEtag(spec, job.status, seq),
      now,
      newId: this.newId,
    });
    return events.length === 0 ? [] : this.publisher.route(ws.key, events.map(systemEvent));
  }
}
