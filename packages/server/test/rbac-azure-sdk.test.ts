/** `@azure/arm-eventgrid` and `@azure/eventgrid`, unchanged, with principals' keys as Entra tokens. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_IDS, type RoleName } from './helpers/rbac.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

const SUB = 'rbac-sdk-sub';
const RG = 'rbac-sdk-rg';
const TOPIC = 'rbac-sdk-topic';
const TOPIC_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.EventGrid/topics/${TOPIC}`;

describe('Azure SDKs with principal keys (HTTPS)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { tls: true });
  });
  afterAll(async () => s?.stop());

  // Set up in process (`inject`): this process does not trust the self-signed certificate.
  const admin = async (method: 'PUT' | 'GET', url: string, payload?: object) => {
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const res = await s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  const createPrincipal = async (name: string) => {
    const r = await admin('PUT', `/providers/Microsoft.MLGrid/principals/${name}`, {});
    expect(r.status).toBe(201);
    return { objectId: r.body.properties.objectId as string, key: r.body.properties.newKey.key as string };
  };
  const assign = async (p: { objectId: string }, role: RoleName, scope: string) => {
    const path = `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`;
    const r = await admin('PUT', path, {
      properties: { roleDefinitionId: ROLE_IDS[role], principalId: p.objectId },
    });
    expect(r.status).toBe(201);
  };

  it('surfaces AuthorizationFailed to a Reader, lets a Contributor write and a Data Sender publish', async () => {
    expect((await admin('PUT', TOPIC_ID, { location: 'local' })).status).toBe(201);
    const reader = await createPrincipal('sdk-reader');
    const contributor = await createPrincipal('sdk-contributor');
    const sender = await createPrincipal('sdk-sender');
    await assign(reader, 'Reader', `/subscriptions/${SUB}/resourceGroups/${RG}`);
    await assign(contributor, 'Contributor', `/subscriptions/${SUB}`);
    await assign(sender, 'EventGrid Data Sender', TOPIC_ID);

    const script = fileURLToPath(new URL('./fixtures/arm-rbac-scenario.ts', import.meta.url));
    const args = [s.url, SUB, RG, TOPIC, reader.key, contributor.key, sender.key];
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=mlgrid-source', '--import', 'tsx', script, ...args],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: s.generatedCertPath }, timeout: 90_000 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(r.readerCreate).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect(r.readerCreate.message).toContain("'Microsoft.EventGrid/eventSubscriptions/write'");
    expect(r.readerGet).toBe(TOPIC);
    expect(r.contributorCreate).toBe('by-contributor');
    expect(r.senderPublish).toBe('sent');
    expect(r.contributorPublish).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    const subs = (await admin('GET', `${TOPIC_ID}/providers/Microsoft.EventGrid/eventSubscriptions`)).body;
    expect(subs.value.map((x: { name: string }) => x.name)).toEqual(['by-contributor']);
  }, 120_000);
});
