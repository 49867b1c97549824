/** The client's online endpoints and deployments against the real app in process (SQLite, real scoring process). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { tempDir } from '../../server/test/helpers/tmp.js';

describe('MlgridClient: online endpoints and deployments', () => {
  let s: TestServer;
  let client: MlgridClient;
  const t = tempDir();
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    mkdirSync(join(t.dir, 'model'));
    mkdirSync(join(t.dir, 'code'));
    writeFileSync(join(t.dir, 'model', 'bias.txt'), '10');
    writeFileSync(
      join(t.dir, 'code', 'score.js'),
      "const fs = require('node:fs');\nlet bias = 0;\n" +
        "exports.init = () => { bias = Number(fs.readFileSync(process.env.AZUREML_MODEL_DIR + '/bias.txt', 'utf8')); };\n" +
        'exports.run = (raw) => JSON.parse(raw).map((x) => x + bias);\n',
    );
  });
  afterAll(async () => {
    await s?.stop();
    t.cleanup();
  });

  it('creates, deploys, routes, scores and cleans up', async () => {
    await client.workspaces.create('rg', 'ws-eps', { location: 'local' });
    await client.models.register('rg', 'ws-eps', 'adder', '1', {
      properties: { modelUri: `file://${t.dir}/model` },
    });
    const ep = await client.onlineEndpoints.createOrUpdate('rg', 'ws-eps', 'client-ep', {
      properties: { authMode: 'Key' },
    });
    expect(ep.properties.scoringUri).toBe(`${s.url}/endpoints/client-ep/score`);
    const created = await client.onlineDeployments.createOrUpdate('rg', 'ws-eps', 'client-ep', 'one', {
      properties: {
        model: 'azureml:adder:1',
        codeConfiguration: { codeId: join(t.dir, 'code'), scoringScript: 'score.js' },
      },
    });
    expect(created.properties.provisioningState).toBe('Creating');
    const done = await client.onlineDeployments.waitFor('rg', 'ws-eps', 'client-ep', 'one', {
      intervalMs: 50,
    });
    expect(done.properties).toMatchObject({ provisioningState: 'Succeeded', mlgrid: { modelId: 'adder:1' } });
    const routed = await client.onlineEndpoints.setTraffic('rg', 'ws-eps', 'client-ep', { one: 100 });
    expect(routed.properties.traffic).toEqual({ one: 100 });
    const { primaryKey } = await client.onlineEndpoints.listKeys('rg', 'ws-eps', 'client-ep');
    const out = await client.onlineEndpoints.score(ep.properties.scoringUri, [1, 2], { key: primaryKey });
    expect(out).toMatchObject({ status: 200, deployment: 'one' });
    expect(JSON.parse(out.body)).toEqual([11, 12]);
    await expect(
      client.onlineEndpoints.score(ep.properties.scoringUri, [1], { key: 'nope' }),
    ).rejects.toMatchObject({
      status: 401,
      code: 'Unauthorized',
    });
    const busy = await client.onlineDeployments
      .delete('rg', 'ws-eps', 'client-ep', 'one')
      .catch((e: ApiError) => e);
    expect(busy).toBeInstanceOf(ApiError);
    expect((busy as ApiError).code).toBe('Conflict');
    expect((await client.onlineDeployments.list('rg', 'ws-eps', 'client-ep')).map((d) => d.name)).toEqual([
      'one',
    ]);
    expect(await client.onlineEndpoints.delete('rg', 'ws-eps', 'client-ep')).toBe(true);
    expect(await client.onlineEndpoints.list('rg', 'ws-eps')).toEqual([]);
  });
});
