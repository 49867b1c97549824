/**
 * Delivery rows name their subscription by a reference (migration 008, store/sqlite-refs.ts): a database written
 * by the previous schema keeps every delivery with its subscription, and new subscriptions get a reference.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, MIGRATIONS_TABLE } from '../src/store/migrations.js';
import { SubscriptionRefs } from '../src/store/sqlite-refs.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { tempDir } from './helpers/tmp.js';

const SCOPE = '/subscriptions/s1/resourcegroups/rg/providers/microsoft.eventgrid/topics/t';
const A = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/a`;
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

/** A data directory at schema 7 with deliveries of every status. */
function writeVersion7(dir: string): void {
  const db = new Database(join(dir, 'mlgrid.db'));
  db.pragma('journal_mode = WAL');
  db.exec(MIGRATIONS_TABLE);
  for (const m of loadMigrations('sqlite').filter((m) => m.version <= 7)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 'then');
  }
  db.prepare(
    `INSERT INTO event_subscriptions (key, id, scope_key, name, spec, provisioning_state, created_at, updated_at)
     VALUES (?, ?, ?, 'a', '{}', 'Succeeded', 'then', 'then')`,
  ).run(A, A, SCOPE);
  const event = db.prepare(
    `INSERT INTO events (event_id, source_key, event_type, subject, schema, body, published_at)
     VALUES (?, ?, 'T', 's', 'EventGridSchema', ?, 100)`,
  );
  const delivery = db.prepare(`INSERT INTO deliveries (subscription_key, event_seq, status, attempts,
      next_attempt_at, created_at, dead_letter_reason, settled_at) VALUES (?, ?, ?, ?, 100, 100, ?, ?)`);
  const rows: [string, string, number, string | null][] = [
    [A, 'pending', 0, null],
    [A, 'deadlettered', 3, 'MaxDeliveryAttemptsExceeded'],
    [A, 'delivered', 1, null],
    [ORPHAN, 'pending', 0, null],
  ];
  rows.forEach(([key, status, attempts, reason], i) => {
    const seq = event.run(`e${i}`, SCOPE, JSON.stringify({ id: `e${i}` })).lastInsertRowid;
    delivery.run(key, seq, status, attempts, reason, status === 'pending' ? null : 200);
  });
  db.close();
}

describe('SQLite subscription references', () => {
  let store: SqliteStore | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await store?.close();
    cleanup?.();
  });

  it('migrates deliveries written by schema 7 with their subscriptions, statuses and indexes', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    writeVersion7(tmp.dir);
    store = new SqliteStore({ dataDir: tmp.dir });

    const listed = await store.listDeliveries(A, { limit: 10 });
    expect(listed.map((d) => [d.subscriptionKey, d.event.eventId, d.status, d.attempts])).toEqual([
      [A, 'e0', 'pending', 0],
      [A, 'e1', 'deadlettered', 3],
      [A, 'e2', 'delivered', 1],
    ]);
    expect(listed[1]!.deadLetterReason).toBe('MaxDeliveryAttemptsExceeded');
    expect(await store.countDeliveries(A, 'deadlettered')).toBe(1);
    expect(await store.countDeliveries(ORPHAN)).toBe(1);

    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 2000 });
    expect(claimed.map((d) => [d.subscriptionKey, d.event.eventId])).toEqual([
      [A, 'e0'],
      [ORPHAN, 'e3'],
    ]);
    expect(await store.redrive(A, 'all', 1000)).toBe(1);
    expect(await store.countDeliveries(A, 'pending')).toBe(2);

    const indexes = store.db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' ORDER BY name",
      )
      .pluck()
      .all();
    expect(indexes).toEqual([
      'deliveries_by_subscription',
      'deliveries_claimable',
      'deliveries_deadlettered',
    ]);
  });

  it('gives a new subscription a reference, keeps it across delete and re-create, and deletes only its deliveries', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    store = new SqliteStore({ dataDir: tmp.dir });
    const B = `${SCOPE}/providers/microsoft.eventgrid/eventsubscriptions/b`;
    await store.putEventSubscription(sub(A, 'a'));
    await store.putEventSubscription(sub(B, 'b'));
    const refs = () => store!.db.prepare('SELECT key FROM subscription_refs ORDER BY id').pluck().all();
    expect(refs()).toEqual([A, B]);

    const append = (id: string, keys: string[]) =>
      store!.appendEvents(
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
    await append('x2', [A]);
    expect(refs()).toEqual([A, B]); // the same reference again
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 2000 });
    expect(claimed.map((d) => [d.event.eventId, d.subscriptionKey])).toEqual([
      ['x1', B],
      ['x2', A],
    ]);
  });

  it('does not cache a reference created by a transaction that rolled back', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    store = new SqliteStore({ dataDir: tmp.dir });
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
