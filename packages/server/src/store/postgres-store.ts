/** PostgreSQL adapter (pg). Several mlgrid nodes may share one database. */
import pg from 'pg';
import { loadMigrations, MIGRATIONS_TABLE } from './migrations.js';
import { appendRows, claimRows, relaxedPool, settleRows, PgSubscriptionRefs } from './postgres-deliveries.js';
import { PostgresJobs } from './postgres-jobs.js';
import { PostgresResources } from './postgres-resources.js';
import {
  toModelContainer,
  toModelVersion,
  toWorkspace,
  outcomeFilter,
  toAttempt,
  toDelivery,
  toReplayEvent,
  toSub,
  toTopic,
  topicNameTaken,
} from './rows.js';
import type {
  AttemptQuery,
  AttemptRecord,
  AttemptView,
  ClaimedDelivery,
  ReplayEvent,
  ResourcePut,
  ResourceRecord,
  Settlement,
  DeliveryLease,
  DeliveryQuery,
  DeliveryStatus,
  DeliveryView,
  EventSubscriptionRecord,
  EventToStore,
  JobRecord,
  JobStatusPatch,
  ModelContainerRecord,
  ModelVersionRecord,
  Store,
  TopicRecord,
  WorkspaceRecord,
} from './types.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema to live in (created when missing); tests use one schema per run. Default `public`. */
  schema?: string;
  poolSize?: number;
}

const CHANNEL = 'mlgrid_event_subscriptions';
/** The reference of the subscription key in $1: deliveries name their subscription by it (migration 007). */
const SUB = '(SELECT id FROM subscription_refs WHERE key = $1)';

const MIGRATION_LOCK = 0x6d6c6772; // "mlgr": serialises migrations of nodes starting together

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly capabilities = { multiNode: true, notify: true };
  private readonly jobs: PostgresJobs;
  private readonly res: PostgresResources;
  /** Claims and settlements: sessions with synchronous_commit off (postgres-deliveries.ts). */
  private readonly relaxed: pg.Pool;
  private readonly refs: PgSubscriptionRefs;
  private constructor(
    readonly pool: pg.Pool,
    private readonly connect: pg.ClientConfig,
  ) {
    this.relaxed = relaxedPool(connect);
    this.refs = new PgSubscriptionRefs(pool);
    const tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T> = (fn) => this.tx(fn);
    const append = (c: pg.PoolClient, events: EventToStore[], now: number) => this.appendIn(c, events, now);
    this.jobs = new PostgresJobs(pool, tx, append);
    this.res = new PostgresResources(pool, tx, append);
  }

  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = opts.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid PostgreSQL schema name: ${schema}`);
    const connect = { connectionString: opts.connectionString, options: `-c search_path=${schema}` };
    const pool = new pg.Pool({ ...connect, max: opts.poolSize ?? 8 });
    pool.on('error', () => {}); // idle-client errors surface on the next query instead of crashing
    const store = new PostgresStore(pool, connect);
    try {
      await store.migrate(schema);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private async migrate(schema: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query(MIGRATIONS_TABLE);
      const applied = new Set(
        (await c.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
      for (const m of loadMigrations('postgres')) {
        if (applied.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      }
    });
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.relaxed.end()]);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.pool.query('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async initMeta(key: string, value: string): Promise<string> {
    await this.pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
      key,
      value,
    ]);
    return (await this.getMeta(key))!;
  }

  async putTopic(r: TopicRecord): Promise<{ created: boolean }> {
    try {
      const res = await this.pool.query(
        `INSERT INTO topics (key, id, subscription_id, resource_group, name, spec, key1, key2, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, key1 = excluded.key1, key2 = excluded.key2,
           updated_at = excluded.updated_at
         RETURNING (xmax = 0) AS created`,
        [
          r.key,
          r.id,
          r.subscriptionId,
          r.resourceGroup,
          r.name,
          JSON.stringify(r.spec),
          r.key1,
          r.key2,
          r.createdAt,
          r.updatedAt,
        ],
      );
      return { created: res.rows[0].created };
    } catch (err) {
      if ((err as { constraint?: string }).constraint === 'topics_name') throw topicNameTaken(r.name);
      throw err;
    }
  }

  async getTopic(key: string): Promise<TopicRecord | undefined> {
    return toTopic((await this.pool.query('SELECT * FROM topics WHERE key = $1', [key])).rows[0]);
  }

  async getTopicByName(name: string): Promise<TopicRecord | undefined> {
    return toTopic(
      (await this.pool.query('SELECT * FROM topics WHERE lower(name) = lower($1)', [name])).rows[0],
    );
  }

  async listTopics(f: { subscriptionId: string; resourceGroup?: string }): Promise<TopicRecord[]> {
    const res = await this.pool.query(
      `SELECT * FROM topics WHERE lower(subscription_id) = lower($1)
         AND ($2::text IS NULL OR lower(resource_group) = lower($2)) ORDER BY lower(name)`,
      [f.subscriptionId, f.resourceGroup ?? null],
    );
    return res.rows.map((r) => toTopic(r)!);
  }

  async deleteTopic(key: string): Promise<boolean> {
    return this.tx(async (c) => {
      const subs = await c.query('SELECT key FROM event_subscriptions WHERE scope_key = $1', [key]);
      for (const r of subs.rows) await c.query('SELECT pg_notify($1, $2)', [CHANNEL, r.key]);
      await c.query(
        `DELETE FROM deliveries WHERE sub IN (SELECT r.id FROM subscription_refs r
           JOIN event_subscriptions s ON s.key = r.key WHERE s.scope_key = $1)`,
        [key],
      );
      await c.query('DELETE FROM event_subscriptions WHERE scope_key = $1', [key]);
      return ((await c.query('DELETE FROM topics WHERE key = $1', [key])).rowCount ?? 0) > 0;
    });
  }

  async putEventSubscription(r: EventSubscriptionRecord): Promise<{ created: boolean }> {
    const res = await this.pool.query(
      `INSERT INTO event_subscriptions (key, id, scope_key, name, spec, provisioning_state, created_at, updated_at,
         validation_code, validation_deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, provisioning_state = excluded.provisioning_state,
         updated_at = excluded.updated_at, validation_code = excluded.validation_code,
         validation_deadline = excluded.validation_deadline
       RETURNING (xmax = 0) AS created`,
      [
        r.key,
        r.id,
        r.scopeKey,
        r.name,
        JSON.stringify(r.spec),
        r.provisioningState,
        r.createdAt,
        r.updatedAt,
        r.validationCode ?? null,
        r.validationDeadline ?? null,
      ],
    );
    await this.notifyChanged(r.key);
    return { created: res.rows[0].created };
  }

  async setProvisioning(
    key: string,
    st: { provisioningState: string; validationCode?: string; validationDeadline?: number },
  ): Promise<void> {
    await this.pool.query(
      'UPDATE event_subscriptions SET provisioning_state = $2, validation_code = $3, validation_deadline = $4 WHERE key = $1',
      [key, st.provisioningState, st.validationCode ?? null, st.validationDeadline ?? null],
    );
    await this.notifyChanged(key);
  }

  async getEventSubscription(key: string): Promise<EventSubscriptionRecord | undefined> {
    return toSub((await this.pool.query('SELECT * FROM event_subscriptions WHERE key = $1', [key])).rows[0]);
  }

  async listEventSubscriptions(scopeKey?: string): Promise<EventSubscriptionRecord[]> {
    const res =
      scopeKey === undefined
        ? await this.pool.query('SELECT * FROM event_subscriptions ORDER BY key')
        : await this.pool.query('SELECT * FROM event_subscriptions WHERE scope_key = $1 ORDER BY name', [
            scopeKey,
          ]);
    return res.rows.map((r) => toSub(r)!);
  }

  async deleteEventSubscription(key: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_notify($1, $2)', [CHANNEL, key]); // delivered at commit
      await c.query(`DELETE FROM deliveries WHERE sub = ${SUB}`, [key]);
      return ((await c.query('DELETE FROM event_subscriptions WHERE key = $1', [key])).rowCount ?? 0) > 0;
    });
  }

  private async notifyChanged(key: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, key]);
  }

  async watchSubscriptions(fn: (key: string) => void): Promise<() => Promise<void>> {
    // A dedicated connection: LISTEN lives on a session, pooled clients come and go.
    const client = new pg.Client(this.connect);
    client.on('error', () => {});
    await client.connect();
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload) fn(n.payload);
    });
    await client.query(`LISTEN ${CHANNEL}`);
    return async () => {
      await client.end().catch(() => {});
    };
  }

  async appendEvents(events: EventToStore[], now: number, lease?: DeliveryLease): Promise<ClaimedDelivery[]> {
    // One statement: atomic on its own, no BEGIN/COMMIT round trips.
    return appendRows(this.pool, this.refs, events, now, lease);
  }

  private async appendIn(c: pg.PoolClient, events: EventToStore[], now: number): Promise<void> {
    await appendRows(c, this.refs, events, now);
  }

  async putWorkspace(r: WorkspaceRecord): Promise<{ created: boolean }> {
    const res = await this.pool.query(
      `INSERT INTO workspaces (key, id, subscription_id, resource_group, name, workspace_guid, spec, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS created`,
      [
        r.key,
        r.id,
        r.subscriptionId,
        r.resourceGroup,
        r.name,
        r.workspaceGuid,
        JSON.stringify(r.spec),
        r.createdAt,
        r.updatedAt,
      ],
    );
    return { created: res.rows[0].created };
  }

  async getWorkspace(key: string): Promise<WorkspaceRecord | undefined> {
    return toWorkspace((await this.pool.query('SELECT * FROM workspaces WHERE key = $1', [key])).rows[0]);
  }

  async listWorkspaces(f: { subscriptionId: string; resourceGroup?: string }): Promise<WorkspaceRecord[]> {
    const res = await this.pool.query(
      `SELECT * FROM workspaces WHERE lower(subscription_id) = lower($1)
         AND ($2::text IS NULL OR lower(resource_group) = lower($2)) ORDER BY name`,
      [f.subscriptionId, f.resourceGroup ?? null],
    );
    return res.rows.map((r) => toWorkspace(r)!);
  }

  async deleteWorkspace(key: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query(
        'DELETE FROM model_versions WHERE container_key IN (SELECT key FROM model_containers WHERE workspace_key = $1)',
        [key],
      );
      await c.query('DELETE FROM model_containers WHERE workspace_key = $1', [key]);
      await c.query('DELETE FROM jobs WHERE workspace_key = $1', [key]);
      await this.res.deleteBelow(c, key);
      return ((await c.query('DELETE FROM workspaces WHERE key = $1', [key])).rowCount ?? 0) > 0;
    });
  }

  async putModelContainer(r: ModelContainerRecord): Promise<{ created: boolean }> {
    const res = await this.pool.query(
      `INSERT INTO model_containers (key, workspace_key, name, spec, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS created`,
      [r.key, r.workspaceKey, r.name, JSON.stringify(r.spec), r.createdAt, r.updatedAt],
    );
    return { created: res.rows[0].created };
  }

  async getModelContainer(key: string): Promise<ModelContainerRecord | undefined> {
    return toModelContainer(
      (await this.pool.query('SELECT * FROM model_containers WHERE key = $1', [key])).rows[0],
    );
  }

  async listModelContainers(workspaceKey: string): Promise<ModelContainerRecord[]> {
    const res = await this.pool.query(
      'SELECT * FROM model_containers WHERE workspace_key = $1 ORDER BY name',
      [workspaceKey],
    );
    return res.rows.map((r) => toModelContainer(r)!);
  }

  async deleteModelContainer(key: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('DELETE FROM model_versions WHERE container_key = $1', [key]);
      return ((await c.query('DELETE FROM model_containers WHERE key = $1', [key])).rowCount ?? 0) > 0;
    });
  }

  async putModelVersion(
    r: Omit<ModelVersionRecord, 'sequencer'>,
    events: (sequencer: number) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; sequencer: number }> {
    return this.tx(async (c) => {
      // The container row lock serialises sequencer draws of concurrent registrations (several nodes).
      await c.query('SELECT 1 FROM model_containers WHERE key = $1 FOR UPDATE', [r.containerKey]);
      const sequencer = Number(
        (
          await c.query(
            'SELECT coalesce(max(sequencer), 0) + 1 AS s FROM model_versions WHERE container_key = $1',
            [r.containerKey],
          )
        ).rows[0].s,
      );
      const res = await c.query(
        `INSERT INTO model_versions (key, container_key, version, spec, sequencer, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, sequencer = excluded.sequencer, updated_at = excluded.updated_at
         RETURNING (xmax = 0) AS created`,
        [r.key, r.containerKey, r.version, JSON.stringify(r.spec), sequencer, r.createdAt, r.updatedAt],
      );
      await this.appendIn(c, events(sequencer), now);
      return { created: res.rows[0].created, sequencer };
    });
  }

  putResource(
    rec: Omit<ResourceRecord, 'sequencer'>,
    now: number,
    opts?: ResourcePut,
  ): Promise<{ created: boolean; updated: boolean; rec?: ResourceRecord }> {
    return this.res.put(rec, now, opts);
  }

  getResource(key: string): Promise<ResourceRecord | undefined> {
    return this.res.get(key);
  }

  listResources(q: { kind: string; parentKey?: string; lookup?: string }): Promise<ResourceRecord[]> {
    return this.res.list(q);
  }

  deleteResource(key: string, now: number, events?: EventToStore[]): Promise<boolean> {
    return this.res.delete(key, now, events);
  }

  async getModelVersion(key: string): Promise<ModelVersionRecord | undefined> {
    return toModelVersion(
      (await this.pool.query('SELECT * FROM model_versions WHERE key = $1', [key])).rows[0],
    );
  }

  async listModelVersions(containerKey: string): Promise<ModelVersionRecord[]> {
    const res = await this.pool.query(
      'SELECT * FROM model_versions WHERE container_key = $1 ORDER BY created_at, version',
      [containerKey],
    );
    return res.rows.map((r) => toModelVersion(r)!);
  }

  async deleteModelVersion(key: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM model_versions WHERE key = $1', [key])).rowCount ?? 0) > 0;
  }

  createJob(
    rec: Omit<JobRecord, 'sequencer'>,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; job: JobRecord }> {
    return this.jobs.create(rec, events, now);
  }

  getJob(key: string): Promise<JobRecord | undefined> {
    return this.jobs.get(key);
  }

  listJobs(workspaceKey: string): Promise<JobRecord[]> {
    return this.jobs.list(workspaceKey);
  }

  listJobsByStatus(
    statuses: readonly string[],
    limit?: number,
    opts?: { exceptRunner?: string },
  ): Promise<JobRecord[]> {
    return this.jobs.byStatus(statuses, limit, opts?.exceptRunner);
  }

  updateJobSpec(key: string, spec: unknown, updatedAt: string): Promise<boolean> {
    return this.jobs.setSpec(key, spec, updatedAt);
  }

  updateJobStatus(
    key: string,
    patch: JobStatusPatch,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ updated: boolean; job?: JobRecord }> {
    return this.jobs.updateStatus(key, patch, events, now);
  }

  renewJobLeases(runnerId: string, leaseUntil: number): Promise<number> {
    return this.jobs.renew(runnerId, leaseUntil);
  }

  deleteJob(key: string): Promise<boolean> {
    return this.jobs.delete(key);
  }

  async listDeliveries(subscriptionKey: string, q: DeliveryQuery): Promise<DeliveryView[]> {
    const res = await this.pool.query(
      `SELECT d.*, $1::text AS subscription_key, e.event_id, e.event_type, e.subject, e.schema, e.body,
         e.published_at
       FROM deliveries d JOIN events e ON e.seq = d.event_seq
       WHERE d.sub = ${SUB} AND ($2::text IS NULL OR d.status = $2) AND d.id > $3
         AND ($5::bigint[] IS NULL OR d.id = ANY($5))
       ORDER BY d.id LIMIT $4`,
      [subscriptionKey, q.status ?? null, q.after ?? '0', q.limit, q.ids ?? null],
    );
    return res.rows.map(toDelivery);
  }

  async claimDeliveries(q: {
    owner: string;
    limit: number;
    now: number;
    leaseUntil: number;
  }): Promise<ClaimedDelivery[]> {
    return claimRows(this.relaxed, this.refs, q);
  }

  async settleDeliveries(
    owner: string,
    settlements: Settlement[],
    attempts: AttemptRecord[],
    now: number,
  ): Promise<void> {
    await settleRows(this.relaxed, this.refs, owner, settlements, attempts, now);
  }

  async releaseLeases(owner?: string): Promise<number> {
    const res = await this.pool.query(
      `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = 0
       WHERE lease_owner IS NOT NULL AND ($1::text IS NULL OR lease_owner = $1)`,
      [owner ?? null],
    );
    return res.rowCount ?? 0;
  }

  async nextDueAt(): Promise<number | undefined> {
    const t = (
      await this.pool.query("SELECT min(next_attempt_at) AS t FROM deliveries WHERE status = 'pending'")
    ).rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  }

  async listAttempts(subscriptionKey: string, q: AttemptQuery): Promise<AttemptView[]> {
    const f = outcomeFilter(q.outcome);
    const res = await this.pool.query(
      `SELECT a.*, $1::text AS subscription_key FROM delivery_attempts a WHERE sub = ${SUB} AND id > $2
         AND ($3::text IS NULL OR outcome = $3) AND ($4::int = 0 OR outcome <> 'Succeeded')
         AND ($5::bigint IS NULL OR started_at >= $5) AND ($6::bigint IS NULL OR started_at < $6)
       ORDER BY id LIMIT $7`,
      [subscriptionKey, q.after ?? '0', f.outcome, f.failed, q.from ?? null, q.to ?? null, q.limit],
    );
    return res.rows.map(toAttempt);
  }

  async redrive(subscriptionKey: string, ids: string[] | 'all', now: number): Promise<number> {
    const res = await this.pool.query(
      `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, dead_letter_reason = NULL,
         settled_at = NULL
       WHERE sub = ${SUB} AND status = 'deadlettered' AND ($3::bigint[] IS NULL OR id = ANY($3))`,
      [subscriptionKey, now, ids === 'all' ? null : ids],
    );
    return res.rowCount ?? 0;
  }

  async eventsSince(scopeKey: string, from: number, afterSeq: string, limit: number): Promise<ReplayEvent[]> {
    const res = await this.pool.query(
      `SELECT * FROM events WHERE (source_key = $1 OR substr(source_key, 1, length($1) + 1) = $1 || '/')
         AND published_at >= $2 AND seq > $3 ORDER BY seq LIMIT $4`,
      [scopeKey, from, afterSeq, limit],
    );
    return res.rows.map(toReplayEvent);
  }

  async enqueueDeliveries(subscriptionKey: string, eventSeqs: string[], now: number): Promise<number> {
    const [sub] = await this.refs.of([subscriptionKey]);
    const res = await this.pool.query(
      `INSERT INTO deliveries (sub, event_seq, status, next_attempt_at, created_at)
       SELECT $1, q, 'pending', $3, $3 FROM unnest($2::bigint[]) AS t(q)`,
      [sub, eventSeqs, now],
    );
    return res.rowCount ?? 0;
  }

  async purge(before: number): Promise<{ events: number; deliveries: number; attempts: number }> {
    return this.tx(async (c) => {
      const deliveries =
        (await c.query("DELETE FROM deliveries WHERE status <> 'pending' AND settled_at < $1", [before]))
          .rowCount ?? 0;
      const attempts =
        (await c.query('DELETE FROM delivery_attempts WHERE started_at < $1', [before])).rowCount ?? 0;
      const events =
        (
          await c.query(
            'DELETE FROM events e WHERE published_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq)',
            [before],
          )
        ).rowCount ?? 0;
      return { events, deliveries, attempts };
    });
  }

  async countPending(): Promise<number> {
    return (await this.pool.query("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'"))
      .rows[0].n;
  }

  async countDeliveries(subscriptionKey: string, status?: DeliveryStatus): Promise<number> {
    const res = await this.pool.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE sub = ${SUB} AND ($2::text IS NULL OR status = $2)`,
      [subscriptionKey, status ?? null],
    );
    return res.rows[0].n;
  }
}
