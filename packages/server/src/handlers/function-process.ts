/**
 * Runs one function invocation as a child process: no shell (program + arguments), the request body on stdin,
 * its own process group (so a timeout reaches everything it started), the ends of stdout and stderr kept. When
 * the process exits, whatever it left running in its group is killed: nothing outlives its invocation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { relative, isAbsolute, sep } from 'node:path';
import type { ProcessEnd } from '../core/function-invocation.js';

/** Bytes of stdout and of stderr kept (the excerpt uses the last 512 characters). */
const KEEP_BYTES = 16 * 1024;
/** After SIGTERM at the timeout, SIGKILL this much later if the group is still there. */
const KILL_GRACE_MS = 2000;
/** After the process exits, wait at most this long for its output pipes to drain. */
const DRAIN_MS = 200;

export interface ProcessPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
}

/** The processes running now, so that a stopping server can end them. */
export type ProcessSet = Set<ChildProcess>;

export function runProcess(plan: ProcessPlan, input: string, running: ProcessSet): Promise<ProcessEnd> {
  return new Promise((resolveEnd) => {
    const out = new Tail();
    const err = new Tail();
    let timedOut = false;
    let settled = false;
    let child: ChildProcess;
    const end = (e: Partial<ProcessEnd>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolveEnd({
        exitCode: null,
        signal: null,
        timedOut,
        timeoutMs: plan.timeoutMs,
        stdout: out.text(),
        stderr: err.text(),
        ...e,
      });
    };
    try {
      child = spawn(plan.file, plan.args, {
        cwd: plan.cwd,
        env: plan.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // leads its own process group
      });
    } catch (e) {
      // Invalid arguments (spawn throws before any process exists).
      resolveEnd({
        exitCode: null,
        signal: null,
        timedOut: false,
        timeoutMs: plan.timeoutMs,
        startError: (e as Error).message,
        stdout: '',
        stderr: '',
      });
      return;
    }
    running.add(child);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
    }, plan.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.add(d));
    child.stderr!.on('data', (d: Buffer) => err.add(d));
    // A handler that exits without reading its input closes the pipe: not an error of ours.
    child.stdin!.on('error', () => {});
    child.stdin!.end(input);
    child.once('error', (e) => {
      running.delete(child);
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : e.message;
      end({ startError: `${plan.file}: ${why}${code ? ` (${code})` : ''}` });
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      killGroup(child, 'SIGKILL'); // background processes it left behind
      const result = { exitCode: code, signal };
      if (child.stdout!.readableEnded && child.stderr!.readableEnded) return end(result);
      const drained = setTimeout(() => end(result), DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drained);
        end(result);
      });
    });
  });
}

/** Signals the child's process group (the child's pid is its group id: it was started detached). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Keeps the last KEEP_BYTES of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;

  add(d: Buffer): void {
    this.chunks.push(d);
    this.size += d.length;
    while (this.size - this.chunks[0]!.length >= KEEP_BYTES) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - KEEP_BYTES)).toString('utf8');
  }
}

/**
 * The real working directory and module file, or why not: both must exist and, symlinks resolved, stay inside
 * the functions directory (the PUT checked the same lexically).
 */
export function checkRealPaths(
  root: string,
  cwd: string,
  module?: string,
): { ok: true; cwd: string; module?: string } | { ok: false; reason: string } {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return { ok: false, reason: `the functions directory ${root} does not exist` };
  }
  const inside = (p: string) => {
    const rel = relative(realRoot, p);
    return rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
  };
  let realCwd: string;
  try {
    realCwd = realpathSync(cwd);
    if (!statSync(realCwd).isDirectory()) return { ok: false, reason: `${cwd} is not a directory` };
  } catch {
    return { ok: false, reason: `the working directory ${cwd} does not exist` };
  }
  if (!inside(realCwd)) return { ok: false, reason: `${cwd} leads outside the functions directory` };
  if (module === undefined) return { ok: true, cwd: realCwd };
  let realModule: string;
  try {
    realModule = realpathSync(module);
  } catch {
    return { ok: false, reason: `the module ${module} does not exist` };
  }
  if (!inside(realModule)) return { ok: false, reason: `${module} leads outside the functions directory` };
  return { ok: true, cwd: realCwd, module: realModule };
}
