/**
 * Online endpoints and deployments over real HTTP: real scoring processes (a Python and a JavaScript script),
 * the traffic split, keys, ModelDeployed after success only, ModelDeploymentFailed where enabled, logs, deletes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { assign, createPrincipal } from './helpers/rbac.js';
import { tempDir } from './helpers/tmp.js';

const pgSkip = await skipWithoutPostgres('online endpoints');

/** A model folder and code folders with scripts that multiply by the model's factor. */
function fixtures() {
  const t = tempDir();
  const model = join(t.dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'model.json'), JSON.stringify({ factor: 3 }));
  const code = join(t.dir, 'code');
  mkdirSync(code);
  writeFileSync(
    join(code, 'score.py'),
    `import json, os
factor = None
def init():
    global factor
    factor = json.load(open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")))["factor"]
    print("init done, factor", factor, "greeting", os.environ.get("GREETING"), flush=True)
def run(raw):
    return {"y": [x * factor for x in json.loads(raw)["data"]], "by": "python"}
`,
  );
  writeFileSync(
    join(code, 'score.mjs'),
    `import { readFileSync } from 'node:fs';
let factor;
export function init() {
  factor = JSON.parse(readFileSync(process.env.AZUREML_MODEL_DIR + '/model.json', 'utf8')).factor;
}
export async function run(raw) {
  return { y: JSON.parse(raw).data.map((x) => x * factor), by: 'node' };
}
`,
  );
  writeFileSync(join(code, 'broken.py'), 'def init():\n    raise RuntimeError("cannot load the model")\n');
  return { t, model, code };
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('online endpoints on $backend', ({ backend, skip }) => {
  let s: TestServer;
  const f = fixtures();
  const WS = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-${backend}`;
  const EP = `${WS}/onlineEndpoints/ep-${backend}`;
  const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/all`;
  const deployment = (script: string, extra: Record<string, unknown> = {}) => ({
    location: 'local',
    sku: { name: 'Default', capacity: 1 },
    tags: { stage: 'prod' },
    properties: {
      endpointComputeType: 'Managed',
      model: `${WS}/models/scaler/versions/1`,
      codeConfiguration: { codeId: pathToFileURL(f.code).href, scoringScript: script },
      environmentVariables: { GREETING: 'hello' },
      ...extra,
    },
  });
  const waitState = async (name: string) => {
    for (let i = 0; i < 300; i++) {
      const body = await (await s.arm('GET', `${EP}/deployments/${name}`)).json();
      const state = body.properties.provisioningState;
      if (state !== 'Creating' && state !== 'Updating') return body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} still provisioning`);
  };
  const events = async () =>
    (await (await s.arm('GET', `${ES}/deliveries?top=1000`)).json()).value.map(
      (d: { event: unknown }) => d.event,
    ) as { eventType: string; subject: string; data: Record<string, unknown> }[];
  const score = (key: string | undefined, data: number[], headers: Record<string, string> = {}) =>
    fetch(`${s.url}/endpoints/ep-${backend}/score`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ data }),
    });

  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend);
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } };
    expect((await s.arm('PUT', ES, { properties: { destination: hook } })).status).toBe(201);
    const mv = await s.arm('PUT', `${WS}/models/scaler/versions/1`, {
      properties: { modelUri: pathToFileURL(f.model).href },
    });
    expect(mv.status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    f.t.cleanup();
  });

  it.skipIf(skip)(
    'creates an endpoint with keys and a scoring URI; refuses bad bodies by field',
    async () => {
      const put = await s.arm('PUT', EP, { location: 'local', properties: { authMode: 'Key' } });
      expect(put.status).toBe(201);
      const ep = await put.json();
      expect(ep).toMatchObject({
        id: EP,
        name: `ep-${backend}`,
        type: 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints',
        properties: { authMode: 'Key', provisioningState: 'Succeeded', traffic: {} },
      });
      expect(ep.properties.scoringUri).toBe(`${s.url}/endpoints/ep-${backend}/score`);
      const keys = await (await s.arm('POST', `${EP}/listKeys`)).json();
      expect(keys.primaryKey).toMatch(/^[\w-]{32}$/);
      expect(keys.secondaryKey).not.toBe(keys.primaryKey);
      expect(JSON.stringify(ep)).not.toContain(keys.primaryKey);

      const noAuth = await s.arm('PUT', `${EP}-x`, { properties: {} });
      expect((await noAuth.json()).error.target).toBe('properties.authMode');
      const badTraffic = await s.arm('PUT', EP, { properties: { authMode: 'Key', traffic: { blue: 90 } } });
      expect(badTraffic.status).toBe(400);
      expect((await badTraffic.json()).error.target).toBe('properties.traffic');
      const unknown = await s.arm('PUT', EP, { properties: { authMode: 'Key', traffic: { nope: 100 } } });
      expect((await unknown.json()).error.target).toBe('properties.traffic.nope');
      const badName = await s.arm('PUT', `${WS}/onlineEndpoints/9x`, { properties: { authMode: 'Key' } });
      expect((await badName.json()).error.code).toBe('InvalidResourceName');
    },
  );

  it.skipIf(skip)(
    'deploys a Python script: Creating → Succeeded, ModelDeployed, scoring with the key',
    async () => {
      const put = await s.arm('PUT', `${EP}/deployments/blue`, deployment('score.py'));
      expect(put.status).toBe(201);
      expect((await put.json()).properties.provisioningState).toBe('Creating');
      const done = await waitState('blue');
      expect(done.properties).toMatchObject({
        provisioningState: 'Succeeded',
        mlgrid: { modelId: 'scaler:1' },
      });
      const deployed = (await events()).filter((e) => e.eventType.endsWith('.ModelDeployed'));
      expect(deployed).toHaveLength(1);
      expect(deployed[0]).toMatchObject({
        subject: `endpoints/ep-${backend}`,
        data: {
          serviceName: `ep-${backend}`,
          serviceComputeType: 'Managed',
          modelIds: 'scaler:1',
          serviceTags: { stage: 'prod' },
          deploymentName: 'blue',
        },
      });

      const keys = await (await s.arm('POST', `${EP}/listKeys`)).json();
      const noTraffic = await score(keys.primaryKey, [1]);
      expect(noTraffic.status).toBe(503);
      expect((await s.arm('PATCH', EP, { properties: { traffic: { blue: 100 } } })).status).toBe(200);
      const r = await score(keys.primaryKey, [1, 2]);
      expect(r.status).toBe(200);
      expect(r.headers.get('azureml-model-deployment')).toBe('blue');
      expect(await r.json()).toEqual({ y: [3, 6], by: 'python' });
      expect((await score(keys.secondaryKey, [5])).status).toBe(200);
      expect((await score(undefined, [1])).status).toBe(401);
      expect((await score('wrong-key', [1])).status).toBe(401);

      const logs = await (await s.arm('POST', `${EP}/deployments/blue/getLogs`, { tail: 50 })).json();
      expect(logs.content).toContain('init done, factor 3 greeting hello');
    },
  );

  it.skipIf(skip)(
    'splits traffic between a Python and a JavaScript deployment; the header picks one',
    async () => {
      expect((await s.arm('PUT', `${EP}/deployments/green`, deployment('score.mjs'))).status).toBe(201);
      expect((await waitState('green')).properties.provisioningState).toBe('Succeeded');
      expect((await s.arm('PATCH', EP, { properties: { traffic: { blue: 50, green: 50 } } })).status).toBe(
        200,
      );
      const keys = await (await s.arm('POST', `${EP}/listKeys`)).json();
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++)
        seen.add((await (await score(keys.primaryKey, [2])).json()).by);
      expect([...seen].sort()).toEqual(['node', 'python']); // 40 fair coin flips all alike: p = 2^-39
      const forced = await score(keys.primaryKey, [2], { 'azureml-model-deployment': 'green' });
      expect(await forced.json()).toEqual({ y: [6], by: 'node' });
    },
  );

  it.skipIf(skip)('a failing deployment ends Failed with its cause and raises no ModelDeployed', async () => {
    const before = (await events()).length;
    expect((await s.arm('PUT', `${EP}/deployments/broken`, deployment('broken.py'))).status).toBe(201);
    const failed = await waitState('broken');
    expect(failed.properties.provisioningState).toBe('Failed');
    expect(failed.properties.mlgrid.error.code).toBe('ScoringScriptFailed');
    expect(failed.properties.mlgrid.error.message).toContain('cannot load the model');
    expect((await events()).length).toBe(before);

    // Opt in to mlgrid's failure events: the next failure raises ModelDeploymentFailed.
    const ws = await (await s.arm('GET', WS)).json();
    const settings = { mlgridSettings: { failureEvents: true } };
    expect((await s.arm('PUT', WS, { location: ws.location, properties: settings })).status).toBe(200);
    expect((await s.arm('PUT', `${EP}/deployments/broken`, deployment('broken.py'))).status).toBe(200);
    expect((await waitState('broken')).properties.provisioningState).toBe('Failed');
    const after = await events();
    expect(after.slice(before).map((e) => e.eventType)).toEqual([
      'MLGrid.MachineLearningServices.ModelDeploymentFailed',
    ]);
    expect(after.at(-1)!.data).toMatchObject({ errorCode: 'ScoringScriptFailed', modelIds: 'scaler:1' });
  });

  it.skipIf(skip)('refuses unknown models and missing code folders before accepting', async () => {
    const noModel = await s.arm(
      'PUT',
      `${EP}/deployments/red`,
      deployment('score.py', { model: `${WS}/models/scaler/versions/9` }),
    );
    expect(noModel.status).toBe(400);
    expect((await noModel.json()).error.target).toBe('properties.model');
    const body = deployment('score.py', {
      codeConfiguration: { codeId: '/nonexistent/code', scoringScript: 'score.py' },
    });
    const noCode = await s.arm('PUT', `${EP}/deployments/red`, body);
    expect((await noCode.json()).error.target).toBe('properties.codeConfiguration.codeId');
    const badScript = await s.arm('PUT', `${EP}/deployments/red`, deployment('score.rb'));
    expect((await badScript.json()).error.target).toBe('properties.codeConfiguration.scoringScript');
    expect((await s.arm('GET', `${EP}/deployments/red`)).status).toBe(404);
  });

  it.skipIf(skip)(
    'a deployment with traffic cannot be deleted; without, it is deleted and stops',
    async () => {
      expect((await s.arm('DELETE', `${EP}/deployments/green`)).status).toBe(409);
      expect((await s.arm('PATCH', EP, { properties: { traffic: { blue: 100, green: 0 } } })).status).toBe(
        200,
      );
      expect((await s.arm('DELETE', `${EP}/deployments/green`)).status).toBe(200);
      const keys = await (await s.arm('POST', `${EP}/listKeys`)).json();
      const gone = await score(keys.primaryKey, [1], { 'azureml-model-deployment': 'green' });
      expect(gone.status).toBe(404);
      const list = await (await s.arm('GET', `${EP}/deployments`)).json();
      expect(list.value.map((d: { name: string }) => d.name).sort()).toEqual(['blue', 'broken']);
    },
  );

  it.skipIf(skip)(
    'endpoint names are unique per server; deleting an endpoint removes its deployments',
    async () => {
      const other = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/other-${backend}`;
      expect((await s.arm('PUT', other, { location: 'local' })).status).toBe(201);
      const clash = await s.arm('PUT', `${other}/onlineEndpoints/ep-${backend}`, {
        properties: { authMode: 'Key' },
      });
      expect(clash.status).toBe(409);
      expect((await s.arm('DELETE', EP)).status).toBe(200);
      expect((await s.arm('GET', `${EP}/deployments/blue`)).status).toBe(404);
      expect((await score('any', [1])).status).toBe(404);
    },
  );
});

describe('online deployments across a restart (SQLite)', () => {
  it('a Succeeded deployment serves again after the server restarts', async () => {
    const f = fixtures();
    const data = tempDir();
    const WS =
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-r';
    const EP = `${WS}/onlineEndpoints/ep-restart`;
    let s = await startTestServer('sqlite', { dataDir: data.dir });
    try {
      await s.arm('PUT', WS, { location: 'local' });
      await s.arm('PUT', `${WS}/models/scaler/versions/1`, {
        properties: { modelUri: pathToFileURL(f.model).href },
      });
      await s.arm('PUT', EP, { properties: { authMode: 'Key' } });
      const body = {
        properties: {
          model: 'azureml:scaler:1', // the CLI's short form, resolved in the deployment's workspace
          codeConfiguration: { codeId: f.code, scoringScript: 'score.mjs' },
        },
      };
      expect((await s.arm('PUT', `${EP}/deployments/only`, body)).status).toBe(201);
      for (let i = 0; i < 300; i++) {
        const d = await (await s.arm('GET', `${EP}/deployments/only`)).json();
        if (d.properties.provisioningState !== 'Creating') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await s.arm('PATCH', EP, { properties: { traffic: { only: 100 } } });
      const { primaryKey } = await (await s.arm('POST', `${EP}/listKeys`)).json();
      const call = () =>
        fetch(`${s.url}/endpoints/ep-restart/score`, {
          method: 'POST',
          headers: { authorization: `Bearer ${primaryKey}` },
          body: JSON.stringify({ data: [7] }),
        });
      expect(await (await call()).json()).toEqual({ y: [21], by: 'node' });
      await s.stop();
      s = await startTestServer('sqlite', { dataDir: data.dir });
      const again = await call();
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ y: [21], by: 'node' });
      const d = await (await s.arm('GET', `${EP}/deployments/only`)).json();
      expect(d.properties.provisioningState).toBe('Succeeded');
    } finally {
      await s.stop();
      data.cleanup();
      f.t.cleanup();
    }
  });
});

describe('a token endpoint serving a model uploaded to the artifact store', () => {
  it('serves the uploaded files as AZUREML_MODEL_DIR; API keys score by role', async () => {
    const f = fixtures();
    const s = await startTestServer('sqlite');
    const WS =
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-art';
    try {
      await s.arm('PUT', WS, { location: 'local' });
      const up = await fetch(`${s.url}${WS}/artifactUploads/u1/files/model.json?api-version=2022-10-01`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ factor: 5 }),
      });
      expect(up.status).toBe(201);
      const manifest = await (await s.arm('POST', `${WS}/artifactUploads/u1/commit`)).json();
      expect(manifest.uri).toMatch(/^mlgrid:\/\/artifacts\/[0-9a-f]{64}$/);
      await s.arm('PUT', `${WS}/models/up/versions/1`, { properties: { modelUri: manifest.uri } });
      await s.arm('PUT', `${WS}/onlineEndpoints/ep-art`, {
        properties: { authMode: 'AMLToken' },
      });
      const body = {
        properties: {
          model: 'azureml:up:1',
          codeConfiguration: { codeId: f.code, scoringScript: 'score.py' },
        },
      };
      await s.arm('PUT', `${WS}/onlineEndpoints/ep-art/deployments/art`, body);
      for (let i = 0; i < 300; i++) {
        const d = await (await s.arm('GET', `${WS}/onlineEndpoints/ep-art/deployments/art`)).json();
        if (d.properties.provisioningState !== 'Creating') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const res = await fetch(`${s.url}/endpoints/ep-art/score`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'azureml-model-deployment': 'art' },
        body: JSON.stringify({ data: [2] }),
      });
      expect(await res.json()).toEqual({ y: [10], by: 'python' }); // factor 5 from the uploaded file
      expect((await s.arm('POST', `${WS}/onlineEndpoints/ep-art/listKeys`)).status).toBe(409); // token endpoint

      // A token endpoint takes API keys: a Contributor on the workspace may score, a Reader may not.
      const reader = await createPrincipal(s, 'score-reader');
      const contributor = await createPrincipal(s, 'score-contributor');
      await assign(s, reader, 'Reader', WS);
      await assign(s, contributor, 'Contributor', WS);
      const scoreAs = (key: string) =>
        fetch(`${s.url}/endpoints/ep-art/score`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'azureml-model-deployment': 'art' },
          body: JSON.stringify({ data: [1] }),
        });
      const refused = await scoreAs(reader.key);
      expect(refused.status).toBe(403);
      expect((await refused.json()).error.code).toBe('AuthorizationFailed');
      expect(await (await scoreAs(contributor.key)).json()).toEqual({ y: [5], by: 'python' });
      expect((await scoreAs('not-a-key')).status).toBe(401);
    } finally {
      await s.stop();
      f.t.cleanup();
    }
  });
});
