/**
 * `client.functions` and `client.connections` against the real app in process (SQLite): CRUD round trips, 400s
 * naming the field, a connection's password never returned (and kept by the mask), connections admin only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient, type ConnectionIn } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';

const RG = 'rg-fn';
const APP = 'ml-app';
const PASSWORD = 'pa55-w0rd-never-shown';
const NS = '/subscriptions/s1/resourceGroups/ml/providers/Microsoft.ServiceBus/namespaces/ml-bus';

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('MlgridClient functions and connections', () => {
  let s: TestServer;
  let client: MlgridClient;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { jobs: { enabled: false } });
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
  });
  afterAll(async () => s?.stop());

  it('puts, gets, lists, replaces and deletes local functions', async () => {
    const fn = await client.functions.createOrUpdate(RG, APP, 'deployOnTags', {
      properties: {
        config: {
          mlgrid: { command: ['python3', 'deploy_on_tags.py'], env: { STAGE: 'prod' }, timeoutSeconds: 120 },
          bindings: [{ type: 'eventGridTrigger', name: 'event', direction: 'in' }],
        },
      },
    });
    expect(fn.id).toBe(client.functions.id(RG, APP, 'deployOnTags'));
    expect(fn.id).toBe(
      `/subscriptions/${client.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}/functions/deployOnTags`,
    );
    expect(fn).toMatchObject({
      name: `${APP}/deployOnTags`,
      type: 'Microsoft.Web/sites/functions',
      properties: {
        function_app_id: `/subscriptions/${client.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`,
        language: 'python',
        isDisabled: false,
        config: {
          mlgrid: { command: ['python3', 'deploy_on_tags.py'], env: { STAGE: 'prod' }, timeoutSeconds: 120 },
          bindings: [{ type: 'eventGridTrigger', name: 'event', direction: 'in' }],
        },
      },
    });
    expect(fn.properties.config.mlgrid.maxConcurrency).toBe(4); // the default, filled in
    expect(await client.functions.get(RG, APP, 'deployOnTags')).toEqual(fn);

    await client.functions.createOrUpdate(RG, APP, 'notify', {
      properties: { config: { mlgrid: { module: 'notify.mjs' } }, isDisabled: true },
    });
    const list = await client.functions.list(RG, APP);
    expect(list.map((f) => [f.name, f.properties.language, f.properties.isDisabled]).sort()).toEqual([
      [`${APP}/deployOnTags`, 'python', false],
      [`${APP}/notify`, 'node', true],
    ]);
    expect(await client.functions.list(RG, 'other-app')).toEqual([]);

    // PUT replaces the whole function: what is not sent goes back to its default.
    const replaced = await client.functions.createOrUpdate(RG, APP, 'deployOnTags', {
      properties: { config: { mlgrid: { command: ['./run.sh'] } } },
    });
    expect(replaced.properties.config.mlgrid).toEqual({
      command: ['./run.sh'],
      env: {},
      timeoutSeconds: 30,
      maxConcurrency: 4,
    });
    expect(replaced.properties.language).toBe('custom');

    expect(await client.functions.delete(RG, APP, 'notify')).toBe(true);
    expect(await client.functions.delete(RG, APP, 'notify')).toBe(false);
    expect((await apiError(client.functions.get(RG, APP, 'notify'))).status).toBe(404);
    expect((await client.functions.list(RG, APP)).map((f) => f.name)).toEqual([`${APP}/deployOnTags`]);
  });

  it('surfaces a bad function body as a 400 ApiError naming the field', async () => {
    const err = await apiError(
      client.functions.createOrUpdate(RG, APP, 'bad', {
        properties: { config: { mlgrid: { command: ['python3'], timeoutSeconds: 0 } } },
      }),
    );
    expect([err.status, err.code]).toEqual([400, 'InvalidRequestContent']);
    expect(err.target).toBe('properties.config.mlgrid.timeoutSeconds');
    const reserved = await apiError(
      client.functions.createOrUpdate(RG, APP, 'bad', {
        properties: { config: { mlgrid: { command: ['python3'], env: { MLGRID_KEY: 'x' } } } },
      }),
    );
    expect(reserved.target).toBe('properties.config.mlgrid.env.MLGRID_KEY');
    expect((await apiError(client.functions.get(RG, APP, 'bad'))).status).toBe(404);
  });

  it('registers connections without ever returning the password; the mask keeps it', async () => {
    const body: ConnectionIn = {
      properties: {
        resourceId: NS,
        kind: 'amqp',
        url: 'amqp://127.0.0.1:5672/',
        username: 'mlgrid',
        password: PASSWORD,
        description: 'events for the training team',
      },
    };
    const created = await client.connections.createOrUpdate('rabbit', body);
    expect(created).toMatchObject({
      id: '/providers/Microsoft.MLGrid/connections/rabbit',
      name: 'rabbit',
      type: 'Microsoft.MLGrid/connections',
      properties: {
        resourceId: NS,
        kind: 'amqp',
        url: 'amqp://mlgrid:***@127.0.0.1:5672/',
        username: 'mlgrid',
        hasPassword: true,
        provisioningState: 'Succeeded',
      },
    });
    const got = await client.connections.get('rabbit');
    expect(got).toEqual(created);
    const list = await client.connections.list();
    expect(list.map((c) => c.name)).toEqual(['rabbit']);
    for (const answer of [created, got, list]) expect(JSON.stringify(answer)).not.toContain(PASSWORD);

    // GET's properties sent back unchanged (masked URL, no password): the stored password is kept.
    const again = await client.connections.createOrUpdate('rabbit', { properties: got.properties });
    expect(again.properties.hasPassword).toBe(true);
    expect(JSON.stringify(again)).not.toContain(PASSWORD);
    // A replace without a password has none.
    const { password: _p, ...withoutPassword } = body.properties;
    const bare = await client.connections.createOrUpdate('rabbit', { properties: withoutPassword });
    expect(bare.properties.hasPassword).toBe(false);
    expect(bare.properties.url).toBe('amqp://mlgrid@127.0.0.1:5672/');

    expect(await client.connections.delete('rabbit')).toBe(true);
    expect(await client.connections.delete('rabbit')).toBe(false);
    expect((await apiError(client.connections.get('rabbit'))).status).toBe(404);
  });

  it('surfaces connection errors with the field, and refuses principals (admin only)', async () => {
    const bad = await apiError(
      client.connections.createOrUpdate('x', {
        properties: { resourceId: NS, kind: 'kafka' as 'amqp', url: 'amqp://127.0.0.1/' },
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.target).toBe('properties.kind');
    const scheme = await apiError(
      client.connections.createOrUpdate('x', {
        properties: { resourceId: NS, kind: 'redis', url: `amqp://u:${PASSWORD}@127.0.0.1/` },
      }),
    );
    expect([scheme.status, scheme.target]).toEqual([400, 'properties.url']);
    expect(scheme.message).not.toContain(PASSWORD);

    await client.connections.createOrUpdate('a', {
      properties: { resourceId: NS, kind: 'nats', url: 'nats://127.0.0.1:4222' },
    });
    const twin = await apiError(
      client.connections.createOrUpdate('b', {
        properties: { resourceId: NS.toUpperCase(), kind: 'nats', url: 'nats://127.0.0.1:4222' },
      }),
    );
    expect([twin.status, twin.code, twin.target]).toEqual([409, 'Conflict', 'properties.resourceId']);

    const p = await client.principals.create('owner-fc', { displayName: 'an owner' });
    await client.roleAssignments.create(client.subscriptionScope(), {
      role: 'Owner',
      principalId: p.properties.objectId,
    });
    const asOwner = new MlgridClient({ baseUrl: s.url, key: p.properties.newKey!.key });
    expect((await apiError(asOwner.connections.list())).status).toBe(403);
    expect(await client.connections.delete('a')).toBe(true);
  });
});
