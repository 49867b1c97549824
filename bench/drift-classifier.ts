/**
 * Drift-coefficient benchmark (issue 5): mlgrid's 5-fold out-of-fold domain classifier vs scikit-learn's
 * HistGradientBoostingClassifier doing the same job on the same rows, in the same run.
 *
 *   node --conditions=mlgrid-source --import tsx bench/drift-classifier.ts [--rows 50000] [--features 20]
 *        [--repeat 2] [--json out.json] [--cases shift,identical,fixed100]
 *
 * Data: the seeded scenario generator (classifier-scenarios.ts), written to a temporary float64 file that
 * bench/drift_classifier_sklearn.py reads with numpy. Cases: `shift` (x0 mean +0.5 sd; default settings,
 * early stopping 'auto' on both sides), `identical` (no drift: early stopping ends folds soon), `fixed100`
 * (shift data, early stopping off: 100 trees per fold on both sides, a per-iteration comparison).
 * mlgrid runs serially (1 thread) and with `driftClassifierParallel` (2 threads); sklearn with its default
 * OpenMP threads (the machine's cores) and with OMP_NUM_THREADS=1. Figures are the best of --repeat runs.
 * Without --json, the result goes to bench/results/<date>-drift-classifier.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { driftClassifier, type DriftClassifierResult } from '../packages/server/src/core/drift/classifier.js';
import { driftClassifierParallel } from '../packages/server/src/core/drift/classifier-parallel.js';
import { scenarioTables, type Scenario } from '../packages/server/src/core/drift/classifier-scenarios.js';
import { arg, fmt2, QUICK, table, writeJsonIfAsked } from './lib/util.js';

const PY = '/usr/bin/python3';
const SIDE = fileURLToPath(new URL('./drift_classifier_sklearn.py', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const ROWS = Number(arg('rows') ?? (QUICK ? 5000 : 50_000));
const FEATURES = Number(arg('features') ?? 20);
const REPEAT = Number(arg('repeat') ?? (QUICK ? 1 : 2));
const CASES = String(arg('cases') ?? 'shift,identical,fixed100').split(',');

interface Run {
  seconds: number;
  cpuSeconds: number;
  mcc: number;
  auc: number;
  iterations: number[];
}
interface SklearnRun extends Run {
  ompThreads: number | null;
  sklearn: string;
}
export interface DriftClassifierCase {
  name: string;
  earlyStopping: 'auto' | 'off';
  rows: { baseline: number; target: number; features: number };
  mlgrid1: Run;
  mlgrid2: Run;
  sklearnDefault?: SklearnRun;
  sklearn1?: SklearnRun;
  /** mlgrid 2 threads / sklearn default threads; mlgrid 1 thread / sklearn 1 thread (wall time, < 1 = faster). */
  ratio?: { threads2: number; threads1: number };
}
export interface DriftClassifierBench {
  cores: number;
  goal: { seconds: number; ratio: number; case: string; met: boolean | undefined };
  cases: DriftClassifierCase[];
}

async function best(f: () => Promise<DriftClassifierResult>): Promise<Run> {
  let out: Run | undefined;
  for (let i = 0; i < REPEAT; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await f();
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (!out || seconds < out.seconds)
      out = {
        seconds,
        cpuSeconds: (c.user + c.system) / 1e6,
        mcc: r.mcc,
        auc: r.auc,
        iterations: r.iterations,
      };
  }
  return out!;
}

function sklearn(file: string, s: Scenario, early: string, omp?: number): SklearnRun | undefined {
  const env = { ...process.env };
  if (omp !== undefined) env.OMP_NUM_THREADS = String(omp);
  else delete env.OMP_NUM_THREADS;
  try {
    const out = execFileSync(
      PY,
      [SIDE, file, String(s.rows), String(s.rows), String(s.numeric), early, String(REPEAT)],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return JSON.parse(out) as SklearnRun;
  } catch (err) {
    console.error(`sklearn side failed (${PY} with python3-sklearn needed): ${(err as Error).message}`);
    return undefined;
  }
}

async function runCase(name: string, dir: string): Promise<DriftClassifierCase> {
  const early = name === 'fixed100' ? 'off' : 'auto';
  const s: Scenario = {
    name,
    seed: 4242,
    rows: ROWS,
    numeric: FEATURES,
    shift:
      name === 'identical'
        ? { kind: 'none', feature: 0, amount: 0 }
        : { kind: 'mean', feature: 0, amount: 0.5 },
  };
  const [baseline, target] = scenarioTables(s);
  const n = baseline.rows + target.rows;
  const X = new Float64Array(n * FEATURES);
  for (const [off, t] of [
    [0, baseline],
    [baseline.rows, target],
  ] as const)
    t.columns.forEach((c, f) => {
      if (c.kind !== 'numeric') return;
      for (let i = 0; i < t.rows; i++) X[(off + i) * FEATURES + f] = c.values[i]!;
    });
  const file = join(dir, `${name}.f64`);
  writeFileSync(file, new Uint8Array(X.buffer));
  const opts = { earlyStopping: early === 'off' ? false : ('auto' as const) };
  console.log(`-- ${name}: ${ROWS} + ${ROWS} rows × ${FEATURES} features, early stopping ${early}`);
  const mlgrid1 = await best(async () => driftClassifier(baseline, target, opts));
  console.log(
    `   mlgrid 1 thread   ${fmt2(mlgrid1.seconds)} s  MCC ${mlgrid1.mcc.toFixed(4)}  trees ${mlgrid1.iterations}`,
  );
  const mlgrid2 = await best(() => driftClassifierParallel(baseline, target, { ...opts, threads: 2 }));
  console.log(`   mlgrid 2 threads  ${fmt2(mlgrid2.seconds)} s`);
  const sklearnDefault = sklearn(file, s, early);
  if (sklearnDefault)
    console.log(
      `   sklearn ${sklearnDefault.ompThreads} threads ${fmt2(sklearnDefault.seconds)} s  MCC ${sklearnDefault.mcc.toFixed(4)}  trees ${sklearnDefault.iterations}`,
    );
  const sklearn1 = sklearn(file, s, early, 1);
  if (sklearn1) console.log(`   sklearn 1 thread  ${fmt2(sklearn1.seconds)} s`);
  const ratio =
    sklearnDefault && sklearn1
      ? { threads2: mlgrid2.seconds / sklearnDefault.seconds, threads1: mlgrid1.seconds / sklearn1.seconds }
      : undefined;
  return {
    name,
    earlyStopping: early,
    rows: { baseline: ROWS, target: ROWS, features: FEATURES },
    mlgrid1,
    mlgrid2,
    sklearnDefault,
    sklearn1,
    ratio,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mlgrid-drift-bench-'));
  const loadBefore = loadavg();
  const cases: DriftClassifierCase[] = [];
  try {
    for (const name of CASES) cases.push(await runCase(name, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const head = cases.find((c) => c.name === 'shift');
  const result: DriftClassifierBench & {
    startedLoadAverage: number[];
    endLoadAverage: number[];
    quick: boolean;
  } = {
    cores: cpus().length,
    goal: {
      seconds: 5,
      ratio: 1,
      case: 'shift, mlgrid 2 threads vs sklearn default threads',
      met: head?.ratio ? head.mlgrid2.seconds <= 5 && head.ratio.threads2 <= 1 : undefined,
    },
    cases,
    startedLoadAverage: loadBefore,
    endLoadAverage: loadavg(),
    quick: QUICK,
  };
  console.log('');
  console.log(
    table(
      ['case', 'mlgrid 1 / 2 threads (s)', 'sklearn 1 / default threads (s)', 'ratio 1 / 2 threads'],
      cases.map((c) => [
        c.name,
        `${fmt2(c.mlgrid1.seconds)} / ${fmt2(c.mlgrid2.seconds)}`,
        c.sklearn1 && c.sklearnDefault
          ? `${fmt2(c.sklearn1.seconds)} / ${fmt2(c.sklearnDefault.seconds)}`
          : 'n/a',
        c.ratio ? `${fmt2(c.ratio.threads1)} / ${fmt2(c.ratio.threads2)}` : 'n/a',
      ]),
    ),
  );
  console.log(
    `goal (≤ 5 s and ≤ sklearn on 'shift'): ${result.goal.met === undefined ? 'n/a' : result.goal.met ? 'met' : 'MISSED'}`,
  );
  if (arg('json') !== undefined) writeJsonIfAsked(result);
  else {
    const date = new Date().toISOString().slice(0, 10);
    let out = `${RESULTS}${date}-drift-classifier.json`;
    for (let i = 2; existsSync(out); i++) out = `${RESULTS}${date}-drift-classifier-${i}.json`;
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${out}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
