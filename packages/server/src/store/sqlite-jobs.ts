/** SQLite statements and transactions for Command jobs (kept apart so sqlite-store.ts stays readable). */
import type Database from 'better-sqlite3';
import { applyJobPatch, jobColumns, toJob, type Row } from './rows.js';
import type { EventToStore, JobRecord, JobStatusPatch } from './types.js';

type Append = (events: EventToStore[], now: number) => void;

export class SqliteJobs {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    /** Appends events and their deliveries inside the caller's transaction. */
    private readonly append: Append,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert:
        p(`INSERT INTO jobs (key, workspace_key, name, spec, status, status_history, sequencer, created_at, updated_at,
          started_at, ended_at, exit_code, failure_reason, runner_id, lease_until, process)
        VALUES (@key, @workspaceKey, @name, @spec, @status, @statusHistory, @sequencer, @createdAt, @updatedAt,
          @startedAt, @endedAt, @exitCode, @failureReason, @runnerId, @leaseUntil, @process)`),
      update: p(`UPDATE jobs SET spec = @spec, status = @status, status_history = @statusHistory,
          sequencer = @sequencer, updated_at = @updatedAt, started_at = @startedAt, ended_at = @endedAt,
          exit_code = @exitCode, failure_reason = @failureReason, runner_id = @runnerId,
          lease_until = @leaseUntil, process = @process
        WHERE key = @key`),
      get: p('SELECT * FROM jobs WHERE key = ?'),
      list: p('SELECT * FROM jobs WHERE workspace_key = ? ORDER BY created_at, key'),
      byStatus: p(`SELECT * FROM jobs WHERE status IN (SELECT value FROM json_each(@statuses))
        AND (@except IS NULL OR runner_id IS NOT @except) ORDER BY created_at, key LIMIT @limit`),
      setSpec: p('UPDATE jobs SET spec = ?, updated_at = ? WHERE key = ?'),
      renew: p('UPDATE jobs SET lease_until = ? WHERE runner_id = ?'),
      delete: p('DELETE FROM jobs WHERE key = ?'),
      deleteByWorkspace: p('DELETE FROM jobs WHERE workspace_key = ?'),
    };
  }

  create(
    rec: Omit<JobRecord, 'sequencer'>,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): { created: boolean; job: JobRecord } {
    return this.db.transaction(() => {
      const existing = toJob(this.s.get.get(rec.key) as Row | undefined);
      if (existing) return { created: false, job: existing };
      const job: JobRecord = { ...rec, sequencer: 1 };
      this.s.insert.run(jobColumns(job));
      this.append(events(1, job), now);
      return { created: true, job };
    })();
  }

  get(key: string): JobRecord | undefined {
    return toJob(this.s.get.get(key) as Row | undefined);
  }

  list(workspaceKey: string): JobRecord[] {
    return (this.s.list.all(workspaceKey) as Row[]).map((r) => toJob(r)!);
  }

  byStatus(statuses: readonly string[], limit = 1000, exceptRunner?: string): JobRecord[] {
    const q = { statuses: JSON.stringify(statuses), limit, except: exceptRunner ?? null };
    return (this.s.byStatus.all(q) as Row[]).map((r) => toJob(r)!);
  }

  setSpec(key: string, spec: unknown, updatedAt: string): boolean {
    return this.s.setSpec.run(JSON.stringify(spec), updatedAt, key).changes > 0;
  }

  updateStatus(
    key: string,
    patch: JobStatusPatch,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): { updated: boolean; job?: JobRecord } {
    return this.db.transaction(() => {
      const cur = toJob(this.s.get.get(key) as Row | undefined);
      if (!cur) return { updated: false };
      const next = applyJobPatch(cur, patch);
      if (!next) return { updated: false, job: cur };
      this.s.update.run(jobColumns(next));
      this.append(events(next.sequencer, next), now);
      return { updated: true, job: next };
    })();
  }

  renew(runnerId: string, leaseUntil: number): number {
    return this.s.renew.run(leaseUntil, runnerId).changes;
  }

  delete(key: string): boolean {
    return this.s.delete.run(key).changes > 0;
  }

  /** Inside the workspace's delete transaction. */
  deleteByWorkspace(workspaceKey: string): void {
    this.s.deleteByWorkspace.run(workspaceKey);
  }
}
