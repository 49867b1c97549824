/** Principals and role assignments through the SDK, against the real app in process (SQLite). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, BUILT_IN_ROLE_IDS, MlgridClient } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';

const RG = 'rg-access';

async function status(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return `${e.status} ${e.code}`;
  }
}

describe('MlgridClient access control', () => {
  let s: TestServer;
  let admin: MlgridClient;
  const as = (key: string) => new MlgridClient({ baseUrl: s.url, key });

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    admin = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    await admin.workspaces.create(RG, 'ws-access', { location: 'local' });
    await admin.topics.create(RG, 'access-topic', { location: 'local' });
  });
  afterAll(async () => s?.stop());

  it('creates a principal with a key shown once, assigns Reader, and the key reads but cannot write', async () => {
    const p = await admin.principals.create('sdk-reader', { principalType: 'User', displayName: 'SDK' });
    const key = p.properties.newKey!.key;
    expect(p.properties).toMatchObject({ principalType: 'User', displayName: 'SDK' });
    expect(JSON.stringify(await admin.principals.get('sdk-reader'))).not.toContain(key);
    expect((await admin.principals.list()).map((x) => x.name)).toContain('sdk-reader');

    const wsId = admin.workspaceId(RG, 'ws-access');
    const a = await admin.roleAssignments.create(wsId, {
      role: 'Reader',
      principalId: p.properties.objectId,
    });
    expect(a.properties.roleDefinitionId).toBe(
      `/subscriptions/${admin.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLE_IDS.Reader}`,
    );
    expect((await admin.roleAssignments.get(a.id)).properties.scope).toBe(wsId);

    const reader = as(key);
    expect((await reader.workspaces.get(RG, 'ws-access')).name).toBe('ws-access');
    const hook = { endpointType: 'WebHook' as const, properties: { endpointUrl: `${s.url}/inbox/sdk` } };
    expect(
      await status(reader.eventSubscriptions.create(wsId, 'nope', { properties: { destination: hook } })),
    ).toBe('403 AuthorizationFailed');
    expect(await status(reader.topics.get(RG, 'access-topic'))).toBe('403 AuthorizationFailed'); // other scope
    const mine = await reader.roleAssignments.list(wsId, {
      principalId: p.properties.objectId,
      atScope: true,
    });
    expect(mine.map((x) => x.id)).toEqual([a.id]);

    expect(await admin.roleAssignments.delete(a.id)).toBe(true);
    expect(await admin.roleAssignments.delete(a.id)).toBe(false);
    expect(await status(reader.workspaces.get(RG, 'ws-access'))).toBe('403 AuthorizationFailed');
  });

  it('a principal rotates its own key; Data Sender publishes with Bearer', async () => {
    const p = await admin.principals.create('sdk-sender');
    expect(p.properties.principalType).toBe('ServicePrincipal');
    await admin.roleAssignments.create(admin.topicId(RG, 'access-topic'), {
      role: 'EventGrid Data Sender',
      principalId: p.properties.objectId,
    });
    const old = as(p.properties.newKey!.key);
    const event = { id: '1', subject: 's', eventType: 't', eventTime: '2026-01-01T00:00:00Z', data: {} };
    await old.publish('access-topic', [event]);

    const next = await old.principals.rotateKey('sdk-sender', { revokeOld: true });
    expect(next.revokedKeyIds).toEqual([p.properties.newKey!.keyId]);
    expect(await status(old.publish('access-topic', [event]))).toBe('401 Unauthorized');
    const sender = as(next.key);
    await sender.publish('access-topic', [event]);
    expect((await sender.principals.listKeys('sdk-sender')).map((k) => k.keyId)).toEqual([next.keyId]);
    expect(await status(sender.topics.listKeys(RG, 'access-topic'))).toBe('403 AuthorizationFailed');

    expect(await admin.principals.revokeKey('sdk-sender', next.keyId)).toBe(true);
    expect(await status(sender.publish('access-topic', [event]))).toBe('401 Unauthorized');
    expect(await admin.principals.delete('sdk-sender')).toBe(true);
    expect(await status(admin.principals.get('sdk-sender'))).toBe('404 ResourceNotFound');
  });
});
