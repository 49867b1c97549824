/**
 * SQLite adapter (better-sqlite3, WAL). One process owns a data directory: it holds an exclusive lock on
 * `mlgrid.lock` for its lifetime (the OS drops it on a crash). The database itself is opened in normal locking
 * mode so that the claim reader thread (sqlite-claim-reader.ts) can read it through its own connection.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MlgridError } from '../core/errors.js';
import { loadMigrations, MIGRATIONS_TABLE } from './migrations.js';
import { inThreadReader, workerReader } from './sqlite-claim-reader.js';
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

import { SqliteDeliveries } from './sqlite-deliveries.js';
import { SubscriptionRefs } from './sqlite-refs.js';
import { SqliteJobs } from './sqlite-jobs.js';
import { SqliteResources } from './sqlite-resources.js';
import { prepareWorkspace } from './sqlite-workspace.js';
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
  type Row,
} from './rows.js';

export interface SqliteStoreOptions {
  /** Directory holding `mlgrid.db`; `:memory:` for an in-memory database. */
  dataDir: string;
  /** `FULL` (default) fsyncs every commit: a 200 to a publisher survives power loss, not just a crash. */
  synchronous?: 'FULL' | 'NORMAL';
}

/**
 * Busy timeout of the main connection. WAL readers (the claim reader thread) do not block its writes and the
 * lock file keeps other processes out, so it should never wait; if a lock is met anyway (the reader thread
 * opening the file), waiting briefly beats failing the write.
 */
const LOCK_WAIT_MS = 5000;

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly capabilities = { multiNode: false, notify: false };
  readonly db: Database.Database;
  /** Held open for its exclusive lock: the data directory's owner. */
  private readonly lock?: Database.Database;
  private durable = true;
  private readonly stmts: ReturnType<typeof prepare>;
  private readonly ws: ReturnType<typeof prepareWorkspace>;
  private readonly jobs: SqliteJobs;
  private readonly res: SqliteResources;
  /** Claims, in-memory leases and settlements. */
  private readonly dl: SqliteDeliveries;
  private readonly refs: SubscriptionRefs;
  private readonly syncNormal: Database.Statement;
  private readonly syncFull: Database.Statement;

  constructor(opts: SqliteStoreOptions) {
    const memory = opts.dataDir === ':memory:';
    if (!memory) mkdirSync(opts.dataDir, { recursive: true });
    const file = memory ? ':memory:' : join(opts.dataDir, 'mlgrid.db');
    this.lock = memory ? undefined : new Database(join(opts.dataDir, 'mlgrid.lock'), { timeout: 0 });
    this.db = new Database(file, { timeout: LOCK_WAIT_MS });
    try {
      // EXCLUSIVE locking holds the lock file's lock for the life of the connection.
      this.lock?.pragma('locking_mode = EXCLUSIVE');
      this.lock?.pragma('journal_mode = MEMORY'); // nothing to journal: no -journal file beside it
      this.lock?.exec('BEGIN EXCLUSIVE; COMMIT');
      if (memory) this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      this.durable = (opts.synchronous ?? 'FULL') === 'FULL';
      this.db.pragma('foreign_keys = ON');
      this.db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (err) {
      this.db.close();
      this.lock?.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw new MlgridError(
          'ServiceUnavailable',
          `The data directory ${opts.dataDir} is in use by another mlgrid process. ` +
            'Stop it, or start this one with another --data-dir (or use --store postgres to run several nodes).',
          undefined,
          [],
          { cause: err },
        );
      }
      throw err;
    }
    this.migrate();
    this.stmts = prepare(this.db);
    this.ws = prepareWorkspace(this.db);
    this.jobs = new SqliteJobs(this.db, (events, now) => this.appendSync(events, now));
    this.res = new SqliteResources(this.db, (events, now) => this.appendSync(events, now));
    this.refs = new SubscriptionRefs(this.db);
    const inThread = inThreadReader(this.db);
    this.dl = new SqliteDeliveries(this.db, memory ? inThread : workerReader(file, inThread), this.refs);
    this.syncNormal = this.db.prepare('PRAGMA synchronous = NORMAL');
    this.syncFull = this.db.prepare('PRAGMA synchronous = FULL');
  }

  private migrate(): void {
    this.db.exec(MIGRATIONS_TABLE);
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)),
    );
    for (const m of loadMigrations('sqlite')) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, new Date().toISOString());
      })();
    }
  }

  async close(): Promise<void> {
    await this.dl.close();
    if (this.db.open) this.db.close();
    if (this.lock?.open) this.lock.close();
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (this.stmts.getMeta.get(key) as Row | undefined)?.value as string | undefined;
  }

  async initMeta(key: string, value: string): Promise<string> {
    this.stmts.initMeta.run(key, value);
    return (await this.getMeta(key))!;
  }

  async putTopic(rec: TopicRecord): Promise<{ created: boolean }> {
    return this.db.transaction(() => {
      const existed = this.stmts.getTopic.get(rec.key) !== undefined;
      const other = this.stmts.getTopicByName.get(rec.name) as Row | undefined;
      if (other && other.key !== rec.key) throw topicNameTaken(rec.name);
      this.stmts.putTopic.run(topicParams(rec));
      return { created: !existed };
    })();
  }

  async getTopic(key: string): Promise<TopicRecord | undefined> {
    return toTopic(this.stmts.getTopic.get(key) as Row | undefined);
  }

  async getTopicByName(name: string): Promise<TopicRecord | undefined> {
    return toTopic(this.stmts.getTopicByName.get(name) as Row | undefined);
  }

  async listTopics(f: { subscriptionId: string; resourceGroup?: string }): Promise<TopicRecord[]> {
    const rows = (
      f.resourceGroup === undefined
        ? this.stmts.listTopicsBySub.all(f.subscriptionId)
        : this.stmts.listTopicsByGroup.all(f.subscriptionId, f.resourceGroup)
    ) as Row[];
    return rows.map((r) => toTopic(r)!);
  }

  async deleteTopic(key: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.deleteDeliveriesByScope.run(key);
      this.stmts.deleteSubsByScope.run(key);
      return this.stmts.deleteTopic.run(key).changes > 0;
    })();
  }

  async putEventSubscription(rec: EventSubscriptionRecord): Promise<{ created: boolean }> {
    const existed = this.stmts.getSub.get(rec.key) !== undefined;
    this.stmts.putSub.run(subParams(rec));
    return { created: !existed };
  }

  async getEventSubscription(key: string): Promise<EventSubscriptionRecord | undefined> {
    return toSub(this.stmts.getSub.get(key) as Row | undefined);
  }

  async listEventSubscriptions(scopeKey?: string): Promise<EventSubscriptionRecord[]> {
    const rows = (
      scopeKey === undefined ? this.stmts.listSubs.all() : this.stmts.listSubsByScope.all(scopeKey)
    ) as Row[];
    return rows.map((r) => toSub(r)!);
  }

  async deleteEventSubscription(key: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmts.deleteDeliveriesBySub.run({ sub: key });
      return this.stmts.deleteSub.run(key).changes > 0;
    })();
  }

  async watchSubscriptions(): Promise<() => Promise<void>> {
    return async () => {}; // one process owns the file: every change is made, and seen, here
  }

  /**
   * Runs `fn` in a transaction committed without fsync (WAL + synchronous=NORMAL: consistent, but may be lost
   * on power failure). For settlements only: losing one re-delivers, which at-least-once allows;
   * accepted events (appendEvents) always commit with the configured, durable setting.
   */
  private relaxed<T>(fn: () => T): T {
    if (!this.durable) return this.db.transaction(fn)();
    this.syncNormal.run();
    try {
      return this.db.transaction(fn)();
    } finally {
      this.syncFull.run();
    }
  }

  async appendEvents(events: EventToStore[], now: number, lease?: DeliveryLease): Promise<ClaimedDelivery[]> {
    // Outside the transaction, references are cached (see SubscriptionRefs.id): the appends below hit the cache.
    for (const e of events) for (const sub of e.subscriptionKeys) this.refs.id(sub);
    const fresh = this.db.transaction(() => this.appendSync(events, now, lease))();
    if (lease) this.dl.adopt(fresh, lease);
    return fresh;
  }

  /** With a lease, the new deliveries are stored leased to its owner and returned (fresh hand-off). */
  private appendSync(events: EventToStore[], now: number, lease?: DeliveryLease): ClaimedDelivery[] {
    const { insertEvent, insertDelivery, insertLeasedDelivery } = this.stmts;
    const fresh: ClaimedDelivery[] = [];
    for (const e of events) {
      const seq = insertEvent.run(
        e.eventId,
        e.sourceKey,
        e.eventType,
        e.subject,
        e.schema,
        e.body,
        now,
      ).lastInsertRowid;
      if (!lease) {
        for (const sub of e.subscriptionKeys) insertDelivery.run(this.refs.id(sub), seq, now, now);
        continue;
      }
      const event = {
        seq: String(seq),
        eventId: e.eventId,
        schema: e.schema,
        body: e.body,
        publishedAt: now,
      };
      for (const sub of e.subscriptionKeys) {
        const id = insertLeasedDelivery.run(
          this.refs.id(sub),
          seq,
          lease.until,
          now,
          lease.owner,
          lease.until,
        ).lastInsertRowid;
        fresh.push({ id: String(id), subscriptionKey: sub, attempts: 0, createdAt: now, event });
      }
    }
    return fresh;
  }

  async putWorkspace(rec: WorkspaceRecord): Promise<{ created: boolean }> {
    return this.db.transaction(() => {
      const created = this.ws.getWorkspace.get(rec.key) === undefined;
      this.ws.putWorkspace.run({ ...rec, spec: JSON.stringify(rec.spec) });
      return { created };
    })();
  }

  async getWorkspace(key: string): Promise<WorkspaceRecord | undefined> {
    return toWorkspace(this.ws.getWorkspace.get(key) as Row | undefined);
  }

  async listWorkspaces(f: { subscriptionId: string; resourceGroup?: string }): Promise<WorkspaceRecord[]> {
    const rows =
      f.resourceGroup === undefined
        ? this.ws.listWorkspacesBySub.all(f.subscriptionId)
        : this.ws.listWorkspacesByGroup.all(f.subscriptionId, f.resourceGroup);
    return (rows as Row[]).map((r) => toWorkspace(r)!);
  }

  async deleteWorkspace(key: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.ws.deleteWorkspaceVersions.run(key);
      this.ws.deleteWorkspaceContainers.run(key);
      this.jobs.deleteByWorkspace(key);
      this.res.deleteBelow(key);
      return this.ws.deleteWorkspace.run(key).changes > 0;
    })();
  }

  async putModelContainer(rec: ModelContainerRecord): Promise<{ created: boolean }> {
    return this.db.transaction(() => {
      const created = this.ws.getContainer.get(rec.key) === undefined;
      this.ws.putContainer.run({ ...rec, spec: JSON.stringify(rec.spec) });
      return { created };
    })();
  }

  async getModelContainer(key: string): Promise<ModelContainerRecord | undefined> {
    return toModelContainer(this.ws.getContainer.get(key) as Row | undefined);
  }

  async listModelContainers(workspaceKey: string): Promise<ModelContainerRecord[]> {
    return (this.ws.listContainers.all(workspaceKey) as Row[]).map((r) => toModelContainer(r)!);
  }

  async deleteModelContainer(key: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.ws.deleteContainerVersions.run(key);
      return this.ws.deleteContainer.run(key).changes > 0;
    })();
  }

  async putModelVersion(
    rec: Omit<ModelVersionRecord, 'sequencer'>,
    events: (sequencer: number) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; sequencer: number }> {
    return this.db.transaction(() => {
      const created = this.ws.getVersion.get(rec.key) === undefined;
      const sequencer = Number((this.ws.nextSequencer.get(rec.containerKey) as Row).s);
      this.ws.putVersion.run({ ...rec, spec: JSON.stringify(rec.spec), sequencer });
      this.appendSync(events(sequencer), now);
      return { created, sequencer };
    })();
  }

  async putResource(
    rec: Omit<ResourceRecord, 'sequencer'>,
    now: number,
    opts?: ResourcePut,
  ): Promise<{ created: boolean; updated: boolean; rec?: ResourceRecord }> {
    return this.res.put(rec, now, opts);
  }

  async getResource(key: string): Promise<ResourceRecord | undefined> {
    return this.res.get(key);
  }

  async listResources(q: { kind: string; parentKey?: string; lookup?: string }): Promise<ResourceRecord[]> {
    return this.res.list(q);
  }

  async deleteResource(key: string, now: number, events?: EventToStore[]): Promise<boolean> {
    return this.res.delete(key, now, events);
  }

  async getModelVersion(key: string): Promise<ModelVersionRecord | undefined> {
    return toModelVersion(this.ws.getVersion.get(key) as Row | undefined);
  }

  async listModelVersions(containerKey: string): Promise<ModelVersionRecord[]> {
    return (this.ws.listVersions.all(containerKey) as Row[]).map((r) => toModelVersion(r)!);
  }

  async deleteModelVersion(key: string): Promise<boolean> {
    return this.ws.deleteVersion.run(key).changes > 0;
  }

  async createJob(
    rec: Omit<JobRecord, 'sequencer'>,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; job: JobRecord }> {
    return this.jobs.create(rec, events, now);
  }

  async getJob(key: string): Promise<JobRecord | undefined> {
    return this.jobs.get(key);
  }

  async listJobs(workspaceKey: string): Promise<JobRecord[]> {
    return this.jobs.list(workspaceKey);
  }

  async listJobsByStatus(
    statuses: readonly string[],
    limit?: number,
    opts?: { exceptRunner?: string },
  ): Promise<JobRecord[]> {
    return this.jobs.byStatus(statuses, limit, opts?.exceptRunner);
  }

  async updateJobSpec(key: string, spec: unknown, updatedAt: string): Promise<boolean> {
    return this.jobs.setSpec(key, spec, updatedAt);
  }

  async updateJobStatus(
    key: string,
    patch: JobStatusPatch,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ updated: boolean; job?: JobRecord }> {
    return this.jobs.updateStatus(key, patch, events, now);
  }

  async renewJobLeases(runnerId: string, leaseUntil: number): Promise<number> {
    return this.jobs.renew(runnerId, leaseUntil);
  }

  async deleteJob(key: string): Promise<boolean> {
    return this.jobs.delete(key);
  }

  async listDeliveries(subscriptionKey: string, q: DeliveryQuery): Promise<DeliveryView[]> {
    // Dead letters have their own partial index, which SQLite uses only for a literal status.
    const st = q.status === 'deadlettered' ? this.stmts.listDeadLettered : this.stmts.listDeliveries;
    const rows = st.all({
      sub: subscriptionKey,
      status: q.status ?? null,
      ids: q.ids ? JSON.stringify(q.ids.map(Number)) : null,
      after: q.after === undefined ? 0 : Number(q.after),
      limit: q.limit,
    }) as Row[];
    return rows.map(toDelivery);
  }

  /** Claims lease in memory (see sqlite-deliveries.ts): a read, no transaction. */
  async claimDeliveries(q: {
    owner: string;
    limit: number;
    now: number;
    leaseUntil: number;
  }): Promise<ClaimedDelivery[]> {
    return this.dl.claimDue(q);
  }

  async settleDeliveries(
    owner: string,
    settlements: Settlement[],
    attempts: AttemptRecord[],
    now: number,
  ): Promise<void> {
    for (const a of attempts) this.refs.id(a.subscriptionKey); // cached outside the transaction, as for appends
    const ended = this.relaxed(() => this.dl.settle(owner, settlements, attempts, now));
    this.dl.forget(ended);
  }

  async releaseLeases(owner?: string): Promise<number> {
    return this.dl.release(owner);
  }

  async nextDueAt(): Promise<number | undefined> {
    return this.dl.nextDue();
  }

  async listAttempts(subscriptionKey: string, q: AttemptQuery): Promise<AttemptView[]> {
    const rows = this.stmts.listAttempts.all({
      sub: subscriptionKey,
      after: q.after === undefined ? 0 : Number(q.after),
      ...outcomeFilter(q.outcome),
      from: q.from ?? null,
      to: q.to ?? null,
      limit: q.limit,
    }) as Row[];
    return rows.map(toAttempt);
  }

  async redrive(subscriptionKey: string, ids: string[] | 'all', now: number): Promise<number> {
    return ids === 'all'
      ? this.stmts.redriveAll.run({ sub: subscriptionKey, now }).changes
      : this.stmts.redriveIds.run({ sub: subscriptionKey, now, ids: JSON.stringify(ids.map(Number)) })
          .changes;
  }

  async eventsSince(scopeKey: string, from: number, afterSeq: string, limit: number): Promise<ReplayEvent[]> {
    const rows = this.stmts.eventsSince.all({ scope: scopeKey, from, after: Number(afterSeq), limit });
    return (rows as Row[]).map(toReplayEvent);
  }

  async enqueueDeliveries(subscriptionKey: string, eventSeqs: string[], now: number): Promise<number> {
    this.db.transaction(() => {
      const sub = this.refs.id(subscriptionKey);
      for (const seq of eventSeqs) this.stmts.insertDelivery.run(sub, Number(seq), now, now);
    })();
    return eventSeqs.length;
  }

  async purge(before: number): Promise<{ events: number; deliveries: number; attempts: number }> {
    return this.db.transaction(() => {
      const deliveries = this.stmts.purgeDeliveries.run(before).changes;
      const attempts = this.stmts.purgeAttempts.run(before).changes;
      const events = this.stmts.purgeEvents.run(before).changes;
      return { events, deliveries, attempts };
    })();
  }

  async setProvisioning(
    key: string,
    st: { provisioningState: string; validationCode?: string; validationDeadline?: number },
  ): Promise<void> {
    this.stmts.setProvisioning.run({
      key,
      provisioningState: st.provisioningState,
      validationCode: st.validationCode ?? null,
      validationDeadline: st.validationDeadline ?? null,
    });
  }

  async countPending(): Promise<number> {
    return Number((this.stmts.countPending.get() as Row).n);
  }

  async countDeliveries(subscriptionKey: string, status?: DeliveryStatus): Promise<number> {
    const st = status === 'deadlettered' ? this.stmts.countDeadLettered : this.stmts.countDeliveries;
    return Number((st.get({ sub: subscriptionKey, status: status ?? null }) as Row).n);
  }
}

/** A subscription key's reference, in statements that select deliveries by subscription. */
const SUB = '(SELECT id FROM subscription_refs WHERE key = @sub)';

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    initMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    getTopic: p('SELECT * FROM topics WHERE key = ?'),
    getTopicByName: p('SELECT * FROM topics WHERE name = ?'),
    listTopicsBySub: p('SELECT * FROM topics WHERE subscription_id = ? ORDER BY name'),
    listTopicsByGroup: p(
      'SELECT * FROM topics WHERE subscription_id = ? AND resource_group = ? ORDER BY name',
    ),
    putTopic:
      p(`INSERT INTO topics (key, id, subscription_id, resource_group, name, spec, key1, key2, created_at, updated_at)
      VALUES (@key, @id, @subscriptionId, @resourceGroup, @name, @spec, @key1, @key2, @createdAt, @updatedAt)
      ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, key1 = excluded.key1, key2 = excluded.key2,
        updated_at = excluded.updated_at`),
    deleteTopic: p('DELETE FROM topics WHERE key = ?'),
    getSub: p('SELECT * FROM event_subscriptions WHERE key = ?'),
    listSubs: p('SELECT * FROM event_subscriptions ORDER BY key'),
    listSubsByScope: p('SELECT * FROM event_subscriptions WHERE scope_key = ? ORDER BY name'),
    putSub:
      p(`INSERT INTO event_subscriptions (key, id, scope_key, name, spec, provisioning_state, created_at, updated_at,
        validation_code, validation_deadline)
      VALUES (@key, @id, @scopeKey, @name, @spec, @provisioningState, @createdAt, @updatedAt, @validationCode, @validationDeadline)
      ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, provisioning_state = excluded.provisioning_state,
        updated_at = excluded.updated_at, validation_code = excluded.validation_code,
        validation_deadline = excluded.validation_deadline`),
    setProvisioning: p(`UPDATE event_subscriptions SET provisioning_state = @provisioningState,
        validation_code = @validationCode, validation_deadline = @validationDeadline WHERE key = @key`),
    deleteSub: p('DELETE FROM event_subscriptions WHERE key = ?'),
    deleteSubsByScope: p('DELETE FROM event_subscriptions WHERE scope_key = ?'),
    deleteDeliveriesBySub: p(`DELETE FROM deliveries WHERE sub = ${SUB}`),
    deleteDeliveriesByScope: p(`DELETE FROM deliveries WHERE sub IN (SELECT r.id FROM subscription_refs r
        JOIN event_subscriptions s ON s.key = r.key WHERE s.scope_key = ?)`),
    insertEvent: p(
      'INSERT INTO events (event_id, source_key, event_type, subject, schema, body, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    insertDelivery: p(
      "INSERT INTO deliveries (sub, event_seq, status, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)",
    ),
    // Leased at birth (fresh hand-off): due only when the lease lapses, like a claimed row.
    insertLeasedDelivery: p(`INSERT INTO deliveries (sub, event_seq, status, next_attempt_at, created_at,
        lease_owner, lease_until) VALUES (?, ?, 'pending', ?, ?, ?, ?)`),
    listDeliveries: p(listDeliveriesSql('(@status IS NULL OR d.status = @status)')),
    listDeadLettered: p(listDeliveriesSql("d.status = 'deadlettered' AND @status = 'deadlettered'")),
    countPending: p("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'"),
    listAttempts:
      p(`SELECT a.*, @sub AS subscription_key FROM delivery_attempts a WHERE sub = ${SUB} AND id > @after
        AND (@outcome IS NULL OR outcome = @outcome) AND (@failed = 0 OR outcome <> 'Succeeded')
        AND (@from IS NULL OR started_at >= @from) AND (@to IS NULL OR started_at < @to)
      ORDER BY id LIMIT @limit`),
    redriveAll:
      p(`UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = @now, dead_letter_reason = NULL,
        settled_at = NULL WHERE sub = ${SUB} AND status = 'deadlettered'`),
    redriveIds:
      p(`UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = @now, dead_letter_reason = NULL,
        settled_at = NULL WHERE sub = ${SUB} AND status = 'deadlettered'
        AND id IN (SELECT value FROM json_each(@ids))`),
    eventsSince:
      p(`SELECT * FROM events WHERE (source_key = @scope OR substr(source_key, 1, length(@scope) + 1) = @scope || '/')
        AND published_at >= @from AND seq > @after ORDER BY seq LIMIT @limit`),
    purgeDeliveries: p("DELETE FROM deliveries WHERE status <> 'pending' AND settled_at < ?"),
    purgeAttempts: p('DELETE FROM delivery_attempts WHERE started_at < ?'),
    purgeEvents: p(
      'DELETE FROM events WHERE published_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq)',
    ),
    countDeliveries: p(
      `SELECT count(*) AS n FROM deliveries WHERE sub = ${SUB} AND (@status IS NULL OR status = @status)`,
    ),
    countDeadLettered: p(
      `SELECT count(*) AS n FROM deliveries WHERE sub = ${SUB} AND status = 'deadlettered' AND @status = 'deadlettered'`,
    ),
  };
}

function listDeliveriesSql(status: string): string {
  return `SELECT d.*, @sub AS subscription_key, e.event_id, e.event_type, e.subject, e.schema, e.body,
      e.published_at
    FROM deliveries d JOIN events e ON e.seq = d.event_seq
    WHERE d.sub = ${SUB} AND ${status} AND d.id > @after
      AND (@ids IS NULL OR d.id IN (SELECT value FROM json_each(@ids)))
    ORDER BY d.id LIMIT @limit`;
}

function topicParams(r: TopicRecord) {
  return { ...r, spec: JSON.stringify(r.spec) };
}

function subParams(r: EventSubscriptionRecord) {
  return {
    ...r,
    spec: JSON.stringify(r.spec),
    validationCode: r.validationCode ?? null,
    validationDeadline: r.validationDeadline ?? null,
  };
}
