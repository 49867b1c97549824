/** PostgreSQL queries and transactions for Command jobs (kept apart so postgres-store.ts stays readable). */
import type pg from 'pg';
import { applyJobPatch, jobColumns, toJob } from './rows.js';
import type { EventToStore, JobRecord, JobStatusPatch } from './types.js';

type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;
type Append = (c: pg.PoolClient, events: EventToStore[], now: number) => Promise<void>;

const COLUMNS = `key, workspace_key, name, spec, status, status_history, sequencer, created_at, updated_at,
  started_at, ended_at, exit_code, failure_reason, runner_id, lease_until, process`;

function values(j: JobRecord): unknown[] {
  return Object.values(jobColumns(j));
}

export class PostgresJobs {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: Tx,
    /** Appends events and their deliveries on the caller's transaction. */
    private readonly append: Append,
  ) {}

  create(
    rec: Omit<JobRecord, 'sequencer'>,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; job: JobRecord }> {
    return this.tx(async (c) => {
      const job: JobRecord = { ...rec, sequencer: 1 };
      const res = await c.query(
        `INSERT INTO jobs (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (key) DO NOTHING`,
        values(job),
      );
      if (res.rowCount === 0) {
        const existing = toJob((await c.query('SELECT * FROM jobs WHERE key = $1', [rec.key])).rows[0]);
        return { created: false, job: existing! };
      }
      await this.append(c, events(1, job), now);
      return { created: true, job };
    });
  }

  async get(key: string): Promise<JobRecord | undefined> {
    return toJob((await this.pool.query('SELECT * FROM jobs WHERE key = $1', [key])).rows[0]);
  }

  async list(workspaceKey: string): Promise<JobRecord[]> {
    const res = await this.pool.query(
      'SELECT * FROM jobs WHERE workspace_key = $1 ORDER BY created_at, key',
      [workspaceKey],
    );
    return res.rows.map((r) => toJob(r)!);
  }

  async byStatus(statuses: readonly string[], limit = 1000, exceptRunner?: string): Promise<JobRecord[]> {
    const res = await this.pool.query(
      `SELECT * FROM jobs WHERE status = ANY($1::text[]) AND ($3::text IS NULL OR runner_id IS DISTINCT FROM $3)
       ORDER BY created_at, key LIMIT $2`,
      [statuses, limit, exceptRunner ?? null],
    );
    return res.rows.map((r) => toJob(r)!);
  }

  async setSpec(key: string, spec: unknown, updatedAt: string): Promise<boolean> {
    const res = await this.pool.query('UPDATE jobs SET spec = $1, updated_at = $2 WHERE key = $3', [
      JSON.stringify(spec),
      updatedAt,
      key,
    ]);
    return (res.rowCount ?? 0) > 0;
  }

  updateStatus(
    key: string,
    patch: JobStatusPatch,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ updated: boolean; job?: JobRecord }> {
    return this.tx(async (c) => {
      // The row lock serialises changes from several nodes: each sees the status the other committed.
      const cur = toJob((await c.query('SELECT * FROM jobs WHERE key = $1 FOR UPDATE', [key])).rows[0]);
      if (!cur) return { updated: false };
      const next = applyJobPatch(cur, patch);
      if (!next) return { updated: false, job: cur };
      const v = jobColumns(next);
      await c.query(
        `UPDATE jobs SET spec = $2, status = $3, status_history = $4, sequencer = $5, updated_at = $6,
           started_at = $7, ended_at = $8, exit_code = $9, failure_reason = $10, runner_id = $11,
           lease_until = $12, process = $13
         WHERE key = $1`,
        [
          v.key,
          v.spec,
          v.status,
          v.statusHistory,
          v.sequencer,
          v.updatedAt,
          v.startedAt,
          v.endedAt,
          v.exitCode,
          v.failureReason,
          v.runnerId,
          v.leaseUntil,
          v.process,
        ],
      );
      await this.append(c, events(next.sequencer, next), now);
      return { updated: true, job: next };
    });
  }

  async renew(runnerId: string, leaseUntil: number): Promise<number> {
    const res = await this.pool.query('UPDATE jobs SET lease_until = $1 WHERE runner_id = $2', [
      leaseUntil,
      runnerId,
    ]);
    return res.rowCount ?? 0;
  }

  async delete(key: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM jobs WHERE key = $1', [key])).rowCount ?? 0) > 0;
  }
}
