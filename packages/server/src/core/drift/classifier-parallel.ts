/**
 * The drift coefficient with its folds spread over threads (scikit-learn uses OpenMP threads for the same
 * job). The calling thread runs folds too; each thread takes the next fold from a shared atomic counter.
 * Folds are independent and seeded per fold (classifier.ts `runFold`), so the result is bit-identical to
 * `driftClassifier` whatever the thread count or timing. The only part of core/drift that is not pure.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  finishDriftClassifier,
  planDriftClassifier,
  runFold,
  type ClassifierTable,
  type DriftClassifierOptions,
  type DriftClassifierResult,
  type FoldResult,
} from './classifier.js';

/** Under tsx/vitest this module is TypeScript source: the worker then needs the tsx loader. */
function workerUrl(): { url: URL; execArgv?: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(ts ? './classifier-worker.ts' : './classifier-worker.js', import.meta.url);
  if (!ts) return { url };
  const hasTsx = process.execArgv.some((a, i) => a.includes('tsx') && (i === 0 || process.execArgv[i - 1] === '--import'));
  return { url, execArgv: hasTsx ? process.execArgv : [...process.execArgv, '--import', 'tsx'] };
}

export async function driftClassifierParallel(
  baseline: ClassifierTable,
  target: ClassifierTable,
  options: DriftClassifierOptions & { threads?: number } = {},
): Promise<DriftClassifierResult> {
  const plan = planDriftClassifier(baseline, target, options);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), plan.folds));
  const counter = new SharedArrayBuffer(4);
  const next = new Int32Array(counter);
  const { url, execArgv } = workerUrl();
  const workers = Array.from({ length: threads - 1 }, () => {
    const w = new Worker(url, { workerData: { plan, counter }, execArgv });
    // A worker that fails (cannot load, runs out of memory) only loses its folds: they are rerun below.
    return new Promise<FoldResult[]>((resolve) => {
      w.once('message', (r: FoldResult[]) => resolve(r));
      w.once('error', () => resolve([]));
      w.once('exit', () => resolve([]));
    });
  });
  const results: FoldResult[] = [];
  // Let the workers start before this thread blocks on its own folds.
  await new Promise((r) => setImmediate(r));
  for (let k = Atomics.add(next, 0, 1); k < plan.folds; k = Atomics.add(next, 0, 1)) results.push(runFold(plan, k));
  for (const r of await Promise.all(workers)) results.push(...r);
  const done = new Set(results.map((r) => r.fold));
  for (let k = 0; k < plan.folds; k++) if (!done.has(k)) results.push(runFold(plan, k));
  return finishDriftClassifier(plan, results);
}
