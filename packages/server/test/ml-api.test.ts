/** The ML workspace routes over real HTTP on both stores: workspaces, models, and the ModelRegistered outbox. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const pgSkip = await skipWithoutPostgres('ml api');
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-a';

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('ML workspace API on $backend', ({ backend, skip }) => {
  let s: TestServer;
  beforeAll(async () => {
    if (!skip) s = await startTestServer(backend);
  });
  afterAll(async () => s?.stop());

  it.skipIf(skip)('creates workspaces, refuses bad bodies and unknown parents', async () => {
    const put = await s.arm('PUT', WS, { location: 'local', tags: { team: 'ml' } });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({
      id: WS,
      name: 'ws-a',
      type: 'Microsoft.MachineLearningServices/workspaces',
    });
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(200);
    const bad = await s.arm('PUT', `${WS}x`, { tags: {} });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.target).toBe('location');
    const orphan = await s.arm('PUT', `${WS}-missing/models/m/versions/1`, {
      properties: { modelUri: 'file:///m' },
    });
    expect(orphan.status).toBe(404);
    const badVersion = await s.arm('PUT', `${WS}/models/m/versions/1`, {
      properties: { modelUri: 'ftp://x' },
    });
    expect(badVersion.status).toBe(400);
    expect((await badVersion.json()).error.target).toBe('properties.modelUri');
    expect((await s.arm('POST', WS)).status).toBe(405);
  });

  it.skipIf(skip)('queues one ModelRegistered per registration, ordered by sequencer', async () => {
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } };
    const es = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/models`;
    expect((await s.arm('PUT', es, { properties: { destination: hook } })).status).toBe(201);
    for (const v of ['1', '2', '10']) {
      const r = await s.arm('PUT', `${WS}/models/churn/versions/${v}`, {
        properties: { modelUri: `file:///m/${v}` },
      });
      expect(r.status).toBe(201);
    }
    const q = (await (await s.arm('GET', `${es}/deliveries`)).json()).value.map(
      (d: { event: { subject: string; data: { sequencer: string } } }) => d.event,
    );
    expect(q.map((e: { subject: string }) => e.subject)).toEqual([
      'models/churn:1',
      'models/churn:2',
      'models/churn:10',
    ]);
    const seqs = q.map((e: { data: { sequencer: string } }) => e.data.sequencer);
    expect([...seqs].sort()).toEqual(seqs);
    const list = await (await s.arm('GET', `${WS}/models/churn/versions`)).json();
    expect(list.value.map((v: { name: string }) => v.name)).toEqual(['1', '2', '10']);
    expect((await (await s.arm('GET', `${WS}/models/churn`)).json()).properties.latestVersion).toBe('10');
    expect((await s.arm('DELETE', `${WS}/models/churn/versions/2`)).status).toBe(200);
    expect((await s.arm('GET', `${WS}/models/churn/versions/2`)).status).toBe(404);
    expect((await s.arm('DELETE', WS)).status).toBe(200);
    expect((await s.arm('GET', `${WS}/models/churn`)).status).toBe(404);
  });
});
