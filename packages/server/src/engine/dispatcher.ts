/**
 * The dispatcher: claim due deliveries (leased), deliver them, settle the outcome. At least once: a delivery
 * is settled only after its attempt, so a crash between the two leaves it leased, and the lease lapses.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { InputSchema } from '@mlgrid/protocol';
import { buildDeliveryRequest, planBatches, type StoredEvent } from '../core/delivery-format.js';
import type { EndpointHealth } from '../core/endpoint-health.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import {
  classify,
  decideAfterFailure,
  DeadLetterReason,
  parseRetryAfter,
  ttlExpired,
} from '../core/retry-policy.js';
import type { WebhookSender } from '../handlers/webhook.js';
import type {
  AttemptRecord,
  ClaimedDelivery,
  EventSubscriptionRecord,
  Settlement,
  Store,
} from '../store/types.js';
import type { DeadLetterWriter } from './dead-letter-writer.js';
import { activeSecrets, signingOf } from '../core/signing.js';
import { signWebhook } from '../core/webhook-signing.js';
import { GroupCommit } from './group-commit.js';
import type { Metrics } from './metrics.js';

export interface DispatcherOptions {
  owner?: string;
  /** Multiplies retry delays, TTLs and probation (e.g. 0.001 for tests and demos). */
  timeScale: number;
  /** Subscription groups in delivery at once. */
  concurrency: number;
  /** Requests in flight at once within one group (one endpoint). */
  perEndpoint: number;
  claimLimit: number;
  /** Real time; must exceed the per-attempt timeout. */
  leaseMs: number;
  /** Longest idle sleep before looking for due work again. */
  pollMs: number;
  now?: () => number;
  random?: () => number;
}

export interface SubscriptionDirectory {
  record(key: string): EventSubscriptionRecord | undefined;
}

type Unit = { settlement?: Settlement; attempt?: AttemptRecord };

export class Dispatcher {
  readonly owner: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly settler: GroupCommit<Unit>;
  private stopped = true;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private inFlight = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly subs: SubscriptionDirectory,
    private readonly sender: WebhookSender,
    private readonly health: EndpointHealth,
    private readonly deadLetters: DeadLetterWriter,
    private readonly opts: DispatcherOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.owner = opts.owner ?? `node-${randomUUID()}`;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.settler = new GroupCommit(async (units) => {
      const settlements = units.flatMap((u) => (u.settlement ? [u.settlement] : []));
      const attempts = units.flatMap((u) => (u.attempt ? [u.attempt] : []));
      await this.store.settleDeliveries(this.owner, settlements, attempts, this.now());
    });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** New work was committed: look now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stop claiming, finish the attempts in flight, hand back what is still leased. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    await this.loop;
    while (this.inFlight > 0) await new Promise<void>((r) => this.idle.add(r));
    await this.store.releaseLeases(this.owner);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const free = this.opts.concurrency - this.inFlight;
        if (free <= 0) {
          await new Promise<void>((r) => this.idle.add(r));
          continue;
        }
        const now = this.now();
        const claimed = await this.store.claimDeliveries({
          owner: this.owner,
          limit: Math.min(this.opts.claimLimit, free * 8),
          now,
          leaseUntil: now + this.opts.leaseMs,
        });
        if (claimed.length > 0) {
          this.process(claimed);
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
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private process(claimed: ClaimedDelivery[]): void {
    const bySub = new Map<string, ClaimedDelivery[]>();
    for (const d of claimed) {
      const list = bySub.get(d.subscriptionKey);
      if (list) list.push(d);
      else bySub.set(d.subscriptionKey, [d]);
    }
    for (const [key, list] of bySub) {
      this.inFlight++;
      this.deliverGroup(key, list)
        .catch((err) => this.log.error({ err, subscription: key }, 'delivery failed unexpectedly'))
        .finally(() => {
          this.inFlight--;
          for (const r of this.idle) r();
          this.idle.clear();
        });
    }
  }

  /** Everything claimed for one subscription: check, batch, send (one request at a time per group), settle. */
  private async deliverGroup(key: string, claimed: ClaimedDelivery[]): Promise<void> {
    const rec = this.subs.record(key);
    const now = this.now();
    if (!rec) {
      await this.settle(
        claimed.map((d) => ({ settlement: { id: d.id, status: 'dropped', attempts: d.attempts } })),
      );
      return;
    }
    const spec = rec.spec as EventSubscriptionSpec;
    const dest = spec.destination;
    if (
      rec.provisioningState !== 'Succeeded' ||
      dest?.endpointType !== 'WebHook' ||
      !dest.properties.endpointUrl
    ) {
      // Not deliverable yet (validation pending) or no handler for this destination kind yet: look again later.
      const later = now + (rec.provisioningState === 'Succeeded' ? 60_000 : this.opts.pollMs);
      await this.settle(claimed.map((d) => postpone(d, later)));
      return;
    }
    const url = dest.properties.endpointUrl;
    const origin = new URL(url).origin;
    const live: ClaimedDelivery[] = [];
    const units: Unit[] = [];
    for (const d of claimed) {
      const ttl = spec.retryPolicy.eventTimeToLiveInMinutes;
      if (
        ttlExpired({ publishedAt: d.event.publishedAt, ttlMinutes: ttl, now, timeScale: this.opts.timeScale })
      ) {
        units.push({ settlement: this.deadLetter(rec, d, DeadLetterReason.TimeToLiveExceeded, now) });
      } else live.push(d);
    }
    const probation = this.health.probationUntil(origin, now);
    if (probation !== undefined) {
      units.push(...live.map((d) => postpone(d, probation)));
      await this.settle(units);
      return;
    }
    const batching =
      dest.properties.maxEventsPerBatch !== undefined ||
      dest.properties.preferredBatchSizeInKilobytes !== undefined;
    const items = live.map((d) => ({ d, stored: stored(d), bytes: d.event.body.length }));
    const batches = planBatches(items, batching ? dest.properties : undefined);
    // A few requests in parallel per endpoint: enough to use keep-alive connections, not enough to flood it.
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        units.push(...(await this.attempt(rec, spec, url, origin, batching, batch)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.perEndpoint, batches.length) }, worker));
    await this.settle(units);
  }

  private async attempt(
    rec: EventSubscriptionRecord,
    spec: EventSubscriptionSpec,
    url: string,
    origin: string,
    batching: boolean,
    batch: { d: ClaimedDelivery; stored: StoredEvent }[],
  ): Promise<Unit[]> {
    const deliveryCount = Math.max(...batch.map((b) => b.d.attempts));
    const req = buildDeliveryRequest({
      events: batch.map((b) => b.stored),
      deliverySchema: spec.eventDeliverySchema,
      batching,
      subscriptionName: rec.name,
      deliveryCount,
      mappings: spec.destination?.properties.deliveryAttributeMappings,
    });
    const startedAt = this.now();
    const secrets = activeSecrets(signingOf(rec), startedAt);
    if (secrets.length > 0) {
      // Stable across retries of the same batch, so receivers can de-duplicate on webhook-id.
      const id = batch.length === 1 ? batch[0]!.d.event.eventId : `batch-${batch[0]!.d.id}-${batch.length}`;
      Object.assign(req.headers, signWebhook(secrets, id, new Date(startedAt), req.body));
    }
    const sent = await this.sender.send(url, req);
    const c = classify(sent.result);
    const now = this.now();
    this.metrics?.attempt(rec.name, c.outcome, sent.durationMs / 1000);
    const status = sent.result.kind === 'http' ? sent.result.status : undefined;
    if (c.success) this.health.recordSuccess(origin, now);
    else this.health.recordFailure(origin, c.outcome, now);
    const attempt: AttemptRecord = {
      subscriptionKey: rec.key,
      startedAt,
      durationMs: sent.durationMs,
      deliveryCount,
      eventIds: batch.map((b) => b.d.event.eventId),
      ...(status !== undefined ? { statusCode: status } : {}),
      outcome: c.outcome,
      ...(sent.excerpt ? { responseExcerpt: sent.excerpt } : {}),
    };
    const retryAfter = sent.result.kind === 'http' ? sent.result.retryAfter : undefined;
    const units: Unit[] = [{ attempt }];
    for (const { d } of batch) {
      const attempts = d.attempts + 1;
      const last = {
        lastAttemptAt: now,
        lastOutcome: c.outcome,
        ...(status !== undefined ? { lastStatusCode: status } : {}),
      };
      if (c.success) {
        units.push({ settlement: { id: d.id, status: 'delivered', attempts, ...last } });
        this.metrics?.final(rec.name, 'delivered', undefined, d.event.publishedAt, now);
        continue;
      }
      const decision = decideAfterFailure({
        classification: c,
        attemptsMade: attempts,
        maxDeliveryAttempts: spec.retryPolicy.maxDeliveryAttempts,
        now,
        timeScale: this.opts.timeScale,
        random: this.random,
        retryAfterMs: parseRetryAfter(retryAfter, new Date(now)),
      });
      units.push({
        settlement:
          decision.action === 'retry'
            ? { id: d.id, status: 'pending', attempts, nextAttemptAt: decision.at, ...last }
            : this.deadLetter(rec, { ...d, attempts }, decision.reason, now, last),
      });
    }
    return units;
  }

  private deadLetter(
    rec: EventSubscriptionRecord,
    d: ClaimedDelivery,
    reason: string,
    now: number,
    last: { lastAttemptAt?: number; lastOutcome?: string; lastStatusCode?: number } = {},
  ): Settlement {
    const st: Settlement = {
      id: d.id,
      status: 'deadlettered',
      attempts: d.attempts,
      deadLetterReason: reason,
      ...last,
    };
    this.deadLetters.write(rec, d, st, now);
    this.metrics?.final(rec.name, 'deadlettered', reason);
    return st;
  }

  private settle(units: Unit[]): Promise<void> {
    return units.length === 0 ? Promise.resolve() : this.settler.add(units);
  }
}

function postpone(d: ClaimedDelivery, at: number): Unit {
  return { settlement: { id: d.id, status: 'pending', attempts: d.attempts, nextAttemptAt: at } };
}

function stored(d: ClaimedDelivery): StoredEvent {
  return { schema: d.event.schema as InputSchema, event: JSON.parse(d.event.body) };
}
