/** Online endpoints and deployments driven by the real `@azure/arm-machinelearning` client over HTTPS. */
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

describe('@azure/arm-machinelearning: online endpoint and deployment, ModelDeployed', () => {
  let s: TestServer;
  let r: Receiver;
  const t = tempDir();
  beforeAll(async () => {
    s = await startTestServer('sqlite', { tls: true, delivery: { timeScale: 0.001, pollMs: 20 } });
    r = await startReceiver();
  });
  afterAll(async () => {
    await s?.stop();
    await r?.close();
    t.cleanup();
  });

  it('deploys through the SDK pollers, scores, and delivers ModelDeployed only for the success', async () => {
    const model = join(t.dir, 'model');
    const code = join(t.dir, 'code');
    mkdirSync(model);
    mkdirSync(code);
    writeFileSync(join(model, 'weights.txt'), '2');
    writeFileSync(
      join(code, 'score.py'),
      'import json, os\n' +
        'def init():\n    global w\n    w = int(open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.txt")).read())\n' +
        'def run(raw):\n    return [x * w for x in json.loads(raw)["data"]]\n',
    );
    writeFileSync(join(code, 'broken.py'), 'raise SystemExit("no weights")\n');
    const script = fileURLToPath(new URL('./fixtures/arm-ml-endpoints-scenario.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--conditions=mlgrid-source',
        '--import',
        'tsx',
        script,
        s.url,
        ADMIN_KEY,
        `${r.url}/deployed`,
        model,
        code,
      ],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: s.generatedCertPath }, timeout: 90_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    const wsId =
      '/subscriptions/ml-sub/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws-serve';
    expect(out.endpoint).toEqual({
      state: 'Succeeded',
      authMode: 'Key',
      uri: `${s.url}/endpoints/sdk-ep/score`,
    });
    expect(out.blue).toEqual({
      id: `${wsId}/onlineEndpoints/sdk-ep/deployments/blue`,
      state: 'Succeeded',
      model: `${wsId}/models/doubler/versions/1`,
      sku: { name: 'Default', capacity: 1 },
    });
    expect(out.traffic).toEqual({ blue: 100 });
    expect(out.scored).toEqual({ status: 200, body: [2, 4, 6], deployment: 'blue' });
    expect(out.broken).toMatch(/fail/i);
    expect(out.listed).toEqual(['blue:Succeeded', 'red:Failed']);
    expect(out.logs).toEqual(expect.any(String));

    await r.waitFor(() => r.notifications().length >= 1);
    await new Promise((x) => setTimeout(x, 200)); // an event for the failed deployment would have arrived
    expect(r.notifications()).toHaveLength(1);
    const [event] = await new EventGridDeserializer().deserializeEventGridEvents(r.notifications()[0]!.body);
    expect(isSystemEvent('Microsoft.MachineLearningServices.ModelDeployed', event!)).toBe(true);
    expect(event).toMatchObject({
      topic: wsId,
      subject: 'endpoints/sdk-ep',
      dataVersion: '2',
      metadataVersion: '1',
      data: {
        serviceName: 'sdk-ep',
        serviceComputeType: 'Managed',
        modelIds: 'doubler:1',
        deploymentName: 'blue',
      },
    });
  });
});
