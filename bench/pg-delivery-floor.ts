/**
 * What draining a backlog of 100-event batches out of PostgreSQL reaches on this host when the dispatcher does
 * no more than it must: the yardstick for issue 3's goal of 100,000 events/s on PostgreSQL. Not mlgrid: a minimal
 * dispatcher written for this measurement, without filters, retries, TTL, per-event state or metrics. Its
 * delivery state is one row per request ("group"), leased and settled as a whole, plus one attempt-log row per
 * request with the request's event ids, as mlgrid logs them. Two layouts (--layouts rows,blob):
 *
 *   rows   events stored one row each, in mlgrid's `events` table; a claim leases groups and reads their events'
 *          bodies by sequence range, and the request is built as mlgrid builds it (buildStoredDeliveryRequest)
 *   blob   each group holds its finished request body (lz4-compressed TOAST) and headers: nothing per event is
 *          read or written at all — the most a design could precompute at publish time
 *
 * Same receiver as bench/delivery.ts (bench/delivery-child.ts, its own process, every id verified); up to 64
 * requests in flight over an undici pool of 64 connections; claims (5 groups, 500 events, mlgrid's claimLimit) and
 * settlements each on their own connection, overlapping the requests. Raw baseline in the same round: this
 * process POSTs finished 100-event bodies to the receiver at 64 connections, back to back, for 4 s.
 *
 * Reported per run: events/s, and CPU per event of this process, the receiver, PostgreSQL (every postgres process,
 * /proc; of which the claiming and the settling backend) and the whole machine (/proc/stat: user, system, irq,
 * softirq, steal, so the kernel's loopback TCP counts). "ceiling" = cores × 1 s ÷ machine CPU per event: the rate
 * if every core were busy with this work at the cost measured. Linux only; PostgreSQL must run on this host.
 *
 *   node --conditions=mlgrid-source --import tsx bench/pg-delivery-floor.ts [--events 240000] [--rounds 3]
 *        [--layouts rows,blob] [--json out.json]
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Pool } from 'undici';
import { buildStoredDeliveryRequest } from '../packages/server/src/core/delivery-format.js';
import {
  expect,
  next,
  nonce,
  report,
  startReceiverChild,
  type Receiver,
  type ReceiverStats,
} from './lib/children.js';
import { PG_URL, storedEvent, SUBSCRIPTION } from './lib/delivery-events.js';
import { machineBusyMs, postgresCpuMs, processCpuMs } from './lib/proc.js';
import { arg, fmt, fmt2, median, table, writeJsonIfAsked } from './lib/util.js';

const EVENTS = Number(arg('events') ?? 240_000);
const ROUNDS = Number(arg('rounds') ?? 3);
const WARMUP_EVENTS = 20_000;
const BATCH = 100;
const PAGE_GROUPS = 5; // 500 events a claim, mlgrid's claimLimit
const IN_FLIGHT = Number(arg('in-flight') ?? 64);
const CORES = availableParallelism();
type Layout = 'rows' | 'blob';
const LAYOUTS = String(arg('layouts') ?? 'rows,blob').split(',') as Layout[];
/**
 * Claims and settlements as mlgrid runs them (no wait for the WAL flush), but with PostgreSQL's default plan
 * caching: forced generic plans made the blob claim cost ~3× the server CPU per call on a fresh connection
 * (~8 against ~2.7 ms for 5 groups; PostgreSQL 15) unless that connection had run it once with a custom plan.
 */
const RELAXED = ' -c synchronous_commit=off';

interface Run {
  case: Layout | 'raw';
  eventsPerSec: number;
  /** CPU µs per event. */
  dispatcher: number;
  receiver: number;
  postgres: number;
  /** Of which the claiming and the settling connection's backends (the rest: WAL writer, checkpointer, …). */
  pgClaim?: number;
  pgSettle?: number;
  machine: number;
  ceiling: number;
}

/** Events 0..n-1 of run `id`, as mlgrid stores them; groups of BATCH consecutive events. */
async function seed(c: pg.Client, id: string, layout: Layout, n: number): Promise<void> {
  await c.query(`CREATE TABLE events (seq BIGINT PRIMARY KEY, event_id TEXT NOT NULL, source_key TEXT NOT NULL,
      event_type TEXT NOT NULL, subject TEXT NOT NULL, schema TEXT NOT NULL, body TEXT NOT NULL,
      published_at BIGINT NOT NULL);
    CREATE TABLE groups (id BIGINT PRIMARY KEY, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,
      status TEXT NOT NULL, attempts INT NOT NULL DEFAULT 0, lease_until BIGINT, settled_at BIGINT,
      body TEXT COMPRESSION lz4, headers TEXT, event_ids TEXT COMPRESSION lz4) WITH (fillfactor = 50);
    CREATE INDEX groups_pending ON groups (id) WHERE status = 'pending';
    CREATE TABLE attempts (id BIGSERIAL PRIMARY KEY, sub INT NOT NULL, started_at BIGINT NOT NULL,
      duration_ms INT NOT NULL, delivery_count INT NOT NULL, event_ids TEXT COMPRESSION lz4 NOT NULL, status_code INT,
      outcome TEXT NOT NULL);
    CREATE INDEX attempts_by_sub ON attempts (sub, started_at);`);
  for (let g = 0; g * BATCH < n; g++) {
    const events = Array.from(
      { length: Math.min(BATCH, n - g * BATCH) },
      (_, i) => storedEvent(id, g * BATCH + i) as { id: string; eventType: string; subject: string },
    );
    const bodies = events.map((e) => JSON.stringify(e));
    const first = g * BATCH;
    const last = first + events.length - 1;
    if (layout === 'rows') {
      await c.query(
        `INSERT INTO events SELECT $1::bigint + o - 1, id, 't', type, subject, 'EventGridSchema', b, 0
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(id, type, subject, b, o)`,
        [
          first,
          events.map((e) => e.id),
          events.map((e) => e.eventType),
          events.map((e) => e.subject),
          bodies,
        ],
      );
      await c.query(`INSERT INTO groups (id, first_seq, last_seq, status) VALUES ($1, $2, $3, 'pending')`, [
        g,
        first,
        last,
      ]);
    } else {
      const req = request(bodies);
      await c.query(
        `INSERT INTO groups (id, first_seq, last_seq, status, body, headers, event_ids)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6)`,
        [g, first, last, req.body, JSON.stringify(req.headers), JSON.stringify(events.map((e) => e.id))],
      );
    }
  }
  await c.query('ANALYZE');
  await c.query('CHECKPOINT');
}

const request = (bodies: string[]) =>
  buildStoredDeliveryRequest({
    events: bodies.map((body) => ({ schema: 'EventGridSchema' as const, body })),
    deliverySchema: 'EventGridSchema',
    batching: true,
    subscriptionName: SUBSCRIPTION,
    deliveryCount: 0,
  });

interface Ready {
  group: string;
  body: string;
  headers: Record<string, string>;
  /** JSON array, for the attempt log. */
  eventIds: string;
}

const CLAIM = `WITH c AS (SELECT id FROM groups WHERE status = 'pending' ORDER BY id LIMIT ${PAGE_GROUPS}
    FOR UPDATE SKIP LOCKED)
  UPDATE groups g SET status = 'leased', lease_until = $1 WHERE g.id = ANY(ARRAY(SELECT id FROM c))`;
const CLAIM_ROWS = `WITH u AS (${CLAIM} RETURNING g.id, g.first_seq, g.last_seq)
  SELECT u.id::text, e.event_id, e.body FROM u
  CROSS JOIN LATERAL (SELECT seq, event_id, body FROM events WHERE seq BETWEEN u.first_seq AND u.last_seq OFFSET 0) e
  ORDER BY u.id, e.seq`;
const CLAIM_BLOB = `${CLAIM} RETURNING g.id::text, g.body, g.headers, g.event_ids`;
const SETTLE = `WITH u AS (UPDATE groups SET status = 'delivered', attempts = 1, settled_at = $2, lease_until = NULL
    WHERE id = ANY($1::bigint[]) RETURNING 1),
  a AS (INSERT INTO attempts (sub, started_at, duration_ms, delivery_count, event_ids, status_code, outcome)
    SELECT 1, s, d, 1, ids, 200, 'Succeeded' FROM unnest($3::bigint[], $4::int[], $5::text[]) x(s, d, ids)
    RETURNING 1)
  SELECT (SELECT count(*) FROM u) AS settled`;

/** Claims one page: its requests, ready to send; [] when nothing is pending. */
async function claim(c: pg.Client, layout: Layout): Promise<Ready[]> {
  const leaseUntil = Date.now() + 120_000;
  if (layout === 'blob') {
    const r = await c.query({ name: 'claim-blob', text: CLAIM_BLOB, values: [leaseUntil] });
    return r.rows.map((g) => ({
      group: g.id,
      body: g.body,
      headers: JSON.parse(g.headers),
      eventIds: g.event_ids,
    }));
  }
  const r = await c.query({ name: 'claim-rows', text: CLAIM_ROWS, values: [leaseUntil], rowMode: 'array' });
  const rows = r.rows as [string, string, string][];
  const out: Ready[] = [];
  for (let i = 0; i < rows.length;) {
    const group = rows[i]![0];
    let j = i;
    while (j < rows.length && rows[j]![0] === group) j++;
    const page = rows.slice(i, j);
    const req = request(page.map((x) => x[2]));
    out.push({ group, ...req, eventIds: JSON.stringify(page.map((x) => x[1])) });
    i = j;
  }
  return out;
}

const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Starts measuring; the returned function gives a run's figures for `events` delivered by epoch time `endAt`,
 * with the receiver's CPU over the same span (its own counter).
 */
function meter() {
  const cpu0 = process.cpuUsage();
  const [pg0, busy0, t0] = [postgresCpuMs(), machineBusyMs(), epochNow()];
  return (events: number, endAt: number, receiverMs: number): Omit<Run, 'case'> => {
    const c = process.cpuUsage(cpu0);
    const us = (ms: number) => (ms * 1000) / events;
    const machine = us(machineBusyMs() - busy0);
    return {
      eventsPerSec: events / ((endAt - t0) / 1000),
      dispatcher: (c.user + c.system) / events,
      receiver: us(receiverMs),
      postgres: us(postgresCpuMs() - pg0),
      machine,
      ceiling: (CORES * 1e6) / machine,
    };
  };
}

const backendPid = async (c: pg.Client) =>
  (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

async function drain(rx: Receiver, layout: Layout, n: number): Promise<Run> {
  const id = nonce();
  const schema = `bench_pgfloor_${id}`;
  const connect = async (relaxed = true) => {
    const options = `-c search_path=${schema}${relaxed ? RELAXED : ''}`;
    const c = new pg.Client({ connectionString: PG_URL, options });
    await c.connect();
    return c;
  };
  const admin = await connect(false);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const [claimer, settler] = [await connect(), await connect()];
  const http = new Pool(rx.url, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  try {
    await seed(admin, id, layout, n);
    await expect(rx, id, n);
    const all = next<ReceiverStats>(rx.child, 'all', 300_000);
    const backends = await Promise.all([claimer, settler].map(backendPid));
    const [claim0, settle0] = backends.map(processCpuMs);
    const measured = meter();

    const ready: Ready[] = [];
    const done: { group: string; startedAt: number; ms: number; ids: string }[] = [];
    let exhausted = false;
    let inFlight = 0;
    let settling: Promise<void> | undefined;
    let failed: Error | undefined;
    let wake = () => {};
    const settle = async () => {
      while (done.length > 0) {
        const batch = done.splice(0);
        await settler.query({
          name: 'settle',
          text: SETTLE,
          values: [
            batch.map((d) => d.group),
            Date.now(),
            batch.map((d) => d.startedAt),
            batch.map((d) => Math.round(d.ms)),
            batch.map((d) => d.ids),
          ],
        });
      }
      settling = undefined;
    };
    const send = (r: Ready) => {
      inFlight++;
      const startedAt = Date.now();
      const t = performance.now();
      http
        .request({ path: '/hook', method: 'POST', headers: r.headers, body: r.body })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
          done.push({ group: r.group, startedAt, ms: performance.now() - t, ids: r.eventIds });
          settling ??= settle();
        })
        .catch((err: Error) => (failed ??= err))
        .finally(() => {
          inFlight--;
          wake();
        });
    };
    while (!failed && (!exhausted || ready.length > 0 || inFlight > 0)) {
      while (ready.length > 0 && inFlight < IN_FLIGHT) send(ready.shift()!);
      if (!exhausted && ready.length < IN_FLIGHT) {
        const page = await claim(claimer, layout);
        if (page.length === 0) exhausted = true;
        ready.push(...page);
      } else await new Promise<void>((r) => (wake = r));
    }
    if (failed) throw failed;
    await settling;
    const got = await all;
    const figures = measured(n, got.atAll, got.cpuMs);
    const [claimMs, settleMs] = [processCpuMs(backends[0]!) - claim0!, processCpuMs(backends[1]!) - settle0!];
    const left = await admin.query(`SELECT count(*)::int AS n FROM groups WHERE status <> 'delivered'`);
    if (left.rows[0].n !== 0) throw new Error(`${left.rows[0].n} groups not settled`);
    const rep = await report(rx);
    if (rep.distinct !== n || rep.sampleMismatches > 0)
      throw new Error(`receiver: ${rep.distinct} of ${n} distinct, ${rep.sampleMismatches} mismatches`);
    const us = (ms: number) => (ms * 1000) / n;
    return { case: layout, ...figures, pgClaim: us(claimMs), pgSettle: us(settleMs) };
  } finally {
    await http.close();
    await Promise.all([claimer.end(), settler.end()]);
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

/** The raw baseline: finished 100-event bodies POSTed back to back at 64 connections for `ms`. */
async function raw(rx: Receiver, ms: number): Promise<Run> {
  const id = nonce();
  const bodies = Array.from({ length: 64 }, (_, g) =>
    request(Array.from({ length: BATCH }, (_, i) => JSON.stringify(storedEvent(id, g * BATCH + i)))),
  );
  await expect(rx, id, 0);
  const http = new Pool(rx.url, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  const rx0 = (await report(rx)).cpuMs;
  const measured = meter();
  const t0 = performance.now();
  let requests = 0;
  let k = 0;
  const worker = async () => {
    while (performance.now() - t0 < ms) {
      const b = bodies[k++ % bodies.length]!;
      const res = await http.request({ path: '/hook', method: 'POST', headers: b.headers, body: b.body });
      await res.body.dump();
      requests++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const endAt = epochNow();
  const rxMs = (await report(rx)).cpuMs - rx0;
  await http.close();
  return { case: 'raw', ...measured(requests * BATCH, endAt, rxMs) };
}

const rx = await startReceiverChild();
const runs: Run[] = [];
try {
  // Warm-up, not recorded: a cold receiver cost 2-5x the CPU per event of a warm one (8-15 against ~3 µs).
  await raw(rx, 2000);
  for (const layout of LAYOUTS) await drain(rx, layout, WARMUP_EVENTS);
  for (let i = 0; i < ROUNDS; i++) {
    const r = await raw(rx, 4000);
    runs.push(r);
    console.error(`  [${i + 1}/${ROUNDS}] raw: ${fmt(r.eventsPerSec)} events/s`);
    for (const layout of LAYOUTS) {
      const r = await drain(rx, layout, EVENTS);
      runs.push(r);
      console.error(`  [${i + 1}/${ROUNDS}] ${layout}: ${fmt(r.eventsPerSec)} events/s`);
    }
  }
} finally {
  rx.child.kill();
}
const med = (c: Run['case'], k: keyof Omit<Run, 'case'>) =>
  median(runs.filter((r) => r.case === c).map((r) => r[k] ?? NaN));
console.log(
  `\nBatches of ${BATCH} from PostgreSQL, ${fmt(EVENTS)} events, medians of ${ROUNDS} rounds, ${CORES} cores ` +
    `(CPU in µs per event)\n` +
    table(
      ['', 'events/s', 'dispatcher', 'receiver', 'postgres', '(claim', 'settle)', 'machine', 'ceiling'],
      [...LAYOUTS, 'raw' as const].map((c) => [
        c,
        fmt(med(c, 'eventsPerSec')),
        fmt2(med(c, 'dispatcher')),
        fmt2(med(c, 'receiver')),
        fmt2(med(c, 'postgres')),
        fmt2(med(c, 'pgClaim')),
        fmt2(med(c, 'pgSettle')),
        fmt2(med(c, 'machine')),
        fmt(med(c, 'ceiling')),
      ]),
    ),
);
writeJsonIfAsked({ benchmark: 'pg-delivery-floor', events: EVENTS, batch: BATCH, cores: CORES, runs });
