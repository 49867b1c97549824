/**
 * Where a drift run's statistics are computed. A run on 100k + 100k rows × 10 features takes seconds of CPU
 * (sorting, the 5-fold classifier): on the server that work goes to one worker thread, so the event loop keeps
 * serving requests and deliveries meanwhile. Runs on one node queue for that thread (the machine has few cores
 * and runs other work). Inputs are copied to the worker (typed arrays and string columns, structured clone).
 *
 * The classifier's folds (most of a run's CPU) are spread over `threads` threads: the drift worker itself and
 * threads − 1 classifier workers it starts and keeps (core/drift/classifier-parallel.ts, nested workers).
 * Folds are seeded per fold, so the result is bit-identical to the serial `computeDrift` whatever the count.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import { driftClassifier } from '../core/drift/classifier.js';
import { driftClassifierParallel, driftClassifierPoolStats } from '../core/drift/classifier-parallel.js';
import {
  computeDrift,
  DriftRunError,
  finishDrift,
  prepareDrift,
  type DriftComputation,
  type PreparedBaseline,
  type ReadSide,
} from '../core/drift-run.js';

export type DriftCompute = (baseline: PreparedBaseline, target: ReadSide) => Promise<DriftComputation>;

/** In the calling thread (tests of the service, tools). */
export const computeInline: DriftCompute = async (baseline, target) => computeDrift(baseline, target);

/** The classifier threads a run used, and how many of its folds ran on the classifier workers. */
export interface DriftThreadStats {
  threads: number;
  workerFolds: number;
}

/** One run with the classifier on `threads` threads (1 = serial in the calling thread). */
export async function computeDriftThreaded(
  baseline: PreparedBaseline,
  target: ReadSide,
  threads: number,
): Promise<{ result: DriftComputation; stats: DriftThreadStats }> {
  const p = prepareDrift(baseline, target);
  if (threads <= 1) {
    const result = finishDrift(p, driftClassifier(p.baseline, p.target));
    return { result, stats: { threads: 1, workerFolds: 0 } };
  }
  const c = await driftClassifierParallel(p.baseline, p.target, { threads });
  const stats = {
    threads: Math.min(threads, c.folds),
    workerFolds: driftClassifierPoolStats().lastWorkerFolds,
  };
  return { result: finishDrift(p, c), stats };
}

export interface DriftWorkerOptions {
  /** Classifier threads per run, the drift worker included (MLGRID_DRIFT_THREADS; 1 = serial). */
  threads: number;
}

type Reply =
  | { result: DriftComputation; stats: DriftThreadStats }
  | { error: { name: string; code?: string; message: string } };

export class DriftWorker {
  private worker?: Worker;
  private queue: Promise<unknown> = Promise.resolve();
  /** Threads of the last completed run (tests check that the classifier workers really ran folds). */
  lastRun?: DriftThreadStats;

  constructor(private readonly options: DriftWorkerOptions = { threads: 1 }) {}

  readonly compute: DriftCompute = (baseline, target) => {
    const run = this.queue.then(() => this.job(baseline, target));
    this.queue = run.catch(() => undefined);
    return run;
  };

  /** Waits for queued runs, stops the classifier workers, then the drift worker: no thread outlives it. */
  async close(): Promise<void> {
    await this.queue;
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    await new Promise<void>((resolve) => {
      w.once('message', () => resolve());
      w.once('error', () => resolve());
      w.once('exit', () => resolve());
      w.ref();
      w.postMessage({ close: true });
    });
    await w.terminate();
  }

  private job(baseline: PreparedBaseline, target: ReadSide): Promise<DriftComputation> {
    const w = (this.worker ??= spawn());
    return new Promise((resolve, reject) => {
      const done = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        w.unref(); // idle: never holds the process open
      };
      const onMessage = (m: Reply) => {
        done();
        if ('result' in m) {
          this.lastRun = m.stats;
          return resolve(m.result);
        }
        const e = m.error;
        reject(
          e.name === 'DriftRunError'
            ? new DriftRunError(e.code as DriftRunError['code'], e.message)
            : new Error(e.message),
        );
      };
      const onError = (err: Error) => {
        done();
        this.worker = undefined;
        reject(err);
      };
      const onExit = (code: number) => {
        done();
        this.worker = undefined;
        reject(new Error(`the drift worker exited with code ${code}`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.ref();
      w.postMessage({ baseline, target, threads: this.options.threads });
    });
  }
}

function spawn(): Worker {
  const w = startWorker(import.meta.url, 'drift-compute-worker');
  w.unref();
  return w;
}
