import { EventGridDeserializer } from '@azure/eventgrid';
import type {
  DeliveryAttributeMapping,
  DeliverySchema,
  InputSchema,
  JsonInputSchemaMapping,
} from '@mlgrid/protocol';
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  BATCH_DEFAULTS,
  buildDeliveryRequest,
  buildStoredDeliveryRequest,
  deadLetterBlobPath,
  isPassThrough,
  deadLetterRecord,
  planBatches,
  toOutputEvent,
  type StoredBody,
  type StoredEvent,
} from './delivery-format.js';
import { acceptEvents, type PublishContentKind } from './publish.js';

const TOPIC =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t1';
const NOW = new Date('2025-03-04T05:06:07.000Z');
const MAPPING: JsonInputSchemaMapping = {
  inputSchemaMappingType: 'Json',
  properties: {
    id: { sourceField: 'runName' },
    eventType: { sourceField: 'kind' },
    subject: { defaultValue: 'runs' },
    eventTime: { sourceField: 'when' },
    dataVersion: { defaultValue: '1.0' },
  },
};

/** Stored events exactly as the publish path writes them. */
function stored(schema: InputSchema, payload: unknown, kind: PublishContentKind = 'json'): StoredEvent[] {
  const target =
    schema === 'CustomInputSchema'
      ? { id: TOPIC, inputSchema: schema, inputSchemaMapping: MAPPING }
      : { id: TOPIC, inputSchema: schema };
  return acceptEvents(payload, kind, target, NOW).map((a) => ({
    schema: a.schema,
    event: JSON.parse(a.body) as Record<string, unknown>,
  }));
}

const EG = stored('EventGridSchema', [
  {
    id: 'eg-1',
    subject: 'experiments/e/runs/r1',
    eventType: 'Microsoft.MachineLearningServices.RunCompleted',
    eventTime: '2024-01-02T03:04:05.6789012Z',
    data: { runId: 'r1', Score: 0.9, ok: true, tags: { a: 'b' }, list: [1], nothing: null, bad: 'a\nb' },
    dataVersion: '2',
  },
  {
    id: 'eg-2',
    subject: 'runs/r2',
    eventType: 'RunStatusChanged',
    eventTime: '2024-01-02T03:04:06Z',
    data: {},
  },
]);
const CE = stored(
  'CloudEventSchemaV1_0',
  [
    {
      specversion: '1.0',
      id: 'ce-1',
      source: '/ml/workspaces/w',
      type: 'com.example.run.completed',
      subject: 'runs/r1',
      time: '2024-01-02T03:04:05Z',
      datacontenttype: 'application/json',
      data: { runId: 'c1' },
      myext: 'v',
    },
    { specversion: '1.0', id: 'ce-2', source: '/ml/workspaces/w', type: 'com.example.run.started' },
  ],
  'cloudevents-batch',
);
const CUSTOM_RAW = [
  { runName: 'cu-1', kind: 'RunCompleted', when: '2024-01-02', data: { runId: 'x1' } },
  { runName: 'cu-2', kind: 'RunStarted', when: '2024-01-02T03:04:05+01:00', data: { runId: 'x2' } },
];
const CUSTOM = stored('CustomInputSchema', CUSTOM_RAW);

type M = DeliveryAttributeMapping;
const pick = (list: StoredEvent[], i: number): StoredEvent => list[i]!;
const parse = (s: string): unknown => JSON.parse(s);
type DeliveryArgs = Parameters<typeof buildDeliveryRequest>[0];
const BASE = { batching: true, subscriptionName: 's', deliveryCount: 0 };
const deliver = (events: StoredEvent[], deliverySchema: DeliverySchema, more: Partial<DeliveryArgs> = {}) =>
  buildDeliveryRequest({ ...BASE, events, deliverySchema, ...more });
const stat = (name: string, value?: string, isSecret?: boolean): M => ({
  name,
  type: 'Static',
  properties: { value, isSecret },
});
const dyn = (name: string, f: string): M => ({ name, type: 'Dynamic', properties: { sourceField: f } });

describe('toOutputEvent', () => {
  it('passes Event Grid events through unchanged (topic, dataVersion, metadataVersion stamped)', () => {
    expect(toOutputEvent(pick(EG, 1), 'EventGridSchema')).toEqual({
      id: 'eg-2',
      topic: TOPIC,
      subject: 'runs/r2',
      eventType: 'RunStatusChanged',
      eventTime: '2024-01-02T03:04:06Z',
      data: {},
      dataVersion: '',
      metadataVersion: '1',
    });
  });

  it('maps Event Grid to CloudEvents, carrying a non-empty dataVersion as the dataversion extension', () => {
    expect(toOutputEvent(pick(EG, 0), 'CloudEventSchemaV1_0')).toEqual({
      specversion: '1.0',
      id: 'eg-1',
      source: TOPIC,
      type: 'Microsoft.MachineLearningServices.RunCompleted',
      subject: 'experiments/e/runs/r1',
      time: '2024-01-02T03:04:05.6789012Z',
      data: pick(EG, 0).event.data,
      datacontenttype: 'application/json',
      dataversion: '2',
    });
    expect(toOutputEvent(pick(EG, 1), 'CloudEventSchemaV1_0')).not.toHaveProperty('dataversion');
  });

  it('passes CloudEvents through unchanged, extensions included', () => {
    expect(toOutputEvent(pick(CE, 0), 'CloudEventSchemaV1_0')).toEqual(
      expect.objectContaining({ id: 'ce-1', myext: 'v', source: '/ml/workspaces/w' }),
    );
  });

  it('delivers a custom event as published, as its mapped envelope, or converted to a CloudEvent', () => {
    expect(toOutputEvent(pick(CUSTOM, 0), 'CustomInputSchema')).toEqual(CUSTOM_RAW[0]);
    expect(toOutputEvent(pick(CUSTOM, 0), 'EventGridSchema')).toEqual({
      id: 'cu-1',
      topic: TOPIC,
      subject: 'runs',
      eventType: 'RunCompleted',
      eventTime: '2024-01-02',
      data: CUSTOM_RAW[0],
      dataVersion: '1.0',
      metadataVersion: '1',
    });
    // A bare date is valid for the mapping but not RFC 3339: normalized for CE.
    expect(toOutputEvent(pick(CUSTOM, 0), 'CloudEventSchemaV1_0')).toEqual({
      specversion: '1.0',
      id: 'cu-1',
      source: TOPIC,
      type: 'RunCompleted',
      subject: 'runs',
      time: '2024-01-02T00:00:00.000Z',
      data: CUSTOM_RAW[0],
      datacontenttype: 'application/json',
      dataversion: '1.0',
    });
    expect(toOutputEvent(pick(CUSTOM, 1), 'CloudEventSchemaV1_0').time).toBe('2024-01-02T03:04:05+01:00');
  });

  it('throws for the combinations Azure does not support', () => {
    expect(() => toOutputEvent(pick(EG, 0), 'CustomInputSchema')).toThrow(
      /EventGridSchema.*CustomInputSchema/,
    );
    expect(() => toOutputEvent(pick(CE, 0), 'EventGridSchema')).toThrow();
    expect(() => toOutputEvent(pick(CE, 0), 'CustomInputSchema')).toThrow();
  });
});

const SUPPORTED: [string, StoredEvent[], DeliverySchema][] = [
  ['EG→EG', EG, 'EventGridSchema'],
  ['EG→CE', EG, 'CloudEventSchemaV1_0'],
  ['CE→CE', CE, 'CloudEventSchemaV1_0'],
  ['Custom→EG', CUSTOM, 'EventGridSchema'],
  ['Custom→CE', CUSTOM, 'CloudEventSchemaV1_0'],
];

describe('delivered bodies parse with the Azure SDK and the CloudEvents SDK', () => {
  const deserializer = new EventGridDeserializer();
  for (const [label, events, schema] of SUPPORTED) {
    for (const batch of [[events[0]!], events]) {
      for (const batching of batch.length === 1 ? [false, true] : [true]) {
        it(`${label}, ${batch.length} event(s), batching ${batching}`, async () => {
          const req = deliver(batch, schema, { batching });
          const ids = batch.map((e) => e.event.id);
          if (schema === 'EventGridSchema') {
            expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
            expect(Array.isArray(parse(req.body))).toBe(true);
            const got = await deserializer.deserializeEventGridEvents(req.body);
            expect(got.map((e) => e.id)).toEqual(ids);
            expect(got.every((e) => e.topic === TOPIC && e.eventTime instanceof Date)).toBe(true);
            return;
          }
          const got = await deserializer.deserializeCloudEvents(req.body);
          expect(got.map((e) => e.id)).toEqual(ids);
          const ce = HTTP.toEvent({ headers: req.headers, body: req.body });
          if (batching) {
            expect(req.headers['content-type']).toBe('application/cloudevents-batch+json; charset=utf-8');
            expect(Array.isArray(parse(req.body))).toBe(true);
            expect(Array.isArray(ce) && ce.map((e) => e.id)).toEqual(ids);
          } else {
            expect(req.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
            expect(Array.isArray(parse(req.body))).toBe(false);
            expect(!Array.isArray(ce) && ce.id).toBe(ids[0]);
            // Structured parsing skips validation (batch parsing does not): validate explicitly.
            expect(() => new CloudEvent({ ...ce })).not.toThrow();
          }
        });
      }
    }
  }

  it('custom deliveries are a JSON array of the original events', () => {
    const req = deliver(CUSTOM, 'CustomInputSchema');
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(parse(req.body)).toEqual(CUSTOM_RAW);
  });

  it('refuses an empty delivery and several CloudEvents without batching', () => {
    expect(() => deliver([], 'CloudEventSchemaV1_0')).toThrow();
    expect(() => deliver(CE, 'CloudEventSchemaV1_0', { batching: false })).toThrow();
  });
});

describe('delivery headers', () => {
  it('sets the aeg-* headers of an Event Grid delivery', () => {
    const req = deliver(EG, 'EventGridSchema', { subscriptionName: 'Run-Alerts', deliveryCount: 3 });
    expect(req.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'RUN-ALERTS',
      'aeg-delivery-count': '3',
      'aeg-metadata-version': '1',
      'aeg-data-version': '2',
      'aeg-output-event-id': 'eg-1',
    });
  });

  it('uses the spec version and no data version for CloudEvents, plus the Event Grid origin', () => {
    const req = deliver([pick(EG, 0)], 'CloudEventSchemaV1_0', {
      batching: false,
      subscriptionName: 'sub1',
      eventType: 'SubscriptionDeletion',
    });
    expect(req.headers).toEqual({
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'aeg-event-type': 'SubscriptionDeletion',
      'aeg-subscription-name': 'SUB1',
      'aeg-delivery-count': '0',
      'aeg-metadata-version': '1.0',
      'aeg-output-event-id': 'eg-1',
      origin: 'eventgrid.azure.net',
      'webhook-request-origin': 'eventgrid.azure.net',
    });
  });

  it('takes id and data version of a custom delivery from the mapped envelope', () => {
    const req = deliver(CUSTOM, 'CustomInputSchema', { deliveryCount: 1 });
    expect(req.headers).toMatchObject({
      'aeg-metadata-version': '1',
      'aeg-data-version': '1.0',
      'aeg-output-event-id': 'cu-1',
    });
  });

  it('adds delivery attribute mappings: static, secret, dynamic; omits missing and non-scalar values', () => {
    const req = deliver(EG, 'CloudEventSchemaV1_0', {
      mappings: [
        stat('X-Team', 'ml'),
        stat('Authorization', 'Bearer abc', true),
        stat('Hidden', undefined, true),
        dyn('Run-Id', 'data.runId'),
        dyn('Score', 'DATA.score'),
        dyn('Ok', 'data.ok'),
        dyn('Subject', 'subject'),
        dyn('Missing', 'data.nope'),
        dyn('Deep-Missing', 'data.runId.x'),
        dyn('Obj', 'data.tags'),
        dyn('Arr', 'data.list'),
        dyn('Null', 'data.nothing'),
        dyn('Newline', 'data.bad'),
      ],
    });
    // Dynamic values come from the first event as stored (Event Grid field names, even for CE delivery).
    expect(req.headers).toMatchObject({
      'x-team': 'ml',
      authorization: 'Bearer abc',
      'run-id': 'r1',
      score: '0.9',
      ok: 'true',
      subject: 'experiments/e/runs/r1',
    });
    for (const h of ['hidden', 'missing', 'deep-missing', 'obj', 'arr', 'null', 'newline']) {
      expect(req.headers).not.toHaveProperty(h);
    }
  });

  it('reads dynamic data.* of a custom event from the original event', () => {
    const req = deliver(CUSTOM, 'CustomInputSchema', { mappings: [dyn('Kind', 'data.kind')] });
    expect(req.headers.kind).toBe('RunCompleted');
  });

  it('never lets a mapping override aeg-*, content-type or origin headers', () => {
    const req = deliver([pick(CE, 0)], 'CloudEventSchemaV1_0', {
      batching: false,
      mappings: [
        stat('Content-Type', 'text/plain'),
        stat('AEG-Event-Type', 'x'),
        stat('aeg-custom', 'x'),
        stat('Origin', 'evil'),
        stat('webhook-signature', 'v1,forged'),
      ],
    });
    expect(req.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(req.headers['aeg-event-type']).toBe('Notification');
    expect(req.headers.origin).toBe('eventgrid.azure.net');
    expect(req.headers).not.toHaveProperty('aeg-custom');
    expect(req.headers).not.toHaveProperty('webhook-signature');
  });
});

describe('planBatches', () => {
  const items = (...kb: number[]) => kb.map((k, i) => ({ i, bytes: k * 1024 }));
  const shape = (b: { i: number }[][]) => b.map((x) => x.map((y) => y.i));

  it('sends one item per request without batching options', () => {
    expect(shape(planBatches(items(1, 1, 1), undefined))).toEqual([[0], [1], [2]]);
    expect(shape(planBatches(items(1, 1), {}))).toEqual([[0], [1]]);
    expect(planBatches([], undefined)).toEqual([]);
  });

  it('never exceeds maxEventsPerBatch', () => {
    const opts = { maxEventsPerBatch: 2, preferredBatchSizeInKilobytes: 1024 };
    expect(shape(planBatches(items(1, 1, 1, 1, 1), opts))).toEqual([[0, 1], [2, 3], [4]]);
    expect(shape(planBatches(items(1, 1), opts))).toEqual([[0, 1]]);
  });

  it('fills up to exactly the preferred size, then starts a new batch', () => {
    const opts = { maxEventsPerBatch: 100, preferredBatchSizeInKilobytes: 4 };
    expect(shape(planBatches(items(2, 2, 1, 3, 1), opts))).toEqual([[0, 1], [2, 3], [4]]);
    const exact = [{ i: 0, bytes: 4096 }];
    expect(shape(planBatches([...exact, { i: 1, bytes: 1 }], opts))).toEqual([[0], [1]]);
  });

  it('sends an item larger than the preferred size alone', () => {
    const opts = { maxEventsPerBatch: 100, preferredBatchSizeInKilobytes: 4 };
    expect(shape(planBatches(items(1, 10, 1, 1), opts))).toEqual([[0], [1], [2, 3]]);
    expect(shape(planBatches(items(10), opts))).toEqual([[0]]);
  });

  it('defaults the missing option: 64 KB with only a count, 5,000 events with only a size', () => {
    expect(BATCH_DEFAULTS).toEqual({ maxEventsPerBatch: 5000, preferredBatchSizeInKilobytes: 64 });
    expect(shape(planBatches(items(32, 32, 1), { maxEventsPerBatch: 10 }))).toEqual([[0, 1], [2]]);
    const small = Array.from({ length: 5001 }, (_, i) => ({ i, bytes: 1 }));
    const b = planBatches(small, { preferredBatchSizeInKilobytes: 1024 });
    expect(b.map((x) => x.length)).toEqual([5000, 1]);
  });
});

describe('dead-letter records', () => {
  const DL_FIELDS =
    'deadLetterReason deliveryAttempts lastDeliveryOutcome lastHttpStatusCode publishTime lastDeliveryAttemptTime'.split(
      ' ',
    );
  const info = {
    deadLetterReason: 'MaxDeliveryAttemptsExceeded',
    deliveryAttempts: 30,
    lastDeliveryOutcome: 'Busy',
    lastHttpStatusCode: 503,
    publishTime: new Date('2025-03-04T05:06:07.000Z'),
    lastDeliveryAttemptTime: new Date('2025-03-05T05:06:07.000Z'),
  };

  it('Event Grid: the event plus camelCase fields, still a valid Event Grid event', async () => {
    const r = deadLetterRecord(pick(EG, 1), 'EventGridSchema', info);
    expect(Object.keys(r).slice(-6)).toEqual(DL_FIELDS);
    expect(r).toEqual({
      ...pick(EG, 1).event,
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 30,
      lastDeliveryOutcome: 'Busy',
      lastHttpStatusCode: 503,
      publishTime: '2025-03-04T05:06:07.000Z',
      lastDeliveryAttemptTime: '2025-03-05T05:06:07.000Z',
    });
    expect(pick(EG, 1).event).not.toHaveProperty('deadLetterReason'); // no mutation
    const [ev] = await new EventGridDeserializer().deserializeEventGridEvents(JSON.stringify([r]));
    expect(ev?.id).toBe('eg-2');
  });

  it('omits lastHttpStatusCode when there was no HTTP response', () => {
    const { lastHttpStatusCode: _, ...noStatus } = info;
    const r = deadLetterRecord(pick(EG, 0), 'EventGridSchema', {
      ...noStatus,
      lastDeliveryOutcome: 'TimedOut',
    });
    expect(r).not.toHaveProperty('lastHttpStatusCode');
  });

  it('CloudEvents: the CloudEvent plus lower-case extension attributes accepted by the CE SDK', () => {
    const r = deadLetterRecord(pick(CE, 0), 'CloudEventSchemaV1_0', info);
    const extra = Object.keys(r).filter((k) => !(k in pick(CE, 0).event));
    expect(extra).toEqual(DL_FIELDS.map((f) => f.toLowerCase()));
    expect(r).toMatchObject({
      id: 'ce-1',
      myext: 'v',
      deadletterreason: 'MaxDeliveryAttemptsExceeded',
      deliveryattempts: 30,
      lastdeliveryoutcome: 'Busy',
      lasthttpstatuscode: 503,
      publishtime: '2025-03-04T05:06:07.000Z',
      lastdeliveryattempttime: '2025-03-05T05:06:07.000Z',
    });
    expect(() => new CloudEvent(r)).not.toThrow();
    const fromEg = deadLetterRecord(pick(EG, 0), 'CloudEventSchemaV1_0', info);
    expect(fromEg).toMatchObject({
      source: TOPIC,
      dataversion: '2',
      deadletterreason: info.deadLetterReason,
    });
  });

  it('custom: an Event Grid envelope in Azure field order with the original event as data', () => {
    const r = deadLetterRecord(pick(CUSTOM, 0), 'CustomInputSchema', info);
    const envelope = ['id', 'eventTime', 'eventType', 'dataVersion', 'metadataVersion', 'topic', 'subject'];
    expect(Object.keys(r)).toEqual([...envelope, ...DL_FIELDS, 'data']);
    expect(r).toMatchObject({ id: 'cu-1', topic: TOPIC, metadataVersion: '1', data: CUSTOM_RAW[0] });
  });

  it('blob path: upper-case name, UTC, no zero padding', () => {
    expect(deadLetterBlobPath('my-Sub', new Date('2025-03-04T05:06:07Z'), 'f1')).toBe(
      'MY-SUB/2025/3/4/5/f1.json',
    );
    expect(deadLetterBlobPath('s', new Date('2025-12-31T23:59:59Z'), 'x')).toBe('S/2025/12/31/23/x.json');
    // 00:30 at UTC+2 is still the previous day in UTC.
    expect(deadLetterBlobPath('s', new Date('2025-01-01T00:30:00+02:00'), 'y')).toBe(
      'S/2024/12/31/22/y.json',
    );
  });
});

describe('buildStoredDeliveryRequest (stored bodies sent without re-serialising)', () => {
  /** The stored JSON text, exactly as publish writes it. */
  function bodies(schema: InputSchema, payload: unknown, kind: PublishContentKind = 'json'): StoredBody[] {
    const target =
      schema === 'CustomInputSchema'
        ? { id: TOPIC, inputSchema: schema, inputSchemaMapping: MAPPING }
        : { id: TOPIC, inputSchema: schema };
    return acceptEvents(payload, kind, target, NOW).map((a) => ({ schema: a.schema, body: a.body }));
  }
  const odd = {
    big: 1e21,
    small: 5e-324,
    negZero: -0,
    text: 'é ☃ \u2028 "q" \\ \u0007',
    surrogate: '\ud800',
    proto: JSON.parse('{"__proto__": {"x": 1}}'),
    nested: [{ a: [] }, null, true],
  };
  const EG_B = bodies('EventGridSchema', [
    {
      id: 'eg-1',
      subject: 'a',
      eventType: 'T',
      eventTime: '2024-01-02T03:04:05Z',
      data: odd,
      dataVersion: '7',
    },
    { id: 'eg-2', subject: 'b', eventType: 'T', eventTime: '2024-01-02T03:04:05Z', data: { runId: 'r2' } },
  ]);
  const CE_B = bodies(
    'CloudEventSchemaV1_0',
    [
      { specversion: '1.0', id: 'ce-1', source: '/s', type: 'T', data: odd, myext: 'v' },
      { specversion: '1.0', id: 'ce-2', source: '/s', type: 'T', data_base64: 'AAE=' },
    ],
    'cloudevents-batch',
  );
  const CU_B = bodies('CustomInputSchema', CUSTOM_RAW);
  const mappings = [stat('x-static', 'v'), dyn('x-run', 'data.runId'), dyn('x-dv', 'dataVersion')];
  const cases: [string, StoredBody[], DeliverySchema][] = [
    ['Event Grid → Event Grid', EG_B, 'EventGridSchema'],
    ['custom → Event Grid', CU_B, 'EventGridSchema'],
    ['CloudEvents → CloudEvents', CE_B, 'CloudEventSchemaV1_0'],
    ['Event Grid → CloudEvents (converted)', EG_B, 'CloudEventSchemaV1_0'],
    ['custom → custom (converted)', CU_B, 'CustomInputSchema'],
  ];

  it.each(cases)('%s: the same bytes and headers as parse + convert + stringify', (_, list, schema) => {
    for (const batching of [true, false]) {
      for (const events of batching ? [list, list.slice(0, 1)] : list.map((e) => [e])) {
        for (const more of [{}, { mappings, deliveryCount: 3, eventType: 'Notification' as const }]) {
          const args = { ...BASE, deliverySchema: schema, batching, ...more };
          const parsed = events.map((e) => ({ schema: e.schema, event: JSON.parse(e.body) }));
          const expected = buildDeliveryRequest({ ...args, events: parsed });
          const got = buildStoredDeliveryRequest({ ...args, events });
          expect(got.body).toBe(expected.body);
          expect(got.headers).toEqual(expected.headers);
          // Bodies read as UTF-8 (SQLite's reader thread): the same request, built as bytes where it passes through.
          const asBytes = events.map((e) => ({ ...e, bytes: Buffer.from(e.body, 'utf8') }));
          const viaBytes = buildStoredDeliveryRequest({ ...args, events: asBytes });
          expect(viaBytes.bytes !== undefined).toBe(events.every((e) => isPassThrough(e.schema, schema)));
          expect(viaBytes.bytes ?? Buffer.from(viaBytes.body)).toEqual(Buffer.from(expected.body, 'utf8'));
          expect(viaBytes.body).toBe(expected.body);
          expect(viaBytes.headers).toEqual(expected.headers);
        }
      }
    }
  });

  it('passes the stored text through only where no conversion applies', () => {
    expect(isPassThrough('EventGridSchema', 'EventGridSchema')).toBe(true);
    expect(isPassThrough('CustomInputSchema', 'EventGridSchema')).toBe(true);
    expect(isPassThrough('CloudEventSchemaV1_0', 'CloudEventSchemaV1_0')).toBe(true);
    expect(isPassThrough('EventGridSchema', 'CloudEventSchemaV1_0')).toBe(false);
    expect(isPassThrough('CustomInputSchema', 'CustomInputSchema')).toBe(false);
    // Pass-through really is the stored text: a body that is not what JSON.stringify would write stays as is.
    const loose = [{ schema: 'EventGridSchema' as const, body: '{"id": "x",  "dataVersion": "1"}' }];
    const req = buildStoredDeliveryRequest({ ...BASE, events: loose, deliverySchema: 'EventGridSchema' });
    expect(req.body).toBe('[{"id": "x",  "dataVersion": "1"}]');
    expect(req.headers['aeg-data-version']).toBe('1');
  });

  it('rejects what buildDeliveryRequest rejects', () => {
    const a = { ...BASE, batching: false };
    expect(() =>
      buildStoredDeliveryRequest({ ...a, events: [], deliverySchema: 'EventGridSchema' }),
    ).toThrow();
    expect(() =>
      buildStoredDeliveryRequest({ ...a, events: CE_B, deliverySchema: 'CloudEventSchemaV1_0' }),
    ).toThrow(/exactly one/);
    expect(() =>
      buildStoredDeliveryRequest({ ...a, events: CE_B.slice(0, 1), deliverySchema: 'EventGridSchema' }),
    ).toThrow(/cannot deliver/);
  });
});
