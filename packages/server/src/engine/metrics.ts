/**
 * Prometheus metrics (GET /metrics). One registry per server, so several in-process servers (tests) never share
 * counters. Per-subscription labels stop at `maxSubscriptionLabels` distinct names; the rest count as "_other",
 * which keeps cardinality bounded on servers with thousands of subscriptions.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  private readonly published: Counter<'topic'>;
  private readonly matched: Counter<'subscription'>;
  private readonly attempts: Counter<'subscription' | 'outcome'>;
  private readonly settled: Counter<'subscription' | 'status'>;
  private readonly deadLettered: Counter<'subscription' | 'reason'>;
  private readonly latency: Histogram<'subscription'>;
  private readonly endToEnd: Histogram<never>;
  private readonly labels = new Set<string>();
  private readonly tally = new Tally();

  constructor(
    queueDepth: () => Promise<number>,
    private readonly maxSubscriptionLabels = 200,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mlgrid_process_' });
    this.published = new Counter({
      name: 'mlgrid_events_published_total',
      help: 'Events accepted by publish',
      labelNames: ['topic'],
      registers,
    });
    this.matched = new Counter({
      name: 'mlgrid_deliveries_matched_total',
      help: 'Deliveries created by routing',
      labelNames: ['subscription'],
      registers,
    });
    this.attempts = new Counter({
      name: 'mlgrid_delivery_attempts_total',
      help: 'Delivery requests by outcome (one per HTTP request; a batch is one)',
      labelNames: ['subscription', 'outcome'],
      registers,
    });
    this.settled = new Counter({
      name: 'mlgrid_deliveries_settled_total',
      help: 'Deliveries that reached a final state (delivered, deadlettered, dropped)',
      labelNames: ['subscription', 'status'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'mlgrid_deliveries_deadlettered_total',
      help: 'Dead-lettered deliveries by reason',
      labelNames: ['subscription', 'reason'],
      registers,
    });
    this.latency = new Histogram({
      name: 'mlgrid_delivery_attempt_duration_seconds',
      help: 'Duration of delivery requests',
      labelNames: ['subscription'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.endToEnd = new Histogram({
      name: 'mlgrid_delivery_latency_seconds',
      help: 'From publish to successful delivery',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600],
      registers,
    });
    new Gauge({
      name: 'mlgrid_delivery_queue_depth',
      help: 'Pending deliveries (due now or scheduled for retry)',
      registers,
      async collect() {
        this.set(await queueDepth());
      },
    });
  }

  private sub(name: string): string {
    if (this.labels.has(name)) return name;
    if (this.labels.size >= this.maxSubscriptionLabels) return '_other';
    this.labels.add(name);
    return name;
  }

  eventsPublished(topic: string, n: number): void {
    this.tally.add(this.published, 'topic', topic, undefined, undefined, n);
  }

  deliveriesMatched(subscription: string, n = 1): void {
    this.tally.add(this.matched, 'subscription', this.sub(subscription), undefined, undefined, n);
  }

  attempt(subscription: string, outcome: string, seconds: number): void {
    const s = this.sub(subscription);
    this.tally.add(this.attempts, 'subscription', s, 'outcome', outcome, 1);
    this.latency.observe({ subscription: s }, seconds);
  }

  /** A request's deliveries all delivered: one count, and each event's publish-to-delivery latency. */
  delivered(subscription: string, events: readonly { event: { publishedAt: number } }[], now: number): void {
    this.tally.add(
      this.settled,
      'subscription',
      this.sub(subscription),
      'status',
      'delivered',
      events.length,
    );
    for (const e of events) this.endToEnd.observe(Math.max(0, now - e.event.publishedAt) / 1000);
  }

  final(subscription: string, status: string, reason?: string, publishedAt?: number, now = Date.now()): void {
    const s = this.sub(subscription);
    this.tally.add(this.settled, 'subscription', s, 'status', status, 1);
    if (reason) this.tally.add(this.deadLettered, 'subscription', s, 'reason', reason, 1);
    if (status === 'delivered' && publishedAt !== undefined)
      this.endToEnd.observe(Math.max(0, now - publishedAt) / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    this.tally.flush();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Counter increments, summed per label set and added to prom-client when scraped: prom-client hashes and
 * validates the labels on every `inc`, which per delivered event was a visible share of the dispatcher's CPU.
 */
class Tally {
  private readonly pending = new Map<string, { counter: Counter<string>; labels: Labels; n: number }>();
  private readonly ids = new Map<Counter<string>, number>();

  add(
    counter: Counter<string>,
    k1: string,
    v1: string,
    k2: string | undefined,
    v2: string | undefined,
    n: number,
  ) {
    let id = this.ids.get(counter);
    if (id === undefined) this.ids.set(counter, (id = this.ids.size));
    const key = `${id}\u0000${v1}\u0000${v2 ?? ''}`;
    const p = this.pending.get(key);
    if (p !== undefined) {
      p.n += n;
      return;
    }
    const labels: Labels = k2 === undefined ? { [k1]: v1 } : { [k1]: v1, [k2]: v2! };
    this.pending.set(key, { counter, labels, n });
  }

  flush(): void {
    for (const p of this.pending.values()) {
      if (p.n === 0) continue;
      p.counter.inc(p.labels, p.n);
      p.n = 0;
    }
  }
}

type Labels = Record<string, string>;
