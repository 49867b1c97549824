/**
 * Delivery rows name their subscription by a reference (SQLite migration 008, PostgreSQL 007; sqlite-refs.ts):
 * a database written by the previous schema keeps every delivery with its subscription, and subscriptions get
 * their reference when they are created, on both stores. PostgreSQL claims take keys from a cache of references
 * (a claim it cannot resolve gives its rows back) and keep a plan that reaches every table by index.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, MIGRATIONS_TABLE } from '../src/store/migrations.js';
import { CLAIM } from '../src/store/postgres-deliveries.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SubscriptionRefs } from '../src/store/sqlite-refs.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/types.js';
import { dropSchema, skipWithoutPostgres, TEST_DATABASE_URL, uniqueSchema } from './helpers/postgres.js';
import { tempDir } from './helpers/tmp.js';

const SCOPE = '/subscriptions/s1/resourcegroups/rg/providers/microsoft.eventgrid/topics/t';
const A = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/a`;
const B = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/b`;
/** A key with deliveries but no subscription row (deleted while its deliveries were written). */
const ORPHAN = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/gone`;

const sub = (key: string, name: string) => ({
  key,
  id: key,
  scopeKey: SCOPE,
  name,
  spec: {},
  provisioningState: 'Succeeded',
  createdAt: '2026-11-26T00:00:00Z',
  updatedAt: '2026-11-26T00:00:00Z',
});

/** The previous schema's rows: a subscription and deliveries of every status, plus an orphan. */
const OLD_ROWS: [key: string, status: string, attempts: number, reason: string | null][] = [
  [A, 'pending', 0, null],
  [A, 'deadlettered', 3, 'MaxDeliveryAttemptsExceeded'],
  [A, 'delivered', 1, null],
  [ORPHAN, 'pending', 0, null],
];
const OLD_SUB = `INSERT INTO event_subscriptions (key, id, scope_key, name, spec, provisioning_state, created_at,
    updated_at) VALUES ($1, $2, $3, 'a', '{}', 'Succeeded', 'then', 'then')`;
const OLD_EVENT = `INSERT INTO events (event_id, source_key, event_type, subject, schema, body, published_at)
    VALUES ($1, $2, 'T', 's', 'EventGridSchema', $3, 100)`;
const OLD_DELIVERY = `INSERT INTO deliveries (subscription_key, event_seq, status, attempts, next_attempt_at,
    created_at, dead_letter_reason, settled_at) VALUES ($1, $2, $3, $4, 100, 100, $5, $6)`;
/** Attempts logged under the previous schema, one by a key that has nothing else left (SQLite 009, PostgreSQL 008). */
const LOGGED_ONLY = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/logged`;
const OLD_ATTEMPTS: [key: string, eventId: string, status: number][] = [
  [A, 'e2', 200],
  [LOGGED_ONLY, 'z0', 503],
  [A, 'e1', 500],
];
const OLD_ATTEMPT = `INSERT INTO delivery_attempts (subscription_key, started_at, duration_ms, delivery_count,
    event_ids, status_code, outcome, response_excerpt) VALUES ($1, 100, 12, 1, $2, $3, $4, 'x')`;
const oldAttempt = ([key, eventId, status]: (typeof OLD_ATTEMPTS)[number]) => [
  key,
  JSON.stringify([eventId]),
  status,
  status === 200 ? 'Succeeded' : 'GenericError',
];
/** Each `$n` appears once and in order: SQLite takes them as `?`. */
const sqlite$ = (sql: string) => sql.replace(/\$\d/g, '?');

interface Backend {
  name: string;
  skip: boolean;
  /** A store opened on data written by the schema before references. */
  openOld(): Promise<Store>;
  openNew(): Promise<Store>;
  /** Subscription keys in reference order. */
  refs(store: Store): Promise<string[]>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sqlite: Backend = {
  name: 'sqlite',
  skip: false,
  async openOld() {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const db = new Database(join(t.dir, 'mlgrid.db'));
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS_TABLE);
    for (const m of loadMigrations('sqlite').filter((m) => m.version < 8)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 'then');
    }
    db.prepare(sqlite$(OLD_SUB)).run(A, A, SCOPE);
    OLD_ROWS.forEach(([key, status, attempts, reason], i) => {
      const seq = db.prepare(sqlite$(OLD_EVENT)).run(`e${i}`, SCOPE, `{"id":"e${i}"}`).lastInsertRowid;
      db.prepare(sqlite$(OLD_DELIVERY)).run(
        key,
        seq,
        status,
        attempts,
        reason,
        status === 'pending' ? null : 200,
      );
    });
    for (const a of OLD_ATTEMPTS) db.prepare(sqlite$(OLD_ATTEMPT)).run(...oldAttempt(a));
    db.close();
    return this.open(t.dir);
  },
  async openNew() {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return this.open(t.dir);
  },
  open(dir: string) {
    const store = new SqliteStore({ dataDir: dir });
    cleanups.push(() => store.close());
    return store;
  },
  async refs(store) {
    return (store as SqliteStore).db
      .prepare('SELECT key FROM subscription_refs ORDER BY id')
      .pluck()
      .all() as string[];
  },
} as Backend & { open(dir: string): SqliteStore };

const postgres: Backend & { open(schema: string): Promise<PostgresStore> } = {
  name: 'postgres',
  skip: await skipWithoutPostgres('subscription references'),
  async openOld() {
    const schema = uniqueSchema();
    cleanups.push(() => dropSchema(schema));
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.query(MIGRATIONS_TABLE);
      for (const m of loadMigrations('postgres').filter((m) => m.version < 7)) {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [m.version, m.name, 'then']);
      }
      await c.query(OLD_SUB, [A, A, SCOPE]);
      for (const [i, [key, status, attempts, reason]] of OLD_ROWS.entries()) {
        const seq = (await c.query(`${OLD_EVENT} RETURNING seq`, [`e${i}`, SCOPE, `{"id":"e${i}"}`])).rows[0]
          .seq;
        await c.query(OLD_DELIVERY, [key, seq, status, attempts, reason, status === 'pending' ? null : 200]);
      }
      for (const a of OLD_ATTEMPTS) await c.query(OLD_ATTEMPT, oldAttempt(a));
    } finally {
      await c.end();
    }
    return this.open(schema);
  },
  async openNew() {
    const schema = uniqueSchema();
    cleanups.push(() => dropSchema(schema));
    return this.open(schema);
  },
  async open(schema: string) {
    const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema });
    cleanups.push(() => store.close());
    return store;
  },
  async refs(store) {
    const res = await (store as PostgresStore).pool.query('SELECT key FROM subscription_refs ORDER BY id');
    return res.rows.map((r) => r.key as string);
  },
};

describe.each([sqlite, postgres])('subscription references on $name', (backend) => {
  it('migrates deliveries written by the previous schema with their subscriptions, statuses and indexes', async (ctx) => {
    if (backend.skip) return ctx.skip();
    const store = await backend.openOld();
    const listed = await store.listDeliveries(A, { limit: 10 });
    expect(listed.map((d) => [d.subscriptionKey, d.event.eventId, d.status, d.attempts])).toEqual([
      [A, 'e0', 'pending', 0],
      [A, 'e1', 'deadlettered', 3],
      [A, 'e2', 'delivered', 1],
    ]);
    expect(listed[1]!.deadLetterReason).toBe('MaxDeliveryAttemptsExceeded');
    expect(await store.countDeliveries(A, 'deadlettered')).toBe(1);
    expect(await store.countDeliveries(ORPHAN)).toBe(1);
    expect(await backend.refs(store)).toEqual([A, ORPHAN, LOGGED_ONLY]);
    const logged = async (key: string) =>
      (await store.listAttempts(key, { limit: 10 })).map((a) => [
        a.subscriptionKey,
        a.eventIds,
        a.statusCode,
      ]);
    expect(await logged(A)).toEqual([
      [A, ['e2'], 200],
      [A, ['e1'], 500],
    ]);
    expect(await logged(LOGGED_ONLY)).toEqual([[LOGGED_ONLY, ['z0'], 503]]);
    expect(await store.listAttempts(A, { limit: 10, outcome: 'failed' })).toHaveLength(1);

    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 2000 });
    expect(claimed.map((d) => [d.subscriptionKey, d.event.eventId])).toEqual([
      [A, 'e0'],
      [ORPHAN, 'e3'],
    ]);
    expect(await store.redrive(A, 'all', 1000)).toBe(1);
    expect(await store.countDeliveries(A, 'pending')).toBe(2);
  });

  it('gives a new subscription a reference, keeps it across delete and re-create, and deletes only its deliveries', async (ctx) => {
    if (backend.skip) return ctx.skip();
    const store = await backend.openNew();
    await store.putEventSubscription(sub(A, 'a'));
    await store.putEventSubscription(sub(B, 'b'));
    await store.putEventSubscription(sub(A, 'a')); // an update: no second reference
    expect(await backend.refs(store)).toEqual([A, B]);

    const append = (id: string, keys: string[]) =>
      store.appendEvents(
        [
          {
            eventId: id,
            sourceKey: SCOPE,
            eventType: 'T',
            subject: 's',
            schema: 'EventGridSchema',
            body: '{}',
            subscriptionKeys: keys,
          },
        ],
        100,
      );
    await append('x1', [A, B]);
    expect(await store.deleteEventSubscription(A)).toBe(true);
    expect(await store.countDeliveries(A)).toBe(0);
    expect(await store.countDeliveries(B)).toBe(1);

    await store.putEventSubscription(sub(A, 'a'));
    await append('x2', [A, ORPHAN]); // ORPHAN: a key never subscribed gets a reference too
    expect(await backend.refs(store)).toEqual([A, B, ORPHAN]);
    expect(
      await store.enqueueDeliveries(B, [claimedSeq(await store.listDeliveries(A, { limit: 1 }))], 100),
    ).toBe(1);
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 2000 });
    expect(claimed.map((d) => [d.event.eventId, d.subscriptionKey])).toEqual([
      ['x1', B],
      ['x2', A],
      ['x2', ORPHAN],
      ['x2', B],
    ]);
    // The attempt log names subscriptions by reference too, and lists each one's attempts under its key.
    const attempt = (d: (typeof claimed)[number], statusCode: number) => ({
      subscriptionKey: d.subscriptionKey,
      startedAt: 1000,
      durationMs: 5,
      deliveryCount: 1,
      eventIds: [d.event.eventId],
      statusCode,
      outcome: statusCode === 200 ? 'Succeeded' : 'Busy',
    });
    await store.settleDeliveries(
      'w',
      [],
      claimed.map((d, i) => attempt(d, 200 + i)),
      1000,
    );
    for (const [i, d] of claimed.entries()) {
      const log = await store.listAttempts(d.subscriptionKey, { limit: 10 });
      expect(log.filter((a) => a.statusCode === 200 + i).map((a) => [a.subscriptionKey, a.eventIds])).toEqual(
        [[d.subscriptionKey, [d.event.eventId]]],
      );
    }
    expect((await store.listAttempts(B, { limit: 10 })).map((a) => a.eventIds)).toEqual([['x1'], ['x2']]);
  });
});

const claimedSeq = (ds: { event: { seq: string } }[]) => ds[0]!.event.seq;

describe('SQLite reference cache', () => {
  it('does not cache a reference created by a transaction that rolled back', async () => {
    const store = (await sqlite.openNew()) as SqliteStore;
    const db = store.db;
    const refs = new SubscriptionRefs(db);
    const C = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/c`;
    // An append inside a failing transaction (a job's status change appends its events in one) creates C's
    // reference, and the reference rolls back with it...
    let during = 0;
    expect(() =>
      db.transaction(() => {
        during = refs.id(C);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    // ...so the id it had may go to another key: C must not keep it.
    db.prepare('INSERT INTO subscription_refs (key) VALUES (?)').run(A);
    expect(refs.key(during)).toBe(A);
    const id = refs.id(C);
    expect(id).not.toBe(during);
    expect(refs.key(id)).toBe(C);
    expect(refs.id(C)).toBe(id);
  });
});

describe('PostgreSQL reference cache', () => {
  it('gives back the rows of a claim whose subscription references cannot be resolved', async (ctx) => {
    if (postgres.skip) return ctx.skip();
    const store = (await postgres.openNew()) as PostgresStore;
    await store.putEventSubscription(sub(A, 'a'));
    const [event] = await store.appendEvents(
      [
        {
          eventId: 'y1',
          sourceKey: SCOPE,
          eventType: 'T',
          subject: 's',
          schema: 'EventGridSchema',
          body: '{}',
          subscriptionKeys: [A],
        },
      ],
      100,
      { owner: 'publisher', until: 150 }, // born leased: returned with its seq
    );
    // A row naming a reference nobody created (no foreign key keeps it out), claimed with A's row.
    await store.pool.query(
      `INSERT INTO deliveries (sub, event_seq, status, next_attempt_at, created_at) VALUES (424242, $1, 'pending', 100, 100)`,
      [event!.event.seq],
    );
    await expect(
      store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 9000 }),
    ).rejects.toThrow('subscription reference 424242 does not exist');
    const rows = await store.pool.query(
      'SELECT sub, lease_owner, next_attempt_at FROM deliveries ORDER BY id',
    );
    expect(rows.rows.map((r) => [r.sub, r.lease_owner, Number(r.next_attempt_at)])).toEqual([
      [expect.any(Number), null, 0],
      [424242, null, 0],
    ]);
    // With the stray row gone, the same claim hands A's delivery over with its key.
    await store.pool.query('DELETE FROM deliveries WHERE sub = 424242');
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 9000 });
    expect(claimed.map((d) => [d.subscriptionKey, d.event.eventId])).toEqual([[A, 'y1']]);
  });

  it('plans the claim with indexes only, even generically on empty tables', async (ctx) => {
    if (postgres.skip) return ctx.skip();
    const schema = uniqueSchema();
    cleanups.push(() => dropSchema(schema));
    await postgres.open(schema); // migrated, empty (closed by the cleanup)
    const c = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${schema} -c plan_cache_mode=force_generic_plan`,
    });
    await c.connect();
    try {
      await c.query(`PREPARE claim(bigint, int, text, bigint) AS ${CLAIM}`);
      const plan = (await c.query('EXPLAIN EXECUTE claim(1000, 500, $$w$$, 2000)')).rows
        .map((r) => r['QUERY PLAN'] as string)
        .join('\n');
      // A sequential scan here would read a whole table per claim for as long as the plan is cached.
      expect(plan).not.toMatch(/Seq Scan/);
      expect(plan).toMatch(/Index Scan using events_pkey/);
    } finally {
      await c.end();
    }
  });
});
