/**
 * Drift-metrics benchmark (issue 5): per-feature KS (statistic + p-value, scipy's 'auto' method), Wasserstein-1
 * and energy distance for 1,000,000 baseline vs 1,000,000 target rows × 10 numeric features, against, in the
 * same run on the same data:
 *  - scipy 1.10.1 (`ks_2samp` + `wasserstein_distance` + `energy_distance`, bench/drift_metrics_scipy.py run
 *    with /usr/bin/python3, reading the same doubles from a temporary binary file);
 *  - the physical limit: just sorting both columns of every feature (`Float64Array.prototype.sort`);
 *  - the cached-baseline case: the baseline's sorted columns prepared once (as a monitor keeps them), so a run
 *    sorts only the target (compared with sorting only the target).
 * mlgrid's timed call is `numericDrift`, which also computes min/max/mean/std, PSI and Jensen–Shannon.
 * Results are checked against scipy's (KS D equal, distances 1e-12, p 1e-10) before any ratio is printed.
 *
 *   node --conditions=mlgrid-source --import tsx bench/drift-metrics.ts [--json out.json] [--rows 1000000]
 *        [--features 10] [--reps 3] [--scipy-reps 1]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { numericDrift, prepareNumeric } from '../packages/server/src/core/drift/numeric.js';
import { numericSample, type NumericRecipe } from '../packages/server/src/core/drift/recipes.js';
import type { NumericDriftMetrics } from '../packages/server/src/core/drift/types.js';
import { arg, fmt2, median, QUICK, table, writeJsonIfAsked } from './lib/util.js';

const num = (name: string, dflt: number): number => {
  const v = arg(name);
  return typeof v === 'string' ? Number(v) : dflt;
};
const ROWS = num('rows', QUICK ? 100_000 : 1_000_000);
const FEATURES = num('features', 10);
const REPS = num('reps', QUICK ? 1 : 3);
const SCIPY_REPS = num('scipy-reps', 1);

/** Feature f: a mix of unchanged, shifted, rescaled and tied (quantised) columns. */
function recipes(f: number): [NumericRecipe, NumericRecipe] {
  const base: NumericRecipe = { seed: 1000 + f, n: ROWS, dist: f === 9 ? 'uniform' : 'normal' };
  const shift = [0, 0, 0, 0.002, 0.005, 0.02, 0, 0.1, 0, 0][f] ?? 0;
  const scale = f === 6 ? 1.01 : 1;
  const quantum = f === 8 ? 0.01 : undefined;
  return [
    { ...base, ...(quantum ? { quantum } : {}) },
    { ...base, seed: 2000 + f, loc: shift, scale, ...(quantum ? { quantum } : {}) },
  ];
}

export interface DriftBenchResult {
  rows: number;
  features: number;
  seconds: { scipy: number; mlgrid: number; sortOnly: number; mlgridCached: number; sortTargetOnly: number };
  ratio: { vsScipy: number; vsSort: number; cachedVsScipy: number; cachedVsSortTarget: number };
  goals: { vsScipy: { goal: number; met: boolean }; vsSort: { goal: number; met: boolean } };
  scipy: { version: string; numpy: string; seconds: number[] };
  maxRelDiff: { ksP: number; wasserstein: number; energy: number };
}

function main(): void {
  const startedAt = new Date().toISOString();
  console.log(
    `generating ${ROWS.toLocaleString('en-US')} + ${ROWS.toLocaleString('en-US')} rows × ${FEATURES}`,
  );
  const base: Float64Array[] = [];
  const target: Float64Array[] = [];
  for (let f = 0; f < FEATURES; f++) {
    const [a, b] = recipes(f);
    base.push(numericSample(a));
    target.push(numericSample(b));
  }
  const file = join(tmpdir(), `mlgrid-drift-bench-${process.pid}.f64`);
  const all = new Float64Array(2 * FEATURES * ROWS);
  for (let f = 0; f < FEATURES; f++) {
    all.set(base[f]!, f * ROWS);
    all.set(target[f]!, (FEATURES + f) * ROWS);
  }
  writeFileSync(file, new Uint8Array(all.buffer));

  const time = (fn: () => void): number => {
    const t0 = performance.now();
    fn();
    return (performance.now() - t0) / 1000;
  };
  const sortOnly: number[] = [];
  const sortTarget: number[] = [];
  const full: number[] = [];
  const cached: number[] = [];
  let results: NumericDriftMetrics[] = [];
  // Warm-up (JIT) on a slice, then alternate the measures so neighbours' load hits them alike.
  numericDrift(base[0]!.subarray(0, 50_000), target[0]!.subarray(0, 50_000));
  const prepared = base.map((b) => prepareNumeric(b));
  for (let r = 0; r < REPS; r++) {
    sortOnly.push(time(() => base.forEach((b, f) => (b.slice().sort(), target[f]!.slice().sort()))));
    sortTarget.push(time(() => target.forEach((t) => t.slice().sort())));
    full.push(time(() => (results = base.map((b, f) => numericDrift(b, target[f]!)))));
    cached.push(time(() => prepared.map((p, f) => numericDrift(p, target[f]!))));
  }
  console.log('running scipy (/usr/bin/python3 bench/drift_metrics_scipy.py)…');
  let py: {
    scipy: string;
    numpy: string;
    seconds: number[];
    results: { ksStatistic: number; ksPValue: number; wasserstein: number; energy: number }[];
  };
  try {
    py = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        ['bench/drift_metrics_scipy.py', file, String(ROWS), String(FEATURES), String(SCIPY_REPS)],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      ),
    ) as typeof py;
  } finally {
    rmSync(file, { force: true });
  }

  const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));
  const maxRel = { ksP: 0, wasserstein: 0, energy: 0 };
  results.forEach((m, f) => {
    const s = py.results[f]!;
    if (m.ks.statistic !== s.ksStatistic)
      throw new Error(`feature ${f}: KS D ${m.ks.statistic} ≠ ${s.ksStatistic}`);
    maxRel.ksP = Math.max(maxRel.ksP, rel(m.ks.pValue, s.ksPValue));
    maxRel.wasserstein = Math.max(maxRel.wasserstein, rel(m.wasserstein, s.wasserstein));
    maxRel.energy = Math.max(maxRel.energy, rel(m.energy, s.energy));
  });
  if (maxRel.ksP > 1e-10 || maxRel.wasserstein > 1e-12 || maxRel.energy > 1e-12)
    throw new Error(`results differ from scipy: ${JSON.stringify(maxRel)}`);

  const s = {
    scipy: median(py.seconds),
    mlgrid: median(full),
    sortOnly: median(sortOnly),
    mlgridCached: median(cached),
    sortTargetOnly: median(sortTarget),
  };
  const ratio = {
    vsScipy: s.mlgrid / s.scipy,
    vsSort: s.mlgrid / s.sortOnly,
    cachedVsScipy: s.mlgridCached / s.scipy,
    cachedVsSortTarget: s.mlgridCached / s.sortTargetOnly,
  };
  const result: DriftBenchResult = {
    rows: ROWS,
    features: FEATURES,
    seconds: s,
    ratio,
    goals: {
      vsScipy: { goal: 0.35, met: ratio.vsScipy <= 0.35 },
      vsSort: { goal: 2, met: ratio.vsSort <= 2 },
    },
    scipy: { version: py.scipy, numpy: py.numpy, seconds: py.seconds },
    maxRelDiff: maxRel,
  };
  console.log(
    table(
      ['measure (all features, median)', 'seconds', 'ratio'],
      [
        ['scipy ks_2samp + wasserstein + energy', fmt2(s.scipy), ''],
        ['sort both columns (Float64Array.sort)', fmt2(s.sortOnly), ''],
        ['mlgrid numericDrift', fmt2(s.mlgrid), `${fmt2(ratio.vsScipy)}× scipy, ${fmt2(ratio.vsSort)}× sort`],
        ['sort target only', fmt2(s.sortTargetOnly), ''],
        [
          'mlgrid numericDrift, cached baseline',
          fmt2(s.mlgridCached),
          `${fmt2(ratio.cachedVsScipy)}× scipy, ${fmt2(ratio.cachedVsSortTarget)}× sort`,
        ],
      ],
    ),
  );
  console.log(
    `goals: ≤ 0.35× scipy ${result.goals.vsScipy.met ? 'met' : 'MISSED'}; ≤ 2× sort ${result.goals.vsSort.met ? 'met' : 'MISSED'}` +
      `; max rel diff vs scipy: p ${maxRel.ksP.toExponential(1)}, W1 ${maxRel.wasserstein.toExponential(1)}, energy ${maxRel.energy.toExponential(1)}`,
  );
  if (arg('json') !== undefined) writeJsonIfAsked(result);
  else {
    const stem = `bench/results/${new Date().toISOString().slice(0, 10)}-${hostname()}-drift-metrics`;
    let out = `${stem}.json`;
    for (let i = 2; existsSync(out); i++) out = `${stem}-${i}.json`;
    writeFileSync(
      out,
      JSON.stringify({ startedAt, quick: QUICK, node: process.version, ...result }, null, 2) + '\n',
    );
    console.log(`wrote ${out}`);
  }
}

main();
