/**
 * The drift coefficient with its folds spread over threads (scikit-learn uses OpenMP threads for the same
 * job). The calling thread runs folds too; each thread takes the next fold from a shared atomic counter.
 * Folds are independent and seeded per fold (classifier.ts `runFold`), so the result is bit-identical to
 * `driftClassifier` whatever the thread count or timing. Workers are started once and kept (unref'd, so they
 * never hold the process open): a backfill of 31 periods pays their start-up once. Jobs run one at a time.
 * The only part of core/drift that is not pure.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';
import {
  finishDriftClassifier,
  planDriftClassifier,
  runFold,
  type ClassifierTable,
  type DriftClassifierOptions,
  type DriftClassifierResult,
  type DriftPlan,
  type FoldResult,
} from './classifier.js';

const pool: Worker[] = [];
let queue: Promise<unknown> = Promise.resolve();
let lastWorkerFolds = 0;

function spawn(): Worker {
  const w = startWorker(import.meta.url, 'classifier-worker', { execArgv: [] });
  w.unref();
  const drop = () => {
    const i = pool.indexOf(w);
    if (i >= 0) pool.splice(i, 1);
  };
  w.on('error', drop);
  w.on('exit', drop);
  pool.push(w);
  return w;
}

/** Runs folds on `w` until the counter is exhausted; a worker that fails only loses its folds (rerun below). */
function runOn(w: Worker, plan: DriftPlan, counter: SharedArrayBuffer): Promise<FoldResult[]> {
  return new Promise((resolve) => {
    const done = (r: FoldResult[]) => {
      w.off('message', done);
      w.off('error', fail);
      w.off('exit', fail);
      w.unref();
      resolve(r);
    };
    const fail = () => done([]);
    w.on('message', done);
    w.on('error', fail);
    w.on('exit', fail);
    w.ref();
    w.postMessage({ plan, counter });
  });
}

async function job(
  baseline: ClassifierTable,
  target: ClassifierTable,
  options: DriftClassifierOptions & { threads?: number },
): Promise<DriftClassifierResult> {
  const plan = planDriftClassifier(baseline, target, options);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), plan.folds));
  while (pool.length < threads - 1) spawn();
  const counter = new SharedArrayBuffer(4);
  const next = new Int32Array(counter);
  const workers = pool.slice(0, threads - 1).map((w) => runOn(w, plan, counter));
  const results: FoldResult[] = [];
  // Let the workers receive the job before this thread blocks on its own folds.
  await new Promise((r) => setImmediate(r));
  for (let k = Atomics.add(next, 0, 1); k < plan.folds; k = Atomics.add(next, 0, 1))
    results.push(runFold(plan, k));
  const fromWorkers = (await Promise.all(workers)).flat();
  lastWorkerFolds = fromWorkers.length;
  results.push(...fromWorkers);
  const done = new Set(results.map((r) => r.fold));
  for (let k = 0; k < plan.folds; k++) if (!done.has(k)) results.push(runFold(plan, k));
  return finishDriftClassifier(plan, results);
}

export function driftClassifierParallel(
  baseline: ClassifierTable,
  target: ClassifierTable,
  options: DriftClassifierOptions & { threads?: number } = {},
): Promise<DriftClassifierResult> {
  const run = queue.then(() => job(baseline, target, options));
  queue = run.catch(() => undefined);
  return run;
}

/** Stops the pooled workers (tests, shutdown); the next call starts new ones. */
export async function closeDriftClassifierPool(): Promise<void> {
  await Promise.all(pool.splice(0).map((w) => w.terminate()));
}

/** Live pooled workers, and how many folds they ran in the last job (tests check that threads really ran). */
export function driftClassifierPoolStats(): { workers: number; lastWorkerFolds: number } {
  return { workers: pool.length, lastWorkerFolds };
}
