/**
 * What the broker destination tests share: a test event, a literal connection directory, a one-event send, and
 * waiting for a subscription's dead letters.
 */
import { buildDeliveryRequest } from '../../src/core/delivery-format.js';
import type { BrokerConnection, ConnectionDirectory, SendContext } from '../../src/handlers/destination.js';
import type { EventSubscriptionRecord } from '../../src/store/types.js';
import type { TestServer } from './server.js';
import { until } from './until.js';

/** A RunCompleted event whose subject names the test (`prefix`). */
export const ev = (id: string, prefix: string, data: object = {}) => ({
  id,
  eventType: 'Microsoft.MachineLearningServices.RunCompleted',
  subject: `experiments/e/runs/${prefix}-${id}`,
  eventTime: '2026-01-01T00:00:00.000Z',
  dataVersion: '2',
  data,
});

/** A literal directory (our own port) for handler-level tests. */
export const directory = (conns: BrokerConnection[]): ConnectionDirectory => ({
  forResource: async (id) => conns.find((c) => id.toLowerCase().startsWith(c.resourceId.toLowerCase())),
});

/** A one-event send context as the dispatcher builds it, for subscription `h`. */
export function oneEvent(eventId: string): SendContext {
  const body = JSON.stringify(ev(eventId, 'h'));
  const event = { seq: '1', eventId, schema: 'EventGridSchema', body, publishedAt: 0 };
  return {
    subscription: { name: 'h' } as EventSubscriptionRecord,
    batch: [{ id: `d-${eventId}`, subscriptionKey: 'k', attempts: 0, createdAt: 0, event }],
  };
}

/** The request the dispatcher would send for `oneEvent(eventId)`. */
export const request = (eventId: string) =>
  buildDeliveryRequest({
    events: [{ schema: 'EventGridSchema', event: ev(eventId, 'h') }],
    deliverySchema: 'EventGridSchema',
    batching: false,
    subscriptionName: 'h',
    deliveryCount: 0,
  });

/** The dead letters of the subscription at `path`, once there are any (or the empty list after until's wait). */
export const deadLettered = (s: TestServer, path: string) =>
  until(
    async () => (await (await s.arm('GET', `${path}/deadLetters`)).json()).value as Record<string, unknown>[],
    (l) => l.length > 0,
  );
