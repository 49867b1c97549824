/** Push delivery end to end: handshakes, headers, schemas, batching, retries, dead letters, redrive, replay. */
import { EventGridDeserializer } from '@azure/eventgrid';
import { HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const pgSkip = await skipWithoutPostgres('delivery');
const TOPIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/deliver';
const sub = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;
const deserializer = new EventGridDeserializer();

/** Polls `get` until `done` holds (settlement follows the HTTP reply asynchronously), at most ~5 s. */
async function eventually<T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 250 && !done(v); i++) {
    await new Promise((x) => setTimeout(x, 20));
    v = await get();
  }
  return v;
}

function ev(id: string, data: object = {}, type = 'Microsoft.MachineLearningServices.RunCompleted') {
  return {
    id,
    eventType: type,
    subject: `experiments/e/runs/${id}`,
    eventTime: '2026-01-01T00:00:00.000Z',
    dataVersion: '2',
    data,
  };
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('delivery on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let key = '';
  const receivers: Receiver[] = [];
  const dlq = tempDir('mlgrid-dlq-');
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend, {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: true },
    });
    await s.arm('PUT', TOPIC, { location: 'local' });
    key = (await (await s.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
  });
  afterAll(async () => {
    await s?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    dlq.cleanup();
  });

  async function receiver(b?: Parameters<typeof startReceiver>[0]) {
    const r = await startReceiver(b);
    receivers.push(r);
    return r;
  }
  const create = async (name: string, destination: object, props: object = {}) => {
    const res = await s.arm('PUT', sub(name), { properties: { destination, ...props } });
    return { status: res.status, body: await res.json() };
  };
  const hook = (url: string, extra: object = {}) => ({
    endpointType: 'WebHook',
    properties: { endpointUrl: url, ...extra },
  });
  const publish = async (events: object[]) => {
    const r = await fetch(`${s.url}/topics/deliver/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify(events),
    });
    expect(r.status).toBe(200);
  };
  const dead = async (name: string) => (await (await s.arm('GET', `${sub(name)}/deadLetters`)).json()).value;

  it.skipIf(skip)('validates the endpoint, then delivers Event Grid events with Azure headers', async () => {
    const r = await receiver();
    const created = await create('eg-sub', hook(`${r.url}/hook?code=k`), {
      filter: { subjectBeginsWith: 'experiments/e/runs/eg' },
    });
    expect(created.status).toBe(201);
    expect(created.body.properties.provisioningState).toBe('Succeeded');
    const hs = r.requests[0]!;
    expect(hs.headers['aeg-event-type']).toBe('SubscriptionValidation');
    const [v] = await deserializer.deserializeEventGridEvents(hs.body);
    expect(v!.eventType).toBe('Microsoft.EventGrid.SubscriptionValidationEvent');
    expect((v!.data as { validationUrl: string }).validationUrl).toContain('/eventSubscriptionValidation?');

    await publish([ev('eg-1', { score: 1 }), ev('eg-2'), ev('other')]);
    await r.waitFor(() => r.eventIds().length >= 2);
    const n = r.notifications()[0]!;
    expect(n.url).toBe('/hook?code=k');
    expect(n.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'aeg-subscription-name': 'EG-SUB',
      'aeg-delivery-count': '0',
      'aeg-metadata-version': '1',
      'aeg-data-version': '2',
    });
    const events = await deserializer.deserializeEventGridEvents(n.body);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ topic: TOPIC, metadataVersion: '1', dataVersion: '2' });
    expect(n.headers['aeg-output-event-id']).toBe(events[0]!.id);
    expect(r.eventIds().sort()).toEqual(['eg-1', 'eg-2']);
    const log = await eventually(
      async () => (await (await s.arm('GET', `${sub('eg-sub')}/deliveryAttempts`)).json()).value,
      (v) => v.length >= 2,
    );
    expect(log.map((a: { outcome: string; statusCode: number }) => [a.outcome, a.statusCode])).toEqual([
      ['Succeeded', 200],
      ['Succeeded', 200],
    ]);
  });

  it.skipIf(skip)('delivers CloudEvents (structured, and batched arrays) that both SDKs parse', async () => {
    const single = await receiver();
    const batched = await receiver();
    expect(
      (
        await create('ce-one', hook(single.url), {
          eventDeliverySchema: 'CloudEventSchemaV1_0',
          filter: { subjectBeginsWith: 'experiments/e/runs/ce' },
        })
      ).status,
    ).toBe(201);
    expect(single.requests[0]!.method).toBe('OPTIONS');
    expect(
      (
        await create('ce-batch', hook(batched.url, { maxEventsPerBatch: 2 }), {
          eventDeliverySchema: 'CloudEventSchemaV1_0',
          filter: { subjectBeginsWith: 'experiments/e/runs/ce' },
        })
      ).status,
    ).toBe(201);
    await publish([ev('ce-1', { a: 1 }), ev('ce-2'), ev('ce-3')]);
    await single.waitFor(() => single.eventIds().length >= 3);
    await batched.waitFor(() => batched.eventIds().length >= 3);
    for (const n of single.notifications()) {
      expect(n.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      const [ce] = await deserializer.deserializeCloudEvents(n.body);
      expect(ce).toMatchObject({
        source: TOPIC,
        type: 'Microsoft.MachineLearningServices.RunCompleted',
        specversion: '1.0',
      });
      const sdk = HTTP.toEvent({ headers: n.headers as Record<string, string>, body: n.body });
      expect(Array.isArray(sdk)).toBe(false);
    }
    const sizes = batched.notifications().map((n) => JSON.parse(n.body).length);
    expect(sizes.every((k) => k <= 2)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3);
    for (const n of batched.notifications()) {
      expect(n.headers['content-type']).toBe('application/cloudevents-batch+json; charset=utf-8');
      expect((await deserializer.deserializeCloudEvents(n.body)).length).toBe(JSON.parse(n.body).length);
      expect(HTTP.toEvent({ headers: n.headers as Record<string, string>, body: n.body })).toBeInstanceOf(
        Array,
      );
    }
  });

  it.skipIf(skip)('retries a flaky endpoint until every event arrives, counting attempts', async () => {
    const r = await receiver((_q, n) => (n <= 3 ? { status: n === 2 ? 503 : 500 } : { status: 200 }));
    await create('flaky', hook(r.url), {
      filter: { subjectBeginsWith: 'experiments/e/runs/fl' },
      deliveryAttributeMappings: undefined,
    });
    await publish([ev('fl-1', { run: 'r-77' })]);
    await r.waitFor(() => r.notifications().length >= 4);
    expect(r.notifications().map((n) => n.headers['aeg-delivery-count'])).toEqual(['0', '1', '2', '3']);
    const d = (await (await s.arm('GET', `${sub('flaky')}/deliveries`)).json()).value[0];
    const log = await eventually(
      async () =>
        (await (await s.arm('GET', `${sub('flaky')}/deliveryAttempts?outcome=failed`)).json()).value,
      (v) => v.length >= 3,
    );
    expect(log.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 503, 500]);
    expect(['pending', 'delivered']).toContain(d.status);
  });

  it.skipIf(skip)('dead-letters a 400 at once, writes Azure blob layout, and redrives it', async () => {
    let healthy = false;
    const r = await receiver(() => (healthy ? { status: 200 } : { status: 400, body: 'bad payload' }));
    const made = await create(
      'dead-letter',
      hook(r.url, {
        deliveryAttributeMappings: [
          { name: 'x-static', type: 'Static', properties: { value: 'v1' } },
          { name: 'x-run', type: 'Dynamic', properties: { sourceField: 'data.run' } },
        ],
      }),
      {
        filter: { subjectBeginsWith: 'experiments/e/runs/dl' },
        deadLetterDestination: {
          endpointType: 'LocalDirectory',
          properties: { path: pathToFileURL(dlq.dir).href },
        },
      },
    );
    expect(made.body.error).toBeUndefined();
    await publish([ev('dl-1', { run: 'r-9' })]);
    await r.waitFor(() => r.notifications().length >= 1);
    expect(r.notifications()[0]!.headers).toMatchObject({ 'x-static': 'v1', 'x-run': 'r-9' });
    const letters: { id: string; deadLetterReason: string; record: Record<string, unknown> }[] =
      await eventually(
        () => dead('dead-letter'),
        (l) => l.length > 0,
      );
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      deadLetterReason: 'UndeliverableDueToHttpBadRequest',
      deliveryAttempts: 1,
      lastHttpStatusCode: 400,
    });
    expect(letters[0]!.record).toMatchObject({
      id: 'dl-1',
      deadLetterReason: 'UndeliverableDueToHttpBadRequest',
      lastDeliveryOutcome: 'BadRequest',
      deliveryAttempts: 1,
    });
    expect(r.notifications()).toHaveLength(1); // not retried

    // NAME/YYYY/M/D/H/<guid>.json, each an array of records
    const listFiles = async () =>
      (readdirSync(dlq.dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
    const files = await eventually(listFiles, (f) => f.length > 0);
    expect(files).toHaveLength(1);
    expect(files[0]!.slice(dlq.dir.length)).toMatch(
      /^\/DEAD-LETTER\/\d{4}\/\d{1,2}\/\d{1,2}\/\d{1,2}\/[0-9a-f-]{36}\.json$/,
    );
    expect(JSON.parse(readFileSync(files[0]!, 'utf8'))[0]).toMatchObject({
      id: 'dl-1',
      deadLetterReason: 'UndeliverableDueToHttpBadRequest',
    });

    healthy = true;
    const red = await (
      await s.arm('POST', `${sub('dead-letter')}/redrive`, { ids: [letters[0]!.id] })
    ).json();
    expect(red).toEqual({ redriven: 1 });
    await r.waitFor(() => r.notifications().length >= 2);
    expect(r.notifications()[1]!.headers['aeg-delivery-count']).toBe('0');
    expect(
      await eventually(
        () => dead('dead-letter'),
        (l) => l.length === 0,
      ),
    ).toEqual([]);
  });

  it.skipIf(skip)('gives up after maxDeliveryAttempts', async () => {
    const r = await receiver(() => ({ status: 500 }));
    await create('gives-up', hook(r.url), {
      filter: { subjectBeginsWith: 'experiments/e/runs/gu' },
      retryPolicy: { maxDeliveryAttempts: 2 },
    });
    await publish([ev('gu-1')]);
    await r.waitFor(() => r.notifications().length >= 2);
    const letters = await eventually(
      () => dead('gives-up'),
      (l) => l.length > 0,
    );
    expect(letters[0]).toMatchObject({
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 2,
    });
    await new Promise((x) => setTimeout(x, 100));
    expect(r.notifications()).toHaveLength(2);
  });

  it.skipIf(skip)('ends retries when the event outlives its time to live', async () => {
    const r = await receiver(() => ({ status: 500 }));
    await create('short-ttl', hook(r.url), {
      filter: { subjectBeginsWith: 'experiments/e/runs/ttl' },
      retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 5 }, // 300 ms at time scale 0.001
    });
    await publish([ev('ttl-1')]);
    const [letter] = await eventually(
      () => dead('short-ttl'),
      (l) => l.length > 0,
    );
    expect(letter).toMatchObject({
      deadLetterReason: 'TimeToLiveExceeded',
      lastDeliveryOutcome: 'GenericError',
    });
    expect(letter.deliveryAttempts).toBeGreaterThanOrEqual(2);
    expect(letter.deliveryAttempts).toBeLessThan(30);
  });

  it.skipIf(skip)(
    'awaits manual validation through the validationUrl, or fails after the window',
    async () => {
      const r = await receiver();
      r.handshake = 'manual';
      const c = await create('manual', hook(r.url), {
        filter: { subjectBeginsWith: 'experiments/e/runs/mv' },
      });
      expect(c.body.properties.provisioningState).toBe('AwaitingManualAction');
      const [v] = await deserializer.deserializeEventGridEvents(r.requests[0]!.body);
      await publish([ev('mv-1')]);
      const ok = await fetch((v!.data as { validationUrl: string }).validationUrl);
      expect(ok.status).toBe(200);
      expect((await (await s.arm('GET', sub('manual'))).json()).properties.provisioningState).toBe(
        'Succeeded',
      );
      await r.waitFor(() => r.eventIds().includes('mv-1'));

      const late = await receiver();
      late.handshake = 'manual';
      await create('too-late', hook(late.url), { filter: { subjectBeginsWith: 'nothing/' } });
      const state = await eventually(
        async () => (await (await s.arm('GET', sub('too-late'))).json()).properties.provisioningState,
        (v) => v === 'Failed',
      );
      expect(state).toBe('Failed'); // 5 min × 0.001 = 300 ms window
    },
  );

  it.skipIf(skip)(
    'rejects a subscription whose endpoint fails the handshake, and refuses metadata addresses',
    async () => {
      const r = await receiver();
      r.handshake = 403;
      const bad = await create('refused', hook(r.url));
      expect(bad.status).toBe(400);
      expect(bad.body.error.target).toBe('properties.destination.properties.endpointUrl');
      expect((await s.arm('GET', sub('refused'))).status).toBe(404);
      const meta = await create('metadata', hook('http://169.254.169.254/latest/meta-data'));
      expect(meta.status).toBe(400);
      expect(meta.body.error.message).toMatch(/refused|egress|Forbidden/i);
    },
  );

  it.skipIf(skip)('replays retained events from a point in time, and says goodbye on delete', async () => {
    const r = await receiver();
    await create('replayer', hook(r.url), { filter: { subjectBeginsWith: 'experiments/e/runs/eg' } });
    const res = await (
      await s.arm('POST', `${sub('replayer')}/replay`, { from: '2000-01-01T00:00:00Z' })
    ).json();
    expect(res.enqueued).toBe(2); // eg-1 and eg-2 were published before this subscription existed
    await r.waitFor(() => r.eventIds().length >= 2);
    expect(r.eventIds().sort()).toEqual(['eg-1', 'eg-2']);
    const bad = await s.arm('POST', `${sub('replayer')}/replay`, { from: 'yesterday' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.target).toBe('from');

    expect((await s.arm('DELETE', sub('replayer'))).status).toBe(200);
    await r.waitFor(() => r.requests.some((q) => q.headers['aeg-event-type'] === 'SubscriptionDeletion'));
    const bye = r.requests.find((q) => q.headers['aeg-event-type'] === 'SubscriptionDeletion')!;
    expect((await deserializer.deserializeEventGridEvents(bye.body))[0]!.eventType).toBe(
      'Microsoft.EventGrid.SubscriptionDeletedEvent',
    );
  });

  it.skipIf(skip)(
    'signs webhooks (Standard Webhooks) and keeps the old secret valid during rotation',
    async () => {
      const r = await receiver();
      const made = await create('signed', hook(r.url), {
        filter: { subjectBeginsWith: 'experiments/e/runs/sg' },
        signing: { enabled: true },
      });
      expect(made.body.properties.signing).toEqual({ enabled: true });
      expect(JSON.stringify(made.body)).not.toContain('whsec_');
      const [first] = (await (await s.arm('POST', `${sub('signed')}/getSigningSecrets`)).json()).value;
      expect(first.secret).toMatch(/^whsec_/);
      await publish([ev('sg-1')]);
      await r.waitFor(() => r.eventIds().includes('sg-1'));
      const n1 = r.notifications().at(-1)!;
      expect(n1.headers['webhook-id']).toBe('sg-1');
      expect(() =>
        new Webhook(first.secret).verify(n1.body, n1.headers as Record<string, string>),
      ).not.toThrow();
      expect(() =>
        new Webhook(first.secret).verify(
          n1.body.replace('sg-1', 'sg-X'),
          n1.headers as Record<string, string>,
        ),
      ).toThrow();

      const rotated = (
        await (await s.arm('POST', `${sub('signed')}/rotateSigningSecret`, { graceMinutes: 60 })).json()
      ).value;
      expect(rotated).toHaveLength(2);
      expect(rotated[1]).toMatchObject({ secret: first.secret, expiresAt: expect.any(String) });
      await publish([ev('sg-2')]);
      await r.waitFor(() => r.eventIds().includes('sg-2'));
      const n2 = r.notifications().at(-1)!;
      for (const secret of [rotated[0].secret, first.secret]) {
        expect(() => new Webhook(secret).verify(n2.body, n2.headers as Record<string, string>)).not.toThrow();
      }
      const off = await s.arm('PATCH', sub('signed'), { signing: { enabled: false } });
      expect((await off.json()).properties.signing).toBeUndefined();
    },
  );

  it.skipIf(skip)('exposes Prometheus metrics', async () => {
    const m = await (await fetch(`${s.url}/metrics`)).text();
    expect(m).toMatch(/mlgrid_events_published_total\{topic="deliver"\} \d+/);
    expect(m).toMatch(/mlgrid_delivery_attempts_total\{subscription="eg-sub",outcome="Succeeded"\} 2/);
    expect(m).toMatch(
      /mlgrid_deliveries_deadlettered_total\{subscription="gives-up",reason="MaxDeliveryAttemptsExceeded"\} 1/,
    );
    expect(m).toMatch(/mlgrid_delivery_queue_depth \d+/);
    expect(m).toContain('mlgrid_delivery_latency_seconds_bucket');
  });

  it.skipIf(skip)('has a built-in inbox that passes both handshakes and shows what it received', async () => {
    const eg = await create('to-inbox', hook(`${s.url}/inbox/demo`), {
      filter: { subjectBeginsWith: 'experiments/e/runs/ib' },
    });
    expect(eg.body.properties.provisioningState).toBe('Succeeded');
    const ce = await create('to-inbox-ce', hook(`${s.url}/inbox/demo-ce`), {
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      filter: { subjectBeginsWith: 'experiments/e/runs/ib' },
    });
    expect(ce.body.properties.provisioningState).toBe('Succeeded');
    await publish([ev('ib-1', { x: 1 })]);
    const inbox = async (name: string) => (await s.arm('GET', `/inbox/${name}`)).json();
    const got = await eventually(
      () => inbox('demo'),
      (b) => b.value.length > 0,
    );
    expect(got.value[0]).toMatchObject({
      headers: { 'aeg-event-type': 'Notification' },
      body: [{ id: 'ib-1', data: { x: 1 } }],
    });
    const gotCe = await eventually(
      () => inbox('demo-ce'),
      (b) => b.value.length > 0,
    );
    expect(gotCe.value[0].body).toMatchObject({ id: 'ib-1', specversion: '1.0' });
    expect((await fetch(`${s.url}/inbox/demo`)).status).toBe(401);
    expect((await s.arm('GET', '/inbox/bad_name')).status).toBe(400);
  });

  it.skipIf(skip)('does not follow redirects', async () => {
    const target = await receiver();
    const r = await receiver(() => ({ status: 307, headers: { location: `${target.url}/elsewhere` } }));
    await create('redirected', hook(r.url), {
      filter: { subjectBeginsWith: 'experiments/e/runs/rd' },
      retryPolicy: { maxDeliveryAttempts: 1 },
    });
    await publish([ev('rd-1')]);
    const [letter] = await eventually(
      () => dead('redirected'),
      (l) => l.length > 0,
    );
    expect(letter).toMatchObject({
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      lastHttpStatusCode: 307,
    });
    expect(target.notifications()).toEqual([]);
  });
});

describe('egress policy from configuration', () => {
  it('refuses endpoints in a denied range, and allows exceptions', async () => {
    const r = await startReceiver();
    const s = await startTestServer('sqlite', {
      delivery: { timeScale: 0.001, pollMs: 20, egress: { deny: ['127.0.0.0/8'], allow: [] } },
    });
    const s2 = await startTestServer('sqlite', {
      delivery: { timeScale: 0.001, pollMs: 20, egress: { deny: ['127.0.0.0/8'], allow: ['127.0.0.1'] } },
    });
    try {
      for (const [server, status] of [
        [s, 400],
        [s2, 201],
      ] as const) {
        await server.arm('PUT', TOPIC, { location: 'local' });
        const res = await server.arm('PUT', sub('guarded'), {
          properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: r.url } } },
        });
        expect(res.status).toBe(status);
      }
    } finally {
      await s.stop();
      await s2.stop();
      await r.close();
    }
  });
});
