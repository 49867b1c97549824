/** Worker thread of drift-compute.ts: one drift computation per message, errors sent back with their code. */
import { parentPort } from 'node:worker_threads';
import { computeDrift, type PreparedBaseline, type ReadSide } from '../core/drift-run.js';

parentPort!.on('message', ({ baseline, target }: { baseline: PreparedBaseline; target: ReadSide }) => {
  try {
    parentPort!.postMessage({ result: computeDrift(baseline, target) });
  } catch (e) {
    const err = e as Error & { code?: string };
    parentPort!.postMessage({ error: { name: err.name, code: err.code, message: err.message } });
  }
});
