/**
 * Where a drift run's statistics are computed. A run on 100k + 100k rows × 10 features takes seconds of CPU
 * (sorting, the 5-fold classifier): on the server that work goes to one worker thread, so the event loop keeps
 * serving requests and deliveries meanwhile. Runs on one node queue for that thread (the machine has few cores
 * and runs other work). Inputs are copied to the worker (typed arrays and string columns, structured clone).
 */
import { Worker } from 'node:worker_threads';
import {
  computeDrift,
  DriftRunError,
  type DriftComputation,
  type PreparedBaseline,
  type ReadSide,
} from '../core/drift-run.js';

export type DriftCompute = (baseline: PreparedBaseline, target: ReadSide) => Promise<DriftComputation>;

/** In the calling thread (tests of the service, tools). */
export const computeInline: DriftCompute = async (baseline, target) => computeDrift(baseline, target);

type Reply = { result: DriftComputation } | { error: { name: string; code?: string; message: string } };

export class DriftWorker {
  private worker?: Worker;
  private queue: Promise<unknown> = Promise.resolve();

  readonly compute: DriftCompute = (baseline, target) => {
    const run = this.queue.then(() => this.job(baseline, target));
    this.queue = run.catch(() => undefined);
    return run;
  };

  async close(): Promise<void> {
    await this.queue;
    await this.worker?.terminate();
    this.worker = undefined;
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
        if ('result' in m) return resolve(m.result);
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
      w.postMessage({ baseline, target });
    });
  }
}

/**
 * Under tsx/vitest this module is TypeScript source, and a worker does not inherit the tsx loader on Node 20:
 * the worker then registers tsx itself before importing the TypeScript worker module.
 */
function spawn(): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(ts ? './drift-compute-worker.ts' : './drift-compute-worker.js', import.meta.url);
  const w = ts
    ? new Worker(
        `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`,
        { eval: true },
      )
    : new Worker(url);
  w.unref();
  return w;
}
