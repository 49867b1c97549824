/**
 * The child processes of the delivery benchmarks (bench/delivery-child.ts): spawning them, waiting for their IPC
 * messages, and the bare webhook receiver's protocol. Shared by bench/delivery.ts and bench/pg-delivery-floor.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../delivery-child.ts', import.meta.url));
export const BASE_ARGV = ['--conditions=mlgrid-source', '--import', 'tsx'];

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null) c.kill();
});

export function spawnChild(args: string[], execArgv = BASE_ARGV): ChildProcess {
  const c = fork(CHILD, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(c);
  c.once('exit', () => live.delete(c));
  return c;
}

export function next<T>(child: ChildProcess, type: string, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no '${type}' from the child within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMsg = (m: { type?: string }) => {
      if (m?.type !== type) return;
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child exited (${code}) before '${type}'`));
    };
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

export const exited = (child: ChildProcess) =>
  child.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
export const nonce = () => randomBytes(4).toString('hex');
export interface ReceiverStats {
  requests: number;
  events: number;
  bytes: number;
  distinct: number;
  duplicates: number;
  foreign: number;
  sampled: number;
  sampleMismatches: number;
  firstAt: number;
  at10: number;
  at50: number;
  at90: number;
  atAll: number;
  lastAt: number;
  expected: number;
  connections: number;
  maxConcurrent: number;
  cpuMs: number;
}

export interface Receiver {
  child: ChildProcess;
  url: string;
}

export async function startReceiverChild(): Promise<Receiver> {
  const child = spawnChild(['receiver']);
  const { url } = await next<{ url: string }>(child, 'ready');
  return { child, url };
}

export async function expect(rx: Receiver, nonceHex: string, n: number): Promise<void> {
  const p = next(rx.child, 'expecting');
  rx.child.send({ type: 'expect', nonce: nonceHex, n });
  await p;
}

export async function report(rx: Receiver): Promise<ReceiverStats> {
  const p = next<ReceiverStats>(rx.child, 'report');
  rx.child.send({ type: 'report' });
  return p;
}
