/** PostgreSQL adapter (pg). Several mlgrid nodes may share one database. */
import pg from 'pg';
import { loadMigrations, MIGRATIONS_TABLE } from './migrations.js';
import { toDelivery, toSub, toTopic, topicNameTaken } from './sqlite-store.js';
import type {
  DeliveryQuery,
  DeliveryStatus,
  DeliveryView,
  EventSubscriptionRecord,
  EventToStore,
  Store,
  TopicRecord,
} from './types.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema to live in (created when missing); tests use one schema per run. Default `public`. */
  schema?: string;
  poolSize?: number;
}

const CHANNEL = 'mlgrid_event_subscriptions';
const MIGRATION_LOCK = 0x6d6c6772; // "mlgr": serialises migrations of nodes starting together

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly capabilities = { multiNode: true, notify: true };
  private constructor(
    readonly pool: pg.Pool,
    private readonly connect: pg.ClientConfig,
  ) {}

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
      await pool.end();
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
    await this.pool.end();
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
        'DELETE FROM deliveries WHERE subscription_key IN (SELECT key FROM event_subscriptions WHERE scope_key = $1)',
        [key],
      );
      await c.query('DELETE FROM event_subscriptions WHERE scope_key = $1', [key]);
      return ((await c.query('DELETE FROM topics WHERE key = $1', [key])).rowCount ?? 0) > 0;
    });
  }

  async putEventSubscription(r: EventSubscriptionRecord): Promise<{ created: boolean }> {
    const res = await this.pool.query(
      `INSERT INTO event_subscriptions (key, id, scope_key, name, spec, provisioning_state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, provisioning_state = excluded.provisioning_state,
         updated_at = excluded.updated_at
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
      ],
    );
    await this.notifyChanged([r.key]);
    return { created: res.rows[0].created };
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
      await c.query('DELETE FROM deliveries WHERE subscription_key = $1', [key]);
      return ((await c.query('DELETE FROM event_subscriptions WHERE key = $1', [key])).rowCount ?? 0) > 0;
    });
  }

  private async notifyChanged(keys: string[]): Promise<void> {
    for (const k of keys) await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, k]);
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

  async appendEvents(events: EventToStore[], now: number): Promise<void> {
    if (events.length === 0) return;
    await this.tx(async (c) => {
      // Reserve the sequence numbers first so deliveries can reference them in the same round trip count.
      const seqs: string[] = (
        await c.query(
          "SELECT nextval(pg_get_serial_sequence('events', 'seq'))::text AS s FROM generate_series(1, $1)",
          [events.length],
        )
      ).rows.map((r) => r.s);
      const cols: unknown[][] = [[], [], [], [], [], [], []];
      const dSub: string[] = [];
      const dSeq: string[] = [];
      events.forEach((e, i) => {
        const row = [seqs[i], e.eventId, e.sourceKey, e.eventType, e.subject, e.schema, e.body];
        row.forEach((v, j) => cols[j]!.push(v));
        for (const s of e.subscriptionKeys) {
          dSub.push(s);
          dSeq.push(seqs[i]!);
        }
      });
      await c.query(
        `INSERT INTO events (seq, event_id, source_key, event_type, subject, schema, body, published_at)
         SELECT *, $8::bigint FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [...cols, now],
      );
      if (dSub.length > 0) {
        await c.query(
          `INSERT INTO deliveries (subscription_key, event_seq, status, next_attempt_at, created_at)
           SELECT s, q, 'pending', $3, $3 FROM unnest($1::text[], $2::bigint[]) AS t(s, q)`,
          [dSub, dSeq, now],
        );
      }
    });
  }

  async listDeliveries(subscriptionKey: string, q: DeliveryQuery): Promise<DeliveryView[]> {
    const res = await this.pool.query(
      `SELECT d.*, e.event_id, e.event_type, e.subject, e.schema, e.body, e.published_at
       FROM deliveries d JOIN events e ON e.seq = d.event_seq
       WHERE d.subscription_key = $1 AND ($2::text IS NULL OR d.status = $2) AND d.id > $3
       ORDER BY d.id LIMIT $4`,
      [subscriptionKey, q.status ?? null, q.after ?? '0', q.limit],
    );
    return res.rows.map(toDelivery);
  }

  async countDeliveries(subscriptionKey: string, status?: DeliveryStatus): Promise<number> {
    const res = await this.pool.query(
      'SELECT count(*)::int AS n FROM deliveries WHERE subscription_key = $1 AND ($2::text IS NULL OR status = $2)',
      [subscriptionKey, status ?? null],
    );
    return res.rows[0].n;
  }
}
