/** The client against the real app in process (SQLite): every resource group, publish, delivery views, errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient, type FetchLike } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { until } from '../../server/test/helpers/until.js';

const RG = 'rg-client';
const WS = 'ws-client';

interface InboxItem {
  headers: Record<string, string>;
  body: { eventType?: string; subject?: string; data?: Record<string, unknown> }[];
}

describe('MlgridClient', () => {
  let s: TestServer;
  let client: MlgridClient;
  const inbox = async (name: string): Promise<InboxItem[]> =>
    ((await (await s.arm('GET', `/inbox/${name}`)).json()) as { value: InboxItem[] }).value;
  const hook = (name: string) => ({
    endpointType: 'WebHook' as const,
    properties: { endpointUrl: `${s.url}/inbox/${name}` },
  });

  beforeAll(async () => {
    s = await startTestServer('sqlite', { delivery: { timeScale: 0.001, pollMs: 20 } });
    client = new MlgridClient({ baseUrl: `${s.url}/`, key: ADMIN_KEY });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('creates a workspace', async () => {
    const ws = await client.workspaces.create(RG, WS, { location: 'local', tags: { team: 'ml' } });
    expect(ws.id).toBe(client.workspaceId(RG, WS));
    expect(ws.properties.provisioningState).toBe('Succeeded');
    expect((await client.workspaces.get(RG, WS)).tags).toEqual({ team: 'ml' });
    expect((await client.workspaces.list(RG)).map((w) => w.name)).toEqual([WS]);
    expect((await client.workspaces.list()).map((w) => w.name)).toContain(WS);
  });

  it('publishes to a topic with its key and the subscription receives the event', async () => {
    const topic = await client.topics.create(RG, 'orders', { location: 'local' });
    expect(topic.properties.endpoint).toBe(`${s.url}/topics/orders/api/events`);
    expect((await client.topics.list(RG)).map((t) => t.name)).toEqual(['orders']);
    const keys = await client.topics.listKeys(RG, 'orders');
    const scope = client.topicId(RG, 'orders');
    const sub = await client.eventSubscriptions.create(scope, 'to-inbox', {
      properties: { destination: hook('x') },
    });
    expect(sub.properties.provisioningState).toBe('Succeeded');
    expect(await client.eventSubscriptions.getFullUrl(scope, 'to-inbox')).toBe(`${s.url}/inbox/x`);
    expect((await client.eventSubscriptions.list(scope)).map((e) => e.name)).toEqual(['to-inbox']);

    const event = {
      id: 'e-1',
      subject: 'orders/1',
      eventType: 'Shop.OrderPlaced',
      eventTime: new Date().toISOString(),
      data: { total: 42 },
    };
    await client.publish('orders', [event], { key: keys.key1 });
    const got = await until(
      () => inbox('x'),
      (items) => items.length > 0,
    );
    expect(got[0]!.body[0]).toMatchObject({ id: 'e-1', eventType: 'Shop.OrderPlaced', data: { total: 42 } });
    expect(got[0]!.headers['aeg-subscription-name']).toBe('TO-INBOX');

    // The endpoint URL form and the admin Bearer both publish too.
    await client.publish(topic.properties.endpoint, [{ ...event, id: 'e-2' }]);

    const deliveries = await until(
      () => client.eventSubscriptions.deliveries(scope, 'to-inbox', { status: 'delivered' }),
      (p) => p.value.length === 2,
    );
    expect(deliveries.value.map((d) => d.event.id)).toEqual(['e-1', 'e-2']);
    const attempts = await client.eventSubscriptions.deliveryAttempts(scope, 'to-inbox', { top: 1 });
    expect(attempts.value).toHaveLength(1);
    expect(attempts.value[0]).toMatchObject({ outcome: 'Succeeded', statusCode: 200, eventIds: ['e-1'] });
    expect(attempts.nextAfter).toBe(attempts.value[0]!.id);
    expect((await client.eventSubscriptions.deadLetters(scope, 'to-inbox')).value).toEqual([]);
    expect(await client.eventSubscriptions.redrive(scope, 'to-inbox', { all: true })).toEqual({
      redriven: 0,
    });
    const replay = await client.eventSubscriptions.replay(scope, 'to-inbox', new Date(Date.now() - 60_000));
    expect(replay.enqueued).toBe(2);

    const patched = await client.eventSubscriptions.update(scope, 'to-inbox', { labels: ['a'] });
    expect(patched.properties.labels).toEqual(['a']);
    expect(await client.eventSubscriptions.delete(scope, 'to-inbox')).toBe(true);
    expect(await client.eventSubscriptions.delete(scope, 'to-inbox')).toBe(false);
  });

  it('publishes CloudEvents with the CloudEvents content types', async () => {
    const types: (string | undefined)[] = [];
    const c = new MlgridClient({
      baseUrl: s.url,
      key: ADMIN_KEY,
      fetch: (url, init) => {
        types.push((init.headers as Record<string, string>)['content-type']);
        return fetch(url, init);
      },
    });
    const props = { inputSchema: 'CloudEventSchemaV1_0' as const };
    await c.topics.create(RG, 'ce-topic', { location: 'local', properties: props });
    const { key2 } = await c.topics.listKeys(RG, 'ce-topic');
    const ce = { specversion: '1.0' as const, id: 'c-1', source: 'test', type: 'T.Happened', data: { a: 1 } };
    await c.publish('ce-topic', [ce], { key: key2 });
    await c.publish('ce-topic', { ...ce, id: 'c-2' }, { key: key2 });
    expect(types.slice(2)).toEqual(['application/cloudevents-batch+json', 'application/cloudevents+json']);
    expect(await c.topics.delete(RG, 'ce-topic')).toBe(true);
  });

  it('registers a model version and ModelRegistered is delivered', async () => {
    await client.eventSubscriptions.create(client.workspaceId(RG, WS), 'models', {
      properties: {
        destination: hook('models'),
        filter: { includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'] },
      },
    });
    const v = await client.models.register(RG, WS, 'churn', '1', { properties: { modelUri: 'file:///m/1' } });
    expect(v.name).toBe('1');
    expect((await client.models.listVersions(RG, WS, 'churn')).map((x) => x.name)).toEqual(['1']);
    expect((await client.models.getContainer(RG, WS, 'churn')).properties.latestVersion).toBe('1');
    const got = await until(
      () => inbox('models'),
      (items) => items.length > 0,
    );
    expect(got[0]!.body[0]).toMatchObject({
      eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
      subject: 'models/churn:1',
    });
  });

  it('runs a job to completion and reads its log', async () => {
    const created = await client.jobs.create(RG, WS, 'hello', {
      properties: { jobType: 'Command', command: 'echo hi', environmentId: 'azureml:local-env:1' },
    });
    expect(['NotStarted', 'Queued', 'Starting', 'Running']).toContain(created.properties.status);
    const done = await client.jobs.waitFor(RG, WS, 'hello', { intervalMs: 50, timeoutMs: 15_000 });
    expect(done.properties.status).toBe('Completed');
    expect(done.properties.mlgridRun.exitCode).toBe(0);
    expect(await client.jobs.logs(RG, WS, 'hello')).toBe('hi\n');
    expect(await client.jobs.logs(RG, WS, 'hello', { tail: 0 })).toBe('');
    expect((await client.jobs.list(RG, WS)).map((j) => j.name)).toEqual(['hello']);
    expect(await client.jobs.cancel(RG, WS, 'hello')).toEqual({ final: true });
    expect(await client.jobs.delete(RG, WS, 'hello')).toBe(true);
  });

  it('throws ApiError with status, code and target', async () => {
    const bad = await client.models
      .register(RG, WS, 'churn', '2', { properties: { modelUri: 'ftp://x' } })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect(bad).toMatchObject({ status: 400, code: 'InvalidRequestContent', target: 'properties.modelUri' });
    const missing = await client.topics.get(RG, 'nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: 'ResourceNotFound' });
    const anon = new MlgridClient({ baseUrl: s.url });
    await expect(anon.topics.list()).rejects.toMatchObject({ status: 401, code: 'Unauthorized' });
  });

  it('sends through an injected fetch: Bearer key, api-versions, topic key on publish', async () => {
    const calls: { url: URL; init: RequestInit }[] = [];
    const recording: FetchLike = (url, init) => {
      calls.push({ url: new URL(url), init });
      return fetch(url, init);
    };
    const c = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY, subscriptionId: 'sub-1', fetch: recording });
    await c.topics.create(RG, 'recorded', { location: 'local' });
    await c.workspaces.get(RG, WS).catch(() => undefined);
    const { key1 } = await c.topics.listKeys(RG, 'recorded');
    const event = {
      id: 'r-1',
      subject: 's',
      eventType: 'T',
      eventTime: new Date().toISOString(),
      data: null,
    };
    await c.publish('recorded', [event], { key: key1 });

    const headers = (i: number) => calls[i]!.init.headers as Record<string, string>;
    expect(calls.map((x) => `${x.init.method} ${x.url.pathname}`)).toEqual([
      'PUT /subscriptions/sub-1/resourceGroups/rg-client/providers/Microsoft.EventGrid/topics/recorded',
      'GET /subscriptions/sub-1/resourceGroups/rg-client/providers/Microsoft.MachineLearningServices/workspaces/ws-client',
      'POST /subscriptions/sub-1/resourceGroups/rg-client/providers/Microsoft.EventGrid/topics/recorded/listKeys',
      'POST /topics/recorded/api/events',
    ]);
    expect(calls.map((x) => x.url.searchParams.get('api-version'))).toEqual([
      '2022-06-15',
      '2022-10-01',
      '2022-06-15',
      '2018-01-01',
    ]);
    expect(headers(0).authorization).toBe(`Bearer ${ADMIN_KEY}`);
    expect(headers(0)['content-type']).toBe('application/json');
    expect(headers(3)['aeg-sas-key']).toBe(key1);
    expect(headers(3).authorization).toBeUndefined();
  });

  it('maps a response without Azure’s envelope to code HttpError', async () => {
    const c = new MlgridClient({
      baseUrl: 'http://mlgrid.test',
      key: 'k',
      fetch: async () => new Response('bad gateway', { status: 502 }),
    });
    const err = await c.topics.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 502, code: 'HttpError', details: [] });
    expect((err as ApiError).message).toContain('bad gateway');
  });
});
