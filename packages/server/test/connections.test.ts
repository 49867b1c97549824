/** The broker connection registry: API on both stores, secrets masked, admin only; the directory across nodes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres-store.js';
import { createEgressGuard } from '../src/core/egress.js';
import { brokerEgressDenied, ConnectionsService } from '../src/services/connections.js';
import { dropSchema, skipWithoutPostgres, TEST_DATABASE_URL, uniqueSchema } from './helpers/postgres.js';
import { as, createPrincipal, assign } from './helpers/rbac.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('broker connections');
const NS = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ServiceBus/namespaces/ns1';
const PATH = '/providers/Microsoft.MLGrid/connections';
const body = (props: object) => ({ properties: { resourceId: NS, kind: 'amqp', ...props } });

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('connections API on $backend', ({ backend, skip }) => {
  let s: TestServer;
  beforeAll(async () => {
    if (!skip) s = await startTestServer(backend);
  });
  afterAll(async () => s?.stop());
  const json = async (r: Response) => ({ status: r.status, body: await r.json(), text: '' });

  it.skipIf(skip)('creates, reads, lists, replaces and deletes, never showing the password', async () => {
    const made = await s.arm('PUT', `${PATH}/rabbit`, body({ url: 'amqp://guest:hunter2@127.0.0.1:5672/' }));
    const text = await made.text();
    expect(made.status).toBe(201);
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toMatchObject({
      id: `${PATH}/rabbit`,
      name: 'rabbit',
      type: 'Microsoft.MLGrid/connections',
      properties: {
        resourceId: NS,
        kind: 'amqp',
        url: 'amqp://guest:***@127.0.0.1:5672/',
        username: 'guest',
        hasPassword: true,
        provisioningState: 'Succeeded',
      },
    });

    const got = await s.arm('GET', `${PATH}/RABBIT`); // names compare case-insensitively
    const gotText = await got.text();
    expect(got.status).toBe(200);
    expect(gotText).not.toContain('hunter2');
    expect(JSON.parse(gotText).name).toBe('rabbit');

    const list = await s.arm('GET', PATH);
    const listText = await list.text();
    expect(listText).not.toContain('hunter2');
    expect(JSON.parse(listText).value.map((c: { name: string }) => c.name)).toEqual(['rabbit']);

    // A GET body sent back unchanged keeps the stored password (the mask is not a password).
    const back = JSON.parse(gotText);
    const again = await s.arm('PUT', `${PATH}/rabbit`, {
      properties: { ...back.properties, description: 'd' },
    });
    expect(again.status).toBe(200);
    expect((await again.json()).properties).toMatchObject({ hasPassword: true, description: 'd' });

    // Separate credentials; a replace without a password has none.
    const sep = await s.arm(
      'PUT',
      `${PATH}/rabbit`,
      body({ url: 'amqps://mq.internal:5671', username: 'svc' }),
    );
    expect((await sep.json()).properties).toMatchObject({
      url: 'amqps://svc@mq.internal:5671',
      username: 'svc',
      hasPassword: false,
    });

    expect((await s.arm('DELETE', `${PATH}/rabbit`)).status).toBe(200);
    expect((await s.arm('DELETE', `${PATH}/rabbit`)).status).toBe(204);
    expect((await json(await s.arm('GET', `${PATH}/rabbit`))).status).toBe(404);
    expect((await (await s.arm('GET', PATH)).json()).value).toEqual([]);
  });

  it.skipIf(skip)('refuses a second connection for the same resource id (any case)', async () => {
    expect((await s.arm('PUT', `${PATH}/one`, body({ url: 'amqp://h1' }))).status).toBe(201);
    const twin = await json(
      await s.arm('PUT', `${PATH}/two`, body({ resourceId: NS.toUpperCase(), url: 'amqp://h2' })),
    );
    expect(twin.status).toBe(409);
    expect(twin.body.error).toMatchObject({ code: 'Conflict' });
    expect(twin.body.error.message).toContain("'one'");
    expect((await s.arm('DELETE', `${PATH}/one`)).status).toBe(200);
  });

  it.skipIf(skip)('answers 400 naming the field at fault', async () => {
    const cases: [object | string, string][] = [
      [{}, 'properties'],
      [{ properties: { kind: 'amqp', url: 'amqp://h' } }, 'properties.resourceId'],
      [body({ resourceId: '/subscriptions/s1/whatever', url: 'amqp://h' }), 'properties.resourceId'],
      [body({ kind: 'kafka', url: 'amqp://h' }), 'properties.kind'],
      [body({ url: 'redis://h:6379' }), 'properties.url'],
      [body({ url: 'amqp://a:b@h', password: 'c' }), 'properties.password'],
      [body({ url: 'amqp://h', username: 5 }), 'properties.username'],
      [body({ url: 'amqp://guest:***@h' }), 'properties.url'], // the mask, with nothing stored to keep
    ];
    for (const [b, target] of cases) {
      const r = await json(await s.arm('PUT', `${PATH}/bad`, b));
      expect({ b, status: r.status, target: r.body.error?.target }).toEqual({ b, status: 400, target });
    }
    const name = await json(await s.arm('PUT', `${PATH}/-x`, body({ url: 'amqp://h' })));
    expect(name.status).toBe(400);
    expect(name.body.error.target).toBe('name');
    expect((await s.arm('PATCH', `${PATH}/x`, body({ url: 'amqp://h' }))).status).toBe(405);
  });

  it.skipIf(skip)('is refused to anyone but the admin key, even an Owner, even to read', async () => {
    const owner = await createPrincipal(s, `owner-${backend}`);
    await assign(s, owner, 'Owner', '/subscriptions/s1');
    for (const [method, path] of [
      ['GET', PATH],
      ['GET', `${PATH}/x`],
      ['PUT', `${PATH}/x`],
      ['DELETE', `${PATH}/x`],
    ] as const) {
      const r = await as(
        s,
        owner.key,
        method,
        path,
        method === 'PUT' ? body({ url: 'amqp://h' }) : undefined,
      );
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 403 });
      expect((await r.json()).error.code).toBe('AuthorizationFailed');
    }
    expect((await as(s, undefined, 'GET', PATH)).status).toBe(401);
  });
});

describe.skipIf(pgSkip)('connection directory on two PostgreSQL nodes', () => {
  const schema = uniqueSchema();
  let a: PostgresStore;
  let b: PostgresStore;
  beforeAll(async () => {
    a = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema });
    b = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  it("sees another node's changes within its time to live, and its own at once", async () => {
    const nodeA = new ConnectionsService(a);
    const nodeB = new ConnectionsService(b, { ttlMs: 300 });
    const queue = `${NS}/queues/q1`;
    expect(await nodeB.forResource(queue)).toBeUndefined(); // cached as "none"
    await nodeA.put('rabbit', body({ url: 'amqp://guest:guest@127.0.0.1:5672' }));
    expect((await nodeA.forResource(queue))?.name).toBe('rabbit'); // its own change: no wait
    const seen = await until(
      () => nodeB.forResource(queue),
      (c) => c !== undefined,
      5000,
    );
    expect(seen).toEqual({
      name: 'rabbit',
      resourceId: NS,
      kind: 'amqp',
      url: 'amqp://guest:guest@127.0.0.1:5672',
    });
    await nodeA.delete('rabbit');
    expect(await nodeA.forResource(queue)).toBeUndefined();
    expect(
      await until(
        () => nodeB.forResource(queue),
        (c) => c === undefined,
        5000,
      ),
    ).toBeUndefined();
  });
});

describe('broker egress check', () => {
  it('checks IP literals as they are and every address a name resolves to', async () => {
    const open = createEgressGuard();
    const closed = createEgressGuard({ deny: ['127.0.0.0/8', '::1'] });
    expect(await brokerEgressDenied(open, 'amqp://guest:guest@localhost:5672')).toBeUndefined();
    expect(await brokerEgressDenied(closed, 'amqp://guest:guest@localhost:5672')).toMatch(
      /denied by policy \(resolved from 'localhost'\)/,
    );
    expect(await brokerEgressDenied(closed, 'nats://[::1]:4222')).toMatch(/egress to ::1 is denied/);
    expect(await brokerEgressDenied(open, 'redis://127.0.0.1:6379')).toBeUndefined();
    // The default policy alone: link-local / metadata (checked as a literal, nothing is contacted).
    expect(await brokerEgressDenied(open, 'mqtt://169.254.169.254:1883')).toMatch(/169\.254\.169\.254/);
  });
});
