/**
 * The destination port: how the dispatcher reaches a subscription's endpoint, whatever its kind. One handler
 * per destination kind (webhook, local function, automation, RabbitMQ, NATS, Redis, MQTT) turns a destination
 * into a target; the dispatcher keeps the Event Grid semantics (batching, retries, dead-letter, delivery log)
 * and only asks the target to send one prepared request and report the outcome.
 */
import type { EndpointType, EventSubscriptionDestination } from '@mlgrid/protocol';
import type { OutgoingRequest } from '../core/delivery-format.js';
import type { ClaimedDelivery, EventSubscriptionRecord } from '../store/types.js';
import type { SendResult } from './webhook.js';

export type { SendResult } from './webhook.js';

/** What a target may want to know besides the request (function env vars, message properties, automations). */
export interface SendContext {
  subscription: EventSubscriptionRecord;
  /** The deliveries in this request, in order (stored bodies, event ids). */
  batch: readonly ClaimedDelivery[];
}

export interface DeliveryTarget {
  /**
   * Key for the per-endpoint in-flight limit and endpoint probation: the URL origin for webhooks, the broker
   * connection for queues, the function for functions. Subscriptions sharing it share the limit.
   */
  readonly origin: string;
  /**
   * Sends one request (body + Event Grid headers, which queue handlers carry as message properties). Never
   * throws: failures come back as a result (`network`, `timeout`, or `handler` with `retryable`).
   */
  send(req: OutgoingRequest, ctx: SendContext): Promise<SendResult>;
}

export interface DestinationHandler {
  readonly endpointTypes: readonly EndpointType[];
  /** Synchronous and cheap (called per request): no I/O here; look things up inside `send`. */
  target(
    dest: EventSubscriptionDestination,
    subscription: EventSubscriptionRecord,
  ): DeliveryTarget | undefined;
  close?(): Promise<void>;
}

/** The handlers by endpoint type. A type with no handler is not deliverable (its deliveries wait). */
export class Destinations {
  private readonly byType = new Map<string, DestinationHandler>();

  constructor(handlers: readonly DestinationHandler[] = []) {
    for (const h of handlers) this.register(h);
  }

  register(h: DestinationHandler): void {
    for (const t of h.endpointTypes) {
      if (this.byType.has(t)) throw new Error(`two destination handlers for ${t}`);
      this.byType.set(t, h);
    }
  }

  handles(type: string): boolean {
    return this.byType.has(type);
  }

  target(
    dest: EventSubscriptionDestination | undefined,
    subscription: EventSubscriptionRecord,
  ): DeliveryTarget | undefined {
    if (!dest) return undefined;
    return this.byType.get(dest.endpointType)?.target(dest, subscription);
  }

  async close(): Promise<void> {
    const all = new Set(this.byType.values());
    await Promise.all([...all].map((h) => h.close?.()));
  }
}

/** A broker registered in mlgrid for an Azure namespace/account resource id (services/connections.ts). */
export interface BrokerConnection {
  name: string;
  /** The namespace/account id, e.g. `/subscriptions/…/providers/Microsoft.ServiceBus/namespaces/ns1`. */
  resourceId: string;
  kind: 'amqp' | 'nats' | 'redis' | 'mqtt';
  /** The connection URL with its credentials: never log or render it (see `maskUrl`). */
  url: string;
}

export interface ConnectionDirectory {
  /**
   * The connection whose resource id equals the destination's, or is its longest ancestor (case-insensitive):
   * `…/namespaces/ns1/queues/q1` is served by the connection registered for `…/namespaces/ns1`.
   */
  forResource(resourceId: string): Promise<BrokerConnection | undefined>;
}

/** A failure of a non-HTTP destination, in the dispatcher's terms (retryable unless said otherwise). */
export function handlerFailure(message: string, durationMs: number, retryable = true): SendResult {
  return { result: { kind: 'handler', ok: false, retryable, message }, durationMs, excerpt: message };
}

export function handlerSuccess(durationMs: number, excerpt?: string): SendResult {
  return {
    result: { kind: 'handler', ok: true, retryable: false, message: 'ok' },
    durationMs,
    ...(excerpt ? { excerpt } : {}),
  };
}
