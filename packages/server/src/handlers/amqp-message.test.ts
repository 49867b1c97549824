import { describe, expect, it } from 'vitest';
import { brokerMessage, eventTypeOf } from './amqp-message.js';

const req = {
  body: '[{"id":"e1"}]',
  headers: {
    'content-type': 'application/json; charset=utf-8',
    'aeg-event-type': 'Notification',
    'aeg-subscription-name': 'SUB',
    'aeg-delivery-count': '2',
    'x-team': 'ml',
    correlationid: 'run-7',
    replyto: 'answers',
  },
};
const one = { batch: [{ event: { eventId: 'e1', body: '{"eventType":"A.B","id":"e1"}' } }] };

describe('Event Grid request → AMQP message', () => {
  it('carries the body, the headers as message headers, and the event id as message id', () => {
    const m = brokerMessage(req, one, 1_700_000_000_123);
    expect(m.content.toString('utf8')).toBe(req.body);
    expect(m.options).toEqual({
      persistent: true,
      contentType: 'application/json; charset=utf-8',
      contentEncoding: 'utf-8',
      timestamp: 1_700_000_000,
      appId: 'mlgrid',
      messageId: 'e1',
      correlationId: 'run-7',
      replyTo: 'answers',
      headers: {
        'aeg-event-type': 'Notification',
        'aeg-subscription-name': 'SUB',
        'aeg-delivery-count': '2',
        'x-team': 'ml',
      },
    });
  });

  it('sets no message id for a batch (no single event names it)', () => {
    const two = { batch: [one.batch[0]!, { event: { eventId: 'e2', body: '{}' } }] };
    expect(brokerMessage(req, two).options.messageId).toBeUndefined();
  });

  it('routes a topic publish by event type (Event Grid or CloudEvents)', () => {
    expect(eventTypeOf(one)).toBe('A.B');
    expect(eventTypeOf({ batch: [{ event: { body: '{"type":"C.D","specversion":"1.0"}' } }] })).toBe('C.D');
    expect(eventTypeOf({ batch: [{ event: { body: 'not json' } }] })).toBe('');
  });
});
