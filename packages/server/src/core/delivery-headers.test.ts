/**
 * buildStoredDeliveryRequest reads the first event's `id` / `dataVersion` from the stored text when it can (no
 * JSON.parse): the headers must equal those of the parse path for every body, including ones built to fool a
 * text search.
 */
import { describe, expect, it, vi } from 'vitest';
import type { DeliverySchema, InputSchema } from '@mlgrid/protocol';
import { buildDeliveryRequest, buildStoredDeliveryRequest, type StoredBody } from './delivery-format.js';

const BASE = { batching: true, subscriptionName: 'sub', deliveryCount: 0 } as const;

function same(events: StoredBody[], deliverySchema: DeliverySchema) {
  const args = { ...BASE, deliverySchema };
  const parsed = events.map((e) => ({ schema: e.schema, event: JSON.parse(e.body) }));
  const expected = buildDeliveryRequest({ ...args, events: parsed });
  const got = buildStoredDeliveryRequest({ ...args, events });
  expect(got.headers).toEqual(expected.headers);
  expect(got.body).toBe(expected.body);
  return got.headers;
}

const eg = (o: Record<string, unknown>): StoredBody => ({
  schema: 'EventGridSchema' as InputSchema,
  body: JSON.stringify(o),
});
const stamped = (id: unknown, dataVersion: unknown, data: unknown = { a: 1 }) =>
  eg({
    id,
    topic: '/t',
    subject: 's',
    eventType: 'T',
    eventTime: 'x',
    data,
    dataVersion,
    metadataVersion: '1',
  });

describe('delivery headers read from the stored text', () => {
  it('matches the parsed headers for stamped events, plain and tricky', () => {
    const ids = ['e1', '', 'a"b', 'a\\b', '\\', 'é☃\u2028', 'x","dataVersion":"evil'];
    const versions = ['7', '', 'a"b', 'c\\', '\\"', '1.0","metadataVersion":"1'];
    const datas = [
      { dataVersion: 'inner' },
      'text ,"dataVersion":"fake","metadataVersion":"1"}',
      [{ x: '","metadataVersion":"1"}' }],
      null,
    ];
    for (const id of ids)
      for (const dv of versions)
        for (const data of datas) {
          const h = same([stamped(id, dv, data)], 'EventGridSchema');
          expect(h['aeg-output-event-id']).toBe(id);
          expect(h['aeg-data-version']).toBe(dv);
        }
  });

  it('does not parse a plain stamped event (the point of the fast path)', () => {
    const events = [stamped('e1', '2'), stamped('e2', '2')];
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const req = buildStoredDeliveryRequest({ ...BASE, deliverySchema: 'EventGridSchema', events });
      expect(req.headers['aeg-data-version']).toBe('2');
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('falls back to parsing whatever is not shaped like a stamped event', () => {
    same([eg({ topic: '/t', id: 'late', dataVersion: '2', metadataVersion: '1' })], 'EventGridSchema');
    same([eg({ id: 'no-version', metadataVersion: '1' })], 'EventGridSchema');
    same([eg({ id: 'other-end', dataVersion: '3', metadataVersion: '1', extra: true })], 'EventGridSchema');
    same([eg({ id: 5, dataVersion: 4, metadataVersion: '1' })], 'EventGridSchema');
    const h = same([eg({ id: 'n', data: { dataVersion: 'x' }, metadataVersion: '1' })], 'EventGridSchema');
    expect(h['aeg-data-version']).toBe('');
  });

  it('reads the id of CloudEvents the same way', () => {
    const ce = (o: Record<string, unknown>): StoredBody => ({
      schema: 'CloudEventSchemaV1_0' as InputSchema,
      body: JSON.stringify(o),
    });
    for (const id of ['c1', 'q"q', 'b\\s']) {
      expect(
        same([ce({ id, specversion: '1.0', source: '/s', type: 'T' })], 'CloudEventSchemaV1_0'),
      ).toMatchObject({ 'aeg-output-event-id': id });
      same([ce({ specversion: '1.0', id, source: '/s', type: 'T' })], 'CloudEventSchemaV1_0');
    }
  });
});
