/**
 * The automation engine (docs/automations.md): takes trigger events in (from the `Automation` destination handler
 * or a manual trigger; see automation-intake.ts), starts the runs storm control lets start, and executes them.
 * Every node ticks: it claims due runs, and runs whose node stopped renewing its claim, by compare-and-set on the
 * automation's state, so each run executes on one node at a time; a stopped or crashed node's runs resume
 * elsewhere (or at its next start) at the step they were in.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { StepKinds } from '../core/automation-def.js';
import type { AcceptedTrigger } from '../core/automation-event.js';
import { isFinal, type RunDoc } from '../core/automation-run.js';
import {
  claimDue,
  finish,
  nextWake,
  release,
  renew,
  takeOver,
  type AutomationState,
  type RunningRun,
} from '../core/automation-storm.js';
import type { ResourceRecord, Store } from '../store/types.js';
import { cancelRun } from './automation-cancel.js';
import {
  AUTOMATION_KIND,
  AutomationGone,
  eventKey,
  RUN_KIND,
  runKey,
  STATE_KIND,
  stormConfig,
  updateState,
  type AutomationDoc,
  type EventMark,
} from './automation-docs.js';
import { AutomationIntake, type AcceptOutcome } from './automation-intake.js';
import { executeRun, type RunnerDeps } from './automation-runner.js';
import { Alarm } from './alarm.js';

export type { AcceptOutcome } from './automation-intake.js';

export interface AutomationsConfig {
  /** Runs this node executes at once, all automations together. */
  concurrency: number;
  /** A node's claim on a run lasts this long unless renewed (real time: it measures the node's liveness). */
  leaseMs: number;
  /** Longest sleep between looks for due work (other nodes' admissions, lapsed claims, the inbox). */
  pollMs: number;
  /** Finished run records kept per automation; older ones (and their events) are deleted. */
  maxRuns: number;
  /** How often a node looks for runs beyond `maxRuns`. */
  pruneEveryMs: number;
}

export const DEFAULT_AUTOMATIONS: AutomationsConfig = {
  concurrency: 16,
  leaseMs: 60_000,
  pollMs: 1000,
  maxRuns: 1000,
  pruneEveryMs: 60_000,
};

export class AutomationEngine {
  readonly owner = `automation-${randomUUID()}`;
  private stopped = true;
  private loop?: Promise<void>;
  private readonly alarm = new Alarm();
  private woken = false;
  private firstTick = true;
  private lastPrune = 0;
  private readonly active = new Map<string, { ac: AbortController; autoKey: string; done: Promise<void> }>();
  private readonly intake: AutomationIntake;

  constructor(
    private readonly store: Store,
    private readonly kinds: StepKinds,
    private readonly cfg: AutomationsConfig,
    private readonly timeScale: number,
    private readonly log: Logger,
    private readonly baseUrl: () => string | undefined,
    private readonly now: () => number = Date.now,
    private readonly onRunStarted?: RunnerDeps['onRunStarted'],
  ) {
    this.intake = new AutomationIntake(store, timeScale, log, now);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops ticking, aborts the runs in progress (they resume on the next start or on another node). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    await this.loop;
    for (const a of this.active.values()) a.ac.abort(new Error('the server is stopping'));
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
  }

  wake(): void {
    this.woken = true;
    this.alarm.wake();
  }

  /** The automation was deleted: abort its runs here. */
  forget(autoKey: string): void {
    for (const a of this.active.values())
      if (a.autoKey === autoKey) a.ac.abort(new Error('automation deleted'));
    this.intake.forget(autoKey);
  }

  /**
   * Cancels a run (automation-cancel.ts); a step in progress here stops at once, one on another node at that
   * node's next claim renewal.
   */
  async cancel(auto: ResourceRecord, runId: string, reason: string): Promise<RunDoc> {
    const doc = await cancelRun(this.store, this.now, auto, runId, reason);
    this.active.get(runId)?.ac.abort(new Error('run canceled'));
    return doc;
  }

  /** Accepts events for an automation; resolves once each is recorded in a run (or a skipped run). */
  async accept(autoKey: string, items: AcceptedTrigger[], via: EventMark['via']): Promise<AcceptOutcome[]> {
    const out = await this.intake.accept(autoKey, items, via);
    this.wake();
    return out;
  }

  // ---------------------------------------------------------------- scheduling

  private async run(): Promise<void> {
    while (!this.stopped) {
      let wakeAt: number | undefined;
      this.woken = false;
      try {
        wakeAt = await this.tick();
      } catch (err) {
        this.log.error({ err }, 'automation tick failed');
      }
      if (this.stopped) break;
      if (this.woken) continue;
      const ms =
        wakeAt === undefined ? this.cfg.pollMs : Math.min(Math.max(wakeAt - this.now(), 1), this.cfg.pollMs);
      await this.sleep(ms);
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.alarm.sleep(ms);
  }

  /** One look at every automation with work: take over lapsed runs, start due ones; returns the next due time. */
  async tick(): Promise<number | undefined> {
    const now = this.now();
    const all = this.firstTick && !this.store.capabilities.multiNode; // the previous process is gone
    let wakeAt: number | undefined;
    for (const st of await this.store.listResources({ kind: STATE_KIND })) {
      const s = st.spec as AutomationState;
      if (s.queue.length === 0 && s.running.length === 0) continue;
      const auto = await this.store.getResource(st.parentKey);
      if (!auto) continue;
      const cfg = stormConfig((auto.spec as AutomationDoc).definition, this.timeScale);
      const lease = { now, owner: this.owner, leaseUntil: now + this.cfg.leaseMs };
      let state = s;
      if (
        this.capacity() > 0 &&
        s.running.some((r) => !this.active.has(r.runId) && (all || r.leaseUntil < now))
      ) {
        const r = await updateState(this.store, auto.key, this.now, (cur) => {
          const t = takeOver(cur, {
            ...lease,
            capacity: this.capacity(),
            all,
            skip: new Set(this.active.keys()),
          });
          return { state: t.state, result: t.taken };
        });
        state = r.state;
        for (const run of r.result) this.launch(auto, run);
      }
      if (this.capacity() > 0 && state.queue.length > 0) {
        const r = await updateState(this.store, auto.key, this.now, (cur) => {
          const c = claimDue(cur, cfg, { ...lease, capacity: this.capacity() });
          return { state: c.state, result: c.started };
        });
        state = r.state;
        for (const run of r.result) this.launch(auto, run);
      }
      const w = nextWake(state, cfg, now, new Set(this.active.keys()));
      if (w !== undefined) wakeAt = wakeAt === undefined ? w : Math.min(wakeAt, w);
    }
    this.firstTick = false;
    await this.intake.sweepInbox(now, this.cfg.leaseMs);
    if (now - this.lastPrune >= this.cfg.pruneEveryMs) {
      this.lastPrune = now;
      await this.prune(now);
    }
    return wakeAt;
  }

  private capacity(): number {
    return this.stopped ? 0 : this.cfg.concurrency - this.active.size;
  }

  private launch(auto: ResourceRecord, entry: RunningRun): void {
    const ac = new AbortController();
    const renewal = setInterval(
      () => void this.renew(auto.key, entry.runId, ac),
      Math.max(20, this.cfg.leaseMs / 3),
    );
    const deps: RunnerDeps = {
      store: this.store,
      kinds: this.kinds,
      timeScale: this.timeScale,
      log: this.log,
      now: this.now,
      baseUrl: this.baseUrl,
      ...(this.onRunStarted ? { onRunStarted: this.onRunStarted } : {}),
    };
    const done = executeRun(deps, auto, entry, ac.signal)
      .then((final) => this.ended(auto, entry, final))
      .catch((err) => this.log.error({ err, run: entry.runId }, 'automation run could not be recorded'))
      .finally(() => {
        clearInterval(renewal);
        this.active.delete(entry.runId);
        this.wake();
      });
    this.active.set(entry.runId, { ac, autoKey: auto.key, done });
  }

  /** A run's slot frees once its record is final; otherwise its claim is handed back for a retry. */
  private async ended(auto: ResourceRecord, entry: RunningRun, final: RunDoc | undefined): Promise<void> {
    try {
      if (final && isFinal(final.status)) {
        const cfg = stormConfig((auto.spec as AutomationDoc).definition, this.timeScale);
        await updateState(this.store, auto.key, this.now, (s) => ({
          state: finish(s, cfg, entry.runId, this.now()),
          result: true,
        }));
      } else {
        await updateState(this.store, auto.key, this.now, (s) => ({
          state: release(s, this.owner, entry.runId),
          result: true,
        }));
      }
    } catch (err) {
      if (!(err instanceof AutomationGone)) throw err;
    }
  }

  private async renew(autoKey: string, runId: string, ac: AbortController): Promise<void> {
    try {
      const { result } = await updateState(this.store, autoKey, this.now, (s) => {
        const next = renew(s, runId, this.owner, this.now() + this.cfg.leaseMs);
        return { state: next ?? s, result: next !== undefined };
      });
      if (!result) ac.abort(new Error('the run was taken over by another node'));
      else {
        // Canceled through another node: the record is final, and this node is fenced off it.
        const rec = await this.store.getResource(runKey(autoKey, runId));
        if (rec && isFinal((rec.spec as RunDoc).status)) ac.abort(new Error('run canceled'));
      }
    } catch (err) {
      if (err instanceof AutomationGone) ac.abort(err);
      else this.log.warn({ err, run: runId }, 'could not renew an automation run claim');
    }
  }

  /** Keeps the newest `maxRuns` finished runs per automation, deleting older ones with their events. */
  private async prune(now: number): Promise<void> {
    for (const auto of await this.store.listResources({ kind: AUTOMATION_KIND })) {
      const runs = await this.store.listResources({ kind: RUN_KIND, parentKey: auto.key });
      const finished = runs.filter((r) => isFinal((r.spec as RunDoc).status));
      const excess = finished.length - this.cfg.maxRuns;
      for (const r of finished.slice(0, Math.max(0, excess))) {
        for (const id of (r.spec as RunDoc).eventIds)
          await this.store.deleteResource(eventKey(auto.key, id), now);
        await this.store.deleteResource(r.key, now);
      }
    }
  }
}
