/** The management and publish APIs end to end over real HTTP, on SQLite and on PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSasToken } from '../src/core/sas.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const pgSkip = await skipWithoutPostgres('eventgrid api');
const RG = '/subscriptions/sub-a/resourceGroups/rg-a';
const topicPath = (name: string) => `${RG}/providers/Microsoft.EventGrid/topics/${name}`;
const subPath = (scope: string, name: string) =>
  `${scope}/providers/Microsoft.EventGrid/eventSubscriptions/${name}`;

function egEvent(i: number, over: Record<string, unknown> = {}) {
  return {
    id: `ev-${i}`,
    subject: `models/m${i}:1`,
    eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
    eventTime: '2026-01-02T03:04:05.000Z',
    data: { modelName: `m${i}`, modelTags: { stage: i % 2 ? 'prod' : 'dev' } },
    dataVersion: '2',
    ...over,
  };
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('Event Grid API on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let key1 = '';
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend);
  });
  afterAll(async () => {
    await s?.stop();
  });
  const publish = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/topics/${name}/api/events?api-version=2018-01-01`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key1, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const pending = async (scope: string, name: string) => {
    const r = await s.arm('GET', `${subPath(scope, name)}/deliveries?status=pending`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { value: { event: { id: string } }[] }).value.map((d) => d.event.id);
  };

  it.skipIf(skip)('creates a topic with Azure shape and keys', async () => {
    const r = await s.arm('PUT', `/${topicPath('topic-a')}`, { location: 'local', tags: { team: 'ml' } });
    expect(r.status).toBe(201);
    const t = await r.json();
    expect(t).toMatchObject({
      id: topicPath('topic-a'),
      name: 'topic-a',
      type: 'Microsoft.EventGrid/topics',
      location: 'local',
      tags: { team: 'ml' },
      properties: {
        provisioningState: 'Succeeded',
        inputSchema: 'EventGridSchema',
        endpoint: `${s.url}/topics/topic-a/api/events`,
      },
    });
    expect((await s.arm('PUT', topicPath('topic-a'), { location: 'local' })).status).toBe(200);
    const keys = await (await s.arm('POST', `${topicPath('topic-a')}/listKeys`)).json();
    expect(keys.key1).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(keys.key2).not.toBe(keys.key1);
    key1 = keys.key1;
    const regen = await (
      await s.arm('POST', `${topicPath('topic-a')}/regenerateKey`, { keyName: 'key2' })
    ).json();
    expect(regen.key1).toBe(keys.key1);
    expect(regen.key2).not.toBe(keys.key2);
  });

  it.skipIf(skip)(
    'lists, patches and deletes topics; 404, 405, 401 and 400 use the error envelope',
    async () => {
      await s.arm('PUT', topicPath('topic-b'), { location: 'local' });
      const list = await (await s.arm('GET', `${RG}/providers/Microsoft.EventGrid/topics`)).json();
      expect(list.value.map((t: { name: string }) => t.name)).toEqual(['topic-a', 'topic-b']);
      const bySub = await (
        await s.arm('GET', '/subscriptions/sub-a/providers/Microsoft.EventGrid/topics')
      ).json();
      expect(bySub.value).toHaveLength(2);
      const patched = await (await s.arm('PATCH', topicPath('topic-b'), { tags: { a: 'b' } })).json();
      expect(patched.tags).toEqual({ a: 'b' });
      expect((await s.arm('DELETE', topicPath('topic-b'))).status).toBe(200);
      expect((await s.arm('DELETE', topicPath('topic-b'))).status).toBe(204);

      const nf = await s.arm('GET', topicPath('nope'));
      expect(nf.status).toBe(404);
      expect((await nf.json()).error.code).toBe('ResourceNotFound');
      const wrong = await s.arm('POST', topicPath('topic-a'));
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('PUT, GET, PATCH, DELETE');
      expect((await s.arm('GET', '/subscriptions/x/whatever')).status).toBe(404);
      expect((await fetch(`${s.url}/nothing/here`)).status).toBe(404);
      const anon = await fetch(`${s.url}${topicPath('topic-a')}?api-version=2022-06-15`);
      expect(anon.status).toBe(401);
      expect((await anon.json()).error.code).toBe('Unauthorized');
      const bad = await s.arm('PUT', topicPath('topic-c'), {
        location: 'local',
        properties: { inputSchema: 'Nope' },
      });
      expect(bad.status).toBe(400);
      expect((await bad.json()).error).toMatchObject({
        code: 'InvalidRequestContent',
        target: 'properties.inputSchema',
      });
      const badJson = await s.arm('PUT', topicPath('topic-c'), '{"location":');
      expect(badJson.status).toBe(400);
      expect((await badJson.json()).error.code).toBe('InvalidRequestContent');
    },
  );

  it.skipIf(skip)('stores a filtered webhook subscription and hides its secrets', async () => {
    const body = {
      properties: {
        destination: {
          endpointType: 'WebHook',
          properties: {
            endpointUrl: 'https://hooks.example.test/api?code=s3cret',
            maxEventsPerBatch: 10,
            deliveryAttributeMappings: [
              { name: 'x-token', type: 'Static', properties: { value: 'hidden-value', isSecret: true } },
              { name: 'x-model', type: 'Dynamic', properties: { sourceField: 'data.modelName' } },
            ],
          },
        },
        filter: {
          includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'],
          subjectBeginsWith: 'models/',
          advancedFilters: [{ operatorType: 'StringIn', key: 'data.modelTags.stage', values: ['PROD'] }],
        },
        labels: ['l1'],
        retryPolicy: { maxDeliveryAttempts: 5, eventTimeToLiveInMinutes: 60 },
      },
    };
    const r = await s.arm('PUT', subPath(topicPath('topic-a'), 'prod-models'), body);
    expect(r.status).toBe(201);
    const text = await r.text();
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('hidden-value');
    const out = JSON.parse(text);
    expect(out).toMatchObject({
      id: subPath(topicPath('topic-a'), 'prod-models'),
      name: 'prod-models',
      type: 'Microsoft.EventGrid/eventSubscriptions',
      properties: {
        topic: topicPath('topic-a'),
        provisioningState: 'Succeeded',
        destination: {
          endpointType: 'WebHook',
          properties: { endpointBaseUrl: 'https://hooks.example.test/api' },
        },
        retryPolicy: { maxDeliveryAttempts: 5, eventTimeToLiveInMinutes: 60 },
        eventDeliverySchema: 'EventGridSchema',
        labels: ['l1'],
      },
    });
    expect(out.properties.destination.properties.endpointUrl).toBeUndefined();
    const full = await (
      await s.arm('POST', `${subPath(topicPath('topic-a'), 'prod-models')}/getFullUrl`)
    ).json();
    expect(full).toEqual({ endpointUrl: 'https://hooks.example.test/api?code=s3cret' });
    const attrs = await (
      await s.arm('POST', `${subPath(topicPath('topic-a'), 'prod-models')}/getDeliveryAttributes`)
    ).json();
    expect(attrs.value[0]).toEqual({
      name: 'x-token',
      type: 'Static',
      properties: { value: 'hidden-value', isSecret: true },
    });
    const listed = await (
      await s.arm('GET', `${topicPath('topic-a')}/providers/Microsoft.EventGrid/eventSubscriptions`)
    ).json();
    expect(listed.value.map((x: { name: string }) => x.name)).toEqual(['prod-models']);
  });

  it.skipIf(skip)('rejects invalid subscriptions with 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ properties: {} }, 'properties.destination'],
      [
        {
          properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: 'not a url' } } },
        },
        'properties.destination.properties.endpointUrl',
      ],
      [
        {
          properties: {
            destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
            filter: {
              advancedFilters: Array.from({ length: 26 }, () => ({
                operatorType: 'IsNotNull',
                key: 'data.a',
              })),
            },
          },
        },
        'properties.filter.advancedFilters',
      ],
      [
        {
          properties: {
            destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
            retryPolicy: { maxDeliveryAttempts: 31 },
          },
        },
        'properties.retryPolicy.maxDeliveryAttempts',
      ],
    ];
    for (const [body, target] of cases) {
      const r = await s.arm('PUT', subPath(topicPath('topic-a'), 'bad-sub'), body);
      expect(r.status, target).toBe(400);
      expect((await r.json()).error.target).toBe(target);
    }
    const badName = await s.arm('PUT', subPath(topicPath('topic-a'), 'a_b'), cases[0]![0]);
    expect(badName.status).toBe(400);
    const noTopic = await s.arm('PUT', subPath(topicPath('missing-topic'), 'sub-x'), {
      properties: {
        destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
      },
    });
    expect(noTopic.status).toBe(404);
  });

  it.skipIf(skip)('queues exactly the matching events for each subscription', async () => {
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/h' } };
    await s.arm('PUT', subPath(topicPath('topic-a'), 'all-events'), { properties: { destination: hook } });
    await s.arm('PUT', subPath(RG, 'rg-level'), {
      properties: {
        destination: hook,
        filter: {
          subjectEndsWith: ':1',
          advancedFilters: [{ operatorType: 'NumberGreaterThan', key: 'data.n', value: 2 }],
        },
      },
    });
    const r = await publish('topic-a', [
      egEvent(1, { data: { modelName: 'm1', modelTags: { stage: 'prod' }, n: 3 } }),
      egEvent(2),
      egEvent(3),
      egEvent(4, { eventType: 'Other' }),
    ]);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('');
    expect(await pending(topicPath('topic-a'), 'prod-models')).toEqual(['ev-1', 'ev-3']);
    expect(await pending(topicPath('topic-a'), 'all-events')).toEqual(['ev-1', 'ev-2', 'ev-3', 'ev-4']);
    expect(await pending(RG, 'rg-level')).toEqual(['ev-1']);
    const stored = await (
      await s.arm('GET', `${subPath(topicPath('topic-a'), 'prod-models')}/deliveries`)
    ).json();
    expect(stored.value[0].event).toEqual({
      ...egEvent(1, { data: { modelName: 'm1', modelTags: { stage: 'prod' }, n: 3 } }),
      topic: topicPath('topic-a'),
      metadataVersion: '1',
    });

    // PATCH the filter: routing follows at once.
    const p = await s.arm('PATCH', subPath(topicPath('topic-a'), 'prod-models'), {
      filter: { subjectBeginsWith: 'models/m5' },
    });
    expect(p.status).toBe(200);
    await publish('topic-a', [egEvent(5), egEvent(6)]);
    expect(await pending(topicPath('topic-a'), 'prod-models')).toEqual(['ev-1', 'ev-3', 'ev-5']);
    expect((await s.arm('DELETE', subPath(RG, 'rg-level'))).status).toBe(200);
    await publish('topic-a', [egEvent(51, { subject: 'x:1', data: { n: 9 } })]);
    expect((await s.arm('GET', subPath(RG, 'rg-level'))).status).toBe(404);
  });

  it.skipIf(skip)('stamps dataVersion and checks topic, metadataVersion, fields and limits', async () => {
    const { dataVersion: _dv, ...noVersion } = egEvent(7);
    expect((await publish('topic-a', [noVersion])).status).toBe(200);
    const all = await pending(topicPath('topic-a'), 'all-events');
    expect(all).toContain('ev-7');

    const check = async (
      body: unknown,
      status: number,
      target?: string,
      headers?: Record<string, string>,
    ) => {
      const r = await publish('topic-a', body, headers);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      const e = await r.json();
      expect(e.error.code).toBeTypeOf('string');
      if (target) expect(e.error.target).toBe(target);
    };
    await check([egEvent(8), egEvent(9, { eventTime: undefined })], 400, '[1].eventTime');
    await check([egEvent(8, { id: 5 })], 400, '[0].id');
    await check([egEvent(8, { topic: '/subscriptions/other' })], 400, '[0].topic');
    await check([egEvent(8, { metadataVersion: '2' })], 400, '[0].metadataVersion');
    await check('[{"id":', 400, 'body');
    await check({ not: 'an array' }, 400, 'body');
    await check(
      Array.from({ length: 5001 }, (_, i) => ({ id: String(i) })),
      400,
      'body',
    );
    await check([egEvent(8, { data: 'x'.repeat(1024 * 1024) })], 413);
    await check([egEvent(8)], 401, undefined, { 'aeg-sas-key': 'wrong' });
    await check([egEvent(8)], 415, undefined, { 'content-type': 'text/plain' });
    const nf = await fetch(`${s.url}/topics/nope/api/events`, {
      method: 'POST',
      headers: { 'aeg-sas-key': key1 },
      body: '[]',
    });
    expect(nf.status).toBe(404);
    // Nothing from the rejected requests was stored.
    expect(await pending(topicPath('topic-a'), 'all-events')).not.toContain('ev-8');
  });

  it.skipIf(skip)(
    'accepts the key in the query string and SAS tokens in Authorization and aeg-sas-token',
    async () => {
      const url = `${s.url}/topics/topic-a/api/events`;
      const token = generateSasToken(url, new Date(Date.now() + 60_000), key1);
      const send = (id: string, headers: Record<string, string>, query = '') =>
        fetch(`${url}?api-version=2018-01-01${query}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify([egEvent(0, { id })]),
        });
      expect((await send('q1', {}, `&aeg-sas-key=${encodeURIComponent(key1)}`)).status).toBe(200);
      expect((await send('a1', { authorization: `SharedAccessSignature ${token}` })).status).toBe(200);
      expect((await send('t1', { 'aeg-sas-token': token })).status).toBe(200);
      expect((await send('n1', {})).status).toBe(401);
      const otherTopic = generateSasToken(
        `${s.url}/topics/topic-b/api/events`,
        new Date(Date.now() + 60_000),
        key1,
      );
      expect((await send('o1', { 'aeg-sas-token': otherTopic })).status).toBe(401);
      expect(await pending(topicPath('topic-a'), 'all-events')).toEqual(
        expect.arrayContaining(['q1', 'a1', 't1']),
      );
    },
  );

  it.skipIf(skip)('maps CloudEvents and custom-schema topics', async () => {
    await s.arm('PUT', topicPath('topic-ce'), {
      location: 'local',
      properties: { inputSchema: 'CloudEventSchemaV1_0' },
    });
    const ceKey = (await (await s.arm('POST', `${topicPath('topic-ce')}/listKeys`)).json()).key1;
    await s.arm('PUT', subPath(topicPath('topic-ce'), 'ce-sub'), {
      properties: {
        destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
        filter: { advancedFilters: [{ operatorType: 'StringIn', key: 'myext', values: ['yes'] }] },
      },
    });
    const ce = (id: string, ext: string) => ({
      specversion: '1.0',
      id,
      source: '/src',
      type: 'T',
      myext: ext,
      data: { a: 1 },
    });
    const r = await fetch(`${s.url}/topics/topic-ce/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8', 'aeg-sas-key': ceKey },
      body: JSON.stringify([ce('c1', 'yes'), ce('c2', 'no')]),
    });
    expect(r.status).toBe(200);
    const single = await fetch(`${s.url}/topics/topic-ce/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8', 'aeg-sas-key': ceKey },
      body: JSON.stringify(ce('c3', 'YES')),
    });
    expect(single.status).toBe(200);
    expect(await pending(topicPath('topic-ce'), 'ce-sub')).toEqual(['c1', 'c3']);

    await s.arm('PUT', topicPath('topic-custom'), {
      location: 'local',
      properties: {
        inputSchema: 'CustomInputSchema',
        inputSchemaMapping: {
          inputSchemaMappingType: 'Json',
          properties: {
            id: { sourceField: 'myId' },
            subject: { sourceField: 'where' },
            eventType: { defaultValue: 'Custom.Thing' },
          },
        },
      },
    });
    const cKey = (await (await s.arm('POST', `${topicPath('topic-custom')}/listKeys`)).json()).key1;
    await s.arm('PUT', subPath(topicPath('topic-custom'), 'custom-sub'), {
      properties: {
        destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
        filter: {
          includedEventTypes: ['Custom.Thing'],
          advancedFilters: [{ operatorType: 'NumberIn', key: 'data.level', values: [3] }],
        },
      },
    });
    const cr = await fetch(`${s.url}/topics/topic-custom/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': cKey },
      body: JSON.stringify([
        { myId: 'x1', where: 'a/b', level: 3 },
        { myId: 'x2', where: 'a/c', level: 4 },
      ]),
    });
    expect(cr.status).toBe(200);
    const d = await (
      await s.arm('GET', `${subPath(topicPath('topic-custom'), 'custom-sub')}/deliveries`)
    ).json();
    expect(d.value.map((x: { event: unknown }) => x.event)).toEqual([
      expect.objectContaining({
        id: 'x1',
        subject: 'a/b',
        eventType: 'Custom.Thing',
        data: { myId: 'x1', where: 'a/b', level: 3 },
      }),
    ]);
  });

  it.skipIf(skip)('deletes a topic together with its subscriptions', async () => {
    expect((await s.arm('DELETE', topicPath('topic-ce'))).status).toBe(200);
    expect((await s.arm('GET', subPath(topicPath('topic-ce'), 'ce-sub'))).status).toBe(404);
  });
});
