/** The ML workspace as an event source, driven by the real `@azure/arm-machinelearning` client over HTTPS. */
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

describe('@azure/arm-machinelearning: workspace, model registry, jobs, ModelRegistered and Run events', () => {
  let s: TestServer;
  let r: Receiver;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { tls: true, delivery: { timeScale: 0.001, pollMs: 20 } });
    r = await startReceiver();
  });
  afterAll(async () => {
    await s?.stop();
    await r?.close();
  });

  it('raises ModelRegistered, Azure-exact, only for the version whose tag matches the filter', async () => {
    const script = fileURLToPath(new URL('./fixtures/arm-ml-scenario.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=mlgrid-source', '--import', 'tsx', script, s.url, ADMIN_KEY, `${r.url}/ml-events`],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: s.generatedCertPath }, timeout: 60_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    const wsId =
      '/subscriptions/ml-sub/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws1';
    expect(out.ws).toMatchObject({ id: wsId, name: 'ws1', state: 'Succeeded', description: 'demo' });
    expect(out.ws.workspaceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.listed).toEqual(['ws1']);
    expect(out.es).toMatchObject({ state: 'Succeeded', topic: wsId });
    expect(out.v1).toEqual({
      id: `${wsId}/models/churn/versions/1`,
      name: '1',
      uri: 'file:///models/churn/1',
      tags: { key1: 'value1' },
    });
    expect(out.got).toEqual({ description: 'first', type: 'custom_model' });
    expect(out.latest).toBe('2');

    await r.waitFor(() => r.notifications().length >= 1);
    await new Promise((x) => setTimeout(x, 200)); // a wrongly routed v2 would have arrived by now
    expect(r.notifications()).toHaveLength(1);
    const [event] = await new EventGridDeserializer().deserializeEventGridEvents(r.notifications()[0]!.body);
    expect(isSystemEvent('Microsoft.MachineLearningServices.ModelRegistered', event!)).toBe(true);
    expect(event).toMatchObject({
      topic: wsId,
      subject: 'models/churn:1',
      eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
      dataVersion: '2',
      metadataVersion: '1',
      data: { modelName: 'churn', modelVersion: '1', modelTags: { key1: 'value1' }, modelProperties: {} },
    });
    const data = event!.data as { sequencer: string; etag: string };
    expect(data.sequencer).toMatch(/^\d{20}$/);
    expect(data.etag).toEqual(expect.any(String));
  });

  it('runs Command jobs to completion, to failure and to a cancel; Run events as Azure raises them', async () => {
    const script = fileURLToPath(new URL('./fixtures/arm-ml-jobs-scenario.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=mlgrid-source', '--import', 'tsx', script, s.url, ADMIN_KEY, `${r.url}/run-events`],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: s.generatedCertPath }, timeout: 60_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    const wsId =
      '/subscriptions/ml-sub/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws-jobs';
    expect(out.wsId).toBe(wsId);
    expect(out.created).toEqual({ status: 'Queued', name: 'train-ok' });
    expect(out.ok).toEqual({
      id: `${wsId}/jobs/train-ok`,
      name: 'train-ok',
      type: 'Microsoft.MachineLearningServices/workspaces/jobs',
      jobType: 'Command',
      status: 'Completed',
      command: 'echo "$GREETING trained"',
      experimentName: 'sdk-exp',
      displayName: 'run: echo "$GREETING trained"',
      tags: { via: 'sdk' },
      environmentVariables: { GREETING: 'hi' },
      logs: `${s.url}${wsId}/jobs/train-ok/logs`,
    });
    expect(out.bad).toMatchObject({ name: 'train-bad', status: 'Failed' });
    expect(out.canceled).toBe('Canceled');
    expect(out.listed).toEqual(['train-bad', 'train-long', 'train-ok']);
    expect(out.afterDelete).toBe(404);
    expect(out.log).toBe('hi trained\n');

    const runs = () => r.notifications().filter((n) => n.url === '/run-events');
    await r.waitFor(() => runs().length >= 2);
    await new Promise((x) => setTimeout(x, 200)); // a Canceled event (not configured) would have arrived
    const des = new EventGridDeserializer();
    const events = (await Promise.all(runs().map((n) => des.deserializeEventGridEvents(n.body)))).flat();
    expect(events.map((e) => [e.eventType, (e.data as { runId: string }).runId]).sort()).toEqual([
      ['Microsoft.MachineLearningServices.RunCompleted', 'train-ok'],
      ['Microsoft.MachineLearningServices.RunStatusChanged', 'train-bad'],
    ]);
    for (const e of events) {
      expect(
        isSystemEvent('Microsoft.MachineLearningServices.RunCompleted', e) ||
          isSystemEvent('Microsoft.MachineLearningServices.RunStatusChanged', e),
      ).toBe(true);
      expect(e.topic).toBe(wsId);
      expect(e.subject).toMatch(/^experiments\/[0-9a-f-]{36}\/runs\/train-(ok|bad)$/);
      expect(e.data).toMatchObject({
        experimentName: 'sdk-exp',
        runType: 'command',
        runTags: { via: 'sdk' },
      });
    }
    const failed = events.find((e) => e.eventType.endsWith('RunStatusChanged'))!;
    expect((failed.data as { runStatus: string }).runStatus).toBe('Failed');
  });
});
