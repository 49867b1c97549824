/**
 * The operating-system side of running a job: its directory, launching `/bin/sh -c` in its own process group
 * with the log as stdout/stderr, signalling the group, and telling whether a recorded process or runner is
 * still alive (to stop orphans after a crash without ever killing an unrelated process that reused a pid).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { bindingValue, type JobSpec } from '../core/job.js';
import { experimentId, inheritedEnv, jobEnvironment, resolveCommand } from '../core/job-run.js';
import type { JobProcess, JobRecord, WorkspaceRecord } from '../store/types.js';

/** A job's files: `std_log.txt`, `working/` (when it has no code folder), `outputs/` (default outputs). */
export function jobDirectory(root: string, workspaceGuid: string, jobName: string): string {
  return join(root, workspaceGuid, jobName.toLowerCase());
}

/**
 * Starts the job's command: cwd the code folder (or a fresh `working/`), the job's environment, stdout and
 * stderr appended to `std_log.txt`, detached so that it leads its own process group and a cancel reaches
 * everything it started. Throws when it cannot even try (missing code folder, unwritable directory).
 */
export function launch(
  root: string,
  ws: WorkspaceRecord,
  job: JobRecord,
  extraEnv: Record<string, string> = {},
): ChildProcess {
  const spec = job.spec as JobSpec;
  const dir = jobDirectory(root, ws.workspaceGuid, job.name);
  mkdirSync(dir, { recursive: true });
  prepareOutputs(spec);
  let cwd = join(dir, 'working');
  if (spec.codePath !== undefined) {
    if (!isDirectory(spec.codePath)) throw new Error(`codeId folder ${spec.codePath} does not exist`);
    cwd = spec.codePath;
  } else mkdirSync(cwd, { recursive: true });
  const env = jobEnvironment(
    spec,
    {
      subscriptionId: ws.subscriptionId,
      resourceGroup: ws.resourceGroup,
      workspaceName: ws.name,
      jobName: job.name,
      experimentId: experimentId(ws.id, spec.experimentName),
    },
    { ...inheritedEnv(process.env), ...extraEnv },
  );
  const fd = openSync(join(dir, 'std_log.txt'), 'a');
  try {
    return spawn('/bin/sh', ['-c', resolveCommand(spec)], {
      cwd,
      env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

/** Local output locations exist before the command runs (a folder, or a file's folder). */
function prepareOutputs(spec: JobSpec): void {
  for (const b of Object.values(spec.outputs)) {
    const path = bindingValue(b);
    if (path === undefined || !isAbsolute(path)) continue;
    mkdirSync(b.type === 'uri_file' ? dirname(path) : path, { recursive: true });
  }
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** What to record of a started process. */
export function processOf(pid: number): JobProcess {
  return { host: hostname(), pid, ...startTicksOf(pid) };
}

/** Linux only: field 22 of `/proc/<pid>/stat` tells a process apart from a later one with the same pid. */
function startTicksOf(pid: number): { startTicks?: string } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return ticks ? { startTicks: ticks } : {};
  } catch {
    return {};
  }
}

/** A job process of a dead runner still alive here (verified by start time, never by pid alone) is killed. */
export function killOrphan(p: JobProcess): void {
  if (p.host !== hostname() || p.startTicks === undefined) return;
  if (startTicksOf(p.pid).startTicks === p.startTicks) signalGroup(p.pid, 'SIGKILL');
}

/** Runners alive in this process (tests and embedders run several servers in one process). */
const LIVE_HERE = new Set<string>();

/** `host/pid/random`: unique per runner, and tells a later start on this host whether its process died. */
export function newRunnerId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

export function runnerLive(id: string, live: boolean): void {
  if (live) LIVE_HERE.add(id);
  else LIVE_HERE.delete(id);
}

/** Whether the runner ran on this host in a process that no longer exists (then its lease need not lapse). */
export function runnerDead(runnerId: string | undefined): boolean {
  if (runnerId === undefined) return true;
  const [host, pidText] = runnerId.split('/');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid)) return false;
  // Our pid: another server in this process, or an earlier process with our pid (containers restart as pid 1).
  if (pid === process.pid) return !LIVE_HERE.has(runnerId);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Unref'd: a wait must never keep a stopping server alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)).unref());
}
