/**
 * Automation triggers on other sources: a CloudEvents topic (delivered as CloudEvents, its `correlationid`
 * extension becoming the run's correlation id), a resource group (every workspace below it); subscribing to
 * another source needs the right to; deleting the workspace removes a trigger kept on another source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finished,
  fixture,
  scriptedReceiver,
  WS_PREFIX,
  type Json,
  type Scripted,
} from './automations-kit.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { as, assign, createPrincipal, expectAuthorizationFailed } from './helpers/rbac.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('automation sources');
const RG = '/subscriptions/s1/resourceGroups/rg1';

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('automation sources on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let rx: Scripted;
  let f: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend, {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false },
      automations: { pollMs: 50 },
    });
    rx = await scriptedReceiver();
    f = await fixture(s, `src-${backend}`);
  });
  afterAll(async () => {
    await rx?.close();
    await s?.stop();
  });
  const call = (tag: string) => ({
    name: 'call',
    type: 'httpRequest',
    url: `${rx.url}/${tag}`,
    body: { type: '{{eventType}}', corr: '{{lineage.correlationId}}', subject: '{{subject}}' },
  });

  it.skipIf(skip)('triggers on a CloudEvents topic, taking the correlationid extension', async () => {
    const ce = `${RG}/providers/Microsoft.EventGrid/topics/ce-${backend}`;
    await s.arm('PUT', ce, { location: 'local', properties: { inputSchema: 'CloudEventSchemaV1_0' } });
    const key = ((await (await s.arm('POST', `${ce}/listKeys`)).json()) as Json).key1;
    await f.put('ce', { trigger: { source: ce }, steps: [call('ce')] });
    const es = (await (
      await s.arm('GET', `${ce}/providers/Microsoft.EventGrid/eventSubscriptions/automation-ce`)
    ).json()) as Json;
    expect(es.properties.eventDeliverySchema).toBe('CloudEventSchemaV1_0');
    const r = await fetch(`${s.url}/topics/ce-${backend}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', 'aeg-sas-key': key },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'ce-1',
        source: '/app',
        type: 'App.Thing',
        subject: 'things/1',
        data: {},
        correlationid: 'root-7',
      }),
    });
    expect(r.status).toBe(200);
    await f.runsUntil('ce', (x) => x.length === 1 && finished(x[0]!));
    expect(JSON.parse(rx.hits.find((h) => h.url === '/ce')!.body)).toEqual({
      type: 'App.Thing',
      corr: 'root-7',
      subject: 'things/1',
    });
  });

  it.skipIf(skip)(
    'triggers on every workspace of a resource group; needs the right to subscribe there',
    async () => {
      await f.put('rg', {
        trigger: { source: RG, includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'] },
        steps: [call('rg')],
      });
      const other = `${WS_PREFIX}/other-${backend}`;
      expect((await s.arm('PUT', other, { location: 'local' })).status).toBe(201);
      await s.arm('PUT', `${other}/models/m/versions/1`, { properties: { modelUri: 'file:///m' } });
      await f.runsUntil('rg', (x) => x.length === 1 && finished(x[0]!));
      expect(JSON.parse(rx.hits.find((h) => h.url === '/rg')!.body).subject).toBe('models/m:1');

      // A contributor of the workspace alone may not subscribe to the resource group.
      const p = await createPrincipal(s, `auto-${backend}`);
      await assign(s, p, 'Contributor', f.ws);
      const body = { properties: { trigger: { source: RG }, steps: [call('x')] } };
      await expectAuthorizationFailed(await as(s, p.key, 'PUT', f.auto('wide'), body));
      expect((await s.arm('GET', f.auto('wide'))).status).toBe(404);
      const own = await as(s, p.key, 'PUT', f.auto('narrow'), { properties: { steps: [call('x')] } });
      expect(own.status).toBe(201);
    },
  );

  it.skipIf(skip)('deleting the workspace removes a trigger kept on another source', async () => {
    const es = `${f.topic}/providers/Microsoft.EventGrid/eventSubscriptions/automation-gone`;
    await f.put('gone', { steps: [call('gone')] });
    expect((await s.arm('GET', es)).status).toBe(200);
    expect((await s.arm('DELETE', f.ws)).status).toBe(200);
    expect((await s.arm('GET', es)).status).toBe(404);
    await until(
      async () => (await s.arm('GET', f.auto('gone'))).status,
      (c) => c === 404,
    );
  });
});
