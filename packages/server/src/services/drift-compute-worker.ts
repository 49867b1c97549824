/**
 * Worker thread of drift-compute.ts: one drift computation per message (the classifier on the threads asked
 * for), errors sent back with their code; `close` stops the classifier workers before the thread is ended.
 */
import { parentPort } from 'node:worker_threads';
import { closeDriftClassifierPool } from '../core/drift/classifier-parallel.js';
import type { PreparedBaseline, ReadSide } from '../core/drift-run.js';
import { computeDriftThreaded } from './drift-compute.js';

type Message = { close: true } | { baseline: PreparedBaseline; target: ReadSide; threads: number };

parentPort!.on('message', async (m: Message) => {
  if ('close' in m) {
    await closeDriftClassifierPool();
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    parentPort!.postMessage(await computeDriftThreaded(m.baseline, m.target, m.threads));
  } catch (e) {
    const err = e as Error & { code?: string };
    parentPort!.postMessage({ error: { name: err.name, code: err.code, message: err.message } });
  }
});
