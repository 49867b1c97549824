/** Routes accepted events to matching event subscriptions and commits events + deliveries durably. */
import type { AcceptedEvent } from '../core/publish.js';
import type { RoutingIndex } from '../core/routing.js';
import type { ClaimedDelivery, DeliveryLease, EventToStore, Store } from '../store/types.js';
import { GroupCommit } from './group-commit.js';
import type { Metrics } from './metrics.js';

/** Takes deliveries straight from the commit that created them (the dispatcher). */
export interface FreshDeliveries {
  /** A lease to store new deliveries under, or undefined to leave them for the claim query. */
  offerLease(): DeliveryLease | undefined;
  adopt(fresh: ClaimedDelivery[]): void;
}

export class Publisher {
  private readonly group: GroupCommit<EventToStore>;
  private sink?: FreshDeliveries;
  private readonly observers: ((sourceKey: string, rows: EventToStore[]) => void)[] = [];

  constructor(
    store: Store,
    private readonly index: RoutingIndex,
    now: () => number = Date.now,
    /** Called after a commit that created deliveries nobody took (wakes the dispatcher). */
    private readonly onDeliveries: () => void = () => {},
    private readonly metrics?: Metrics,
  ) {
    this.group = new GroupCommit(
      async (rows) => {
        const wanted = rows.some((r) => r.subscriptionKeys.length > 0);
        const lease = wanted ? this.sink?.offerLease() : undefined;
        const fresh = await store.appendEvents(rows, now(), lease);
        // Leased at birth to the dispatcher: it sends them now, no claim reads them back; a crash leaves them
        // leased, and they are delivered again when the lease lapses (at once on SQLite's next start).
        if (lease) this.sink!.adopt(fresh);
        else if (wanted) this.onDeliveries();
        // PostgreSQL: up to 3 commits in flight (each waits ~10 ms for its WAL flush); SQLite commits synchronously.
      },
      50_000,
      0,
      store.capabilities.multiNode ? 3 : 1,
    );
  }

  /** Hand the deliveries of every later publish commit to `sink` while it offers a lease. */
  handOffTo(sink: FreshDeliveries): void {
    this.sink = sink;
  }

  /** Resolves once the events and their deliveries are committed; only then may the publisher get a 200. */
  publish(sourceKey: string, events: AcceptedEvent[]): Promise<void> {
    const rows = this.route(sourceKey, events);
    return this.group.add(rows).then(() => {
      if (this.metrics) count(this.metrics, sourceKey, rows);
    });
  }

  /** The rows to store for events from `sourceKey`: each with the subscriptions it matches now. */
  route(sourceKey: string, events: AcceptedEvent[]): EventToStore[] {
    const buckets = this.index.bucketsFor(sourceKey);
    return events.map<EventToStore>((e) => ({
      eventId: e.eventId,
      sourceKey,
      eventType: e.eventType,
      subject: e.subject,
      schema: e.schema,
      body: e.body,
      subscriptionKeys: this.index.match(buckets, e.filterable),
    }));
  }

  /** After rows were committed (here, or by a resource change that appended them in its own transaction). */
  committed(sourceKey: string, rows: EventToStore[]): void {
    if (rows.some((r) => r.subscriptionKeys.length > 0)) this.onDeliveries();
    if (this.metrics) count(this.metrics, sourceKey, rows);
    for (const fn of this.observers) fn(sourceKey, rows);
  }

  /** `fn` sees the rows of every resource-change commit (`committed`), e.g. the lineage index; it must not throw. */
  observeCommitted(fn: (sourceKey: string, rows: EventToStore[]) => void): void {
    this.observers.push(fn);
  }
}

function count(m: Metrics, sourceKey: string, rows: EventToStore[]): void {
  m.eventsPublished(sourceKey.slice(sourceKey.lastIndexOf('/') + 1), rows.length);
  const per = new Map<string, number>();
  for (const r of rows) for (const k of r.subscriptionKeys) per.set(k, (per.get(k) ?? 0) + 1);
  for (const [k, n] of per) m.deliveriesMatched(k.slice(k.lastIndexOf('/') + 1), n);
}
