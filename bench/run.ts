/**
 * Runs the benchmarks (each in its own process, with workspace imports resolved to sources), prints a
 * summary and writes bench/results/<YYYY-MM-DD>-<name>.json (machine info + every figure).
 *
 *   npm run bench [-- --name <label>] [-- --only routing|publish|delivery|drift|drift-classifier] [-- --no-normal]
 *
 * <name> defaults to the host name; an existing file of the same name is never overwritten (-2, -3… is added).
 */
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, hostname, loadavg, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DeliveryResult } from './delivery.js';
import type { DriftClassifierBench } from './drift-classifier.js';
import type { DriftBenchResult } from './drift-metrics.js';
import type { PublishResult } from './publish.js';
import type { RoutingResult } from './routing.js';
import { arg, fmt, fmt2, QUICK, table } from './lib/util.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

function runScript(script: string, jsonOut: string, extra: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=mlgrid-source', '--import', 'tsx', `bench/${script}.ts`, '--json', jsonOut, ...extra],
      { cwd: ROOT, stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`bench/${script}.ts exited with ${code}`)),
    );
  });
}

function git(...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function machine() {
  const c = cpus();
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  const pkg = (name: string) =>
    (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version: string })
      .version;
  return {
    hostname: hostname(),
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    cpuMHz: c[0]?.speed,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    platform: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    v8: process.versions.v8,
    sqlite,
    betterSqlite3: pkg('better-sqlite3'),
    fastify: pkg('fastify'),
    gitCommit: git('rev-parse', '--short', 'HEAD'),
    gitDirty: (git('status', '--porcelain') ?? '') !== '',
  };
}

function resultPath(name: string): string {
  const date = new Date().toISOString().slice(0, 10);
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  let p = `${RESULTS}${date}-${safe}.json`;
  for (let i = 2; existsSync(p); i++) p = `${RESULTS}${date}-${safe}-${i}.json`;
  return p;
}

async function main(): Promise<void> {
  const only = arg('only');
  const name = arg('name');
  const passNormal = arg('no-normal') !== undefined ? ['--no-normal'] : [];
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  let routing: RoutingResult | undefined;
  let publish: PublishResult | undefined;
  let delivery: DeliveryResult | undefined;
  let drift: DriftBenchResult | undefined;
  let driftClassifier: DriftClassifierBench | undefined;
  const tmp = (s: string) => `${RESULTS}${s}-${process.pid}.tmp`;
  try {
    if (only === undefined || only === 'routing') {
      console.log('== routing ==');
      await runScript('routing', tmp('routing'), []);
      routing = JSON.parse(readFileSync(tmp('routing'), 'utf8')) as RoutingResult;
      console.log('');
    }
    if (only === undefined || only === 'publish') {
      console.log('== publish ==');
      await runScript('publish', tmp('publish'), passNormal);
      publish = JSON.parse(readFileSync(tmp('publish'), 'utf8')) as PublishResult;
      console.log('');
    }
    if (only === undefined || only === 'delivery') {
      console.log('== delivery ==');
      await runScript('delivery', tmp('delivery'), []);
      delivery = JSON.parse(readFileSync(tmp('delivery'), 'utf8')) as DeliveryResult;
      console.log('');
    }
    if (only === undefined || only === 'drift') {
      console.log('== drift metrics ==');
      await runScript('drift-metrics', tmp('drift'), []);
      drift = JSON.parse(readFileSync(tmp('drift'), 'utf8')) as DriftBenchResult;
      console.log('');
    }
    if (only === undefined || only === 'drift-classifier') {
      console.log('== drift classifier ==');
      await runScript('drift-classifier', tmp('drift-classifier'), []);
      driftClassifier = JSON.parse(readFileSync(tmp('drift-classifier'), 'utf8')) as DriftClassifierBench;
      console.log('');
    }
  } finally {
    rmSync(tmp('routing'), { force: true });
    rmSync(tmp('publish'), { force: true });
    rmSync(tmp('delivery'), { force: true });
    rmSync(tmp('drift'), { force: true });
    rmSync(tmp('drift-classifier'), { force: true });
  }

  const rows: (string | number)[][] = [];
  if (routing) {
    for (const w of routing.workloads) {
      for (const c of w.cases) {
        rows.push([
          `routing '${w.workload}', ${fmt(c.subscriptions)} subs`,
          `${fmt(c.index.eventsPerSec)} ev/s`,
          `scan ${fmt(c.scan.eventsPerSec)} ev/s`,
          `${fmt2(c.speedup)}x`,
        ]);
      }
      rows.push([
        `routing '${w.workload}', cost growth 10→1,000`,
        `index ${fmt2(w.costGrowth.index)}x`,
        `scan ${fmt2(w.costGrowth.scan)}x`,
        '',
      ]);
    }
    rows.push([
      `routing goal ≥ ${fmt(routing.goal.eventsPerSec)} ev/s ('${routing.goal.workload}', 1,000 subs)`,
      `${fmt(routing.goal.measured)} ev/s`,
      routing.goal.met ? 'met' : 'MISSED',
      '',
    ]);
  }
  if (publish) {
    const m = publish.median;
    for (const s of ['FULL', 'NORMAL'] as const) {
      const mlgrid = m[`mlgrid${s}`];
      const sqlite = m[`sqlite${s}`];
      const r = publish.ratio[s];
      if (mlgrid === undefined || sqlite === undefined || r === undefined) continue;
      rows.push([
        `publish synchronous=${s} (medians)`,
        `mlgrid ${fmt(mlgrid)} ev/s`,
        `http ${fmt(m.bareHttp!)}, sqlite ${fmt(sqlite)}`,
        `ratio ${fmt2(r)}`,
      ]);
    }
    rows.push([
      'publish FULL vs one-thread serial bound',
      `mlgrid ${fmt(m.mlgridFULL!)} ev/s`,
      `serial ${fmt(publish.serialBound.FULL)}`,
      `ratio ${fmt2(m.mlgridFULL! / publish.serialBound.FULL)}`,
    ]);
    rows.push([
      `publish goal ≥ ${publish.goal.ratio} of min(a, b) (FULL)`,
      `${fmt2(publish.ratio.FULL)}`,
      publish.goal.met ? 'met' : 'MISSED',
      '',
    ]);
  }
  if (delivery) {
    const s = delivery.summary;
    const tp = (label: string, x?: number, raw?: number, ratio?: number) => {
      if (x !== undefined)
        rows.push([
          `delivery ${label}`,
          `mlgrid ${fmt(x)} ev/s`,
          raw !== undefined ? `raw ${fmt(raw)}` : '',
          ratio !== undefined ? `ratio ${fmt2(ratio)}` : '',
        ]);
    };
    tp('1 event/request, SQLite', s.sqliteSingle, s.rawSingle, s.ratioSqliteSingle);
    tp('1 event/request, PostgreSQL', s.postgresSingle, s.rawSingle, s.ratioPostgresSingle);
    tp('100 events/request, SQLite', s.sqliteBatch, s.rawBatch, s.ratioSqliteBatch);
    tp('100 events/request, PostgreSQL', s.postgresBatch, s.rawBatch, s.ratioPostgresBatch);
    for (const [k, m] of Object.entries(s.latency)) {
      if (!m || k.startsWith('direct')) continue;
      const direct = s.latency[k.replace(/^\D+/, 'direct')];
      rows.push([
        `delivery latency ${k.replace(/\d+$/, '')}, ${k.replace(/^\D+/, '')} ev/request, 1,000 ev/s`,
        `p50 ${fmt2(m.p50)} / p99 ${fmt2(m.p99)} ms`,
        direct ? `direct p50 ${fmt2(direct.p50)} / p99 ${fmt2(direct.p99)}` : '',
        '',
      ]);
    }
    for (const [k, g] of Object.entries(delivery.goals))
      if (g.measured !== undefined)
        rows.push([`delivery goal ${k} (${g.goal})`, String(g.measured), g.met ? 'met' : 'MISSED', '']);
  }
  if (drift) {
    const d = drift;
    rows.push([
      `drift KS+W1+energy, ${fmt(d.rows)} vs ${fmt(d.rows)} × ${d.features}`,
      `${fmt2(d.seconds.mlgrid)} s`,
      `scipy ${fmt2(d.seconds.scipy)} s, sort ${fmt2(d.seconds.sortOnly)} s`,
      `${fmt2(d.ratio.vsScipy)}x / ${fmt2(d.ratio.vsSort)}x`,
    ]);
    rows.push([
      'drift, cached baseline',
      `${fmt2(d.seconds.mlgridCached)} s`,
      `sort target ${fmt2(d.seconds.sortTargetOnly)} s`,
      `${fmt2(d.ratio.cachedVsScipy)}x / ${fmt2(d.ratio.cachedVsSortTarget)}x`,
    ]);
    rows.push([
      'drift goals ≤ 0.35× scipy, ≤ 2× sort',
      d.goals.vsScipy.met ? 'met' : 'MISSED',
      d.goals.vsSort.met ? 'met' : 'MISSED',
      '',
    ]);
  }
  for (const c of driftClassifier?.cases ?? []) {
    rows.push([
      `drift coefficient '${c.name}', ${fmt(c.rows.baseline)} + ${fmt(c.rows.target)} × ${c.rows.features}`,
      `${fmt2(c.mlgrid1.seconds)} / ${fmt2(c.mlgrid2.seconds)} s (1 / 2 threads)`,
      c.sklearn1 && c.sklearnDefault
        ? `sklearn ${fmt2(c.sklearn1.seconds)} / ${fmt2(c.sklearnDefault.seconds)} s (1 / ${c.sklearnDefault.ompThreads})`
        : 'sklearn n/a',
      c.ratio ? `${fmt2(c.ratio.threads1)} / ${fmt2(c.ratio.threads2)}` : '',
    ]);
  }
  if (driftClassifier?.goal.met !== undefined)
    rows.push([
      `drift coefficient goal (${driftClassifier.goal.case})`,
      '≤ 5 s, ≤ 1×',
      driftClassifier.goal.met ? 'met' : 'MISSED',
      '',
    ]);
  console.log('== summary ==');
  console.log(table(['measure', 'mlgrid', 'baseline / limit', 'ratio'], rows));

  const out = resultPath(typeof name === 'string' ? name : hostname());
  const doc = {
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: QUICK,
    machine: {
      ...machine(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg().map((x) => Number(x.toFixed(2))),
    },
    ...(routing ? { routing } : {}),
    ...(publish ? { publish } : {}),
    ...(delivery ? { delivery } : {}),
    ...(drift ? { drift } : {}),
    ...(driftClassifier ? { driftClassifier } : {}),
  };
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${out.slice(ROOT.length)}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
