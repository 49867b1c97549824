/**
 * Delivery leases, beyond store.contract.test.ts: claims paging through a backlog, leases lapsing behind the
 * pages already handed out, and nextDueAt while everything is leased — on both stores, whose leases differ
 * (PostgreSQL writes them to the rows; SQLite keeps claims in memory, see store/sqlite-deliveries.ts). Then the
 * SQLite specifics: a claim writes nothing, so a restarted process claims the rows again at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { EventSubscriptionRecord, Store, TopicRecord } from '../src/store/types.js';
import { storeBackends } from './helpers/stores.js';
import { tempDir } from './helpers/tmp.js';

const backends = await storeBackends('store leases');

const TOPIC_ID = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventGrid/topics/leases';
const topic: TopicRecord = {
  key: TOPIC_ID.toLowerCase(),
  id: TOPIC_ID,
  subscriptionId: 's1',
  resourceGroup: 'rg',
  name: 'leases',
  spec: { location: 'local', inputSchema: 'EventGridSchema' },
  key1: 'k1',
  key2: 'k2',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const SUB_ID = `${TOPIC_ID}/providers/Microsoft.EventGrid/eventSubscriptions/l`;
const sub: EventSubscriptionRecord = {
  key: SUB_ID.toLowerCase(),
  id: SUB_ID,
  scopeKey: topic.key,
  name: 'l',
  spec: { name: 'l', filter: {} },
  provisioningState: 'Succeeded',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

async function seed(store: Store, n: number, at: number, from = 0) {
  await store.putTopic(topic);
  await store.putEventSubscription(sub);
  const rows = Array.from({ length: n }, (_, i) => ({
    eventId: `e${from + i}`,
    sourceKey: topic.key,
    eventType: 'T',
    subject: 's',
    schema: 'EventGridSchema',
    body: JSON.stringify({ id: `e${from + i}` }),
    subscriptionKeys: [sub.key],
  }));
  await store.appendEvents(rows, at);
}

const ids = (ds: { event: { eventId: string } }[]) => ds.map((d) => d.event.eventId);

describe.each(backends)('delivery leases on $name', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async (ctx) => {
    if (backend.skip) return ctx.skip();
    ({ store, cleanup } = await backend.open());
  });
  afterEach(async () => {
    await cleanup?.();
  });

  it('pages through a backlog and hands out lapsed leases behind the pages already taken', async () => {
    await seed(store, 6, 1000);
    const lease = (owner: string, limit: number, now: number, leaseUntil: number) =>
      store.claimDeliveries({ owner, limit, now, leaseUntil });
    expect(ids(await lease('w1', 2, 1000, 2000))).toEqual(['e0', 'e1']);
    expect(ids(await lease('w1', 2, 1000, 2000))).toEqual(['e2', 'e3']);
    // e0..e3 lapse at 2000; e4, e5 were never taken.
    expect(ids(await lease('w2', 1, 2500, 9000))).toEqual(['e4']);
    expect(ids(await lease('w2', 10, 2500, 9000)).sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e5']);
    expect(await lease('w3', 10, 8999, 20_000)).toEqual([]);
    // Everything is leased until 9000: that is when something is due next (no busy polling meanwhile).
    expect(await store.nextDueAt()).toBe(9000);
    // w1's leases lapsed and were taken over: its late outcome does not apply.
    const all = await store.listDeliveries(sub.key, { limit: 10 });
    await store.settleDeliveries('w1', [{ id: all[0]!.id, status: 'delivered', attempts: 1 }], [], 3000);
    expect(await store.countDeliveries(sub.key, 'delivered')).toBe(0);
    await store.settleDeliveries(
      'w2',
      all.map((d) => ({ id: d.id, status: 'delivered' as const, attempts: 1 })),
      [],
      3000,
    );
    expect(await store.countDeliveries(sub.key, 'delivered')).toBe(6);
    expect(await store.nextDueAt()).toBeUndefined();
  });

  it('finds rows that became due while claims were paging, and settled rows never come back', async () => {
    await seed(store, 4, 1000);
    const page = await store.claimDeliveries({ owner: 'w', limit: 2, now: 1000, leaseUntil: 60_000 });
    expect(ids(page)).toEqual(['e0', 'e1']);
    await store.settleDeliveries(
      'w',
      [
        { id: page[0]!.id, status: 'pending', attempts: 1, nextAttemptAt: 1500 },
        { id: page[1]!.id, status: 'delivered', attempts: 1 },
      ],
      [],
      1100,
    );
    await seed(store, 1, 1200, 4);
    const rest = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1600, leaseUntil: 60_000 });
    expect(ids(rest).sort()).toEqual(['e0', 'e2', 'e3', 'e4']);
    expect(await store.claimDeliveries({ owner: 'w', limit: 10, now: 59_999, leaseUntil: 90_000 })).toEqual(
      [],
    );
    // Released leases are due again at once, for anyone.
    expect(await store.releaseLeases('w')).toBe(4);
    const again = await store.claimDeliveries({ owner: 'x', limit: 10, now: 1600, leaseUntil: 60_000 });
    expect(ids(again).sort()).toEqual(['e0', 'e2', 'e3', 'e4']);
  });

  it('settles the deliveries of several responses, each with its own values', async () => {
    await seed(store, 9, 1000);
    const got = await store.claimDeliveries({ owner: 'w', limit: 9, now: 1000, leaseUntil: 9000 });
    const ok = (i: number, at: number, code = 200) => ({
      id: got[i]!.id,
      status: 'delivered' as const,
      attempts: 1,
      lastAttemptAt: at,
      lastStatusCode: code,
      lastOutcome: 'Succeeded',
    });
    // Two responses of 4 and 1 deliveries, a retry in between, then a response of 3 (values differ per response).
    await store.settleDeliveries(
      'w',
      [
        ok(0, 1100),
        ok(1, 1100),
        ok(2, 1100),
        ok(3, 1100),
        { id: got[4]!.id, status: 'pending', attempts: 1, nextAttemptAt: 5000, lastOutcome: 'Busy' },
        ok(5, 1200, 204),
        ok(6, 1300),
        ok(7, 1300),
        ok(8, 1300),
      ],
      [],
      1400,
    );
    const rows = await store.listDeliveries(sub.key, { limit: 10 });
    expect(rows.map((d) => [d.status, d.lastAttemptAt ?? null, d.lastStatusCode ?? null])).toEqual([
      ['delivered', 1100, 200],
      ['delivered', 1100, 200],
      ['delivered', 1100, 200],
      ['delivered', 1100, 200],
      ['pending', null, null],
      ['delivered', 1200, 204],
      ['delivered', 1300, 200],
      ['delivered', 1300, 200],
      ['delivered', 1300, 200],
    ]);
    expect(rows.filter((d) => d.status === 'delivered').every((d) => d.settledAt === 1400)).toBe(true);
    expect(rows[4]).toMatchObject({ nextAttemptAt: 5000, lastOutcome: 'Busy', attempts: 1 });
  });

  it('settles one response of consecutive or gapped deliveries, and nothing in the gaps', async () => {
    await seed(store, 12, 1000);
    const got = await store.claimDeliveries({ owner: 'w', limit: 12, now: 1000, leaseUntil: 9000 });
    const ok = (i: number) => ({
      id: got[i]!.id,
      status: 'delivered' as const,
      attempts: 1,
      lastAttemptAt: 1100,
      lastStatusCode: 200,
      lastOutcome: 'Succeeded',
    });
    // 0–4 consecutive; then 6, 7, 9, 11 (5, 8 and 10 not in this response).
    await store.settleDeliveries('w', [0, 1, 2, 3, 4].map(ok), [], 1200);
    await store.settleDeliveries('w', [6, 7, 9, 11].map(ok), [], 1200);
    const rows = await store.listDeliveries(sub.key, { limit: 20 });
    const pending = rows.flatMap((d, i) => (d.status === 'pending' ? [i] : []));
    expect(pending).toEqual([5, 8, 10]);
  });

  it('settles whatever an endpoint answered, and keeps event ids exactly', async () => {
    await seed(store, 1, 1000);
    const [d] = await store.claimDeliveries({ owner: 'w', limit: 1, now: 1000, leaseUntil: 9000 });
    const eventIds = ['a"b', 'c\\d', 'é☃', '\u2028', '{"x":1}'];
    await store.settleDeliveries(
      'w',
      [
        {
          id: d!.id,
          status: 'delivered',
          attempts: 1,
          lastAttemptAt: 1100,
          lastStatusCode: 200,
          lastOutcome: 'Succeeded',
        },
      ],
      [
        {
          subscriptionKey: sub.key,
          startedAt: 1100,
          durationMs: 3,
          deliveryCount: 0,
          eventIds,
          statusCode: 200,
          outcome: 'Succeeded',
          responseExcerpt: 'x\u0000y\ud800z',
        },
      ],
      1200,
    );
    expect(await store.countDeliveries(sub.key, 'delivered')).toBe(1);
    const [a] = await store.listAttempts(sub.key, { limit: 10 });
    expect(a!.eventIds).toEqual(eventIds);
    expect(a!.responseExcerpt).toMatch(/^x.y.+z$/su); // NUL and the lone surrogate replaced, or kept
  });
});

describe('SQLite leases live in memory', () => {
  let dir: { dir: string; cleanup: () => void };
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  it('writes nothing on claim, so a new process claims the rows at once; fresh hand-offs are released at start', async () => {
    let store = new SqliteStore({ dataDir: dir.dir, synchronous: 'NORMAL' });
    await seed(store, 2, 1000);
    await store.appendEvents(
      [
        {
          eventId: 'fresh',
          sourceKey: topic.key,
          eventType: 'T',
          subject: 's',
          schema: 'EventGridSchema',
          body: '{"id":"fresh"}',
          subscriptionKeys: [sub.key],
        },
      ],
      1000,
      { owner: 'dead', until: 500_000 },
    );
    expect(
      ids(await store.claimDeliveries({ owner: 'dead', limit: 10, now: 1000, leaseUntil: 500_000 })),
    ).toEqual(['e0', 'e1']);
    const leased = store.db
      .prepare('SELECT count(*) AS n FROM deliveries WHERE lease_owner IS NOT NULL')
      .get() as { n: number };
    expect(leased.n).toBe(1); // only the fresh hand-off's row carries its lease
    await store.close(); // the process dies with its leases

    store = new SqliteStore({ dataDir: dir.dir, synchronous: 'NORMAL' });
    try {
      expect(await store.releaseLeases()).toBe(1); // server start: the dead process's fresh hand-off
      const got = await store.claimDeliveries({ owner: 'new', limit: 10, now: 1000, leaseUntil: 9000 });
      expect(ids(got).sort()).toEqual(['e0', 'e1', 'fresh']);
    } finally {
      await store.close();
    }
  });
});
