/** Two mlgrid nodes on one PostgreSQL database: each routes with subscriptions the other created. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, skipWithoutPostgres, uniqueSchema } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const skip = await skipWithoutPostgres('multi-node');
const TOPIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/shared-topic';
const SUB = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;

describe.skipIf(skip)('two nodes on PostgreSQL', () => {
  const schema = uniqueSchema('mn');
  let a: TestServer;
  let b: TestServer;
  let key = '';
  beforeAll(async () => {
    a = await startTestServer('postgres', { schema });
    b = await startTestServer('postgres', { schema });
    await a.arm('PUT', TOPIC, { location: 'local' });
    key = (await (await b.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await dropSchema(schema);
  });

  const publishVia = (node: TestServer, id: string) =>
    fetch(`${node.url}/topics/shared-topic/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify([
        { id, eventType: 'T', subject: 's', eventTime: '2026-01-01T00:00:00Z', data: {} },
      ]),
    });
  const queued = async (node: TestServer, sub: string) =>
    (
      (await (await node.arm('GET', `${SUB(sub)}/deliveries`)).json()).value as { event: { id: string } }[]
    ).map((d) => d.event.id);

  /** Publishes through `node` until `sub` receives an event (the change notice is asynchronous), at most ~5 s. */
  async function publishUntilRouted(node: TestServer, sub: string, prefix: string): Promise<string[]> {
    for (let i = 0; i < 100; i++) {
      expect((await publishVia(node, `${prefix}-${i}`)).status).toBe(200);
      const got = await queued(node, sub);
      if (got.length > 0) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
    return [];
  }

  it('routes on node B with a subscription created on node A, follows the PATCH and DELETE made on A', async () => {
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } };
    expect((await a.arm('PUT', SUB('from-a'), { properties: { destination: hook } })).status).toBe(201);
    const got = await publishUntilRouted(b, 'from-a', 'b');
    expect(got.length).toBeGreaterThan(0);

    expect((await a.arm('PATCH', SUB('from-a'), { filter: { subjectBeginsWith: 'only/' } })).status).toBe(
      200,
    );
    expect((await a.arm('PUT', SUB('probe'), { properties: { destination: hook } })).status).toBe(201);
    await publishUntilRouted(b, 'probe', 'p'); // B has seen changes made after the PATCH, so the PATCH too
    const before = (await queued(b, 'from-a')).length;
    expect((await publishVia(b, 'after-patch')).status).toBe(200);
    expect(await queued(b, 'from-a')).toHaveLength(before);

    expect((await a.arm('DELETE', SUB('from-a'))).status).toBe(200);
    expect((await a.arm('PUT', SUB('probe-2'), { properties: { destination: hook } })).status).toBe(201);
    await publishUntilRouted(b, 'probe-2', 'q'); // B has seen the DELETE
    expect((await publishVia(b, 'after-delete')).status).toBe(200);
    expect((await b.arm('GET', SUB('from-a'))).status).toBe(404);
    expect(await queued(b, 'probe-2')).toContain('after-delete');
  });
});
