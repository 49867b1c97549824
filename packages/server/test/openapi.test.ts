/**
 * `/openapi.json` over real HTTP: served without auth, a valid OpenAPI 3.1 document, and its request-body schemas
 * are the ones that reject bad requests (checked by compiling the served document independently).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The OpenAPI Initiative's schema for 3.1 documents (https://spec.openapis.org/oas/3.1/schema/2022-10-07), with its
 * `$dynamicRef: "#meta"` replaced by the `$ref` it resolves to (ajv does not follow that dynamic anchor).
 */
const OAS_31 = JSON.parse(
  readFileSync(new URL('./fixtures/openapi-3.1-schema.json', import.meta.url), 'utf8'),
);

const T = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics';
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-o';
const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/h' } };

type Doc = {
  openapi: string;
  servers: { url: string }[];
  paths: Record<
    string,
    Record<
      string,
      { operationId: string; requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }
    >
  >;
  components: { schemas: Record<string, unknown> };
};

describe('OpenAPI document', () => {
  let s: TestServer;
  let doc: Doc;
  /** Validates a body against a request schema of the served document, as any client could. */
  let check: (path: string, method: string, body: unknown) => boolean;

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    const r = await fetch(`${s.url}/openapi.json`); // no credentials
    expect(r.status).toBe(200);
    doc = (await r.json()) as Doc;
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'served', components: doc.components });
    check = (path, method, body) => {
      const ref = doc.paths[path]![method]!.requestBody!.content['application/json']!.schema.$ref!;
      return ajv.validate(`served${ref}`, body) as boolean;
    };
  });
  afterAll(async () => s?.stop());

  it('is valid OpenAPI 3.1 with servers set from the request', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: s.url }]);
    const validate = new Ajv2020({ strict: false, validateFormats: false, allErrors: true }).compile(OAS_31);
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    // The validator is not a rubber stamp.
    expect(validate({ ...doc, paths: { '/x': { get: { responses: 5 } } } })).toBe(false);
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids).toEqual(
      expect.arrayContaining(['Topics_CreateOrUpdate', 'Workspaces_Get', 'ModelVersions_CreateOrUpdate']),
    );
  });

  it('rejects a body with the schema it publishes: 400 naming the field', async () => {
    const esPath = '/{scope}/providers/Microsoft.EventGrid/eventSubscriptions/{eventSubscriptionName}';
    expect((await s.arm('PUT', `${T}/topic-o`, { location: 'local' })).status).toBe(201);
    const filters = [
      { operatorType: 'IsNotNull', key: 'data.a' },
      { operatorType: 'StringIn', key: 'data.b', values: ['x'] },
      { operatorType: 'StringIn', key: 'data.c', values: 'not-a-list' },
    ];
    const bad = { properties: { destination: hook, filter: { advancedFilters: filters } } };
    expect(check(esPath, 'put', bad)).toBe(false);
    const r = await s.arm('PUT', `${T}/topic-o/providers/Microsoft.EventGrid/eventSubscriptions/es-o`, bad);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatchObject({
      code: 'InvalidRequestContent',
      target: 'properties.filter.advancedFilters[2].values',
      message: 'properties.filter.advancedFilters[2].values: must be an array',
    });
    const good = { properties: { destination: hook, filter: { advancedFilters: filters.slice(0, 2) } } };
    expect(check(esPath, 'put', good)).toBe(true);
    expect(
      (await s.arm('PUT', `${T}/topic-o/providers/Microsoft.EventGrid/eventSubscriptions/es-o`, good)).status,
    ).toBe(201);
  });

  it('validates ML bodies and mlgrid extensions the same way', async () => {
    const wsPath =
      '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}';
    const typo = { location: 'local', properties: { mlgridSettings: { failureEvent: true } } };
    expect(check(wsPath, 'put', typo)).toBe(false);
    const r = await s.arm('PUT', WS, typo);
    expect(r.status).toBe(400);
    expect((await r.json()).error.target).toBe('properties.mlgridSettings.failureEvent');
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);

    const job = {
      properties: {
        jobType: 'Command',
        command: 'true',
        environmentId: 'e',
        inputs: { '1st': { uri: '/tmp' } },
      },
    };
    const j = await s.arm('PUT', `${WS}/jobs/j-o`, job);
    expect(j.status).toBe(400);
    expect((await j.json()).error).toMatchObject({
      target: 'properties.inputs.1st',
      message: 'properties.inputs.1st: names are letters, digits and underscores, not starting with a digit',
    });
    const ver = await s.arm('PUT', `${WS}/models/m/versions/1`, { properties: { modelUri: 7 } });
    expect((await ver.json()).error.target).toBe('properties.modelUri');

    // Routes outside the ARM catch-all validate with their schemas too (role assignments, principals).
    const raPath = '/{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}';
    const ra = { properties: { roleDefinitionId: 'Reader', principalId: 'not-a-guid' } };
    expect(check(raPath, 'put', ra)).toBe(false);
    const refused = await s.arm(
      'PUT',
      `${WS}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
      ra,
    );
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.target).toBe('properties.principalId');
    const p = { properties: { principalType: 'Robot' } };
    expect(check('/providers/Microsoft.MLGrid/principals/{principalName}', 'put', p)).toBe(false);
    const badPrincipal = await s.arm('PUT', '/providers/Microsoft.MLGrid/principals/robot', p);
    expect((await badPrincipal.json()).error.target).toBe('properties.principalType');
  });

  it("checks credentials before the body, and publish bodies against the topic's schema", async () => {
    const anon = await fetch(`${s.url}${WS}?api-version=2022-10-01`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ location: 5 }),
    });
    expect(anon.status).toBe(401);

    const keys = await (await s.arm('POST', `${T}/topic-o/listKeys`)).json();
    const publish = (body: unknown) =>
      fetch(`${s.url}/topics/topic-o/api/events?api-version=2018-01-01`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'aeg-sas-key': keys.key1 },
        body: JSON.stringify(body),
      });
    const event = { id: '1', eventType: 't', subject: 's', eventTime: '2026-01-01T00:00:00Z', data: {} };
    const bad = await publish([event, { ...event, id: '2', eventTime: 'yesterday' }]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'InvalidEvent', target: '[1].eventTime' });
    expect((await publish([event])).status).toBe(200);
  });
});
