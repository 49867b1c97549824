/**
 * What a delivery costs the PostgreSQL server, against the least any design could spend (issue 3's PostgreSQL
 * batch goal). Seeds N ~1 KB events with one delivery each (a fresh schema, dropped afterwards), then measures the
 * server's CPU time per row — every `postgres` process of this host, from /proc, so WAL writer and autovacuum
 * count too — for:
 *
 *   claim       mlgrid's claim statement (lease + event bodies), 500 rows a call, as the dispatcher issues it
 *   settle      mlgrid's settlement of those rows as delivered, with one attempt record per request of
 *               --events-per-request rows (default 100, the batch goal's size; 1 for one event per request)
 *   read floor  the same rows and bodies read by id range, nothing written: what any design must do to deliver
 *               a backlog whose bodies live in PostgreSQL
 *   status floor a status update alone on a copy of the rows with no index but the primary key and room on
 *               every page (fillfactor 50, so updates are HOT): the least a per-row delivered status costs
 *
 * The calls run one at a time on one connection, a settlement three claims behind (as in a drain), so the
 * figures are CPU per row, not throughput. Linux only; PostgreSQL must run on this host.
 *
 * It also reports the attempt log's size on disk per attempt (table, indexes and TOAST).
 *
 *   node --conditions=mlgrid-source --import tsx bench/pg-delivery-cost.ts [--rows 60000] [--rounds 3]
 *        [--events-per-request 100] [--event-bytes N] [--json out.json]
 *
 * --event-bytes N pads each event's `data` with incompressible text to about N bytes of JSON: above ~2 KB
 * compressed, PostgreSQL stores the body out of line (TOAST), which the claim then reads back.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../packages/server/src/store/postgres-store.js';
import type { ClaimedDelivery, EventToStore } from '../packages/server/src/store/types.js';
import { PG_URL, storedEvent } from './lib/delivery-events.js';
import { postgresCpuMs as serverCpuMs } from './lib/proc.js';
import { arg, fmt2, median, table, writeJsonIfAsked } from './lib/util.js';

const ROWS = Number(arg('rows') ?? 60_000);
const ROUNDS = Number(arg('rounds') ?? 3);
const PAGE = 500;
const PER_REQUEST = Number(arg('events-per-request') ?? 100);
const EVENT_BYTES = Number(arg('event-bytes') ?? 0);
if (!Number.isInteger(PER_REQUEST) || PER_REQUEST < 1)
  throw new Error('--events-per-request: a positive integer');
const SUB =
  '/subscriptions/bench/resourceGroups/bench/providers/Microsoft.EventGrid/topics/t/eventSubscriptions/s';

/** Server CPU µs per row spent while `fn` runs. */
async function cost(fn: () => Promise<void>): Promise<number> {
  const before = serverCpuMs();
  await fn();
  return ((serverCpuMs() - before) * 1000) / ROWS;
}

/** `n` characters of random base64: they do not compress. */
const padding = (n: number) =>
  n <= 0
    ? ''
    : randomBytes(Math.ceil((n * 3) / 4))
        .toString('base64')
        .slice(0, n);

async function seed(store: PostgresStore): Promise<void> {
  for (let from = 0; from < ROWS; from += 100) {
    const events: EventToStore[] = [];
    for (let seq = from; seq < Math.min(from + 100, ROWS); seq++) {
      const e = storedEvent('0badcafe', seq) as {
        id: string;
        eventType: string;
        subject: string;
        data: object;
      };
      if (EVENT_BYTES > 0) e.data = { ...e.data, padding: padding(EVENT_BYTES - JSON.stringify(e).length) };
      const body = JSON.stringify(e);
      const { id: eventId, eventType, subject } = e;
      events.push({
        eventId,
        eventType,
        subject,
        sourceKey: 't',
        schema: 'EventGridSchema',
        body,
        subscriptionKeys: [SUB],
      });
    }
    await store.appendEvents(events, 1000);
  }
  await store.pool.query('ANALYZE');
  await store.pool.query('CHECKPOINT'); // no full-page images left over from seeding
}

async function round(): Promise<Record<string, number>> {
  const schema = `bench_pgcost_${process.pid}`;
  const store = await PostgresStore.open({ connectionString: PG_URL, schema });
  const raw = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await raw.connect();
  try {
    await seed(store);
    const now = Date.now();
    const claimed: ClaimedDelivery[][] = [];
    let settleMs = 0;
    const settleOne = async () => {
      const page = claimed.shift()!;
      const before = serverCpuMs();
      const attempts = [];
      for (let i = 0; i < page.length; i += PER_REQUEST) {
        const ids = page.slice(i, i + PER_REQUEST).map((d) => d.event.eventId);
        attempts.push({
          subscriptionKey: SUB,
          startedAt: now,
          durationMs: 2,
          deliveryCount: 1,
          eventIds: ids,
          statusCode: 200,
          outcome: 'Succeeded',
        });
      }
      const settlements = page.map((d) => ({
        id: d.id,
        status: 'delivered' as const,
        attempts: 1,
        lastAttemptAt: now,
        lastStatusCode: 200,
        lastOutcome: 'Succeeded',
      }));
      await store.settleDeliveries('bench', settlements, attempts, now);
      settleMs += serverCpuMs() - before;
    };
    const claimAndSettle = await cost(async () => {
      for (;;) {
        const page = await store.claimDeliveries({
          owner: 'bench',
          limit: PAGE,
          now,
          leaseUntil: now + 600_000,
        });
        if (page.length > 0) claimed.push(page);
        if (claimed.length > 3 || (page.length === 0 && claimed.length > 0)) await settleOne();
        if (page.length === 0 && claimed.length === 0) break;
      }
    });
    const settle = (settleMs * 1000) / ROWS;
    const pending = await store.countPending();
    if (pending !== 0) throw new Error(`${pending} deliveries left pending`);

    const readFloor = await cost(async () => {
      for (let after = 0; ;) {
        const r = await raw.query<unknown[]>({
          name: 'read',
          text: `SELECT d.id, d.sub, d.attempts, d.created_at, d.event_seq, e.event_id, e.schema, e.body, e.published_at
            FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.id > $1 ORDER BY d.id LIMIT ${PAGE}`,
          values: [after],
          rowMode: 'array',
        });
        if (r.rows.length === 0) break;
        after = Number(r.rows.at(-1)![0]);
      }
    });

    await raw.query(`CREATE TABLE floor_status (LIKE deliveries INCLUDING DEFAULTS) WITH (fillfactor = 50);
      INSERT INTO floor_status SELECT * FROM deliveries ORDER BY id; ALTER TABLE floor_status ADD PRIMARY KEY (id);
      ANALYZE floor_status; CHECKPOINT`);
    const ids = (await raw.query('SELECT array_agg(id ORDER BY id) AS ids FROM floor_status')).rows[0]
      .ids as string[];
    let updated = 0;
    const statusFloor = await cost(async () => {
      for (let i = 0; i < ids.length; i += PAGE) {
        const r = await raw.query({
          name: 'status',
          text: `UPDATE floor_status SET status = 'delivered', attempts = 1, last_attempt_at = $2, last_status_code = 200,
              last_outcome = 'Succeeded', settled_at = $2 WHERE id = ANY($1::bigint[])`,
          values: [ids.slice(i, i + PAGE), now],
        });
        updated += r.rowCount ?? 0;
      }
    });
    if (updated !== ROWS) throw new Error(`status floor updated ${updated} of ${ROWS} rows`);
    const log = await raw.query(
      `SELECT pg_total_relation_size('delivery_attempts') AS bytes, (SELECT count(*) FROM delivery_attempts) AS n`,
    );
    const attemptBytes = Number(log.rows[0].bytes) / Number(log.rows[0].n);
    return { claim: claimAndSettle - settle, settle, readFloor, statusFloor, attemptBytes };
  } finally {
    await raw.end();
    await store.pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await store.close();
  }
}

const rounds: Record<string, number>[] = [];
for (let i = 0; i < ROUNDS; i++) {
  rounds.push(await round());
  console.error(
    `  [${i + 1}/${ROUNDS}] ${JSON.stringify(rounds.at(-1), (_k, v) => (typeof v === 'number' ? +v.toFixed(2) : v))}`,
  );
}
const med = (k: string) => median(rounds.map((r) => r[k]!));
const summary = {
  mlgrid: med('claim') + med('settle'),
  floor: med('readFloor') + med('statusFloor'),
  attemptBytes: med('attemptBytes'),
};
console.log(
  `\nPostgreSQL server CPU per delivery (µs, median of ${ROUNDS} rounds of ${ROWS.toLocaleString('en-US')} rows, ` +
    `${PER_REQUEST} per request)\n` +
    table(
      ['', 'claim / read', 'settle / status', 'total'],
      [
        ['mlgrid', fmt2(med('claim')), fmt2(med('settle')), fmt2(summary.mlgrid)],
        ['floor', fmt2(med('readFloor')), fmt2(med('statusFloor')), fmt2(summary.floor)],
      ],
    ) +
    `\nattempt log: ${Math.round(summary.attemptBytes)} bytes on disk per attempt`,
);
writeJsonIfAsked({
  benchmark: 'pg-delivery-cost',
  rows: ROWS,
  page: PAGE,
  eventsPerRequest: PER_REQUEST,
  rounds,
  summary,
});
