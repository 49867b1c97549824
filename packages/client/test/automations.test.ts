/**
 * `client.automations` against the real app in process (SQLite): CRUD, GET → PUT keeping a masked secret, a manual
 * trigger whose httpRequest run reaches a receiver on port 0 and is listed as Succeeded, 400s naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient, type AutomationDefinition, type HttpRequestStep } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { startReceiver, type Receiver } from '../../server/test/helpers/receiver.js';

const RG = 'rg-auto';
const WS = 'ws-auto';

describe('MlgridClient automations', () => {
  let s: TestServer;
  let rx: Receiver;
  let client: MlgridClient;
  const call = (): HttpRequestStep => ({
    name: 'call',
    type: 'httpRequest',
    url: `${rx.url}/hook/{{automation.name}}`,
    headers: { authorization: 'Bearer s3cret', 'x-plain': 'v' },
    body: { who: '{{data.who}}', run: '{{runId}}', n: '{{events.length}}' },
  });
  const definition = (): AutomationDefinition => ({
    description: 'call a hook on model registration',
    trigger: { includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'] },
    steps: [call()],
  });

  beforeAll(async () => {
    s = await startTestServer('sqlite', { automations: { pollMs: 100 } });
    rx = await startReceiver();
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    await client.workspaces.create(RG, WS, { location: 'local' });
  });
  afterAll(async () => {
    await rx?.close();
    await s?.stop();
  });

  it('creates, gets, lists, replaces and deletes an automation with its trigger subscription', async () => {
    const created = await client.automations.createOrUpdate(RG, WS, 'notify', definition());
    expect(created.id).toBe(`${client.workspaceId(RG, WS)}/automations/notify`);
    expect(created.properties).toMatchObject({
      enabled: true,
      provisioningState: 'Succeeded',
      trigger: { source: client.workspaceId(RG, WS) },
      stormControl: { key: '{{subject}}', whenBusy: 'queue', maxConcurrent: 1 },
      runsQueued: 0,
      runsInProgress: 0,
    });
    expect(created.properties.steps[0]).toMatchObject({ retry: { maxAttempts: 3 }, timeoutSeconds: 60 });
    // The trigger is a real event subscription on the workspace.
    const subId = created.properties.eventSubscriptionId!;
    const sub = await client.eventSubscriptions.get(client.workspaceId(RG, WS), 'automation-notify');
    expect(sub.id.toLowerCase()).toBe(subId.toLowerCase());
    expect((await client.automations.get(RG, WS, 'notify')).properties.description).toBe(
      'call a hook on model registration',
    );
    expect((await client.automations.list(RG, WS)).map((a) => a.name)).toEqual(['notify']);

    const disabled = await client.automations.createOrUpdate(RG, WS, 'notify', {
      ...definition(),
      enabled: false,
    });
    expect(disabled.properties.enabled).toBe(false);
    expect(disabled.properties.eventSubscriptionId).toBeUndefined();
    const gone = await client.eventSubscriptions
      .get(client.workspaceId(RG, WS), 'automation-notify')
      .catch((e: unknown) => e);
    expect((gone as ApiError).status).toBe(404);

    expect(await client.automations.delete(RG, WS, 'notify')).toBe(true);
    expect(await client.automations.delete(RG, WS, 'notify')).toBe(false);
    const err = await client.automations.get(RG, WS, 'notify').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect(await client.automations.list(RG, WS)).toEqual([]);
  });

  it('a manual trigger runs the steps; the run is listed as Succeeded; GET → PUT keeps the masked header', async () => {
    await client.automations.createOrUpdate(RG, WS, 'relay', definition());
    // A secret header reads back masked; sending the read-back definition again keeps the stored value.
    const read = await client.automations.get(RG, WS, 'relay');
    const step = read.properties.steps[0] as HttpRequestStep;
    expect(step.headers).toEqual({ authorization: '***', 'x-plain': 'v' });
    await client.automations.createOrUpdate(RG, WS, 'relay', { ...read.properties, description: 'edited' });

    const outcome = await client.automations.trigger(RG, WS, 'relay', {
      id: 'manual-sdk-1',
      eventType: 'Manual.Test',
      subject: 'models/churn',
      data: { who: 'sdk' },
    });
    expect(outcome).toMatchObject({ eventId: 'manual-sdk-1', status: 'queued' });
    expect(outcome.runUrl).toBe(`${client.workspaceId(RG, WS)}/automations/relay/runs/${outcome.runId}`);
    const run = await client.automations.runs.waitFor(RG, WS, 'relay', outcome.runId!, {
      intervalMs: 50,
      timeoutMs: 20_000,
    });
    expect(run.properties.status).toBe('Succeeded');
    expect(run.properties.steps).toMatchObject([
      { name: 'call', type: 'httpRequest', status: 'Succeeded', attempts: 1, output: { status: 200 } },
    ]);
    expect(run.properties.lineage).toEqual({ correlationId: 'manual-sdk-1', causationId: 'manual-sdk-1' });
    expect(run.properties.triggerEvents?.map((e) => e.id)).toEqual(['manual-sdk-1']);

    const hits = rx.requests.filter((r) => r.url === '/hook/relay');
    expect(hits).toHaveLength(1);
    expect(hits[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(JSON.parse(hits[0]!.body)).toEqual({ who: 'sdk', run: outcome.runId, n: 1 });

    const runs = await client.automations.runs.list(RG, WS, 'relay');
    expect(runs.map((r) => [r.name, r.properties.status])).toEqual([[outcome.runId, 'Succeeded']]);
    expect(await client.automations.runs.list(RG, WS, 'relay', { status: 'Failed' })).toEqual([]);
    expect(await client.automations.runs.list(RG, WS, 'relay', { status: 'Succeeded', top: 1 })).toHaveLength(
      1,
    );
    // The same event id again is recognised: no second run.
    const dup = await client.automations.trigger(RG, WS, 'relay', { id: 'manual-sdk-1', eventType: 'X' });
    expect(dup).toMatchObject({ status: 'duplicate', runId: outcome.runId });
    expect(await client.automations.delete(RG, WS, 'relay')).toBe(true);
  });

  it('surfaces 400s as ApiError naming the field', async () => {
    const fieldOf = async (p: Promise<unknown>) => {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      const e = err as ApiError;
      expect([e.status, e.code]).toEqual([400, 'InvalidRequestContent']);
      expect(e.message).toContain(e.target);
      return e.target;
    };
    expect(await fieldOf(client.automations.createOrUpdate(RG, WS, 'bad', { steps: [] }))).toBe(
      'properties.steps',
    );
    const badUrl = { ...call(), url: 'not a url' };
    expect(await fieldOf(client.automations.createOrUpdate(RG, WS, 'bad', { steps: [badUrl] }))).toBe(
      'properties.steps[0].url',
    );
    const unknownRef = { ...call(), body: '{{steps.later.status}}' };
    expect(await fieldOf(client.automations.createOrUpdate(RG, WS, 'bad', { steps: [unknownRef] }))).toMatch(
      /^properties\.steps\[0\]\.body/,
    );
    expect(await client.automations.list(RG, WS)).toEqual([]); // nothing was stored

    await client.automations.createOrUpdate(RG, WS, 'ok', { steps: [call()] });
    expect(await fieldOf(client.automations.runs.list(RG, WS, 'ok', { top: 0 }))).toBe('top');
    expect(await fieldOf(client.automations.trigger(RG, WS, 'ok', { eventType: '' }))).toBe(
      'event.eventType',
    );
    // waitFor does not poll a run of an automation that does not exist.
    const missing = await client.automations.runs
      .waitFor(RG, WS, 'nope', 'r1', { timeoutMs: 30_000 })
      .catch((e: unknown) => e);
    expect((missing as ApiError).status).toBe(404);
    expect(await client.automations.delete(RG, WS, 'ok')).toBe(true);
  });
});
