/**
 * The SQLite claim reader (store/sqlite-claim-reader.ts): rows packed across the thread boundary arrive intact,
 * a read answered late (as on the reader thread) never hands out a delivery settled meanwhile, and a file
 * store reads on its thread and stops it on close.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  inThreadReader,
  pack,
  unpack,
  workerReader,
  type ClaimReader,
  type ClaimRow,
} from '../src/store/sqlite-claim-reader.js';
import { SqliteDeliveries } from '../src/store/sqlite-deliveries.js';
import { SubscriptionRefs } from '../src/store/sqlite-refs.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { tempDir } from './helpers/tmp.js';

const SUB = '/subscriptions/s1/resourcegroups/rg/providers/microsoft.eventgrid/topics/t/eventsubscriptions/s';

async function seed(store: SqliteStore, n: number, at: number): Promise<void> {
  await store.appendEvents(
    Array.from({ length: n }, (_, i) => ({
      eventId: `e${i}`,
      sourceKey: 't',
      eventType: 'T',
      subject: 's',
      schema: 'EventGridSchema',
      body: JSON.stringify({ id: `e${i}` }),
      subscriptionKeys: [SUB],
    })),
    at,
  );
}

const ids = (ds: { event: { eventId: string } }[]) => ds.map((d) => d.event.eventId);

describe('claim pages', () => {
  it('unpack(pack(rows)) gives the rows back, bodies as UTF-8, whatever the strings hold', () => {
    const rows: ClaimRow[] = [
      [1, 1000, 3, 0, 999, 7, 'ev-1', 'EventGridSchema', '{"id":"ev-1","data":{"n":"Zoë 🚀 中文"}}', 998],
      [2, 1000, 3, 3, 999, 8, '', 'CloudEventSchemaV1_0', '{}', 1.5],
      [Number.MAX_SAFE_INTEGER, -5, 2 ** 40, 29, 0, 9, 'ev\u0001odd', 's', '"\\u0000"', 0],
    ];
    const page = pack(rows);
    // Bodies come back as their UTF-8 bytes (non-ASCII ones made the page buffer grow).
    const bytes = rows.map((r) => r.with(8, Buffer.from(r[8] as string, 'utf8')));
    expect(unpack(structuredClone(page))).toEqual(bytes);
    expect(unpack(pack([]))).toEqual([]);
  });
});

describe('claims answered late', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = new SqliteStore({ dataDir: ':memory:' });
  });
  afterEach(() => store.close());

  it('do not hand out a delivery settled after the read was issued', async () => {
    await seed(store, 3, 1000);
    // Reads the rows when issued (the snapshot a thread would take) and answers when the test says so.
    const inner = inThreadReader(store.db);
    const held: (() => void)[] = [];
    let hold = false;
    const reader: ClaimReader = {
      threaded: false,
      async read(q) {
        const rows = await inner.read(q);
        if (!hold) return rows;
        await new Promise<void>((r) => held.push(r));
        return rows;
      },
      close: async () => {},
    };
    const dl = new SqliteDeliveries(store.db, reader, new SubscriptionRefs(store.db));
    const first = await dl.claimDue({ owner: 'w', limit: 10, now: 1000, leaseUntil: 2000 });
    expect(ids(first)).toEqual(['e0', 'e1', 'e2']);

    // A later claim, after every lease lapsed: its read sees all three pending...
    hold = true;
    const late = dl.claimDue({ owner: 'w', limit: 10, now: 3000, leaseUntil: 9000 });
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    // ...and e0's settlement commits before the answer arrives.
    const ended = store.db.transaction(() =>
      dl.settle(
        'w',
        [
          {
            id: first[0]!.id,
            status: 'delivered',
            attempts: 1,
            lastAttemptAt: 1500,
            lastOutcome: 'Succeeded',
          },
        ],
        [],
        1500,
      ),
    )();
    dl.forget(ended);
    hold = false;
    for (const release of held.splice(0)) release();
    expect(ids(await late)).toEqual(['e1', 'e2']);

    // A read issued after the commit sees e0 delivered anyway: nothing is held back from it.
    const status = store.db.prepare('SELECT status FROM deliveries ORDER BY id').pluck().all();
    expect(status).toEqual(['delivered', 'pending', 'pending']);
    expect(await dl.claimDue({ owner: 'x', limit: 10, now: 10_000, leaseUntil: 20_000 })).toHaveLength(2);
  });
});

describe('a file store', () => {
  let dir: { dir: string; cleanup: () => void };
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  it('pages through a backlog read on its thread (pages read ahead, claims of any size) and refuses claims once closed', async () => {
    const store = new SqliteStore({ dataDir: dir.dir, synchronous: 'NORMAL' });
    await seed(store, 1200, 1000);
    const seen: string[] = [];
    // Claims smaller than the pages read ahead leave the rest of a page to the next claim.
    for (const limit of [300, 500, 120, 500, 500]) {
      seen.push(...ids(await store.claimDeliveries({ owner: 'w', limit, now: 1000, leaseUntil: 9000 })));
    }
    expect(seen).toEqual(Array.from({ length: 1200 }, (_, i) => `e${i}`));
    await store.close();
    await expect(
      store.claimDeliveries({ owner: 'w', limit: 1, now: 1000, leaseUntil: 9000 }),
    ).rejects.toThrow(/closed/);
  });
});

describe('a reader thread that dies', () => {
  it('unleases the rows of a claim whose later read failed, so the next claim hands them out', async () => {
    const store = new SqliteStore({ dataDir: ':memory:' });
    try {
      await seed(store, 4, 1000);
      const inner = inThreadReader(store.db);
      let calls = 0;
      const reader: ClaimReader = {
        threaded: false,
        async read(q) {
          if (++calls === 3) throw new Error('claim reader thread exited (1)');
          return inner.read(q);
        },
        close: async () => {},
      };
      const dl = new SqliteDeliveries(store.db, reader, new SubscriptionRefs(store.db));
      const claim = (limit: number) => dl.claimDue({ owner: 'w', limit, now: 1000, leaseUntil: 120_000 });
      expect(ids(await claim(2))).toEqual(['e0', 'e1']);
      // Leases e2 and e3 (a short page), then its look from the start fails.
      await expect(claim(5)).rejects.toThrow('exited');
      expect(ids(await claim(5))).toEqual(['e2', 'e3']); // not held until their lease lapses
    } finally {
      await store.close();
    }
  });

  it('fails the reads in flight, then reads in-thread', async () => {
    const store = new SqliteStore({ dataDir: ':memory:' });
    try {
      await seed(store, 2, 1000);
      const dir = tempDir();
      // The thread cannot open this file: it dies at start, as a crashed thread would.
      const reader = workerReader(`${dir.dir}/missing/mlgrid.db`, inThreadReader(store.db));
      const q = { t: Number.MIN_SAFE_INTEGER, id: 0, now: 1000, want: 10 };
      await expect(reader.read(q)).rejects.toThrow();
      expect((await reader.read(q)).map((r) => r[6])).toEqual(['e0', 'e1']);
      await reader.close();
      await expect(reader.read(q)).rejects.toThrow(/closed/);
      dir.cleanup();
    } finally {
      await store.close();
    }
  });
});
