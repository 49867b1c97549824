/** The official Azure SDK clients, unchanged, against mlgrid. */
import {
  AzureKeyCredential,
  AzureSASCredential,
  EventGridPublisherClient,
  generateSharedAccessSignature,
} from '@azure/eventgrid';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

const RG = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics';
const sdkOptions = { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };

describe('@azure/eventgrid EventGridPublisherClient', () => {
  let s: TestServer;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    for (const [name, inputSchema] of [
      ['sdk-eg', 'EventGridSchema'],
      ['sdk-ce', 'CloudEventSchemaV1_0'],
    ] as const) {
      await s.arm('PUT', `${RG}/${name}`, { location: 'local', properties: { inputSchema } });
      keys[name] = (await (await s.arm('POST', `${RG}/${name}/listKeys`)).json()).key1;
      await s.arm('PUT', `${RG}/${name}/providers/Microsoft.EventGrid/eventSubscriptions/all`, {
        properties: {
          destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
        },
      });
    }
  });
  afterAll(async () => s?.stop());
  const endpoint = (name: string) => `${s.url}/topics/${name}/api/events`;
  const queued = async (name: string) =>
    (
      await (
        await s.arm('GET', `${RG}/${name}/providers/Microsoft.EventGrid/eventSubscriptions/all/deliveries`)
      ).json()
    ).value.map((d: { event: unknown }) => d.event);

  it('publishes Event Grid events with a key', async () => {
    const c = new EventGridPublisherClient(
      endpoint('sdk-eg'),
      'EventGrid',
      new AzureKeyCredential(keys['sdk-eg']!),
      sdkOptions,
    );
    await c.send([{ id: 'k1', eventType: 'A.B', subject: 's/1', dataVersion: '1.0', data: { x: 1 } }]);
    const [e] = await queued('sdk-eg');
    expect(e).toMatchObject({
      id: 'k1',
      eventType: 'A.B',
      subject: 's/1',
      dataVersion: '1.0',
      metadataVersion: '1',
      topic: `${RG}/sdk-eg`,
      data: { x: 1 },
    });
  });

  it('publishes with a SAS token from generateSharedAccessSignature, and rejects a token for another key', async () => {
    const token = await generateSharedAccessSignature(
      endpoint('sdk-eg'),
      new AzureKeyCredential(keys['sdk-eg']!),
      new Date(Date.now() + 600_000),
    );
    const c = new EventGridPublisherClient(
      endpoint('sdk-eg'),
      'EventGrid',
      new AzureSASCredential(token),
      sdkOptions,
    );
    await c.send([{ id: 'sas1', eventType: 'A.B', subject: 's/2', dataVersion: '1', data: {} }]);
    expect((await queued('sdk-eg')).map((e: { id: string }) => e.id)).toContain('sas1');

    const forged = await generateSharedAccessSignature(
      endpoint('sdk-eg'),
      new AzureKeyCredential(keys['sdk-ce']!),
      new Date(Date.now() + 600_000),
    );
    const bad = new EventGridPublisherClient(
      endpoint('sdk-eg'),
      'EventGrid',
      new AzureSASCredential(forged),
      sdkOptions,
    );
    await expect(
      bad.send([{ eventType: 'A.B', subject: 's', dataVersion: '1', data: {} }]),
    ).rejects.toMatchObject({ statusCode: 401 });
    const expired = await generateSharedAccessSignature(
      endpoint('sdk-eg'),
      new AzureKeyCredential(keys['sdk-eg']!),
      new Date(Date.now() - 1000),
    );
    const old = new EventGridPublisherClient(
      endpoint('sdk-eg'),
      'EventGrid',
      new AzureSASCredential(expired),
      sdkOptions,
    );
    await expect(
      old.send([{ eventType: 'A.B', subject: 's', dataVersion: '1', data: {} }]),
    ).rejects.toMatchObject({ statusCode: 401 });
  });

  it('publishes CloudEvents with extension attributes', async () => {
    const c = new EventGridPublisherClient(
      endpoint('sdk-ce'),
      'CloudEvent',
      new AzureKeyCredential(keys['sdk-ce']!),
      sdkOptions,
    );
    await c.send([
      {
        id: 'ce1',
        source: '/ml/ws',
        type: 'Run.Done',
        data: { ok: true },
        extensionAttributes: { team: 'vision' },
      },
    ]);
    const [e] = await queued('sdk-ce');
    expect(e).toMatchObject({
      id: 'ce1',
      source: '/ml/ws',
      type: 'Run.Done',
      specversion: '1.0',
      team: 'vision',
      data: { ok: true },
    });
  });

  it('surfaces mlgrid errors as RestError with Azure codes', async () => {
    const c = new EventGridPublisherClient(
      endpoint('sdk-eg'),
      'EventGrid',
      new AzureKeyCredential(keys['sdk-eg']!),
      sdkOptions,
    );
    await expect(
      c.send([
        {
          eventType: 'A',
          subject: 's',
          dataVersion: '1',
          data: {},
          topic: '/subscriptions/elsewhere',
        } as never,
      ]),
    ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidEvent' });
  });
});

describe('@azure/arm-eventgrid over HTTPS with a self-signed certificate', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { tls: true });
  });
  afterAll(async () => s?.stop());

  it('creates, reads, updates, lists and deletes topics and event subscriptions', async () => {
    expect(s.url).toMatch(/^https:/);
    const script = fileURLToPath(new URL('./fixtures/arm-sdk-scenario.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=mlgrid-source', '--import', 'tsx', script, s.url, ADMIN_KEY],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: s.generatedCertPath }, timeout: 60_000 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    const topicId =
      '/subscriptions/sdk-sub/resourceGroups/sdk-rg/providers/Microsoft.EventGrid/topics/sdk-topic';
    expect(r.created).toEqual({
      id: topicId,
      endpoint: `${s.url}/topics/sdk-topic/api/events`,
      provisioningState: 'Succeeded',
      tags: { a: '1' },
    });
    expect(r.gotName).toBe('sdk-topic');
    expect(r.byGroup).toEqual(['sdk-topic']);
    expect(r.bySub).toEqual(['sdk-topic']);
    expect(r.updatedTags).toEqual({ a: '2' });
    expect(r.keysDiffer).toBe(true);
    expect(r.key1Changed).toBe(true);
    expect(r.sub).toMatchObject({
      id: `${topicId}/providers/Microsoft.EventGrid/eventSubscriptions/sdk-sub-1`,
      topic: topicId,
      state: 'Succeeded',
      destination: { endpointType: 'WebHook', endpointBaseUrl: 'https://hooks.example.test/x' },
      filter: {
        includedEventTypes: ['Microsoft.MachineLearningServices.RunCompleted'],
        advancedFilters: [{ operatorType: 'NumberGreaterThan', key: 'data.score', value: 0.5 }],
      },
      retry: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 120 },
    });
    expect(r.sub.destination.endpointUrl).toBeUndefined();
    expect(r.subGotLabels).toEqual(['sdk']);
    expect(r.subUpdatedLabels).toEqual(['sdk', 'patched']);
    expect(r.subList).toEqual(['sdk-sub-1']);
    expect(r.fullUrl).toBe('https://hooks.example.test/x?code=secret-code');
    expect(r.attrs).toEqual([]);
    expect(r.delivered).toEqual(['b1']);
    expect(r.afterDelete).toBe(0);
    expect(r.missing).toBe('404 ResourceNotFound');
  });
});
