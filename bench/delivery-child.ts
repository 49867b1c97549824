/**
 * The server side of bench/delivery.ts, each mode in its own process so no server shares an event loop with
 * the load generator or with another server. Talks to the parent over IPC.
 *
 *   receiver
 *       bare node:http webhook receiver: reads the body, finds the event ids in it (bench/lib/delivery-events.ts
 *       `scanIds`, cross-checked with JSON.parse on every 64th request), answers 200 with an empty body.
 *       {type:'expect', nonce, n} resets the counters and announces the ids of a run (seq 0..n-1): when all n
 *       have arrived it sends {type:'all', ...stats}; n = 0 only counts (baselines). {type:'report'} answers
 *       {type:'report', ...stats}.
 *   seed <sqlite|postgres> <dataDir|schema> <endpointUrl> <maxEventsPerBatch|0> <nonce> <events>
 *       mlgrid with delivery OFF: creates the topic and one WebHook subscription to endpointUrl, publishes the
 *       backlog (100-event requests, 4 in parallel), closes, sends {type:'seeded', ...} and exits. SQLite is
 *       seeded with synchronous=NORMAL (faster; the file is the same), the delivery run reopens it with the default.
 *   deliver <sqlite|postgres> <dataDir|schema>
 *       mlgrid with delivery ON (default dispatcher settings) on the seeded data: sends {type:'started', startAt,
 *       readyAt} (epoch ms, sub-ms). On {type:'drain'} waits until nothing is pending, answers {type:'drained',
 *       settledAt, ...stats}, closes.
 *   serve <sqlite|postgres> <dataDir|schema> <endpointUrl>
 *       mlgrid with delivery ON, topic + subscription created: {type:'ready', url, path, headers} for a publisher;
 *       {type:'stop'} → waits until nothing is pending, {type:'stopped', ...stats}.
 *
 * Every mode answers {type:'mark'} with {type:'cpu', cpuMs} (this process's CPU time so far).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { startServer, type RunningServer } from '../packages/server/src/server.js';
import { PostgresStore } from '../packages/server/src/store/postgres-store.js';
import { SqliteStore } from '../packages/server/src/store/sqlite-store.js';
import type { StoreConfig } from '../packages/server/src/store/index.js';
import type {
  AttemptRecord,
  DeliveryLease,
  EventToStore,
  Settlement,
} from '../packages/server/src/store/types.js';
import { PG_URL, publishBody, scanIds, seqOf, SUBSCRIPTION } from './lib/delivery-events.js';
import { TOPIC_ID } from './lib/ml-events.js';

const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const API = 'api-version=2022-06-15';
const TOPIC_NAME = TOPIC_ID.split('/').pop()!;
const PUBLISH_PATH = `/topics/${TOPIC_NAME}/api/events?api-version=2018-01-01`;

type Backend = 'sqlite' | 'postgres';
const send = (msg: unknown) => process.send!(msg);
/**
 * The last message, then exit: everything is closed by now, and waiting for the event loop to drain on its own
 * sometimes took ~10 s more (seen on seeding children), which only lengthened the run.
 */
const finish = (msg: unknown) => process.send!(msg, () => process.exit(0));
/** Epoch milliseconds with sub-millisecond resolution: comparable across the processes of one host. */
const epoch = () => performance.timeOrigin + performance.now();
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
/**
 * CPU of the main thread alone (Linux: /proc, 10 ms ticks), without V8's background compiler and GC helpers,
 * whose share of a short run is mostly fixed cost; undefined elsewhere.
 */
const mainCpuMs = (): number | undefined => {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
};

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'mark') send({ type: 'cpu', cpuMs: cpuMs() });
});
function on<T extends { type?: string }>(type: string, fn: (m: T) => unknown): void {
  process.on('message', (m: T) => {
    if (m?.type !== type) return;
    Promise.resolve()
      .then(() => fn(m))
      .catch((err) => {
        console.error(err);
        process.exit(1);
      });
  });
}

function storeConfig(backend: Backend, where: string, synchronous?: 'NORMAL'): StoreConfig {
  if (backend === 'postgres') return { kind: 'postgres', databaseUrl: PG_URL, schema: where };
  mkdirSync(where, { recursive: true });
  return { kind: 'sqlite', dataDir: where, ...(synchronous ? { synchronous } : {}) };
}

async function mlgrid(backend: Backend, where: string, deliver: boolean, synchronous?: 'NORMAL') {
  return startServer(
    {
      host: '127.0.0.1',
      port: 0,
      dataDir: backend === 'sqlite' ? where : '/nonexistent-mlgrid-bench',
      store: storeConfig(backend, where, synchronous),
      adminKey: ADMIN_KEY,
      logLevel: process.env.BENCH_MLGRID_LOG ?? 'silent',
      // Dispatcher: every default (concurrency 256, perEndpoint 64, claimLimit 500, …) except that the receiver
      // gets no validation handshake.
      delivery: { enabled: deliver, validateWebhooks: false },
    },
    pino({ level: process.env.BENCH_MLGRID_LOG ?? 'silent' }, pino.destination(2)),
  );
}

async function arm(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${url}${path}?${API}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Topic + one WebHook subscription; returns the topic key. */
async function provision(server: RunningServer, endpointUrl: string, maxEventsPerBatch: number) {
  await arm(server.url, 'PUT', TOPIC_ID, { location: 'local' });
  const keys = (await arm(server.url, 'POST', `${TOPIC_ID}/listKeys`)) as { key1: string };
  const props: Record<string, unknown> = { endpointUrl };
  if (maxEventsPerBatch > 0) {
    props.maxEventsPerBatch = maxEventsPerBatch;
    // The events are ~1 KB: with only maxEventsPerBatch set, the 64 KB default size target would cut batches at
    // ~64 events. 1024 KB (the maximum) lets the count decide.
    props.preferredBatchSizeInKilobytes = 1024;
  }
  await arm(
    server.url,
    'PUT',
    `${TOPIC_ID}/providers/Microsoft.EventGrid/eventSubscriptions/${SUBSCRIPTION}`,
    {
      properties: { destination: { endpointType: 'WebHook', properties: props } },
    },
  );
  return keys.key1;
}

/**
 * Counts and times (ms) what mlgrid asks of the store: wraps the two store classes' methods before the server starts
 * (the dispatcher's first claim runs inside startServer), no source change.
 */
function instrument() {
  const s = {
    appends: 0,
    appended: 0,
    appendMs: 0,
    claims: 0,
    claimed: 0,
    emptyClaims: 0,
    claimMs: 0,
    settles: 0,
    settled: 0,
    attemptRows: 0,
    settleMs: 0,
  };
  const ms = (t: number) => performance.now() - t;
  for (const proto of [SqliteStore.prototype, PostgresStore.prototype]) {
    const append = proto.appendEvents;
    proto.appendEvents = async function (
      this: typeof proto,
      rows: EventToStore[],
      now: number,
      lease?: DeliveryLease,
    ) {
      const t = performance.now();
      try {
        return await append.call(this, rows, now, lease);
      } finally {
        s.appends++;
        s.appended += rows.length;
        s.appendMs += ms(t);
      }
    };
    const claim = proto.claimDeliveries;
    proto.claimDeliveries = async function (this: typeof proto, q) {
      const t = performance.now();
      const r = await claim.call(this, q);
      s.claimMs += ms(t);
      s.claims++;
      s.claimed += r.length;
      if (r.length === 0) s.emptyClaims++;
      return r;
    };
    const settle = proto.settleDeliveries;
    proto.settleDeliveries = async function (
      this: typeof proto,
      owner: string,
      st: Settlement[],
      at: AttemptRecord[],
      now: number,
    ) {
      const t = performance.now();
      try {
        return await settle.call(this, owner, st, at, now);
      } finally {
        s.settles++;
        s.settled += st.length;
        s.attemptRows += at.length;
        s.settleMs += ms(t);
      }
    };
  }
  return s;
}

const rounded = (o: Record<string, number>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));

/** Deliveries by status, and attempts by outcome. */
async function census(server: RunningServer, backend: Backend) {
  const q1 = 'SELECT status AS k, count(*) AS n FROM deliveries GROUP BY status';
  const q2 = 'SELECT outcome AS k, count(*) AS n FROM delivery_attempts GROUP BY outcome';
  const rows = async (sql: string): Promise<{ k: string; n: number | string }[]> =>
    backend === 'sqlite'
      ? ((server.store as unknown as SqliteStore).db.prepare(sql).all() as { k: string; n: number }[])
      : (await (server.store as unknown as PostgresStore).pool.query(sql)).rows;
  const obj = (rs: { k: string; n: number | string }[]) =>
    Object.fromEntries(rs.map((r) => [r.k, Number(r.n)]));
  return { deliveries: obj(await rows(q1)), attempts: obj(await rows(q2)) };
}

/** Event-loop delay from now until the returned function is called (ms): how long the loop was blocked. */
function loopDelay(): () => { p50: number; p99: number; max: number } {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return () => {
    h.disable();
    const ms = (ns: number) => Number((ns / 1e6).toFixed(1));
    return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
  };
}

async function untilSettled(server: RunningServer, pollMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await server.store.countPending();
    if (n === 0) return epoch();
    if (Date.now() > deadline) throw new Error(`${n} deliveries still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

// ---------------------------------------------------------------------------------------------- receiver

function runReceiver(): void {
  let nonce = '';
  let seen = new Uint8Array(0);
  const fresh = () => ({
    requests: 0,
    events: 0,
    bytes: 0,
    distinct: 0,
    duplicates: 0,
    foreign: 0,
    sampled: 0,
    sampleMismatches: 0,
    firstAt: 0,
    lastAt: 0,
    /** Epoch ms at which 10 %, 50 %, 90 % and all of the expected distinct events had arrived. */
    at10: 0,
    at50: 0,
    at90: 0,
    atAll: 0,
    cpuMsAtReset: cpuMs(),
  });
  let st = fresh();
  let sockets = new Set<Socket>();
  let maxOpen = 0;
  let open = 0;
  let expected = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    open++;
    if (open > maxOpen) maxOpen = open;
    sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const now = epoch();
      st.requests++;
      st.bytes += body.length;
      if (st.firstAt === 0) st.firstAt = now;
      st.lastAt = now;
      const ids: string[] | undefined = st.requests % 64 === 1 ? [] : undefined;
      st.events += scanIds(body, (id) => {
        ids?.push(id);
        const seq = expected > 0 ? seqOf(id, nonce) : -1;
        if (seq < 0 || seq >= expected) {
          st.foreign++;
          return;
        }
        if (seen[seq]! === 0) {
          st.distinct++;
          if (st.distinct === Math.ceil(expected * 0.1)) st.at10 = now;
          if (st.distinct === Math.ceil(expected * 0.5)) st.at50 = now;
          if (st.distinct === Math.ceil(expected * 0.9)) st.at90 = now;
          if (st.distinct === expected) st.atAll = now;
        } else st.duplicates++;
        if (seen[seq]! < 255) seen[seq]!++;
      });
      if (ids) {
        st.sampled++;
        const parsed = (JSON.parse(body.toString('utf8')) as { id: string }[]).map((e) => e.id);
        if (parsed.join() !== ids.join()) st.sampleMismatches++;
      }
      open--;
      res.writeHead(200, { 'content-length': '0' });
      res.end();
      if (expected > 0 && st.distinct === expected && st.atAll === now) {
        send({ type: 'all', ...stats() });
      }
    });
  };
  const stats = () => ({
    ...st,
    expected,
    connections: sockets.size,
    maxConcurrent: maxOpen,
    cpuMs: cpuMs() - st.cpuMsAtReset,
  });

  const server = createServer(handle);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    send({ type: 'ready', url: `http://127.0.0.1:${port}` });
  });
  on<{ type: string; nonce: string; n: number }>('expect', (m) => {
    nonce = m.nonce;
    expected = m.n;
    seen = new Uint8Array(m.n);
    st = fresh();
    sockets = new Set();
    maxOpen = 0;
    send({ type: 'expecting' });
  });
  on('report', () => send({ type: 'report', ...stats() }));
  on('stop', async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    finish({ type: 'stopped' });
  });
}

// ---------------------------------------------------------------------------------------------- mlgrid

async function runSeed(
  backend: Backend,
  where: string,
  endpointUrl: string,
  batch: number,
  nonce: string,
  events: number,
): Promise<void> {
  const t0 = performance.now();
  const server = await mlgrid(backend, where, false, 'NORMAL');
  const key = await provision(server, endpointUrl, batch);
  const PER_REQUEST = 100;
  let next = 0;
  const client = async () => {
    while (next < events) {
      const from = next;
      const count = Math.min(PER_REQUEST, events - from);
      next += count;
      const r = await fetch(`${server.url}${PUBLISH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
        body: publishBody(nonce, from, count),
      });
      if (r.status !== 200) throw new Error(`publish answered ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 4 }, client));
  // PostgreSQL: autovacuum would analyze the freshly filled tables within a minute (autovacuum_naptime); the
  // delivery run starts a second later, so do it here, or the claim query is planned without statistics
  // (bitmap scan of every pending row + sort: ~70-85 ms per claim of 500 instead of ~20). BENCH_PG_NO_ANALYZE=1
  // skips it.
  if (backend === 'postgres' && process.env.BENCH_PG_NO_ANALYZE !== '1') {
    await (server.store as unknown as PostgresStore).pool.query(
      `ANALYZE ${where}.events; ANALYZE ${where}.deliveries`,
    );
  }
  const counts = await census(server, backend);
  await server.close();
  finish({ type: 'seeded', events, ms: Math.round(performance.now() - t0), ...counts });
}

async function runDeliver(backend: Backend, where: string): Promise<void> {
  const cpu0 = cpuMs();
  const startAt = epoch();
  const s = instrument();
  const loop = loopDelay();
  const server = await mlgrid(backend, where, true);
  const readyAt = epoch();
  send({ type: 'started', startAt, readyAt, readyCpuMs: cpuMs() - cpu0, readyMainCpuMs: mainCpuMs() });
  on('drain', async () => {
    const eventLoop = loop();
    const settledAt = await untilSettled(server, 25, 60_000);
    const cpu = cpuMs() - cpu0;
    const mainCpu = mainCpuMs();
    const counts = await census(server, backend);
    await server.close();
    finish({
      type: 'drained',
      settledAt,
      cpuMs: cpu,
      mainCpuMs: mainCpu,
      ...rounded(s),
      ...counts,
      eventLoop,
    });
  });
}

async function runServe(backend: Backend, where: string, endpointUrl: string): Promise<void> {
  const s = instrument();
  // BENCH_DISPATCH=off: diagnostic only (publish acks without the dispatcher; nothing arrives, the run fails).
  const server = await mlgrid(backend, where, process.env.BENCH_DISPATCH !== 'off');
  const key = await provision(server, endpointUrl, 0);
  const loop = loopDelay();
  on('stop', async () => {
    const eventLoop = loop();
    if (process.env.BENCH_DISPATCH !== 'off') await untilSettled(server, 25, 60_000);
    const counts = await census(server, backend);
    await server.close();
    finish({ type: 'stopped', ...rounded(s), ...counts, eventLoop });
  });
  send({
    type: 'ready',
    url: server.url,
    path: PUBLISH_PATH,
    headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
  });
}

const [mode, backendArg, where, a3, a4, a5, a6] = process.argv.slice(2);
const backend = (backendArg === 'postgres' ? 'postgres' : 'sqlite') as Backend;
if (mode === 'receiver') runReceiver();
else if (mode === 'seed') await runSeed(backend, where!, a3!, Number(a4), a5!, Number(a6));
else if (mode === 'deliver') await runDeliver(backend, where!);
else if (mode === 'serve') await runServe(backend, where!, a3!);
else {
  console.error(`unknown mode '${mode}'`);
  process.exit(2);
}
