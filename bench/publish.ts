/**
 * Publish benchmark: durable events accepted per second by mlgrid (SQLite store, synchronous=FULL, one topic,
 * one match-all event subscription, so every event also writes one delivery row) with 100-event batches from
 * 4 concurrent keep-alive HTTP clients, as a ratio to the physical limit measured in the same run:
 *
 *   limit = min( bare HTTP: node:http server that reads + JSON.parses the same bodies and replies 200,
 *                bare SQLite: better-sqlite3, same pragmas and migrations, the same rows, 100 events/transaction )
 *
 * The servers (mlgrid, bare HTTP) and the bare-SQLite loop run in a child process (bench/publish-child.ts);
 * this process only generates load. Each measurement: 1 s warm-up, then 5 s counted; all of them are repeated
 * in 3 rounds (back to back within a round) and the headline ratio is the median of the per-round ratios.
 *
 *   node --conditions=mlgrid-source --import tsx bench/publish.ts [--json out.json] [--no-normal] [--rounds 3]
 *
 * BENCH_DATA_DIR: where the databases go (default: OS temp dir; must not be tmpfs, or fsync costs nothing).
 * BENCH_CHILD_ARGS: extra node flags for the children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
import { fork, type ChildProcess } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BATCH_EVENTS, makeBatches, requestBodies } from './lib/publish-bodies.js';
import { arg, fmt, fmt2, median, percentile, QUICK, table, writeJsonIfAsked } from './lib/util.js';

const CLIENTS = 4;
const WARMUP_MS = QUICK ? 300 : 1000;
const DURATION_MS = QUICK ? 1000 : 5000;
const GOAL_RATIO = 0.5;
const CHILD = fileURLToPath(new URL('./publish-child.ts', import.meta.url));
const CHILD_EXEC_ARGV = [
  '--conditions=mlgrid-source',
  '--import',
  'tsx',
  ...(process.env.BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean),
];

interface Ready {
  type: 'ready';
  url: string;
  path: string;
  headers: Record<string, string>;
}

function spawnChild(args: string[]): ChildProcess {
  return fork(CHILD, args, { execArgv: CHILD_EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type?: string }) => {
      if (m?.type !== type) return;
      child.off('message', onMsg);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before '${type}'`));
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));

export interface LoadResult {
  eventsPerSec: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** CPU of the server process in the counted window ÷ its length (1.0 = one core busy). */
  serverCpu: number;
  /** Same for this (load generator) process. */
  clientCpu: number;
  /** Every event acknowledged with a 200 during the whole run (warm-up and drain included). */
  ackedEvents: number;
}

/** 4 keep-alive clients, each posting pre-built bodies back to back. */
async function load(child: ChildProcess, target: Ready, bodies: Buffer[]): Promise<LoadResult> {
  const url = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const post = (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: target.path,
          headers: { ...target.headers, 'content-length': String(body.length) },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const cpuAtMark = new Promise<number>((resolve) => {
    const marks: number[] = [];
    const onMsg = (m: { type?: string; cpuMs?: number }) => {
      if (m?.type !== 'cpu') return;
      marks.push(m.cpuMs!);
      if (marks.length === 2) {
        child.off('message', onMsg);
        resolve(marks[1]! - marks[0]!);
      }
    };
    child.on('message', onMsg);
  });

  const t0 = performance.now();
  const from = t0 + WARMUP_MS;
  const to = from + DURATION_MS;
  let counted = 0;
  let acked = 0;
  const latencies: number[] = [];
  let clientCpu0 = process.cpuUsage();
  let clientCpuMs = 0;
  setTimeout(() => {
    clientCpu0 = process.cpuUsage();
    child.send({ type: 'mark' });
  }, WARMUP_MS);
  setTimeout(() => {
    const c = process.cpuUsage(clientCpu0);
    clientCpuMs = (c.user + c.system) / 1000;
    child.send({ type: 'mark' });
  }, WARMUP_MS + DURATION_MS);

  let k = 0;
  const client = async () => {
    while (performance.now() < to) {
      const body = bodies[k++ % bodies.length]!;
      const start = performance.now();
      const status = await post(body);
      const end = performance.now();
      if (status !== 200) throw new Error(`publish answered ${status}`);
      acked += BATCH_EVENTS;
      if (end >= from && end <= to) {
        counted += BATCH_EVENTS;
        latencies.push(end - start);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  agent.destroy();
  const serverCpuMs = await cpuAtMark;
  latencies.sort((a, b) => a - b);
  const s = DURATION_MS / 1000;
  return {
    eventsPerSec: Math.round(counted / s),
    requestsPerSec: Math.round(counted / BATCH_EVENTS / s),
    latencyMs: {
      p50: Number(percentile(latencies, 50).toFixed(1)),
      p99: Number(percentile(latencies, 99).toFixed(1)),
      max: Number((latencies[latencies.length - 1] ?? NaN).toFixed(1)),
    },
    serverCpu: Number((serverCpuMs / DURATION_MS).toFixed(2)),
    clientCpu: Number((clientCpuMs / DURATION_MS).toFixed(2)),
    ackedEvents: acked,
  };
}

export interface ServerRun extends LoadResult {
  stats: Record<string, unknown>;
}

async function serverRun(args: string[], bodies: Buffer[]): Promise<ServerRun> {
  const child = spawnChild(args);
  const ready = await next<Ready>(child, 'ready');
  const r = await load(child, ready, bodies);
  child.send({ type: 'stop' });
  const { type: _t, ...stats } = await next<Record<string, unknown>>(child, 'stopped');
  await exited(child);
  return { ...r, stats };
}

export interface SqliteRun {
  eventsPerSec: number;
  transactionsPerSec: number;
  cpu: number;
  stats: Record<string, unknown>;
}

async function sqliteRun(sync: 'FULL' | 'NORMAL'): Promise<SqliteRun> {
  const child = spawnChild(['sqlite', sync, String(WARMUP_MS), String(DURATION_MS)]);
  const m = await next<{ events: number; ms: number; txns: number; cpuMs: number } & Record<string, unknown>>(
    child,
    'result',
  );
  await exited(child);
  const { type: _t, events, ms, txns, cpuMs, ...stats } = m;
  return {
    eventsPerSec: Math.round((events / ms) * 1000),
    transactionsPerSec: Math.round((txns / ms) * 1000),
    cpu: Number((cpuMs / ms).toFixed(2)),
    stats: { ...stats, events, txns },
  };
}

function fsKind(dir: string): string {
  try {
    const t = statfsSync(dir).type;
    return t === 0x01021994
      ? 'tmpfs'
      : t === 0xef53
        ? 'ext2/3/4'
        : t === 0x58465342
          ? 'xfs'
          : `0x${t.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

type Config = 'bareHttp' | 'sqliteFULL' | 'mlgridFULL' | 'sqliteNORMAL' | 'mlgridNORMAL';
const LABEL: Record<Config, string> = {
  bareHttp: '(a) bare HTTP + JSON.parse',
  sqliteFULL: '(b) bare SQLite FULL, 100 ev/tx',
  mlgridFULL: 'mlgrid FULL',
  sqliteNORMAL: '(b) bare SQLite NORMAL, 100 ev/tx',
  mlgridNORMAL: 'mlgrid NORMAL',
};

interface Bound {
  eventsPerSec: number;
  boundBy: 'bare HTTP' | 'bare SQLite';
}

/** One pass over every configuration, back to back: its figures were measured under the same conditions. */
export interface Round {
  bareHttp: ServerRun;
  sqliteFULL: SqliteRun;
  mlgridFULL: ServerRun;
  sqliteNORMAL?: SqliteRun;
  mlgridNORMAL?: ServerRun;
  limitFULL: Bound;
  ratioFULL: number;
  limitNORMAL?: Bound;
  ratioNORMAL?: number;
}

export interface PublishResult {
  name: 'publish';
  config: {
    clients: number;
    eventsPerRequest: number;
    warmupMs: number;
    durationMs: number;
    rounds: number;
    avgEventBytes: number;
    avgRequestBytes: number;
    distinctBodies: number;
    dataDir: string;
    dataDirFs: string;
    quick: boolean;
  };
  /** Median events/s of each configuration over the rounds. */
  median: Partial<Record<Config, number>>;
  /** Headline ratios: median over the rounds of each round's mlgrid / min(a, b). */
  ratio: { FULL: number; NORMAL?: number };
  /** 1 / (1/a + 1/b) from the medians: events/s of one thread that parses then commits, with no overhead. */
  serialBound: { FULL: number; NORMAL?: number };
  goal: { ratio: number; met: boolean };
  verified: boolean;
  rounds: Round[];
}

const limitOf = (http: number, sql: number): Bound =>
  http <= sql ? { eventsPerSec: http, boundBy: 'bare HTTP' } : { eventsPerSec: sql, boundBy: 'bare SQLite' };
const ratio = (x: number, l: Bound) => Number((x / l.eventsPerSec).toFixed(3));

async function main(): Promise<void> {
  const withNormal = arg('no-normal') === undefined;
  const roundsArg = arg('rounds');
  const ROUNDS = typeof roundsArg === 'string' ? Number(roundsArg) : QUICK ? 1 : 3;
  const batches = makeBatches();
  const bodies = requestBodies(batches);
  const eventBytes = batches.flat().map((e) => Buffer.byteLength(JSON.stringify(e)));
  const avgEventBytes = Math.round(eventBytes.reduce((a, b) => a + b, 0) / eventBytes.length);
  const avgRequestBytes = Math.round(bodies.reduce((a, b) => a + b.length, 0) / bodies.length);
  const dataDir = process.env.BENCH_DATA_DIR ?? tmpdir();
  const dataDirFs = fsKind(dataDir);
  console.log(
    `publish: ${CLIENTS} keep-alive clients × ${BATCH_EVENTS}-event requests (${fmt(avgRequestBytes)} B, ` +
      `${fmt(avgEventBytes)} B/event), ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms counted, ${ROUNDS} round(s); ` +
      `data in ${dataDir} (${dataDirFs})${QUICK ? ' (BENCH_QUICK: figures not meaningful)' : ''}`,
  );
  if (dataDirFs === 'tmpfs')
    console.warn('warning: the data dir is on tmpfs, fsync is free: set BENCH_DATA_DIR');

  const rounds: Round[] = [];
  const problems: string[] = [];
  // Durability check: every acknowledged event is in the database, with its one delivery row.
  const check = (name: string, r: ServerRun) => {
    const { events, deliveries } = r.stats as { events: number; deliveries: number };
    if (events !== r.ackedEvents)
      problems.push(`${name}: ${r.ackedEvents} events acknowledged, ${events} stored`);
    if (deliveries !== events) problems.push(`${name}: ${events} events stored but ${deliveries} deliveries`);
  };
  for (let i = 1; i <= ROUNDS; i++) {
    const line: string[] = [];
    const step = async <T extends { eventsPerSec: number }>(
      label: string,
      p: () => Promise<T>,
    ): Promise<T> => {
      const r = await p();
      line.push(`${label} ${fmt(r.eventsPerSec)}`);
      return r;
    };
    process.stdout.write(`  round ${i}/${ROUNDS}: `);
    const bareHttp = await step('http', () => serverRun(['http'], bodies));
    const sqliteFULL = await step('sqlite FULL', () => sqliteRun('FULL'));
    const mlgridFULL = await step('mlgrid FULL', () => serverRun(['mlgrid', 'FULL'], bodies));
    check(`mlgrid FULL, round ${i}`, mlgridFULL);
    const limitFULL = limitOf(bareHttp.eventsPerSec, sqliteFULL.eventsPerSec);
    const round: Round = {
      bareHttp,
      sqliteFULL,
      mlgridFULL,
      limitFULL,
      ratioFULL: ratio(mlgridFULL.eventsPerSec, limitFULL),
    };
    if (withNormal) {
      round.sqliteNORMAL = await step('sqlite NORMAL', () => sqliteRun('NORMAL'));
      round.mlgridNORMAL = await step('mlgrid NORMAL', () => serverRun(['mlgrid', 'NORMAL'], bodies));
      check(`mlgrid NORMAL, round ${i}`, round.mlgridNORMAL);
      round.limitNORMAL = limitOf(bareHttp.eventsPerSec, round.sqliteNORMAL.eventsPerSec);
      round.ratioNORMAL = ratio(round.mlgridNORMAL.eventsPerSec, round.limitNORMAL);
    }
    rounds.push(round);
    console.log(`${line.join(', ')} events/s`);
  }

  const configs: Config[] = [
    'bareHttp',
    'sqliteFULL',
    'mlgridFULL',
    ...(withNormal ? (['sqliteNORMAL', 'mlgridNORMAL'] as const) : []),
  ];
  const med: Partial<Record<Config, number>> = {};
  for (const c of configs) med[c] = Math.round(median(rounds.map((r) => r[c]!.eventsPerSec)));
  const serialOf = (sql: number) => Math.round(1 / (1 / med.bareHttp! + 1 / sql));
  const ratioFULL = median(rounds.map((r) => r.ratioFULL));
  const ratioNORMAL = withNormal ? median(rounds.map((r) => r.ratioNORMAL!)) : undefined;

  const result: PublishResult = {
    name: 'publish',
    config: {
      clients: CLIENTS,
      eventsPerRequest: BATCH_EVENTS,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      rounds: ROUNDS,
      avgEventBytes,
      avgRequestBytes,
      distinctBodies: bodies.length,
      dataDir,
      dataDirFs,
      quick: QUICK,
    },
    median: med,
    ratio: { FULL: ratioFULL, ...(ratioNORMAL !== undefined ? { NORMAL: ratioNORMAL } : {}) },
    serialBound: {
      FULL: serialOf(med.sqliteFULL!),
      ...(withNormal ? { NORMAL: serialOf(med.sqliteNORMAL!) } : {}),
    },
    goal: { ratio: GOAL_RATIO, met: ratioFULL >= GOAL_RATIO },
    verified: problems.length === 0,
    rounds,
  };

  const range = (c: Config) => {
    const xs = rounds.map((r) => r[c]!.eventsPerSec);
    return xs.length > 1 ? `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}` : '';
  };
  /** The run of configuration `c` from the round where it scored its median: its latency and CPU are shown. */
  const medianRun = (c: Config) =>
    [...rounds].sort((a, b) => a[c]!.eventsPerSec - b[c]!.eventsPerSec)[(rounds.length - 1) >> 1]![c];
  const rows = configs.map((c) => {
    const r = medianRun(c);
    const srv = r && 'latencyMs' in r ? r : undefined;
    const sql = r && 'transactionsPerSec' in r ? r : undefined;
    return [
      LABEL[c],
      fmt(med[c]!),
      range(c),
      srv ? fmt2(srv.latencyMs.p50) : '',
      srv ? fmt2(srv.latencyMs.p99) : '',
      srv ? fmt2(srv.serverCpu) : sql ? fmt2(sql.cpu) : '',
      srv ? fmt2(srv.clientCpu) : '',
    ];
  });
  console.log('');
  console.log(
    table(['', 'events/s (median)', 'range', 'p50 ms', 'p99 ms', 'server cpu', 'client cpu'], rows),
  );
  const perCommit = (c: 'mlgridFULL' | 'mlgridNORMAL') => {
    let commits = 0;
    let events = 0;
    for (const r of rounds) {
      const s = r[c]?.stats as { commits: number; committedEvents: number } | undefined;
      commits += s?.commits ?? 0;
      events += s?.committedEvents ?? 0;
    }
    return commits ? `${fmt(events / commits)} events/commit` : '';
  };
  const ratios = (f: (r: Round) => number | undefined) => rounds.map((r) => fmt2(f(r)!)).join(', ');
  const limitMed = limitOf(med.bareHttp!, med.sqliteFULL!);
  console.log(
    `\nsynchronous=FULL:   mlgrid / min(a, b) = ${fmt2(ratioFULL)} (rounds: ${ratios((r) => r.ratioFULL)}; ` +
      `limit ${fmt(limitMed.eventsPerSec)} = ${limitMed.boundBy}; ${perCommit('mlgridFULL')})` +
      ` — goal ≥ ${GOAL_RATIO}: ${result.goal.met ? 'met' : 'MISSED'}`,
  );
  if (withNormal) {
    const l = limitOf(med.bareHttp!, med.sqliteNORMAL!);
    console.log(
      `synchronous=NORMAL: mlgrid / min(a, b) = ${fmt2(ratioNORMAL!)} (rounds: ${ratios((r) => r.ratioNORMAL)}; ` +
        `limit ${fmt(l.eventsPerSec)} = ${l.boundBy}; ${perCommit('mlgridNORMAL')})`,
    );
  }
  console.log(
    `serial bound, one thread parsing then committing (1 / (1/a + 1/b)): FULL ${fmt(result.serialBound.FULL)}` +
      ` → mlgrid at ${fmt2(med.mlgridFULL! / result.serialBound.FULL)} of it` +
      (withNormal
        ? `; NORMAL ${fmt(result.serialBound.NORMAL!)} → ${fmt2(med.mlgridNORMAL! / result.serialBound.NORMAL!)}`
        : ''),
  );
  if (problems.length === 0)
    console.log('verified: every acknowledged event is stored with its delivery row');
  writeJsonIfAsked(result);
  if (problems.length > 0) {
    for (const p of problems) console.error(`FAIL: ${p}`);
    process.exitCode = 1;
  }
}

await main();
