/**
 * Issue 4's "Done when", with the typed SDK against the real app (the CLI and `@azure/arm-machinelearning` halves
 * are in packages/server/test/cli-ml-e2e.test.ts and azure-ml-sdk.test.ts): a ModelRegistered subscription
 * filtered on `data.ModelTags.key1 StringIn value1` gets the tagged registration only, parsed by the Azure
 * deserializer; a Reader is refused creating a subscription; a failing job raises RunStatusChanged.
 */
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient } from '../src/index.js';
import { assign, createPrincipal } from '../../server/test/helpers/rbac.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { until } from '../../server/test/helpers/until.js';

describe('issue 4, done when (typed SDK)', () => {
  let s: TestServer;
  let admin: MlgridClient;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { delivery: { timeScale: 0.001, pollMs: 20 } });
    admin = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
  });
  afterAll(async () => s?.stop());

  const inbox = async (name: string) =>
    ((await (await s.arm('GET', `/inbox/${name}`)).json()) as { value: { body: unknown }[] }).value;

  it('delivers the tagged ModelRegistered, refuses a Reader, and reports a failed job', async () => {
    const ws = await admin.workspaces.create('rg1', 'ws-done', { location: 'local' });
    await admin.eventSubscriptions.create(ws.id, 'tagged', {
      properties: {
        destination: { endpointType: 'WebHook', properties: { endpointUrl: `${s.url}/inbox/tagged` } },
        filter: {
          includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'],
          advancedFilters: [{ operatorType: 'StringIn', key: 'data.ModelTags.key1', values: ['value1'] }],
        },
      },
    });
    await admin.models.register('rg1', 'ws-done', 'churn', '1', {
      properties: { modelUri: 'file:///models/churn/1', tags: { key1: 'value1' } },
    });
    await admin.models.register('rg1', 'ws-done', 'churn', '2', {
      properties: { modelUri: 'file:///models/churn/2', tags: { key1: 'other' } },
    });
    const got = await until(
      () => inbox('tagged'),
      (v) => v.length >= 1,
    );
    await new Promise((r) => setTimeout(r, 200)); // version 2 would have arrived by now
    expect(await inbox('tagged')).toHaveLength(1);
    const [event] = await new EventGridDeserializer().deserializeEventGridEvents(
      got[0]!.body as Record<string, unknown>,
    );
    expect(isSystemEvent('Microsoft.MachineLearningServices.ModelRegistered', event!)).toBe(true);
    expect(event).toMatchObject({
      topic: ws.id,
      subject: 'models/churn:1',
      data: { modelTags: { key1: 'value1' } },
    });

    const reader = await createPrincipal(s, 'done-reader');
    await assign(s, reader, 'Reader', ws.id);
    const asReader = new MlgridClient({ baseUrl: s.url, key: reader.key });
    expect((await asReader.workspaces.get('rg1', 'ws-done')).id).toBe(ws.id); // reading is allowed
    const refused = await asReader.eventSubscriptions
      .create(ws.id, 'not-allowed', {
        properties: {
          destination: { endpointType: 'WebHook', properties: { endpointUrl: `${s.url}/inbox/x` } },
        },
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 403, code: 'AuthorizationFailed' });

    await admin.eventSubscriptions.create(ws.id, 'runs', {
      properties: {
        destination: { endpointType: 'WebHook', properties: { endpointUrl: `${s.url}/inbox/runs` } },
        filter: { includedEventTypes: ['Microsoft.MachineLearningServices.RunStatusChanged'] },
      },
    });
    await admin.jobs.create('rg1', 'ws-done', 'fails', {
      properties: { jobType: 'Command', command: 'exit 4', environmentId: 'azureml:local:1' },
    });
    expect((await admin.jobs.waitFor('rg1', 'ws-done', 'fails', { intervalMs: 50 })).properties.status).toBe(
      'Failed',
    );
    const runs = await until(
      () => inbox('runs'),
      (v) => v.length >= 1,
    );
    const [changed] = await new EventGridDeserializer().deserializeEventGridEvents(
      runs[0]!.body as Record<string, unknown>,
    );
    expect(isSystemEvent('Microsoft.MachineLearningServices.RunStatusChanged', changed!)).toBe(true);
    expect(changed!.data).toMatchObject({ runId: 'fails', runStatus: 'Failed' });
  });
});
