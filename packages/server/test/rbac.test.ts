/**
 * Role-based access over real HTTP on both stores: principals and keys (hashed at rest, shown once, rotated,
 * revoked), role assignments (ARM shape, Owner-only, inherited down the scope tree), Bearer publish.
 */
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import {
  as,
  assign,
  assignmentPath,
  createPrincipal,
  expectAuthorizationFailed,
  principalPath,
  ROLE_IDS,
} from './helpers/rbac.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const pgSkip = await skipWithoutPostgres('rbac');
const SUB = '/subscriptions/00000000-0000-0000-0000-0000000000aa';
const RG = `${SUB}/resourceGroups/rg1`;
const RG2 = `${SUB}/resourceGroups/rg2`;
const ws = (rg: string, name: string) =>
  `${rg}/providers/Microsoft.MachineLearningServices/workspaces/${name}`;
const topic = (rg: string, name: string) => `${rg}/providers/Microsoft.EventGrid/topics/${name}`;
const WS = ws(RG, 'ws1');
const esPath = (scope: string, name: string) =>
  `${scope}/providers/Microsoft.EventGrid/eventSubscriptions/${name}`;
const event = (id: string) => [
  { id, subject: 's', eventType: 't', eventTime: '2026-01-01T00:00:00Z', data: {}, dataVersion: '1' },
];

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('RBAC on $backend', ({ backend, skip }) => {
  let s: TestServer;
  const sub = (name: string) => ({
    properties: {
      destination: { endpointType: 'WebHook', properties: { endpointUrl: `${s.url}/inbox/${name}` } },
    },
  });
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend);
    for (const rg of [RG, RG2]) {
      expect((await s.arm('PUT', ws(rg, 'ws1'), { location: 'local' })).status).toBe(201);
      expect(
        (await s.arm('PUT', topic(rg, `t-${rg.slice(-3)}-${backend}`), { location: 'local' })).status,
      ).toBe(201);
    }
  });
  afterAll(async () => s?.stop());

  it.skipIf(skip)(
    'a Reader is refused creating an event subscription; a Contributor creates it',
    async () => {
      const reader = await createPrincipal(s, 'reader1', 'User');
      const contributor = await createPrincipal(s, 'contrib1');
      await assign(s, reader, 'Reader', WS);
      await assign(s, contributor, 'Contributor', WS);
      const path = esPath(WS, 'models');
      const msg = await expectAuthorizationFailed(await as(s, reader.key, 'PUT', path, sub('m')));
      expect(msg).toBe(
        `The client 'reader1' with object id '${reader.objectId}' does not have authorization to perform action ` +
          `'Microsoft.EventGrid/eventSubscriptions/write' over scope '${path}' or the scope is invalid. ` +
          'If access was recently granted, please refresh your credentials.',
      );
      expect((await s.arm('GET', path)).status).toBe(404); // nothing was created
      expect((await as(s, contributor.key, 'PUT', path, sub('m'))).status).toBe(201);
      // Reader reads and lists, but not secrets; Contributor may.
      expect((await as(s, reader.key, 'GET', path)).status).toBe(200);
      expect(
        (await as(s, reader.key, 'GET', `${WS}/providers/Microsoft.EventGrid/eventSubscriptions`)).status,
      ).toBe(200);
      await expectAuthorizationFailed(await as(s, reader.key, 'POST', `${path}/getFullUrl`));
      expect((await as(s, contributor.key, 'POST', `${path}/getFullUrl`)).status).toBe(200);
      await expectAuthorizationFailed(await as(s, reader.key, 'DELETE', path));
      expect((await as(s, contributor.key, 'DELETE', path)).status).toBe(200);
    },
  );

  it.skipIf(skip)(
    'an assignment on a resource group covers its workspace and topic, not another group',
    async () => {
      const p = await createPrincipal(s, 'rg-contrib');
      await assign(s, p, 'Contributor', RG);
      expect((await as(s, p.key, 'PATCH', WS, { tags: { a: 'b' } })).status).toBe(200);
      expect((await as(s, p.key, 'POST', `${topic(RG, `t-rg1-${backend}`)}/listKeys`)).status).toBe(200);
      expect((await as(s, p.key, 'PUT', esPath(WS, 'inherit'), sub('i'))).status).toBe(201);
      await expectAuthorizationFailed(await as(s, p.key, 'PATCH', ws(RG2, 'ws1'), { tags: {} }));
      await expectAuthorizationFailed(
        await as(s, p.key, 'POST', `${topic(RG2, `t-rg2-${backend}`)}/listKeys`),
      );
      // Listing the whole subscription is not below the group.
      await expectAuthorizationFailed(
        await as(s, p.key, 'GET', `${SUB}/providers/Microsoft.EventGrid/topics`),
      );
      expect((await as(s, p.key, 'GET', `${RG}/providers/Microsoft.EventGrid/topics`)).status).toBe(200);
    },
  );

  it.skipIf(skip)('dot segments and encoded slashes cannot climb out of a scope', async () => {
    const p = await createPrincipal(s, 'climber');
    await assign(s, p, 'Owner', RG);
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(s.url);
        const headers = { authorization: `Bearer ${p.key}` };
        request({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
          .on('error', reject)
          .end();
      });
    expect(await raw(`${RG}/../rg2/providers/Microsoft.EventGrid/eventSubscriptions/x`)).toBe(400);
    expect(await raw(`${RG}%2F..%2Frg2/providers/Microsoft.MachineLearningServices/workspaces/ws1`)).toBe(
      400,
    );
    expect(await raw(`${RG}/providers/Microsoft.MachineLearningServices/workspaces/ws1`)).toBe(200);
  });

  it.skipIf(skip)('no key is 401, an unknown key is 401, a key without roles is 403', async () => {
    expect((await as(s, undefined, 'GET', WS)).status).toBe(401);
    const bad = await as(s, 'mlg_not-a-key', 'GET', WS);
    expect(bad.status).toBe(401);
    expect((await bad.json()).error.code).toBe('Unauthorized');
    const nobody = await createPrincipal(s, 'nobody');
    await expectAuthorizationFailed(await as(s, nobody.key, 'GET', WS));
  });

  it.skipIf(skip)(
    'keys are shown once and kept only as SHA-256; rotate keeps or revokes, delete revokes',
    async () => {
      const p = await createPrincipal(s, 'rotator');
      await assign(s, p, 'Reader', SUB);
      expect(p.key).toMatch(/^mlg_[A-Za-z0-9_-]{43}$/);
      const shown = JSON.stringify(await (await s.arm('GET', principalPath('rotator'))).json());
      const listed = JSON.stringify(
        await (await s.arm('GET', '/providers/Microsoft.MLGrid/principals')).json(),
      );
      expect(shown).not.toContain(p.key);
      expect(listed).toContain(p.objectId);
      expect(listed).not.toContain(p.key);
      const stored = await s.store.listResources({ kind: 'apiKey' });
      expect(JSON.stringify(stored)).not.toContain(p.key);
      expect(stored.map((r) => r.lookup)).toContain(createHash('sha256').update(p.key).digest('hex'));

      // A principal rotates its own key; both work until the old one is revoked.
      const r1 = await as(s, p.key, 'POST', `${principalPath('rotator')}/rotateKey`, {});
      expect(r1.status).toBe(200);
      const k2 = (await r1.json()) as { key: string; keyId: string; revokedKeyIds: string[] };
      expect(k2.revokedKeyIds).toEqual([]);
      expect((await as(s, p.key, 'GET', WS)).status).toBe(200);
      expect((await as(s, k2.key, 'GET', WS)).status).toBe(200);
      const r2 = await s.arm('POST', `${principalPath('rotator')}/rotateKey`, { revokeOld: true });
      const k3 = (await r2.json()) as { key: string; keyId: string; revokedKeyIds: string[] };
      expect(k3.revokedKeyIds).toHaveLength(2);
      expect((await as(s, p.key, 'GET', WS)).status).toBe(401);
      expect((await as(s, k2.key, 'GET', WS)).status).toBe(401);
      expect((await as(s, k3.key, 'GET', WS)).status).toBe(200);
      const keys = await (await as(s, k3.key, 'GET', `${principalPath('rotator')}/keys`)).json();
      expect(keys.value.map((k: { keyId: string }) => k.keyId)).toEqual([k3.keyId]);
      // Another principal may not touch these keys; the admin may revoke one.
      const other = await createPrincipal(s, 'other');
      await expectAuthorizationFailed(
        await as(s, other.key, 'POST', `${principalPath('rotator')}/rotateKey`, {}),
      );
      expect((await s.arm('DELETE', `${principalPath('rotator')}/keys/${k3.keyId}`)).status).toBe(200);
      expect((await as(s, k3.key, 'GET', WS)).status).toBe(401);
      const badBody = await s.arm('POST', `${principalPath('rotator')}/rotateKey`, { revokeOld: 'yes' });
      expect(badBody.status).toBe(400);
      expect((await badBody.json()).error.target).toBe('revokeOld');
    },
  );

  it.skipIf(skip)('principals are managed by the admin key only; bad names and types are 400', async () => {
    const owner = await createPrincipal(s, 'sub-owner');
    await assign(s, owner, 'Owner', SUB);
    await expectAuthorizationFailed(await as(s, owner.key, 'PUT', principalPath('sneaky'), {}));
    await expectAuthorizationFailed(await as(s, owner.key, 'DELETE', principalPath('sub-owner')));
    expect((await as(s, owner.key, 'GET', principalPath('sub-owner'))).status).toBe(200);
    const badName = await s.arm('PUT', principalPath('-x'), {});
    expect([badName.status, (await badName.json()).error.target]).toEqual([400, 'name']);
    const badType = await s.arm('PUT', principalPath('x'), { properties: { principalType: 'Robot' } });
    expect([badType.status, (await badType.json()).error.target]).toEqual([400, 'properties.principalType']);
    // An update keeps the object id and issues no key.
    const again = await s.arm('PUT', principalPath('sub-owner'), { properties: { displayName: 'Ops' } });
    expect(again.status).toBe(200);
    const body = await again.json();
    expect(body.properties).toMatchObject({ objectId: owner.objectId, displayName: 'Ops' });
    expect(body.properties.newKey).toBeUndefined();
  });

  it.skipIf(skip)(
    'role assignments: Owner at or above the scope only, Azure shape, conflicts, list, delete',
    async () => {
      const rgOwner = await createPrincipal(s, 'rg-owner');
      const rgContrib = await createPrincipal(s, 'rg-contrib2');
      const target = await createPrincipal(s, 'target', 'User');
      await assign(s, rgOwner, 'Owner', RG);
      await assign(s, rgContrib, 'Contributor', RG);
      const body = { properties: { roleDefinitionId: 'Reader', principalId: target.objectId } };
      const id = assignmentPath(WS, randomUUID());
      await expectAuthorizationFailed(await as(s, rgContrib.key, 'PUT', id, body));
      const atSub = assignmentPath(SUB, randomUUID());
      const refused = await expectAuthorizationFailed(await as(s, rgOwner.key, 'PUT', atSub, body));
      expect(refused).toContain("'Microsoft.Authorization/roleAssignments/write'");
      const put = await as(s, rgOwner.key, 'PUT', id, body);
      expect(put.status).toBe(201);
      const out = await put.json();
      expect(out).toMatchObject({
        id,
        name: id.split('/').pop(),
        type: 'Microsoft.Authorization/roleAssignments',
        properties: {
          scope: WS,
          roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.Reader}`,
          principalId: target.objectId,
          principalType: 'User',
          createdBy: rgOwner.objectId,
        },
      });
      expect((await as(s, rgOwner.key, 'PUT', id, body)).status).toBe(200); // the same PUT again
      const twin = await as(s, rgOwner.key, 'PUT', assignmentPath(WS, randomUUID()), body);
      expect([twin.status, (await twin.json()).error.code]).toEqual([409, 'Conflict']);
      const changed = await as(s, rgOwner.key, 'PUT', id, {
        properties: { roleDefinitionId: 'Owner', principalId: target.objectId },
      });
      expect(changed.status).toBe(409);
      // The target now reads the workspace (and nothing in rg2).
      expect((await as(s, target.key, 'GET', WS)).status).toBe(200);
      await expectAuthorizationFailed(await as(s, target.key, 'GET', ws(RG2, 'ws1')));
      // Reader lists assignments at the workspace: its own and the inherited ones above.
      const list = await as(
        s,
        target.key,
        'GET',
        `${WS}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`principalId eq '${rgOwner.objectId}'`)}`,
      );
      expect(list.status).toBe(200);
      const listed = (await list.json()).value;
      expect(listed).toHaveLength(1);
      expect(listed[0].properties.scope).toBe(RG);
      const atWs = await (
        await s.arm('GET', `${WS}/providers/Microsoft.Authorization/roleAssignments`)
      ).json();
      expect(atWs.value.map((a: { id: string }) => a.id)).toContain(id);
      const badFilter = await s.arm(
        'GET',
        `${WS}/providers/Microsoft.Authorization/roleAssignments?$filter=x`,
      );
      expect([badFilter.status, (await badFilter.json()).error.target]).toEqual([400, '$filter']);
      // Bad bodies name their field.
      const bad = async (b: unknown) =>
        (await (await s.arm('PUT', assignmentPath(WS, randomUUID()), b)).json()).error;
      expect(
        (await bad({ properties: { roleDefinitionId: 'Janitor', principalId: target.objectId } })).target,
      ).toBe('properties.roleDefinitionId');
      expect(
        (await bad({ properties: { roleDefinitionId: 'Reader', principalId: randomUUID() } })).target,
      ).toBe('properties.principalId');
      const badName = await s.arm('PUT', assignmentPath(WS, 'not-a-guid'), body);
      expect([badName.status, (await badName.json()).error.target]).toEqual([400, 'name']);
      // Delete: Contributor may not, Owner may; then it is gone and access ends.
      await expectAuthorizationFailed(await as(s, rgContrib.key, 'DELETE', id));
      expect((await as(s, rgOwner.key, 'DELETE', id)).status).toBe(200);
      expect((await as(s, rgOwner.key, 'DELETE', id)).status).toBe(204);
      await expectAuthorizationFailed(await as(s, target.key, 'GET', WS));
    },
  );

  it.skipIf(skip)('role definitions are readable with Azure ids', async () => {
    const res = await s.arm('GET', `${SUB}/providers/Microsoft.Authorization/roleDefinitions`);
    const names = (await res.json()).value.map(
      (d: { properties: { roleName: string } }) => d.properties.roleName,
    );
    expect(names).toEqual(['Owner', 'Contributor', 'Reader', 'EventGrid Data Sender']);
    const one = await (
      await s.arm('GET', `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.Contributor}`)
    ).json();
    expect(one.id).toBe(`${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.Contributor}`);
  });

  it.skipIf(skip)('deleting a workspace deletes the role assignments on it', async () => {
    const temp = ws(RG, 'ws-temp');
    expect((await s.arm('PUT', temp, { location: 'local' })).status).toBe(201);
    const p = await createPrincipal(s, 'temp-reader');
    const a = await assign(s, p, 'Reader', temp);
    expect((await s.arm('GET', a)).status).toBe(200);
    expect((await s.arm('DELETE', temp)).status).toBe(200);
    expect((await s.arm('GET', a)).status).toBe(404);
  });

  it.skipIf(skip)('deleting a principal removes its keys and role assignments', async () => {
    const p = await createPrincipal(s, 'doomed');
    const a = await assign(s, p, 'Reader', RG);
    expect((await s.arm('DELETE', principalPath('doomed'))).status).toBe(200);
    expect((await as(s, p.key, 'GET', WS)).status).toBe(401);
    expect((await s.arm('GET', a)).status).toBe(404);
    expect((await s.arm('DELETE', principalPath('doomed'))).status).toBe(204);
  });

  it.skipIf(skip)(
    'Bearer publish needs EventGrid Data Sender on the topic, as in Azure (Owner is not enough)',
    async () => {
      const name = `t-rg1-${backend}`;
      const sender = await createPrincipal(s, 'sender');
      const owner = await createPrincipal(s, 'topic-owner');
      await assign(s, sender, 'EventGrid Data Sender', topic(RG, name));
      await assign(s, owner, 'Owner', SUB);
      const publish = (key: string, t = name) =>
        fetch(`${s.url}/topics/${t}/api/events?api-version=2018-01-01`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(event(randomUUID())),
        });
      expect((await publish(sender.key)).status).toBe(200);
      const refused = await expectAuthorizationFailed(await publish(owner.key));
      expect(refused).toContain("'Microsoft.EventGrid/events/send/action'");
      await expectAuthorizationFailed(await publish(sender.key, `t-rg2-${backend}`)); // another topic
      expect((await publish('mlg_wrong')).status).toBe(401);
      // The sender has nothing on the management API, not even a read.
      await expectAuthorizationFailed(await as(s, sender.key, 'GET', topic(RG, name)));
    },
  );
});
