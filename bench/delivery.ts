/**
 * Delivery benchmark (issue 3): how fast mlgrid pushes events to a webhook, and how long an event takes from the
 * publisher to the receiver, each against a raw baseline measured in the same run.
 *
 *  1. single  — throughput, one event per request: mlgrid (child process, default dispatcher settings, one topic,
 *               one WebHook subscription, no handshake) drains a backlog of N events committed beforehand (seeded
 *               by another mlgrid process with delivery off, then reopened with delivery on) into a bare node:http
 *               receiver (its own child process). Headline: the steady rate between the arrival of the 10 % and
 *               the 90 % distinct event. Raw baseline: this process POSTs the same bodies with the same headers to
 *               the same receiver over undici keep-alive connections, back to back, in a fixed window, at 8 and 64
 *               connections before the mlgrid runs and at 64 after them; ratio = mlgrid ÷ mean of the 64 runs.
 *  2. batch   — the same with maxEventsPerBatch 100 (and preferredBatchSizeInKilobytes 1024, so the ~1 KB events
 *               are cut by count, not by the 64 KB default size target); raw bodies hold 100 events.
 *  3. latency — publish-to-receive: this process publishes at 1,000 events/s (open loop; single-event requests,
 *               then 10-event requests at 100/s) to mlgrid (child, delivery on) and also hosts the receiver, so
 *               send and arrival times come from one clock. Baseline: the same publisher POSTing the same bodies
 *               directly to the receiver.
 *  All on SQLite (the default, synchronous=FULL) and PostgreSQL (a fresh schema per run, dropped afterwards).
 *
 * Every mlgrid run is verified: each of the N (or, for latency, every published) events reached the receiver at
 * least once (ids checked with a bitmap), every delivery row is `delivered`, no attempt failed. Exit code 1 if not.
 *
 *   node --conditions=mlgrid-source --import tsx bench/delivery.ts [--json out.json] [--rounds 1]
 *        [--cases single,batch,latency] [--stores sqlite,postgres] [--connections 8,64]
 *
 * BENCH_BATCH_EVENTS: events in the batch case (default 240,000: a drain of a few seconds, so the steady rate is
 *   past start-up and JIT warm-up; 60,000, the default until 2026-11-26 16:10, drained in about one second).
 * BENCH_DATA_DIR: where the SQLite data goes (default: OS temp dir; must not be tmpfs).
 * BENCH_MLGRID_ARGS: extra node flags for the mlgrid children that deliver (not the seeding ones), e.g.
 *   "--cpu-prof --cpu-prof-dir=/tmp/prof-delivery".
 * BENCH_DATABASE_URL: PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres); unreachable → skipped.
 * BENCH_PG_NO_ANALYZE=1: do not ANALYZE the seeded PostgreSQL tables (see delivery-child.ts).
 * BENCH_DISPATCH=off (diagnostic): the latency case without the dispatcher, for publish-only ack latencies.
 * --mlgrid-only: skip the raw baselines (no ratios): for comparing mlgrid's CPU per event between two builds.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Agent, request } from 'undici';
import { buildDeliveryRequest } from '../packages/server/src/core/delivery-format.js';
import {
  BASE_ARGV,
  exited,
  expect,
  next,
  nonce,
  report,
  spawnChild,
  startReceiverChild,
  type Receiver,
  type ReceiverStats,
} from './lib/children.js';
import { PG_URL, publishBody, scanIds, seqOf, storedEvent, SUBSCRIPTION } from './lib/delivery-events.js';
import { arg, fmt, fmt2, median, percentile, QUICK, table, writeJsonIfAsked } from './lib/util.js';

const N_SINGLE = QUICK ? 5_000 : 40_000;
const N_BATCH = QUICK ? 20_000 : Number(process.env.BENCH_BATCH_EVENTS ?? 240_000);
const BASE_WARMUP_MS = QUICK ? 300 : 1000;
const BASE_MS = QUICK ? 1000 : 4000;
const LAT_RATE = 1000;
/** Publish request shapes of the latency case: single events, and 10-event batches (100 requests/s). */
const LAT_PER = [1, 10];
const LAT_WARMUP_MS = QUICK ? 500 : 2000;
const LAT_MS = QUICK ? 2000 : 10_000;
/** mlgrid's WebhookSender pools 64 connections per origin, and the receiver sees all 64 in use. */
const RATIO_CONNS = 64;
const GOALS = { singleRatio: 0.5, batchEventsPerSec: 100_000, latencyP50Ms: 5, latencyP99Ms: 25 };

const MLGRID_ARGV = [...BASE_ARGV, ...(process.env.BENCH_MLGRID_ARGS ?? '').split(' ').filter(Boolean)];

const r2 = (x: number) => Number(x.toFixed(2));

type Backend = 'sqlite' | 'postgres';

/** A data directory (SQLite) or a schema (PostgreSQL) for one run, removed afterwards. */
async function withPlace<T>(backend: Backend, fn: (where: string) => Promise<T>): Promise<T> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'mlgrid-delivery-'));
    try {
      return await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const schema = `bench_delivery_${randomBytes(5).toString('hex')}`;
  try {
    return await fn(schema);
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await c.end();
    }
  }
}

async function postgresReachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await c.end().catch(() => {});
  }
}

const problems: string[] = [];

// ------------------------------------------------------------------------------------ throughput: mlgrid

export interface MlgridDrain {
  backend: Backend;
  eventsPerBatch: number;
  events: number;
  /** 0.8 N ÷ (time the 90 % distinct event arrived − time the 10 % one did): the steady rate (headline). */
  eventsPerSec: number;
  /** N ÷ (all distinct events received − startServer called): includes start-up, ramp and tail. */
  overallEventsPerSec: number;
  /** N ÷ (every delivery settled in the store − startServer called). */
  settledEventsPerSec: number;
  requestsPerSec: number;
  msToFirst: number;
  msToAll: number;
  msToSettled: number;
  seedMs: number;
  /** CPU of the mlgrid child from startServer to settled ÷ that time. */
  mlgridCpu: number;
  /** mlgrid CPU from the server being ready to every delivery settled, in µs per event (load-robust). */
  cpuUsPerEvent: number;
  /** The same for mlgrid's main thread alone (Linux), without V8's background compiler and GC threads. */
  mainCpuUsPerEvent?: number;
  receiverCpu: number;
  connections: number;
  avgRequestBytes: number;
  duplicates: number;
  store: Record<string, unknown>;
}

async function mlgridDrain(rx: Receiver, backend: Backend, batch: number, n: number): Promise<MlgridDrain> {
  return withPlace(backend, async (where) => {
    const id = nonce();
    const seed = spawnChild(['seed', backend, where, `${rx.url}/hook`, String(batch), id, String(n)]);
    const seeded = await next<{ ms: number; deliveries: Record<string, number> }>(seed, 'seeded');
    await exited(seed);
    if (seeded.deliveries.pending !== n)
      throw new Error(`seeding left ${JSON.stringify(seeded.deliveries)} deliveries, expected ${n} pending`);
    await expect(rx, id, n);
    const all = next<ReceiverStats>(rx.child, 'all', 90_000);
    const child = spawnChild(['deliver', backend, where], MLGRID_ARGV);
    const started = await next<{
      startAt: number;
      readyAt: number;
      readyCpuMs: number;
      readyMainCpuMs?: number;
    }>(child, 'started');
    let got: ReceiverStats;
    try {
      got = await all;
    } catch (err) {
      const r = await report(rx);
      throw new Error(`${(err as Error).message}: ${r.distinct} of ${n} distinct events received`);
    }
    const drained = next<
      { settledAt: number; cpuMs: number; mainCpuMs?: number; deliveries: Record<string, number> } & Record<
        string,
        unknown
      >
    >(child, 'drained');
    child.send({ type: 'drain' });
    const d = await drained;
    await exited(child);
    const rep = await report(rx); // after settling: counts late duplicates too
    const label = `${backend} ${batch ? `batch ${batch}` : 'single'}`;
    if (rep.distinct !== n) problems.push(`${label}: ${rep.distinct} of ${n} events received`);
    if (rep.sampleMismatches > 0) problems.push(`${label}: id scan disagreed with JSON.parse`);
    if (d.deliveries.delivered !== n || Object.keys(d.deliveries).length !== 1)
      problems.push(`${label}: deliveries ${JSON.stringify(d.deliveries)}, expected ${n} delivered`);
    const { type: _t, settledAt, cpuMs, mainCpuMs, ...store } = d;
    const t0 = started.startAt;
    return {
      backend,
      eventsPerBatch: batch || 1,
      events: n,
      eventsPerSec: Math.round((0.8 * n) / ((got.at90 - got.at10) / 1000)),
      overallEventsPerSec: Math.round(n / ((got.atAll - t0) / 1000)),
      settledEventsPerSec: Math.round(n / ((settledAt - t0) / 1000)),
      requestsPerSec: Math.round(rep.requests / ((got.atAll - got.firstAt) / 1000)),
      msToFirst: Math.round(got.firstAt - t0),
      msToAll: Math.round(got.atAll - t0),
      msToSettled: Math.round(settledAt - t0),
      seedMs: seeded.ms,
      mlgridCpu: r2(cpuMs / (settledAt - t0)),
      cpuUsPerEvent: r2(((cpuMs - started.readyCpuMs) * 1000) / n),
      ...(mainCpuMs !== undefined && started.readyMainCpuMs !== undefined
        ? { mainCpuUsPerEvent: r2(((mainCpuMs - started.readyMainCpuMs) * 1000) / n) }
        : {}),
      receiverCpu: r2(got.cpuMs / (got.atAll - t0)),
      connections: rep.connections,
      avgRequestBytes: Math.round(rep.bytes / rep.requests),
      duplicates: rep.duplicates,
      store,
    };
  });
}

// ------------------------------------------------------------------------------------ throughput: raw baseline

export interface RawRun {
  /** Measured before or after the mlgrid runs of the same shape. */
  when: 'before' | 'after';
  eventsPerBatch: number;
  connections: number;
  eventsPerSec: number;
  requestsPerSec: number;
  clientCpu: number;
  receiverCpu: number;
  avgRequestBytes: number;
}

/** The bodies and headers mlgrid sends for these events (same function, same subscription name). */
function deliveryBodies(batch: number, count: number): { body: string; headers: Record<string, string> }[] {
  const id = nonce();
  const out: { body: string; headers: Record<string, string> }[] = [];
  for (let b = 0; b < count; b++) {
    const events = Array.from({ length: batch }, (_, i) => ({
      schema: 'EventGridSchema' as const,
      event: storedEvent(id, b * batch + i),
    }));
    out.push(
      buildDeliveryRequest({
        events,
        deliverySchema: 'EventGridSchema',
        batching: batch > 1,
        subscriptionName: SUBSCRIPTION,
        deliveryCount: 0,
      }),
    );
  }
  return out;
}

async function rawRun(
  rx: Receiver,
  batch: number,
  connections: number,
  when: RawRun['when'],
): Promise<RawRun> {
  const bodies = deliveryBodies(batch, batch > 1 ? 64 : 6400);
  await expect(rx, nonce(), 0);
  const agent = new Agent({ connections, keepAliveTimeout: 30_000 });
  const url = `${rx.url}/hook`;
  // The window opens and closes on timers (no race with the workers): responses completing while it is open
  // count, and its length is what the clock says it was.
  let phase: 'warmup' | 'counting' | 'done' = 'warmup';
  let counted = 0;
  let k = 0;
  let from = 0;
  let to = 0;
  let cpu0 = process.cpuUsage();
  let clientCpuMs = 0;
  const marks: number[] = [];
  let marked = () => {};
  const onCpu = (m: { type?: string; cpuMs?: number }) => {
    if (m?.type !== 'cpu') return;
    marks.push(m.cpuMs!);
    if (marks.length === 2) marked();
  };
  rx.child.on('message', onCpu);
  const bothMarks = new Promise<void>((r) => (marked = r));
  setTimeout(() => {
    phase = 'counting';
    from = performance.now();
    cpu0 = process.cpuUsage();
    rx.child.send({ type: 'mark' });
    setTimeout(() => {
      phase = 'done';
      to = performance.now();
      const c = process.cpuUsage(cpu0);
      clientCpuMs = (c.user + c.system) / 1000;
      rx.child.send({ type: 'mark' });
    }, BASE_MS);
  }, BASE_WARMUP_MS);
  const worker = async () => {
    while (phase !== 'done') {
      const b = bodies[k++ % bodies.length]!;
      // What handlers/webhook.ts does per attempt: request, then read the (empty) reply body.
      const res = await request(url, { method: 'POST', headers: b.headers, body: b.body, dispatcher: agent });
      for await (const _ of res.body);
      if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
      if (phase === 'counting') counted++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await agent.close();
  await bothMarks;
  rx.child.off('message', onCpu);
  const ms = to - from;
  const rep = await report(rx);
  const s = ms / 1000;
  return {
    when,
    eventsPerBatch: batch,
    connections,
    eventsPerSec: Math.round((counted * batch) / s),
    requestsPerSec: Math.round(counted / s),
    clientCpu: r2(clientCpuMs / ms),
    receiverCpu: r2((marks[1]! - marks[0]!) / ms),
    avgRequestBytes: Math.round(rep.bytes / rep.requests),
  };
}

// ------------------------------------------------------------------------------------ latency

export interface LatencyRun {
  target: 'direct' | Backend;
  rate: number;
  eventsPerRequest: number;
  events: number;
  /** arrival at the receiver − the moment the publish request was issued, events after the warm-up. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Same, from the scheduled send time (would expose a publisher falling behind its schedule). */
  fromScheduleMs: { p50: number; p99: number; max: number };
  /** Publish request → its 200 (direct: the receiver's 200). */
  ackMs: { p50: number; p99: number; max: number };
  achievedRate: number;
  duplicates: number;
  /** p50 / p99 / max latency of the events sent in each second of the counted window (spots stalls). */
  perSecond: { p50: number; p99: number; max: number }[];
  store?: Record<string, unknown>;
}

async function latencyRun(target: 'direct' | Backend, per: number): Promise<LatencyRun> {
  const id = nonce();
  const warmN = Math.round((LAT_WARMUP_MS / 1000) * LAT_RATE);
  const total = warmN + Math.round((LAT_MS / 1000) * LAT_RATE);
  const sentAt = new Float64Array(total);
  const dueAt = new Float64Array(total);
  const arrivedAt = new Float64Array(total);
  const ackAt = new Float64Array(total);
  let arrived = 0;
  let duplicates = 0;
  let onArrival = () => {};

  // The receiver, in this process: one clock for send and arrival.
  const rxServer: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      scanIds(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), (eid) => {
        const seq = seqOf(eid, id);
        if (seq < 0 || seq >= total) return;
        if (arrivedAt[seq] === 0) {
          arrivedAt[seq] = now;
          arrived++;
        } else duplicates++;
      });
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      onArrival();
    });
  });
  rxServer.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => rxServer.listen(0, '127.0.0.1', r));
  const addr = rxServer.address();
  const rxUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  return withPlace(target === 'direct' ? 'sqlite' : target, async (where) => {
    let child: ChildProcess | undefined;
    let url = `${rxUrl}/hook`;
    let headers: Record<string, string> = { 'content-type': 'application/json' };
    if (target !== 'direct') {
      child = spawnChild(['serve', target, where, `${rxUrl}/hook`], MLGRID_ARGV);
      const ready = await next<{ url: string; path: string; headers: Record<string, string> }>(
        child,
        'ready',
      );
      url = `${ready.url}${ready.path}`;
      headers = ready.headers;
    }
    // Request j carries events j·per … j·per + per − 1 (built beforehand).
    const requests = Math.ceil(total / per);
    const bodies = Array.from({ length: requests }, (_, j) =>
      publishBody(id, j * per, Math.min(per, total - j * per)),
    );
    const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
    const failures: string[] = [];
    const publish = (j: number, due: number) => {
      const now = performance.now();
      const last = Math.min(total, (j + 1) * per);
      for (let k = j * per; k < last; k++) {
        sentAt[k] = now;
        dueAt[k] = due;
      }
      request(url, { method: 'POST', headers, body: bodies[j]!, dispatcher: agent })
        .then(async (res) => {
          for await (const _ of res.body);
          const at = performance.now();
          for (let k = j * per; k < last; k++) ackAt[k] = at;
          if (res.statusCode !== 200) failures.push(`publish ${j}: ${res.statusCode}`);
        })
        .catch((err: Error) => failures.push(`publish ${j}: ${err.message}`));
    };
    // Open loop: request j is due at start + j · per / rate, whatever happened to the earlier ones.
    const interval = (1000 * per) / LAT_RATE;
    const start = performance.now() + 20;
    let j = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (j < requests && start + j * interval <= now) {
          publish(j, start + j * interval);
          j++;
        }
        if (j < requests) setTimeout(tick, Math.max(0, start + j * interval - performance.now()));
        else resolve();
      };
      setTimeout(tick, 20);
    });
    // Wait (bounded) for every event to arrive.
    if (arrived < total) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 15_000);
        onArrival = () => {
          if (arrived >= total) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
    }
    await agent.close();
    let store: Record<string, unknown> | undefined;
    if (child) {
      const stopped = next<{ deliveries: Record<string, number> } & Record<string, unknown>>(
        child,
        'stopped',
      );
      child.send({ type: 'stop' });
      const { type: _t, ...s } = await stopped;
      store = s;
      await exited(child);
      const d = s.deliveries;
      if (d.delivered !== total || Object.keys(d).length !== 1)
        problems.push(`latency ${target}: deliveries ${JSON.stringify(d)}, expected ${total} delivered`);
    }
    await new Promise<void>((r) => {
      rxServer.close(() => r());
      rxServer.closeAllConnections();
    });
    if (arrived !== total) problems.push(`latency ${target}: ${arrived} of ${total} events received`);
    for (const f of failures.slice(0, 5)) problems.push(`latency ${target}: ${f}`);

    const lat: number[] = [];
    const sched: number[] = [];
    const ack: number[] = [];
    for (let k = warmN; k < total; k++) {
      if (arrivedAt[k]! > 0) {
        lat.push(arrivedAt[k]! - sentAt[k]!);
        sched.push(arrivedAt[k]! - dueAt[k]!);
      }
      if (ackAt[k]! > 0) ack.push(ackAt[k]! - sentAt[k]!);
    }
    const q = (xs: number[]) => {
      xs.sort((a, b) => a - b);
      return (p: number) => r2(percentile(xs, p));
    };
    const perSecond: LatencyRun['perSecond'] = [];
    for (let k = warmN; k < total; k += LAT_RATE) {
      const xs: number[] = [];
      for (let j = k; j < Math.min(total, k + LAT_RATE); j++)
        if (arrivedAt[j]! > 0) xs.push(arrivedAt[j]! - sentAt[j]!);
      const qx = q(xs);
      perSecond.push({ p50: qx(50), p99: qx(99), max: r2(xs[xs.length - 1] ?? NaN) });
    }
    const ql = q(lat);
    const qs = q(sched);
    const qa = q(ack);
    return {
      target,
      rate: LAT_RATE,
      eventsPerRequest: per,
      events: total - warmN,
      latencyMs: {
        p50: ql(50),
        p90: ql(90),
        p99: ql(99),
        p999: ql(99.9),
        max: r2(lat[lat.length - 1] ?? NaN),
        mean: r2(lat.reduce((a, b) => a + b, 0) / lat.length),
      },
      fromScheduleMs: { p50: qs(50), p99: qs(99), max: r2(sched[sched.length - 1] ?? NaN) },
      ackMs: { p50: qa(50), p99: qa(99), max: r2(ack[ack.length - 1] ?? NaN) },
      achievedRate: Math.round(((total - 1) / (sentAt[total - 1]! - sentAt[0]!)) * 1000),
      duplicates,
      perSecond,
      ...(store ? { store } : {}),
    };
  });
}

// ------------------------------------------------------------------------------------ main

export interface DeliveryRound {
  rawSingle?: RawRun[];
  rawBatch?: RawRun[];
  mlgrid: Partial<Record<`${Backend}${'Single' | 'Batch'}`, MlgridDrain>>;
  /** Keyed target + events per request: direct1, sqlite1, sqlite10, postgres1, … */
  latency: Partial<Record<string, LatencyRun>>;
}

export interface DeliveryResult {
  name: 'delivery';
  config: Record<string, unknown>;
  /** Medians over the rounds. */
  summary: {
    rawSingle?: number;
    rawBatch?: number;
    sqliteSingle?: number;
    sqliteBatch?: number;
    postgresSingle?: number;
    postgresBatch?: number;
    ratioSqliteSingle?: number;
    ratioPostgresSingle?: number;
    ratioSqliteBatch?: number;
    ratioPostgresBatch?: number;
    latency: Partial<Record<string, { p50: number; p99: number; max: number; ackP50: number }>>;
  };
  goals: Record<string, { goal: number; measured?: number; met?: boolean }>;
  verified: boolean;
  postgres: 'used' | string;
  rounds: DeliveryRound[];
}

async function main(): Promise<void> {
  const list = (name: string, all: string[]) => {
    const v = arg(name);
    return typeof v === 'string' ? v.split(',').filter((x) => all.includes(x)) : all;
  };
  const cases = list('cases', ['single', 'batch', 'latency']);
  let stores = list('stores', ['sqlite', 'postgres']) as Backend[];
  const roundsArg = arg('rounds');
  const ROUNDS = typeof roundsArg === 'string' ? Number(roundsArg) : 1;
  const mlgridOnly = arg('mlgrid-only') !== undefined;
  const connArg = arg('connections');
  const CONNS = typeof connArg === 'string' ? connArg.split(',').map(Number) : [8, RATIO_CONNS];
  const pgWhy = stores.includes('postgres') ? await postgresReachable() : undefined;
  if (pgWhy) {
    console.warn(`PostgreSQL at ${PG_URL} unreachable (${pgWhy}): PostgreSQL cases skipped`);
    stores = stores.filter((s) => s !== 'postgres');
  }
  console.log(
    `delivery: single ${fmt(N_SINGLE)} events, batch-100 ${fmt(N_BATCH)} events, raw baselines at ` +
      `${CONNS.join(' and ')} connections (${BASE_WARMUP_MS} ms + ${BASE_MS} ms), latency ${fmt(LAT_RATE)} ev/s ` +
      `(${LAT_WARMUP_MS} ms + ${LAT_MS} ms); stores ${stores.join(', ')}; ${ROUNDS} round(s)` +
      (QUICK ? ' (BENCH_QUICK: figures not meaningful)' : ''),
  );

  const rx = await startReceiverChild();
  const rounds: DeliveryRound[] = [];
  const t0 = performance.now();
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      const round: DeliveryRound = { mlgrid: {}, latency: {} };
      const say = (s: string) =>
        console.log(`  [${r}/${ROUNDS} ${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`);
      for (const shape of ['single', 'batch'] as const) {
        if (!cases.includes(shape)) continue;
        const batch = shape === 'single' ? 1 : 100;
        const raws: RawRun[] = [];
        const raw = async (c: number, when: RawRun['when']) => {
          const x = await rawRun(rx, batch, c, when);
          raws.push(x);
          say(`raw ${shape}, ${c} connections (${when}): ${fmt(x.eventsPerSec)} ev/s`);
        };
        // Raw rate at 8 connections and at mlgrid's 64 (its undici pool size per origin) before the mlgrid runs,
        // and at 64 again after them: the ratio uses the mean of the two 64-connection figures.
        if (!mlgridOnly) for (const c of CONNS) await raw(c, 'before');
        for (const b of stores) {
          const x = await mlgridDrain(
            rx,
            b,
            shape === 'single' ? 0 : 100,
            shape === 'single' ? N_SINGLE : N_BATCH,
          );
          round.mlgrid[`${b}${shape === 'single' ? 'Single' : 'Batch'}`] = x;
          say(
            `mlgrid ${b} ${shape}: ${fmt(x.eventsPerSec)} ev/s steady, ${fmt(x.overallEventsPerSec)} overall ` +
              `(${x.connections} connections, all received in ${fmt(x.msToAll)} ms, settled ${fmt(x.msToSettled)} ms; ` +
              `mlgrid CPU ${fmt2(x.cpuUsPerEvent)} µs/event` +
              (x.mainCpuUsPerEvent !== undefined ? `, main thread ${fmt2(x.mainCpuUsPerEvent)})` : ')'),
          );
        }
        if (stores.length > 0 && !mlgridOnly) await raw(RATIO_CONNS, 'after');
        if (shape === 'single') round.rawSingle = raws;
        else round.rawBatch = raws;
      }
      if (cases.includes('latency')) {
        for (const per of LAT_PER) {
          for (const t of ['direct', ...stores] as const) {
            const x = await latencyRun(t, per);
            round.latency[`${t}${per}`] = x;
            say(
              `latency ${t}, ${per} ev/request @ ${fmt(x.rate)} ev/s: p50 ${fmt2(x.latencyMs.p50)} ms, ` +
                `p99 ${fmt2(x.latencyMs.p99)} ms, max ${fmt2(x.latencyMs.max)} ms (publish ack p50 ${fmt2(x.ackMs.p50)} ms)`,
            );
          }
        }
      }
      rounds.push(round);
    }
  } finally {
    rx.child.send({ type: 'stop' });
    await exited(rx.child);
  }

  // Medians over rounds; the raw baseline of a round is the mean of its 64-connection runs (before and after).
  const med = (f: (r: DeliveryRound) => number | undefined) => {
    const xs = rounds.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? Math.round(median(xs)) : undefined;
  };
  const rawBase = (runs?: RawRun[]) => {
    const xs = (runs ?? []).filter((x) => x.connections === RATIO_CONNS).map((x) => x.eventsPerSec);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
  };
  const ratioMed = (
    f: (r: DeliveryRound) => number | undefined,
    base: (r: DeliveryRound) => number | undefined,
  ) => {
    const xs = rounds
      .map((r) => {
        const a = f(r);
        const b = base(r);
        return a !== undefined && b ? a / b : undefined;
      })
      .filter((x): x is number => x !== undefined);
    return xs.length ? Number(median(xs).toFixed(3)) : undefined;
  };
  const latMed = (key: string) => {
    const xs = rounds.map((r) => r.latency[key]).filter((x): x is LatencyRun => x !== undefined);
    if (!xs.length) return undefined;
    return {
      p50: r2(median(xs.map((x) => x.latencyMs.p50))),
      p99: r2(median(xs.map((x) => x.latencyMs.p99))),
      max: r2(median(xs.map((x) => x.latencyMs.max))),
      ackP50: r2(median(xs.map((x) => x.ackMs.p50))),
    };
  };
  const latKeys = LAT_PER.flatMap((per) => ['direct', 'sqlite', 'postgres'].map((t) => `${t}${per}`));
  const summary: DeliveryResult['summary'] = {
    rawSingle: med((r) => rawBase(r.rawSingle)),
    rawBatch: med((r) => rawBase(r.rawBatch)),
    sqliteSingle: med((r) => r.mlgrid.sqliteSingle?.eventsPerSec),
    sqliteBatch: med((r) => r.mlgrid.sqliteBatch?.eventsPerSec),
    postgresSingle: med((r) => r.mlgrid.postgresSingle?.eventsPerSec),
    postgresBatch: med((r) => r.mlgrid.postgresBatch?.eventsPerSec),
    ratioSqliteSingle: ratioMed(
      (r) => r.mlgrid.sqliteSingle?.eventsPerSec,
      (r) => rawBase(r.rawSingle),
    ),
    ratioPostgresSingle: ratioMed(
      (r) => r.mlgrid.postgresSingle?.eventsPerSec,
      (r) => rawBase(r.rawSingle),
    ),
    ratioSqliteBatch: ratioMed(
      (r) => r.mlgrid.sqliteBatch?.eventsPerSec,
      (r) => rawBase(r.rawBatch),
    ),
    ratioPostgresBatch: ratioMed(
      (r) => r.mlgrid.postgresBatch?.eventsPerSec,
      (r) => rawBase(r.rawBatch),
    ),
    latency: Object.fromEntries(
      latKeys.flatMap((k) => {
        const m = latMed(k);
        return m ? [[k, m]] : [];
      }),
    ),
  };
  const goal = (g: number, measured: number | undefined, higherIsBetter: boolean) => ({
    goal: g,
    ...(measured !== undefined ? { measured, met: higherIsBetter ? measured >= g : measured <= g } : {}),
  });
  const goals: DeliveryResult['goals'] = {
    sqliteSingleRatio: goal(GOALS.singleRatio, summary.ratioSqliteSingle, true),
    postgresSingleRatio: goal(GOALS.singleRatio, summary.ratioPostgresSingle, true),
    sqliteBatchEventsPerSec: goal(GOALS.batchEventsPerSec, summary.sqliteBatch, true),
    postgresBatchEventsPerSec: goal(GOALS.batchEventsPerSec, summary.postgresBatch, true),
    ...Object.fromEntries(
      LAT_PER.flatMap((per) =>
        (['sqlite', 'postgres'] as const).flatMap((t) => [
          [`${t}LatencyP50Ms_${per}ev`, goal(GOALS.latencyP50Ms, summary.latency[`${t}${per}`]?.p50, false)],
          [`${t}LatencyP99Ms_${per}ev`, goal(GOALS.latencyP99Ms, summary.latency[`${t}${per}`]?.p99, false)],
        ]),
      ),
    ),
  };
  const result: DeliveryResult = {
    name: 'delivery',
    config: {
      singleEvents: N_SINGLE,
      batchEvents: N_BATCH,
      batch: { maxEventsPerBatch: 100, preferredBatchSizeInKilobytes: 1024 },
      dispatcher:
        'defaults (concurrency 256, perEndpoint 64, claimLimit 500, pollMs 1000), validateWebhooks false',
      sqlite: 'synchronous=FULL (default) for delivery; seeded with NORMAL',
      rawConnections: CONNS,
      rawWarmupMs: BASE_WARMUP_MS,
      rawMs: BASE_MS,
      latency: { rate: LAT_RATE, eventsPerRequest: LAT_PER, warmupMs: LAT_WARMUP_MS, ms: LAT_MS },
      dataDir: process.env.BENCH_DATA_DIR ?? tmpdir(),
      stores,
      cases,
      rounds: ROUNDS,
      quick: QUICK,
      elapsedS: Math.round((performance.now() - t0) / 1000),
    },
    summary,
    goals,
    verified: problems.length === 0,
    postgres: pgWhy ? `skipped: ${pgWhy}` : 'used',
    rounds,
  };

  const rows: (string | number)[][] = [];
  const add = (label: string, x: number | undefined, base: number | undefined, ratio?: number, note = '') => {
    if (x === undefined) return;
    rows.push([
      label,
      fmt(x),
      base !== undefined ? fmt(base) : '',
      ratio !== undefined ? fmt2(ratio) : '',
      note,
    ]);
  };
  add(
    'single event/request, SQLite',
    summary.sqliteSingle,
    summary.rawSingle,
    summary.ratioSqliteSingle,
    `goal ratio ≥ ${GOALS.singleRatio}`,
  );
  add(
    'single event/request, PostgreSQL',
    summary.postgresSingle,
    summary.rawSingle,
    summary.ratioPostgresSingle,
    `goal ratio ≥ ${GOALS.singleRatio}`,
  );
  add(
    '100 events/request, SQLite',
    summary.sqliteBatch,
    summary.rawBatch,
    summary.ratioSqliteBatch,
    `goal ≥ ${fmt(GOALS.batchEventsPerSec)} ev/s`,
  );
  add(
    '100 events/request, PostgreSQL',
    summary.postgresBatch,
    summary.rawBatch,
    summary.ratioPostgresBatch,
    `goal ≥ ${fmt(GOALS.batchEventsPerSec)} ev/s`,
  );
  console.log('');
  console.log(table(['throughput (events/s, medians)', 'mlgrid', 'raw', 'ratio', ''], rows));
  const lrows = latKeys.flatMap((k) => {
    const m = summary.latency[k];
    const per = k.replace(/^\D+/, '');
    const t = k.replace(/\d+$/, '');
    return m
      ? [
          [
            `${t === 'direct' ? 'direct POST (baseline)' : `via mlgrid, ${t}`}, ${per} ev/request`,
            fmt2(m.p50),
            fmt2(m.p99),
            fmt2(m.max),
            fmt2(m.ackP50),
          ],
        ]
      : [];
  });
  if (lrows.length) {
    console.log('');
    console.log(
      table(
        [`publish → receive at ${fmt(LAT_RATE)} ev/s (ms, medians)`, 'p50', 'p99', 'max', 'ack p50'],
        lrows,
      ),
    );
  }
  console.log('');
  for (const [k, g] of Object.entries(goals))
    if (g.measured !== undefined)
      console.log(`goal ${k}: ${g.measured} vs ${g.goal} → ${g.met ? 'met' : 'MISSED'}`);
  if (problems.length === 0)
    console.log(
      'verified: every event reached the receiver at least once and every delivery row is delivered',
    );
  writeJsonIfAsked(result);
  if (problems.length > 0) {
    for (const p of problems) console.error(`FAIL: ${p}`);
    process.exitCode = 1;
  }
}

await main();
