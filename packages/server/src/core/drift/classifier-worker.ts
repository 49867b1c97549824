/** Worker thread of classifier-parallel.ts: for each job, takes folds from the shared counter until none are left. */
import { parentPort } from 'node:worker_threads';
import { runFold, type DriftPlan, type FoldResult } from './classifier.js';

parentPort!.on('message', ({ plan, counter }: { plan: DriftPlan; counter: SharedArrayBuffer }) => {
  const next = new Int32Array(counter);
  const results: FoldResult[] = [];
  for (let k = Atomics.add(next, 0, 1); k < plan.folds; k = Atomics.add(next, 0, 1))
    results.push(runFold(plan, k));
  parentPort!.postMessage(results);
});
