/**
 * The dispatcher: claim due deliveries (leased), deliver them, settle the outcome. At least once: a delivery
 * is settled only after its attempt, so a crash between the two leaves it leased, and the lease lapses.
 *
 * Shape: leased deliveries wait in one lane per subscription. A lane sends as soon as a request slot is free
 * (at most `perEndpoint` requests in flight per endpoint origin, `concurrency` in all), taking whatever is queued
 * as the next batch, so batches never wait to fill; each response is settled on its own (group-committed with
 * the others that arrive meanwhile). Fresh deliveries come straight from the publisher's commit, already leased
 * to this dispatcher (`offerLease` / `adopt`); the claim query serves backlogs, retries and other nodes' lapses.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BatchingOptions } from '../core/delivery-format.js';
import type { EndpointHealth } from '../core/endpoint-health.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import { DeadLetterReason, ttlExpired } from '../core/retry-policy.js';
import type { Destinations } from '../handlers/destination.js';
import type {
  AttemptRecord,
  ClaimedDelivery,
  EventSubscriptionRecord,
  Settlement,
  Store,
} from '../store/types.js';
import { attemptBatch, isSettlement, type Unit } from './attempt.js';
import type { DeadLetterWriter } from './dead-letter-writer.js';
import { GroupCommit } from './group-commit.js';
import { takeBatch, type Lane } from './lane.js';
import type { Metrics } from './metrics.js';
import { Alarm } from './alarm.js';

export interface DispatcherOptions {
  owner?: string;
  /** Multiplies retry delays, TTLs and probation (e.g. 0.001 for tests and demos). */
  timeScale: number;
  /** HTTP requests in flight at once, all endpoints together. */
  concurrency: number;
  /** HTTP requests in flight at once to one endpoint (URL origin), all its subscriptions together. */
  perEndpoint: number;
  /** Rows per claim; the dispatcher holds at most 4× this many leased deliveries in memory. */
  claimLimit: number;
  /** Real time; must exceed the per-attempt timeout. */
  leaseMs: number;
  /** Longest idle sleep before looking for due work again. */
  pollMs: number;
  now?: () => number;
  random?: () => number;
}

/** Settlements are committed at most this long after the answer (a crash in between only re-delivers). */
const SETTLE_DELAY_MS = 10;

export interface SubscriptionDirectory {
  record(key: string): EventSubscriptionRecord | undefined;
}

export class Dispatcher {
  readonly owner: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly settler: GroupCommit<Unit>;
  private stopped = true;
  private loop?: Promise<void>;
  private readonly alarm = new Alarm();
  /** Leased deliveries in memory with their events: queued or in flight. */
  private held = 0;
  /**
   * Answered deliveries whose settlement has not committed yet (a few ids each). Counted apart from `held`:
   * a settlement waits up to 10 ms plus a commit, and counting those rows as held idled the requests for that
   * long (about a third of a backlog drain, measured). Claims still stop while too many are unsettled.
   */
  private settling = 0;
  private readonly maxSettling: number;
  private requests = 0;
  private readonly perOrigin = new Map<string, number>();
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with queued work that wait for a request slot. */
  private readonly blocked = new Set<Lane>();
  private readonly changed = new Set<() => void>();
  private readonly maxHeld: number;

  constructor(
    private readonly store: Store,
    private readonly subs: SubscriptionDirectory,
    private readonly destinations: Destinations,
    private readonly health: EndpointHealth,
    private readonly deadLetters: DeadLetterWriter,
    private readonly opts: DispatcherOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.owner = opts.owner ?? `node-${randomUUID()}`;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.maxHeld = 4 * opts.claimLimit;
    this.maxSettling = 4 * this.maxHeld;
    this.settler = new GroupCommit(
      async (units) => {
        const settlements: Settlement[] = [];
        const attempts: AttemptRecord[] = [];
        for (const u of units) {
          if (isSettlement(u)) settlements.push(u);
          else attempts.push(u);
        }
        await this.store.settleDeliveries(this.owner, settlements, attempts, this.now());
        // The receiver already has these events: waiting a few ms lets one transaction settle many responses.
      },
      20_000,
      SETTLE_DELAY_MS,
      store.capabilities.multiNode ? 2 : 1, // PostgreSQL: two settlements in flight (disjoint rows)
    );
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** New work was committed: look now instead of at the next poll. */
  wake(): void {
    this.alarm.wake();
  }

  /**
   * For the publisher, before a commit: a lease under which new deliveries may be stored already owned by this
   * dispatcher, or undefined (stopped, or enough in hand: then they are claimed later like any other).
   */
  offerLease(): { owner: string; until: number } | undefined {
    if (this.stopped || this.held >= this.maxHeld) return undefined;
    return { owner: this.owner, until: this.now() + this.opts.leaseMs };
  }

  /** Deliveries committed under `offerLease()`'s lease: deliver them without reading them back. */
  adopt(fresh: ClaimedDelivery[]): void {
    if (fresh.length === 0) return;
    if (this.stopped) {
      // Too late to send: hand them back at once (stop() may already have released the others).
      const now = this.now();
      this.held += fresh.length; // settle() counts them out again
      void this.settle(fresh.map((d) => postpone(d, now)));
      return;
    }
    this.enqueue(fresh);
  }

  /** Stop claiming, finish the attempts in flight, hand back what is still leased. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    this.notify();
    await this.loop;
    for (const lane of this.lanes.values()) this.held -= lane.queue.length - lane.head;
    this.lanes.clear();
    this.blocked.clear();
    while (this.held > 0 || this.settling > 0) await new Promise<void>((r) => this.changed.add(r));
    await this.store.releaseLeases(this.owner);
  }

  private async run(): Promise<void> {
    const minClaim = Math.max(1, Math.floor(this.opts.claimLimit / 2));
    // PostgreSQL: a claim is a round trip of tens of ms on the server; while a backlog lasts, two in flight
    // (disjoint rows: SKIP LOCKED) keep requests flowing. SQLite claims synchronously: one at a time.
    const parallel = this.store.capabilities.multiNode ? 2 : 1;
    let backlog = true;
    while (!this.stopped) {
      try {
        let room = this.maxHeld - this.held;
        if (room < minClaim || this.settling >= this.maxSettling) {
          await new Promise<void>((r) => this.changed.add(r));
          continue;
        }
        const now = this.now();
        const limits: number[] = [];
        const claims: Promise<ClaimedDelivery[]>[] = [];
        while (claims.length < (backlog ? parallel : 1) && room >= minClaim) {
          const limit = Math.min(this.opts.claimLimit, room);
          room -= limit;
          limits.push(limit);
          claims.push(
            this.store.claimDeliveries({
              owner: this.owner,
              limit,
              now,
              leaseUntil: now + this.opts.leaseMs,
            }),
          );
        }
        const results = await Promise.allSettled(claims);
        if (this.stopped) {
          // Leased to us but never queued: stop() releases them with the rest of this owner's leases.
          break;
        }
        backlog = true;
        let failed: unknown;
        results.forEach((r, i) => {
          if (r.status === 'rejected') failed ??= r.reason;
          else this.enqueue(r.value);
          if (r.status === 'rejected' || r.value.length < limits[i]!) backlog = false;
        });
        if (failed !== undefined) throw failed;
        if (backlog) {
          // Let the first requests leave (and responses settle) before the next claim.
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const due = await this.store.nextDueAt();
        await this.sleep(
          due === undefined ? this.opts.pollMs : Math.min(Math.max(due - this.now(), 1), this.opts.pollMs),
        );
      } catch (err) {
        this.log.error({ err }, 'dispatcher loop error');
        await this.sleep(this.opts.pollMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.alarm.sleep(ms);
  }

  private notify(): void {
    for (const r of this.changed) r();
    this.changed.clear();
  }

  private enqueue(claimed: ClaimedDelivery[]): void {
    this.held += claimed.length;
    const touched = new Set<Lane>();
    for (const d of claimed) {
      let lane = this.lanes.get(d.subscriptionKey);
      if (!lane) {
        lane = { key: d.subscriptionKey, queue: [], head: 0 };
        this.lanes.set(d.subscriptionKey, lane);
      }
      lane.queue.push(d);
      touched.add(lane);
    }
    for (const lane of touched) this.safePump(lane);
  }

  private safePump(lane: Lane): void {
    try {
      this.pump(lane);
    } catch (err) {
      // Not expected; the rows stay leased, so their lease lapses and they are claimed again.
      this.log.error({ err, subscription: lane.key }, 'could not start deliveries');
      this.held -= lane.queue.length - lane.head;
      this.lanes.delete(lane.key);
      this.blocked.delete(lane);
      this.notify();
    }
  }

  /** Rows move from held to settling now, and leave once their settlement has committed (or failed). */
  private settle(units: Unit[]): Promise<void> {
    if (units.length === 0) return Promise.resolve();
    let rows = 0;
    let dead = false;
    for (const u of units) {
      if (!isSettlement(u)) continue;
      rows++;
      // A dead letter is settled once its file is written (LocalDirectory destinations), never before.
      if (u.status === 'deadlettered') dead = true;
    }
    this.held -= rows;
    this.settling += rows;
    this.notify();
    return (
      dead ? this.deadLetters.flush().then(() => this.settler.add(units)) : this.settler.add(units)
    ).then(
      () => this.settled(rows),
      (err) => {
        this.log.error({ err }, 'settling deliveries failed; their leases will lapse');
        this.settled(rows);
      },
    );
  }

  private settled(rows: number): void {
    this.settling -= rows;
    this.notify();
  }

  /** Everything queued in the lane, all at once: for outcomes that do not need an attempt. */
  private drain(lane: Lane, unit: (d: ClaimedDelivery) => Unit): void {
    const units = lane.queue.slice(lane.head).map(unit);
    this.lanes.delete(lane.key);
    this.blocked.delete(lane);
    void this.settle(units);
  }

  /** Send what the lane holds while request slots are free. */
  private pump(lane: Lane): void {
    while (!this.stopped && lane.head < lane.queue.length) {
      const rec = this.subs.record(lane.key);
      const now = this.now();
      if (!rec) return this.drain(lane, (d) => ({ id: d.id, status: 'dropped', attempts: d.attempts }));
      const spec = rec.spec as EventSubscriptionSpec;
      const dest = spec.destination;
      const target = rec.provisioningState === 'Succeeded' ? this.destinations.target(dest, rec) : undefined;
      if (!target || !dest) {
        // Not deliverable yet (validation pending) or no handler for this destination kind: look again later.
        const later = now + (rec.provisioningState === 'Succeeded' ? 60_000 : this.opts.pollMs);
        return this.drain(lane, (d) => postpone(d, later));
      }
      const origin = target.origin;
      const probation = this.health.probationUntil(origin, now);
      if (probation !== undefined) return this.drain(lane, (d) => postpone(d, probation));
      const busy = this.perOrigin.get(origin) ?? 0;
      if (this.requests >= this.opts.concurrency || busy >= this.opts.perEndpoint) {
        this.blocked.add(lane);
        return;
      }
      const batching =
        dest.properties.maxEventsPerBatch !== undefined ||
        dest.properties.preferredBatchSizeInKilobytes !== undefined;
      const batch = this.take(lane, rec, spec, batching ? dest.properties : undefined, now);
      if (batch.length === 0) continue;
      this.requests++;
      this.perOrigin.set(origin, busy + 1);
      const { timeScale } = this.opts;
      const ctx = { rec, spec, target, origin, batching, timeScale, random: this.random };
      attemptBatch(ctx, batch, this.health, this.deadLetters, this.now, this.metrics).then(
        (units) => this.answered(origin, units),
        (err) => this.failedAttempt(origin, lane.key, batch.length, err),
      );
    }
    if (lane.head >= lane.queue.length && this.lanes.get(lane.key) === lane) {
      this.lanes.delete(lane.key);
      this.blocked.delete(lane);
    }
  }

  /** The slot is free as soon as the answer is in; the settlement commits on its own. */
  private answered(origin: string, units: Unit[]): void {
    this.release(origin);
    void this.settle(units);
    this.unblock();
  }

  private failedAttempt(origin: string, subscription: string, n: number, err: unknown): void {
    this.release(origin);
    this.log.error({ err, subscription }, 'delivery failed unexpectedly');
    this.held -= n; // still leased: the lease lapses and they are claimed again
    this.notify();
    this.unblock();
  }

  private release(origin: string): void {
    this.requests--;
    const n = (this.perOrigin.get(origin) ?? 1) - 1;
    if (n > 0) this.perOrigin.set(origin, n);
    else this.perOrigin.delete(origin);
  }

  private unblock(): void {
    if (this.blocked.size === 0) return;
    const lanes = [...this.blocked];
    this.blocked.clear();
    for (const lane of lanes) if (this.lanes.get(lane.key) === lane) this.safePump(lane);
  }

  /** The next batch from the lane's head; events past their time to live are dead-lettered on the way. */
  private take(
    lane: Lane,
    rec: EventSubscriptionRecord,
    spec: EventSubscriptionSpec,
    batching: BatchingOptions | undefined,
    now: number,
  ): ClaimedDelivery[] {
    const ttlMinutes = spec.retryPolicy.eventTimeToLiveInMinutes;
    const timeScale = this.opts.timeScale;
    const taken = takeBatch(lane, batching, (d) =>
      ttlExpired({ publishedAt: d.event.publishedAt, ttlMinutes, now, timeScale }),
    );
    if (taken.expired) {
      const reason = DeadLetterReason.TimeToLiveExceeded;
      const units = taken.expired.map((d) => {
        const st: Settlement = {
          id: d.id,
          status: 'deadlettered',
          attempts: d.attempts,
          deadLetterReason: reason,
        };
        this.deadLetters.write(rec, d, st, now);
        this.metrics?.final(rec.name, 'deadlettered', reason);
        return st;
      });
      void this.settle(units);
    }
    return taken.batch;
  }
}

function postpone(d: ClaimedDelivery, at: number): Unit {
  return { id: d.id, status: 'pending', attempts: d.attempts, nextAttemptAt: at };
}
