import type { JsonInputSchemaMapping } from '@mlgrid/protocol';
import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import { applyTopicPatch, mapCustomEvent, parseTopicPut, renderTopic, validateTopicName } from './topic.js';

const TOPIC_ID = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventGrid/topics/topic1';
const MAPPING = {
  inputSchemaMappingType: 'Json',
  properties: {
    id: { sourceField: 'meta.eventId' },
    topic: { sourceField: 'meta.topic' },
    eventTime: { sourceField: 'when' },
    eventType: { sourceField: 'kind', defaultValue: 'Custom.Unknown' },
    subject: { sourceField: 'path' },
    dataVersion: { defaultValue: '1.0' },
  },
};

function failure(fn: () => unknown): { status: number; target: string | undefined; code: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MlgridError) return { status: e.status, target: e.target, code: e.code };
    throw e;
  }
  throw new Error('expected an MlgridError');
}
const rejects = (fn: () => unknown, target: string) =>
  expect(failure(fn)).toMatchObject({ status: 400, target });
const put = (body: Record<string, unknown>) =>
  parseTopicPut({ location: 'westus2', ...body }, { name: 'topic1' });
const custom = (mapping: unknown) => () =>
  put({ properties: { inputSchema: 'CustomInputSchema', inputSchemaMapping: mapping } });

describe('topic name', () => {
  it('is 3-50 letters, digits and hyphens', () => {
    expect(validateTopicName('my-topic-1')).toBe('my-topic-1');
    for (const bad of ['ab', 'a'.repeat(51), 'my_topic', 'my.topic']) {
      expect(failure(() => parseTopicPut({ location: 'x' }, { name: bad }))).toEqual({
        status: 400,
        target: 'name',
        code: 'InvalidResourceName',
      });
    }
  });
});

describe('parseTopicPut', () => {
  it('applies defaults', () => {
    expect(put({})).toEqual({
      location: 'westus2',
      tags: {},
      inputSchema: 'EventGridSchema',
      publicNetworkAccess: 'Enabled',
      disableLocalAuth: false,
    });
  });

  it('parses every field, canonicalizing enums', () => {
    const spec = put({
      tags: { env: 'dev' },
      properties: {
        inputSchema: 'cloudeventschemav1_0',
        publicNetworkAccess: 'disabled',
        disableLocalAuth: true,
      },
    });
    expect(spec).toEqual({
      location: 'westus2',
      tags: { env: 'dev' },
      inputSchema: 'CloudEventSchemaV1_0',
      publicNetworkAccess: 'Disabled',
      disableLocalAuth: true,
    });
  });

  it('validates the top level', () => {
    rejects(() => parseTopicPut('x', { name: 'topic1' }), 'body');
    rejects(() => parseTopicPut({}, { name: 'topic1' }), 'location');
    rejects(() => put({ location: 7 }), 'location');
    rejects(() => put({ properties: [] }), 'properties');
    rejects(() => put({ properties: { inputSchema: 'Xml' } }), 'properties.inputSchema');
    rejects(() => put({ properties: { disableLocalAuth: 'yes' } }), 'properties.disableLocalAuth');
    rejects(
      () => put({ properties: { publicNetworkAccess: 'Sometimes' } }),
      'properties.publicNetworkAccess',
    );
  });

  it('validates tags', () => {
    rejects(() => put({ tags: ['a'] }), 'tags');
    rejects(() => put({ tags: { env: 1 } }), 'tags.env');
    rejects(() => put({ tags: { env: 'x'.repeat(257) } }), 'tags.env');
    rejects(
      () => put({ tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }),
      'tags',
    );
    expect(Object.keys(put({ tags: JSON.parse('{"__proto__":"x"}') as unknown }).tags)).toEqual([
      '__proto__',
    ]);
  });

  it('requires inputSchemaMapping exactly when the schema is CustomInputSchema', () => {
    expect(custom(MAPPING)().inputSchemaMapping).toEqual(MAPPING);
    rejects(() => put({ properties: { inputSchema: 'CustomInputSchema' } }), 'properties.inputSchemaMapping');
    rejects(() => put({ properties: { inputSchemaMapping: MAPPING } }), 'properties.inputSchemaMapping');
  });

  it('validates the mapping shape', () => {
    const M = 'properties.inputSchemaMapping';
    rejects(custom('x'), M);
    rejects(custom({ properties: {} }), `${M}.inputSchemaMappingType`);
    rejects(custom({ inputSchemaMappingType: 'Xml', properties: {} }), `${M}.inputSchemaMappingType`);
    rejects(custom({ inputSchemaMappingType: 'Json', properties: { id: 'x' } }), `${M}.properties.id`);
    rejects(
      custom({ inputSchemaMappingType: 'Json', properties: { id: { sourceField: 'a..b' } } }),
      `${M}.properties.id.sourceField`,
    );
    rejects(
      custom({ inputSchemaMappingType: 'Json', properties: { id: { defaultValue: 'same' } } }),
      `${M}.properties.id.defaultValue`,
    );
    rejects(
      custom({ inputSchemaMappingType: 'Json', properties: { subject: { defaultValue: 3 } } }),
      `${M}.properties.subject.defaultValue`,
    );
    expect(
      custom({ inputSchemaMappingType: 'json', properties: { topic: {} } })().inputSchemaMapping,
    ).toEqual({
      inputSchemaMappingType: 'Json',
      properties: {},
    });
  });
});

describe('applyTopicPatch', () => {
  const current = () => put({ tags: { a: '1' } });

  it('changes tags, publicNetworkAccess and disableLocalAuth, nested or flat', () => {
    expect(
      applyTopicPatch(current(), { tags: { b: '2' }, properties: { publicNetworkAccess: 'Disabled' } }),
    ).toMatchObject({
      tags: { b: '2' },
      publicNetworkAccess: 'Disabled',
    });
    expect(applyTopicPatch(current(), { disableLocalAuth: true }).disableLocalAuth).toBe(true);
    expect(applyTopicPatch(current(), { tags: null }).tags).toEqual({});
    expect(applyTopicPatch(current(), {})).toEqual(current());
  });

  it('keeps the input schema, its mapping and the location immutable', () => {
    rejects(
      () => applyTopicPatch(current(), { properties: { inputSchema: 'CloudEventSchemaV1_0' } }),
      'properties.inputSchema',
    );
    rejects(() => applyTopicPatch(current(), { inputSchema: 'CustomInputSchema' }), 'inputSchema');
    expect(applyTopicPatch(current(), { properties: { inputSchema: 'eventgridschema' } }).inputSchema).toBe(
      'EventGridSchema',
    );
    const c = custom(MAPPING)();
    expect(applyTopicPatch(c, { properties: { inputSchemaMapping: MAPPING } }).inputSchemaMapping).toEqual(
      MAPPING,
    );
    rejects(
      () => applyTopicPatch(c, { properties: { inputSchemaMapping: { ...MAPPING, properties: {} } } }),
      'properties.inputSchemaMapping',
    );
    expect(applyTopicPatch(current(), { location: 'West US 2' }).location).toBe('westus2');
    rejects(() => applyTopicPatch(current(), { location: 'eastus' }), 'location');
  });

  it('validates values', () => {
    rejects(
      () => applyTopicPatch(current(), { properties: { publicNetworkAccess: 'x' } }),
      'properties.publicNetworkAccess',
    );
    rejects(() => applyTopicPatch(current(), { disableLocalAuth: 'x' }), 'disableLocalAuth');
    rejects(() => applyTopicPatch(current(), { tags: { a: 1 } }), 'tags.a');
  });
});

describe('renderTopic', () => {
  it("has Azure's resource shape with a stable metricResourceId", () => {
    const meta = {
      id: TOPIC_ID,
      name: 'topic1',
      endpoint: 'http://127.0.0.1:4710/api/events',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-02T00:00:00.000Z',
    };
    const out = renderTopic(custom(MAPPING)(), meta);
    expect(out).toEqual({
      id: TOPIC_ID,
      name: 'topic1',
      type: 'Microsoft.EventGrid/topics',
      location: 'westus2',
      tags: {},
      systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
      properties: {
        provisioningState: 'Succeeded',
        endpoint: meta.endpoint,
        inputSchema: 'CustomInputSchema',
        inputSchemaMapping: MAPPING,
        publicNetworkAccess: 'Enabled',
        disableLocalAuth: false,
        metricResourceId: expect.stringMatching(
          /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        ),
      },
    });
    expect(renderTopic(put({}), { ...meta, id: TOPIC_ID.toUpperCase() }).properties.metricResourceId).toBe(
      out.properties.metricResourceId,
    );
  });
});

describe('mapCustomEvent', () => {
  const mapping = MAPPING as JsonInputSchemaMapping;
  const NOW = new Date('2025-03-04T05:06:07.000Z');
  const event = {
    meta: { eventId: 'e-1', topic: TOPIC_ID.toLowerCase() },
    when: '2025-01-01T00:00:00.1234567Z',
    kind: 'Model.Trained',
    path: 'models/m1',
  };

  it('maps fields by dot path, with data = the whole original event', () => {
    expect(mapCustomEvent(event, mapping, TOPIC_ID, 0, NOW)).toEqual({
      id: 'e-1',
      topic: TOPIC_ID,
      subject: 'models/m1',
      eventType: 'Model.Trained',
      eventTime: '2025-01-01T00:00:00.1234567Z',
      data: event,
      dataVersion: '1.0',
      metadataVersion: '1',
    });
  });

  it('falls back to defaults, a generated id and now', () => {
    const minimal = { inputSchemaMappingType: 'Json', properties: {} } as JsonInputSchemaMapping;
    const out = mapCustomEvent({ x: 1 }, minimal, TOPIC_ID, 0, NOW);
    expect(out).toMatchObject({ subject: '', eventType: '', eventTime: NOW.toISOString(), dataVersion: '' });
    expect(out.id).toMatch(/^[0-9a-f-]{36}$/);
    const { kind: _kind, ...noKind } = event;
    expect(mapCustomEvent({ ...noKind, when: undefined }, mapping, TOPIC_ID, 0, NOW)).toMatchObject({
      eventType: 'Custom.Unknown',
      eventTime: NOW.toISOString(),
    });
    expect(mapCustomEvent({ ...event, meta: { eventId: 42 } }, mapping, TOPIC_ID, 0, NOW).id).toBe('42');
  });

  it('rejects events it cannot map, naming [index].<sourceField>', () => {
    const bad = (e: unknown, target: string) =>
      expect(failure(() => mapCustomEvent(e, mapping, TOPIC_ID, 3, NOW))).toEqual({
        status: 400,
        target,
        code: 'InvalidEvent',
      });
    bad('x', '[3]');
    bad({ ...event, meta: {} }, '[3].meta.eventId');
    bad({ ...event, meta: { eventId: '' } }, '[3].meta.eventId');
    bad({ ...event, meta: { eventId: { a: 1 } } }, '[3].meta.eventId');
    bad({ ...event, path: undefined }, '[3].path');
    bad({ ...event, when: 'yesterday' }, '[3].when');
    bad({ ...event, meta: { eventId: 'e', topic: '/other/topic' } }, '[3].meta.topic');
  });
});
