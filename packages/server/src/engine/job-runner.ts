/**
 * Runs queued Command jobs as local child processes (`/bin/sh -c <command>`, one process group each) with
 * bounded concurrency. Every status change is one compare-and-set in the store, committed together with the
 * Run events it raises (outbox), so a job never changes twice and an event exists exactly when its change does.
 * Claims carry a runner id and a lease, so several nodes on one PostgreSQL never run a job twice and take over
 * the jobs of a node that died.
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { ACTIVE_STATUSES, predecessors, WAITING_STATUSES, type JobSpec } from '../core/job.js';
import type { JobRecord, JobStatusPatch, Store, WorkspaceRecord } from '../store/types.js';
import { EXTERNAL_RUNNER } from '../core/job-report.js';
import { JobLedger } from './job-ledger.js';
import {
  killOrphan,
  launch,
  newRunnerId,
  processOf,
  runnerDead,
  runnerLive,
  signalGroup,
  sleep,
} from './job-process.js';
import type { Publisher } from './publisher.js';

export interface JobsConfig {
  /** false: jobs are accepted and queued but never started (routing-only deployments and tests). */
  enabled: boolean;
  /** Jobs running at once on this node. */
  concurrency: number;
  /** Per job `<dir>/<workspace guid>/<job name>/`: `std_log.txt`, `working/`, `outputs/`. */
  dir: string;
  /** SIGTERM → SIGKILL of a cancelled job's process group. */
  cancelGraceMs: number;
  /** How often the queue is polled (new jobs on this node start at once). */
  pollMs: number;
  /** A claim lapses this long after its runner stopped renewing it (multi-node stores). */
  leaseMs: number;
}

export const DEFAULT_JOBS: Omit<JobsConfig, 'dir'> = {
  enabled: true,
  concurrency: 2,
  cancelGraceMs: 10_000,
  pollMs: 1000,
  leaseMs: 30_000,
};

/** The failure reason of a job whose server stopped (or crashed) under it. */
export const STOPPED_REASON = 'mlgrid stopped while the job was running';
const CANCELABLE = predecessors('CancelRequested');

type Outcome = { error: Error } | { code: number | null; signal: NodeJS.Signals | null };

interface Slot {
  key: string;
  child?: ChildProcess;
  /** Cancel requested: kill on spawn, and the exit ends in Canceled. */
  cancel: boolean;
  /** The server is stopping: the exit ends in Failed with STOPPED_REASON. */
  shutdown: boolean;
  /** The job (or its workspace) was deleted: kill, change nothing. */
  abandon: boolean;
  killTimer?: NodeJS.Timeout;
  exited: boolean;
  /** Serialises the job's status changes (spawn and exit handlers interleave otherwise). */
  chain: Promise<unknown>;
  done: Promise<void>;
  release: () => void;
}

export class JobRunner {
  readonly id = newRunnerId();
  private readonly ledger: JobLedger;
  private readonly slots = new Map<string, Slot>();
  private timer?: NodeJS.Timeout;
  private pumping?: Promise<void>;
  private again = false;
  private stopping = false;
  private lastRenew = 0;

  constructor(
    private readonly store: Store,
    publisher: Publisher,
    private readonly cfg: JobsConfig,
    private readonly log: Logger,
    now?: () => Date,
    /** Variables a job's process gets besides its own (the server, its id and token for reporting). */
    private readonly processEnv?: (ws: WorkspaceRecord, job: JobRecord) => Record<string, string>,
  ) {
    this.ledger = new JobLedger(store, publisher, now);
  }

  /** Ends the jobs a dead server left running, then starts the queue. */
  async start(): Promise<void> {
    runnerLive(this.id, true);
    await this.recover(true);
    this.wake();
    this.timer = setInterval(() => void this.tick(), this.cfg.pollMs);
    this.timer.unref();
  }

  /** Creates the job (NotStarted), queues it, and wakes the queue. An existing job is returned unchanged. */
  async submit(
    ws: WorkspaceRecord,
    name: string,
    spec: JobSpec,
  ): Promise<{ created: boolean; job: JobRecord }> {
    const { created, job } = await this.ledger.create(ws, name, spec);
    if (!created) return { created, job };
    const queued = await this.change(job.key, { status: 'Queued', from: ['NotStarted'] }, ws);
    this.wake();
    return { created, job: queued.job ?? job };
  }

  /**
   * Requests the cancel (CancelRequested) and carries it out: kills the process group here, ends a job nobody
   * runs at once, or leaves it to the node running it (which sees the request on its next poll).
   */
  async cancel(key: string): Promise<JobRecord | undefined> {
    const r = await this.change(key, { status: 'CancelRequested', from: CANCELABLE });
    const job = r.job;
    if (job?.status !== 'CancelRequested') return job;
    const slot = this.slots.get(key);
    if (slot) {
      slot.cancel = true;
      this.kill(slot);
    } else if (!job.runnerId || job.runnerId === EXTERNAL_RUNNER) {
      // Nobody here runs it (not claimed yet, or run elsewhere, which learns of it at its next report).
      const c = await this.change(key, {
        status: 'Canceled',
        from: ['CancelRequested'],
        endedAt: this.iso(),
      });
      return c.job ?? job;
    }
    return job;
  }

  /** Resolves when the job is in a final status here, or after `timeoutMs`. */
  async settled(key: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const slot = this.slots.get(key);
      if (slot) await Promise.race([slot.done, sleep(until - Date.now())]);
      else {
        const job = await this.store.getJob(key);
        if (!job || !ACTIVE_STATUSES.includes(job.status as never)) return;
        await sleep(Math.min(200, this.cfg.pollMs));
      }
    }
  }

  /** Kills the processes of jobs being deleted with their workspace (or alone), changing nothing. */
  abandon(keys: readonly string[]): void {
    for (const key of keys) {
      const slot = this.slots.get(key);
      if (!slot) continue;
      slot.abandon = true;
      this.kill(slot);
    }
  }

  /**
   * Graceful shutdown: jobs still running are killed and marked Failed (STOPPED_REASON) now, as a crash would
   * leave them at the next start; queued jobs stay queued for the next start.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.pumping;
    const slots = [...this.slots.values()];
    for (const slot of slots) {
      slot.shutdown = true;
      this.kill(slot);
    }
    await Promise.race([Promise.all(slots.map((s) => s.done)), sleep(this.cfg.cancelGraceMs + 2000)]);
    runnerLive(this.id, false);
  }

  // ---------------------------------------------------------------- queue

  private wake(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => (this.pumping = undefined));
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.stopping || !this.cfg.enabled) return;
        const free = this.cfg.concurrency - this.slots.size;
        if (free <= 0) return;
        const waiting = { exceptRunner: EXTERNAL_RUNNER }; // jobs run elsewhere never block the queue
        for (const job of await this.store.listJobsByStatus(WAITING_STATUSES, free + 8, waiting)) {
          if (this.stopping || this.slots.size >= this.cfg.concurrency) break;
          await this.claim(job);
        }
      } while (this.again);
    } catch (err) {
      this.log.error({ err }, 'job queue');
    }
  }

  private async claim(job: JobRecord): Promise<void> {
    const ws = await this.store.getWorkspace(job.workspaceKey);
    if (!ws) return;
    if (job.status === 'NotStarted')
      await this.change(job.key, { status: 'Queued', from: ['NotStarted'] }, ws);
    const r = await this.change(
      job.key,
      {
        status: 'Starting',
        from: ['Queued'],
        setRunner: { runnerId: this.id, leaseUntil: Date.now() + this.cfg.leaseMs },
      },
      ws,
    );
    // Not updated: another node, or a cancel, got there first (a cancel then ends the job itself).
    if (!r.updated) return;
    const slot = newSlot(job.key);
    this.slots.set(job.key, slot);
    this.run(slot, r.job!, ws);
  }

  private run(slot: Slot, job: JobRecord, ws: WorkspaceRecord): void {
    try {
      const child = launch(this.cfg.dir, ws, job, this.processEnv?.(ws, job));
      slot.child = child;
      child.once('spawn', () => this.spawned(slot, child));
      child.once('error', (error) => this.finish(slot, { error }));
      child.once('exit', (code, signal) => this.finish(slot, { code, signal }));
    } catch (err) {
      this.finish(slot, { error: err as Error });
    }
  }

  private spawned(slot: Slot, child: ChildProcess): void {
    const proc = processOf(child.pid!);
    this.serialise(slot, async () => {
      const r = await this.change(slot.key, {
        status: 'Running',
        from: ['Starting'],
        runnerId: this.id,
        startedAt: this.iso(),
        process: proc,
      });
      if (!r.updated && r.job?.status === 'CancelRequested') slot.cancel = true;
    });
    if (this.stopping) slot.shutdown = true;
    if (slot.cancel || slot.shutdown || slot.abandon) this.kill(slot);
    // A cancel that reached the store between the claim and the spawn shows as a refused Running.
    void slot.chain.then(() => slot.cancel && this.kill(slot));
  }

  private finish(slot: Slot, o: Outcome): void {
    if (slot.exited) return;
    slot.exited = true;
    const pid = slot.child?.pid;
    // What the command left behind in its group ends with it; during a cancel the rest of the group keeps its
    // grace (the shell dies at SIGTERM at once, a child may be saving a checkpoint), unless mlgrid is stopping.
    if (pid !== undefined && (!slot.killTimer || this.stopping)) signalGroup(pid, 'SIGKILL');
    this.serialise(slot, async () => {
      if (slot.abandon) return;
      const end = { endedAt: this.iso(), setRunner: null, ...exitOf(o) };
      const canceled = () => this.change(slot.key, { status: 'Canceled', from: ['CancelRequested'], ...end });
      if (slot.cancel && (await canceled()).updated) return;
      let r;
      if (!slot.shutdown && 'code' in o && o.code === 0) {
        r = await this.change(slot.key, { status: 'Finalizing', from: ['Running'], runnerId: this.id });
        // Output collection would go here: outputs are written in place, nothing to upload.
        if (r.updated) r = await this.change(slot.key, { status: 'Completed', from: ['Finalizing'], ...end });
      } else {
        const reason = slot.shutdown ? STOPPED_REASON : failureOf(o);
        r = await this.change(slot.key, {
          status: 'Failed',
          from: ['Starting', 'Running', 'Finalizing'],
          ...end,
          failureReason: reason,
        });
      }
      if (!r.updated && r.job?.status === 'CancelRequested') await canceled();
    }).finally(() => {
      if (slot.killTimer) slot.killTimer.unref(); // let a pending SIGKILL fire for stragglers, not hold the loop
      this.slots.delete(slot.key);
      slot.release();
      this.wake();
    });
  }

  private kill(slot: Slot): void {
    const pid = slot.child?.pid;
    if (pid === undefined || slot.exited || slot.killTimer) return;
    signalGroup(pid, 'SIGTERM');
    slot.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.cfg.cancelGraceMs);
  }

  private serialise(slot: Slot, fn: () => Promise<void>): Promise<void> {
    const next = slot.chain.then(fn).catch((err) => this.log.error({ err, job: slot.key }, 'job status'));
    slot.chain = next;
    return next;
  }

  // ---------------------------------------------------------------- recovery, leases, remote cancels

  private async tick(): Promise<void> {
    try {
      if (this.store.capabilities.multiNode) {
        const now = Date.now();
        if (now - this.lastRenew > this.cfg.leaseMs / 3) {
          this.lastRenew = now;
          await this.store.renewJobLeases(this.id, now + this.cfg.leaseMs);
        }
        for (const slot of this.slots.values()) {
          const job = await this.store.getJob(slot.key);
          if (!job)
            slot.abandon = true; // deleted through another node
          else if (job.status === 'CancelRequested') slot.cancel = true;
          if (slot.abandon || slot.cancel) this.kill(slot);
        }
        await this.recover(false);
      }
      this.wake();
    } catch (err) {
      this.log.error({ err }, 'job runner tick');
    }
  }

  /**
   * Jobs left in an active status by a runner that is gone end now: Failed (STOPPED_REASON), or Canceled if a
   * cancel was pending; any process of theirs still alive on this host is killed. A runner is gone when this is
   * a single-node store starting, when its lease lapsed, or when it ran on this host and its process is dead.
   */
  private async recover(atStart: boolean): Promise<void> {
    const multi = this.store.capabilities.multiNode;
    const now = Date.now();
    for (const job of await this.store.listJobsByStatus(ACTIVE_STATUSES)) {
      if (job.runnerId === this.id || job.runnerId === EXTERNAL_RUNNER) continue; // theirs report
      const lapsed = job.leaseUntil === undefined || job.leaseUntil < now;
      if (!(atStart && !multi) && !lapsed && !runnerDead(job.runnerId)) continue;
      if (job.process) killOrphan(job.process);
      const canceled = job.status === 'CancelRequested';
      const r = await this.change(job.key, {
        status: canceled ? 'Canceled' : 'Failed',
        from: [job.status],
        // Only while that runner still holds it: a live node may have renewed it since.
        ...(job.runnerId !== undefined ? { runnerId: job.runnerId } : {}),
        ...(multi && lapsed ? { leaseExpiredAt: now } : {}),
        endedAt: this.iso(),
        setRunner: null,
        ...(canceled ? {} : { failureReason: STOPPED_REASON }),
      });
      if (r.updated) this.log.warn({ job: job.key, status: r.job?.status }, 'job of a stopped runner ended');
    }
  }

  private async change(key: string, p: Omit<JobStatusPatch, 'time'>, ws?: WorkspaceRecord) {
    const r = await this.ledger.change(key, p, ws);
    if (r.updated) this.log.debug({ job: key, status: r.job?.status }, 'job status');
    return r;
  }

  private iso(): string {
    return this.ledger.iso();
  }
}

function newSlot(key: string): Slot {
  let release = () => {};
  const done = new Promise<void>((r) => (release = r));
  return {
    key,
    cancel: false,
    shutdown: false,
    abandon: false,
    exited: false,
    chain: Promise.resolve(),
    done,
    release,
  };
}

function exitOf(o: Outcome): { exitCode?: number } {
  return 'code' in o && o.code !== null ? { exitCode: o.code } : {};
}

function failureOf(o: Outcome): string {
  if ('error' in o) return `could not start the command: ${o.error.message}`;
  return o.code !== null ? `exit code ${o.code}` : `killed by signal ${o.signal}`;
}
