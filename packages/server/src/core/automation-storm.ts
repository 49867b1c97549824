/**
 * Storm control as a pure state machine (docs/automations.md#storm-control). One document per automation holds
 * the runs waiting to start (with their events), the runs in progress (with the lease of the node running
 * each), when each key's last run ended (for the cooldown), and a ring of recently admitted event ids. Every
 * change is a function from state to state; the engine applies it with one compare-and-set, so several nodes
 * can admit events and start runs of one automation safely. Times are epoch ms; the clock is the caller's.
 */

export interface StormConfig {
  /** Wait for this much quiet on the key before starting (trailing debounce); 0 = start at once. */
  debounceMs: number;
  /** A debounced run starts at the latest this long after its first event, however busy the key stays. */
  maxWaitMs?: number;
  /** Events for a key that has a run waiting to start join that run instead of queueing their own. */
  coalesce: boolean;
  /** Runs of one key in progress at once. */
  maxConcurrent: number;
  /** After a run of the key ends, the next one starts no sooner than this. */
  cooldownMs: number;
  /** An event that finds its key busy (all slots running, or cooling down): queue it, or drop it. */
  whenBusy: 'queue' | 'drop';
}

export interface QueuedRun {
  runId: string;
  key: string;
  eventIds: string[];
  queuedAt: number;
  firstEventAt: number;
  /** Not before this (debounce). */
  notBefore: number;
}

export interface RunningRun {
  runId: string;
  key: string;
  eventIds: string[];
  queuedAt: number;
  startedAt: number;
  /** The node running it, and until when its claim holds (renewed while it runs). */
  owner: string;
  leaseUntil: number;
}

export interface Admitted {
  /** Event id. */
  e: string;
  /** The run it joined or opened, or the skipped run recording its drop. */
  r: string;
  /** Why it was dropped. */
  d?: DropReason;
}

export type DropReason = 'busy' | 'cooldown';

export interface AutomationState {
  /** Waiting runs, oldest first. */
  queue: QueuedRun[];
  running: RunningRun[];
  /** Key → when its last run ended; kept only while that matters for the cooldown. */
  ended: Record<string, number>;
  /** The last RING_SIZE admissions: a redelivered event (or a retry after a crash) is recognised here. */
  recent: Admitted[];
}

/** Events a run may hold; the next event for the key opens another run. */
export const MAX_RUN_EVENTS = 1000;
export const RING_SIZE = 256;

export function emptyState(): AutomationState {
  return { queue: [], running: [], ended: {}, recent: [] };
}

export type Admission =
  | { kind: 'duplicate'; runId: string; dropped?: DropReason }
  | { kind: 'joined'; runId: string }
  | { kind: 'queued'; runId: string }
  | { kind: 'dropped'; runId: string; reason: DropReason };

/**
 * Admits one event for `key` at `now`. `newRunId` names the run it opens, or the skipped run that records its
 * drop. A state holding the event already answers `duplicate` and is returned unchanged.
 */
export function admit(
  state: AutomationState,
  cfg: StormConfig,
  a: { eventId: string; key: string; now: number; newRunId: string },
): { state: AutomationState; admission: Admission } {
  const seen = state.recent.find((r) => r.e === a.eventId);
  if (seen) {
    return { state, admission: { kind: 'duplicate', runId: seen.r, ...(seen.d ? { dropped: seen.d } : {}) } };
  }
  const next = structuredClone(state);
  const open = cfg.coalesce ? openRun(next, a.key) : undefined;
  let admission: Admission;
  if (open) {
    open.eventIds.push(a.eventId);
    if (cfg.debounceMs > 0) open.notBefore = debounced(cfg, open.firstEventAt, a.now);
    admission = { kind: 'joined', runId: open.runId };
  } else {
    const busy = busyReason(next, cfg, a.key, a.now);
    if (busy && cfg.whenBusy === 'drop') {
      admission = { kind: 'dropped', runId: a.newRunId, reason: busy };
    } else {
      next.queue.push({
        runId: a.newRunId,
        key: a.key,
        eventIds: [a.eventId],
        queuedAt: a.now,
        firstEventAt: a.now,
        notBefore: a.now + cfg.debounceMs,
      });
      admission = { kind: 'queued', runId: a.newRunId };
    }
  }
  next.recent.push({
    e: a.eventId,
    r: admission.runId,
    ...(admission.kind === 'dropped' ? { d: admission.reason } : {}),
  });
  if (next.recent.length > RING_SIZE) next.recent.splice(0, next.recent.length - RING_SIZE);
  return { state: next, admission };
}

/** The key's newest waiting run, if it can take one more event. */
function openRun(state: AutomationState, key: string): QueuedRun | undefined {
  for (let i = state.queue.length - 1; i >= 0; i--) {
    const q = state.queue[i]!;
    if (q.key === key) return q.eventIds.length < MAX_RUN_EVENTS ? q : undefined;
  }
  return undefined;
}

function debounced(cfg: StormConfig, firstEventAt: number, now: number): number {
  const quiet = now + cfg.debounceMs;
  return cfg.maxWaitMs === undefined ? quiet : Math.min(quiet, firstEventAt + cfg.maxWaitMs);
}

/** Why the key cannot start a run now, if it cannot. */
export function busyReason(
  state: AutomationState,
  cfg: StormConfig,
  key: string,
  now: number,
): DropReason | undefined {
  if (state.running.filter((r) => r.key === key).length >= cfg.maxConcurrent) return 'busy';
  const ended = state.ended[key];
  if (ended !== undefined && now < ended + cfg.cooldownMs) return 'cooldown';
  return undefined;
}

/**
 * Starts the waiting runs that may start now, at most `capacity` of them, claimed for `owner` until
 * `leaseUntil`. Runs of one key start in the order they were queued (a run that must wait holds back the later
 * ones of its key); keys do not wait for each other.
 */
export function claimDue(
  state: AutomationState,
  cfg: StormConfig,
  c: { now: number; owner: string; leaseUntil: number; capacity: number },
): { state: AutomationState; started: RunningRun[] } {
  const next = structuredClone(state);
  const started: RunningRun[] = [];
  const blocked = new Set<string>();
  const keep: QueuedRun[] = [];
  for (const q of next.queue) {
    const ok =
      started.length < c.capacity &&
      !blocked.has(q.key) &&
      c.now >= q.notBefore &&
      busyReason(next, cfg, q.key, c.now) === undefined;
    if (!ok) {
      blocked.add(q.key);
      keep.push(q);
      continue;
    }
    const run: RunningRun = {
      runId: q.runId,
      key: q.key,
      eventIds: q.eventIds,
      queuedAt: q.queuedAt,
      startedAt: c.now,
      owner: c.owner,
      leaseUntil: c.leaseUntil,
    };
    next.running.push(run);
    started.push(run);
  }
  next.queue = keep;
  return { state: started.length > 0 ? next : state, started };
}

/**
 * Claims runs whose node stopped renewing (lease lapsed before `now`; with `all`, every run: a single-process
 * store at start owns nothing of the past), except those in `skip` (running here), at most `capacity`.
 */
export function takeOver(
  state: AutomationState,
  c: {
    now: number;
    owner: string;
    leaseUntil: number;
    capacity: number;
    all?: boolean;
    skip?: ReadonlySet<string>;
  },
): { state: AutomationState; taken: RunningRun[] } {
  const next = structuredClone(state);
  const taken: RunningRun[] = [];
  for (const r of next.running) {
    if (taken.length >= c.capacity) break;
    if (c.skip?.has(r.runId) || (!c.all && r.leaseUntil >= c.now)) continue;
    r.owner = c.owner;
    r.leaseUntil = c.leaseUntil;
    taken.push({ ...r });
  }
  return { state: taken.length > 0 ? next : state, taken };
}

/** Extends `owner`'s claim on a run; undefined when the run is gone or another node holds it. */
export function renew(
  state: AutomationState,
  runId: string,
  owner: string,
  leaseUntil: number,
): AutomationState | undefined {
  const i = state.running.findIndex((r) => r.runId === runId);
  if (i < 0 || state.running[i]!.owner !== owner) return undefined;
  const next = structuredClone(state);
  next.running[i]!.leaseUntil = leaseUntil;
  return next;
}

/** Gives a node's claims (or one of them) back at once, so another node need not wait for them to lapse. */
export function release(state: AutomationState, owner: string, runId?: string): AutomationState {
  if (!state.running.some((r) => r.owner === owner && (runId === undefined || r.runId === runId)))
    return state;
  const next = structuredClone(state);
  for (const r of next.running)
    if (r.owner === owner && (runId === undefined || r.runId === runId)) r.leaseUntil = 0;
  return next;
}

/** A run ended (whatever its outcome): its slot frees and its key's cooldown starts. Unknown runs: unchanged. */
export function finish(
  state: AutomationState,
  cfg: StormConfig,
  runId: string,
  now: number,
): AutomationState {
  const run = state.running.find((r) => r.runId === runId);
  if (!run) return state;
  const next = structuredClone(state);
  next.running = next.running.filter((r) => r.runId !== runId);
  next.ended[run.key] = now;
  for (const [k, t] of Object.entries(next.ended))
    if (now >= t + cfg.cooldownMs && k !== run.key) delete next.ended[k];
  if (cfg.cooldownMs === 0) delete next.ended[run.key];
  return next;
}

/** When something may next be due: a waiting run's start, or a claim (not in `skip`) lapsing. */
export function nextWake(
  state: AutomationState,
  cfg: StormConfig,
  now: number,
  skip: ReadonlySet<string> = new Set(),
): number | undefined {
  let at: number | undefined;
  const consider = (t: number) => {
    at = at === undefined ? t : Math.min(at, t);
  };
  for (const q of state.queue) {
    // A key whose slots are all taken waits for a run to end, which wakes the engine by itself.
    if (state.running.filter((r) => r.key === q.key).length >= cfg.maxConcurrent) continue;
    const ended = state.ended[q.key];
    consider(Math.max(q.notBefore, ended === undefined ? 0 : ended + cfg.cooldownMs, now));
  }
  for (const r of state.running) if (!skip.has(r.runId)) consider(Math.max(r.leaseUntil + 1, now));
  return at;
}

/** The waiting or running entry of a run, if the state holds it. */
export function findRun(
  state: AutomationState,
  runId: string,
): { queued?: QueuedRun; running?: RunningRun } | undefined {
  const queued = state.queue.find((q) => q.runId === runId);
  if (queued) return { queued };
  const running = state.running.find((r) => r.runId === runId);
  return running ? { running } : undefined;
}
