/**
 * An Event Grid delivery request as an AMQP 0-9-1 message (pure). Azure delivers to Service Bus with the `aeg-*`
 * values and the delivery attribute mappings as user properties; here they become message headers. Mappings
 * named after a Service Bus system property that AMQP 0-9-1 also has (MessageId, CorrelationId, ReplyTo) set
 * that property instead, as Azure sets the system property.
 */
import type { Options } from 'amqplib';
import type { OutgoingRequest } from '../core/delivery-format.js';

/** Delivery attribute names (lower-cased by the request builder) that set an AMQP property. */
const SYSTEM_PROPERTIES = {
  messageid: 'messageId',
  correlationid: 'correlationId',
  replyto: 'replyTo',
} as const;

export interface BrokerMessage {
  content: Buffer;
  options: Options.Publish;
}

/** `eventIds`: the events in the request; a single event's id is the message id (stable across retries). */
export function brokerMessage(
  req: OutgoingRequest,
  ctx: { batch: readonly { event: { eventId: string } }[] },
  now = Date.now(),
): BrokerMessage {
  const headers: Record<string, string> = {};
  const props: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'content-type') continue;
    const system = SYSTEM_PROPERTIES[name as keyof typeof SYSTEM_PROPERTIES];
    if (system) props[system] = value;
    else headers[name] = value;
  }
  const single = ctx.batch.length === 1 ? ctx.batch[0]!.event.eventId : undefined;
  return {
    content: Buffer.from(req.body, 'utf8'),
    options: {
      persistent: true,
      contentType: req.headers['content-type'],
      contentEncoding: 'utf-8',
      timestamp: Math.floor(now / 1000),
      appId: 'mlgrid',
      ...(single !== undefined ? { messageId: single } : {}),
      ...props,
      headers,
    },
  };
}

/**
 * The routing key for a topic exchange: the (first) event's type, so consumers bind by type
 * (`Microsoft.MachineLearningServices.*`, `#`). Event Grid and custom events are stored as Event Grid envelopes
 * (`eventType`), CloudEvents as themselves (`type`).
 */
export function eventTypeOf(ctx: { batch: readonly { event: { body: string } }[] }): string {
  const body = ctx.batch[0]?.event.body;
  if (!body) return '';
  try {
    const e = JSON.parse(body) as { eventType?: unknown; type?: unknown };
    const t = typeof e.eventType === 'string' ? e.eventType : e.type;
    return typeof t === 'string' ? t.slice(0, 255) : '';
  } catch {
    return '';
  }
}
