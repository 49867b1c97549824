/**
 * The server side of bench/publish.ts, run in its own process so it never shares an event loop with the load
 * generator. Talks to the parent over IPC.
 *
 *   mlgrid <FULL|NORMAL>        mlgrid (SQLite store) with one topic and one match-all event subscription;
 *                               delivery dispatch off (what is measured is ingestion)
 *   http                        bare node:http server: read body, JSON.parse, reply 200 with an empty body
 *   sqlite <FULL|NORMAL> <warmupMs> <durationMs>
 *                               bare better-sqlite3: commit the rows mlgrid stores, 100 events per transaction
 *
 * Server modes send {type:'ready', url, path, headers}, then wait for {type:'stop'} and answer
 * {type:'stopped', ...stats}. The sqlite mode sends {type:'result', ...} and exits.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startServer } from '../packages/server/src/server.js';
import { loadMigrations } from '../packages/server/src/store/migrations.js';
import type { SqliteStore } from '../packages/server/src/store/sqlite-store.js';
import type { EventToStore } from '../packages/server/src/store/types.js';
import { TOPIC_ID } from './lib/ml-events.js';
import { makeBatches, storedRows } from './lib/publish-bodies.js';

type Sync = 'FULL' | 'NORMAL';
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const API = 'api-version=2022-06-15';
const TOPIC_NAME = TOPIC_ID.split('/').pop()!;

const send = (msg: unknown) => process.send!(msg);

// The parent marks the start and end of the counted window: answer with this process's CPU time so far.
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'mark') {
    const c = process.cpuUsage();
    send({ type: 'cpu', cpuMs: (c.user + c.system) / 1000 });
  }
});
const onStop = (fn: () => Promise<unknown>) =>
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') {
      void fn().then(
        (stats) => {
          send({ type: 'stopped', ...(stats as object) });
          process.disconnect();
        },
        (err) => {
          console.error(err);
          process.exit(1);
        },
      );
    }
  });

/** Data directory on disk (not tmpfs, or fsync would be free): BENCH_DATA_DIR, else the OS temp dir. */
const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'mlgrid-bench-'));
  dirs.push(d);
  return d;
}
// Also on a failed run (an uncaught error still emits 'exit').
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function arm(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${url}${path}?${API}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text ? JSON.parse(text) : undefined;
}

async function runMlgrid(sync: Sync): Promise<void> {
  const dir = dataDir();
  const server = await startServer(
    {
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      store: { kind: 'sqlite', dataDir: dir, synchronous: sync },
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      // Ingestion only: the dispatcher would otherwise start delivering the rows we are measuring the writing of
      // (to an endpoint that does not exist), and creating a webhook subscription would run the validation
      // handshake against it.
      delivery: { enabled: false, validateWebhooks: false },
    },
    pino({ level: 'silent' }),
  );
  // Count commits (group commit merges concurrent requests): wraps the instance method, no source change.
  const store = server.store as unknown as SqliteStore;
  const append = store.appendEvents.bind(store);
  let commits = 0;
  let committedEvents = 0;
  store.appendEvents = async (rows: EventToStore[], now: number) => {
    commits++;
    committedEvents += rows.length;
    return append(rows, now);
  };

  await arm(server.url, 'PUT', TOPIC_ID, { location: 'local' });
  const keys = (await arm(server.url, 'POST', `${TOPIC_ID}/listKeys`)) as { key1: string };
  await arm(server.url, 'PUT', `${TOPIC_ID}/providers/Microsoft.EventGrid/eventSubscriptions/archive-all`, {
    properties: {
      destination: {
        endpointType: 'WebHook',
        properties: { endpointUrl: 'https://archive.example.test/hook' },
      },
    },
  });
  onStop(async () => {
    const count = (sql: string) => Number((store.db.prepare(sql).get() as { n: number }).n);
    const stats = {
      events: count('SELECT count(*) AS n FROM events'),
      deliveries: count('SELECT count(*) AS n FROM deliveries'),
      commits,
      committedEvents,
      synchronous: store.db.pragma('synchronous', { simple: true }),
      journalMode: store.db.pragma('journal_mode', { simple: true }),
    };
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    return stats;
  });
  send({
    type: 'ready',
    url: server.url,
    path: `/topics/${TOPIC_NAME}/api/events?api-version=2018-01-01`,
    headers: { 'content-type': 'application/json', 'aeg-sas-key': keys.key1 },
  });
}

async function runHttp(): Promise<void> {
  let events = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[];
      events += body.length;
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  onStop(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeIdleConnections();
    });
    return { events };
  });
  send({
    type: 'ready',
    url: `http://127.0.0.1:${port}`,
    path: `/topics/${TOPIC_NAME}/api/events?api-version=2018-01-01`,
    headers: { 'content-type': 'application/json', 'aeg-sas-key': 'not-checked' },
  });
}

function runSqlite(sync: Sync, warmupMs: number, durationMs: number): void {
  const dir = dataDir();
  const db = new Database(join(dir, 'mlgrid.db'), { timeout: 0 });
  // The pragmas of store/sqlite-store.ts, and the real migrations.
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.pragma('foreign_keys = ON');
  db.exec('BEGIN EXCLUSIVE; COMMIT');
  for (const m of loadMigrations('sqlite')) db.exec(m.sql);
  // The statements of store/sqlite-store.ts.
  const insertEvent = db.prepare(
    'INSERT INTO events (event_id, source_key, event_type, subject, schema, body, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertDelivery = db.prepare(
    "INSERT INTO deliveries (sub, event_seq, status, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)",
  );
  const sourceKey = TOPIC_ID.toLowerCase();
  const subKey = `${sourceKey}/providers/microsoft.eventgrid/eventsubscriptions/archive-all`;
  // The store's subscription reference (store/sqlite-refs.ts), looked up once as its cache does.
  db.prepare('INSERT INTO subscription_refs (key) VALUES (?)').run(subKey);
  const sub = db.prepare('SELECT id FROM subscription_refs WHERE key = ?').pluck().get(subKey);
  const batches = storedRows(makeBatches());
  const commit = db.transaction((rows: (typeof batches)[number], now: number) => {
    for (const e of rows) {
      const seq = insertEvent.run(
        e.eventId,
        sourceKey,
        e.eventType,
        e.subject,
        'EventGridSchema',
        e.body,
        now,
      ).lastInsertRowid;
      insertDelivery.run(sub, seq, now, now);
    }
  });

  let i = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < warmupMs) commit(batches[i++ % batches.length]!, Date.now());
  let events = 0;
  let txns = 0;
  const c1 = process.cpuUsage();
  const r1 = process.resourceUsage();
  const t1 = performance.now();
  let ms = 0;
  while ((ms = performance.now() - t1) < durationMs) {
    const b = batches[i++ % batches.length]!;
    commit(b, Date.now());
    events += b.length;
    txns++;
  }
  const c = process.cpuUsage(c1);
  const r2 = process.resourceUsage();
  // Voluntary switches = the thread blocked (I/O, fsync); involuntary = preempted by another process.
  const switches = {
    voluntaryPerTx: Number(((r2.voluntaryContextSwitches - r1.voluntaryContextSwitches) / txns).toFixed(2)),
    involuntaryPerTx: Number(
      ((r2.involuntaryContextSwitches - r1.involuntaryContextSwitches) / txns).toFixed(2),
    ),
  };
  const total = Number((db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n);
  const stats = {
    synchronous: db.pragma('synchronous', { simple: true }),
    journalMode: db.pragma('journal_mode', { simple: true }),
  };
  db.close();
  rmSync(dir, { recursive: true, force: true });
  send({
    type: 'result',
    events,
    ms,
    txns,
    cpuMs: (c.user + c.system) / 1000,
    deliveriesInDb: total,
    ...switches,
    ...stats,
  });
  process.disconnect();
}

const [mode, a1, a2, a3] = process.argv.slice(2);
const sync = (a1 === 'NORMAL' ? 'NORMAL' : 'FULL') as Sync;
if (mode === 'mlgrid') await runMlgrid(sync);
else if (mode === 'http') await runHttp();
else if (mode === 'sqlite') runSqlite(sync, Number(a2), Number(a3));
else {
  console.error(`unknown mode '${mode}'`);
  process.exit(2);
}
