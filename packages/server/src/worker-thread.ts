/**
 * Starts a worker thread on a module next to `from` (an `import.meta.url`). Built JavaScript: the worker file
 * itself. TypeScript source (tsx, vitest): a Node 20 worker does not get the parent's loader hooks, so a
 * bootstrap registers tsx (a dev dependency) before importing the source.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(from: string, name: string, opts: WorkerOptions = {}): Worker {
  const ts = from.endsWith('.ts');
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, from);
  if (!ts) return new Worker(url, opts);
  return new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })` +
      `.catch((e) => { console.error(e); process.exit(1); });`,
    { ...opts, eval: true },
  );
}
