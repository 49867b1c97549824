/** EventHub destinations delivered to a real NATS JetStream server: SDK-created subscriptions, headers, dedup, failures. */
import { EventGridDeserializer } from '@azure/eventgrid';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsHandler } from '../src/handlers/nats.js';
import { armEventGrid, closedPort } from './helpers/arm-eventgrid.js';
import { BROKERS, skipWithoutBroker } from './helpers/brokers.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';
import { deadLettered, directory, ev, oneEvent, request } from './helpers/broker-kit.js';

const skip = await skipWithoutBroker('nats', 'EventHub → NATS JetStream');
const RUN = randomBytes(4).toString('hex');
const SUB = 'nats-sub';
const NS = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns-${RUN}`;
const HUB = `hub-${RUN}`;
/** One stream per subject (filtered consumers need NATS 2.10; this keeps the test on older servers too). */
const STREAMS: Record<string, string> = {
  [HUB]: `MLGRID_TEST_${RUN}_EG`,
  [`${HUB}-ce`]: `MLGRID_TEST_${RUN}_CE`,
  [`${HUB}-dedup`]: `MLGRID_TEST_${RUN}_DEDUP`,
};
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/nats-${RUN}`;
const esPath = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;
const deserializer = new EventGridDeserializer();

describe.skipIf(skip)('EventHub destinations → NATS JetStream', () => {
  let s: TestServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let key = '';

  beforeAll(async () => {
    nc = await connect({ servers: BROKERS.nats.url });
    jsm = await jetstreamManager(nc);
    for (const [subject, name] of Object.entries(STREAMS))
      await jsm.streams.add({ name, subjects: [subject] });
    s = await startTestServer('sqlite', {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false, timeoutMs: 3000 },
    });
    const conn = await s.arm('PUT', '/providers/Microsoft.MLGrid/connections/nats-test', {
      properties: { resourceId: NS, kind: 'nats', url: BROKERS.nats.url },
    });
    expect(conn.status).toBe(201);
    expect((await s.arm('PUT', TOPIC, { location: 'local' })).status).toBe(201);
    key = (await (await s.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
  });
  afterAll(async () => {
    await s?.stop();
    for (const name of Object.values(STREAMS)) await jsm?.streams.delete(name).catch(() => {});
    await nc?.close();
  });

  const publish = async (events: object[]) => {
    const r = await fetch(`${s.url}/topics/nats-${RUN}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify(events),
    });
    expect(r.status).toBe(200);
  };
  const attempts = async (name: string) =>
    (await (await s.arm('GET', `${esPath(name)}/deliveryAttempts`)).json()).value as {
      outcome: string;
      responseExcerpt?: string;
      eventIds: string[];
    }[];

  /** Every message on `subject` so far, through a real (ordered) JetStream consumer. */
  async function consume(subject: string, expected: number): Promise<JsMsg[]> {
    const stream = STREAMS[subject]!;
    await until(
      async () => (await jsm.streams.info(stream)).state.messages,
      (n) => n >= expected,
    );
    const consumer = await jetstream(nc).consumers.get(stream);
    const out: JsMsg[] = [];
    const batch = await consumer.fetch({ max_messages: expected, expires: 2000 });
    for await (const m of batch) {
      out.push(m);
      if (out.length >= expected) break;
    }
    return out;
  }

  it('delivers a subscription made with @azure/arm-eventgrid to the hub subject, headers as NATS headers', async () => {
    const client = armEventGrid(s, SUB);
    const made = await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC, 'nats-eg', {
      destination: {
        endpointType: 'EventHub',
        resourceId: `${NS}/eventhubs/${HUB}`,
        deliveryAttributeMappings: [
          { name: 'x-run', type: 'Dynamic', sourceField: 'data.runId' },
          { name: 'x-team', type: 'Static', value: 'ml', isSecret: false },
          { name: 'Nats-Rollup', type: 'Static', value: 'all', isSecret: false },
        ],
      },
      filter: { subjectBeginsWith: 'experiments/e/runs/eg-' },
    });
    expect(made.provisioningState).toBe('Succeeded');
    expect(made.destination).toMatchObject({
      endpointType: 'EventHub',
      resourceId: `${NS}/eventhubs/${HUB}`,
    });

    await publish([ev('n1', 'eg', { runId: 'r-1' }), ev('n2', 'eg', { runId: 'r-2' }), ev('n3', 'other')]);
    const msgs = await consume(HUB, 2);
    expect(msgs.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual(['n1:nats-eg', 'n2:nats-eg']);
    const m = msgs[0]!;
    expect(m.subject).toBe(HUB);
    const h = (k: string) => m.headers?.get(k);
    expect([h('aeg-event-type'), h('aeg-subscription-name'), h('aeg-delivery-count')]).toEqual([
      'Notification',
      'NATS-EG',
      '0',
    ]);
    expect([h('aeg-metadata-version'), h('aeg-data-version'), h('aeg-output-event-id')]).toEqual([
      '1',
      '2',
      'n1',
    ]);
    expect(h('content-type')).toBe('application/json; charset=utf-8');
    expect([h('x-run'), h('x-team')]).toEqual(['r-1', 'ml']);
    expect(m.headers?.keys().filter((k) => /^nats-rollup$/i.test(k))).toEqual([]); // JetStream control headers are ours
    const [parsed] = await deserializer.deserializeEventGridEvents(m.string());
    expect(parsed).toMatchObject({
      id: 'n1',
      topic: TOPIC,
      eventType: ev('n1', 'eg').eventType,
      data: { runId: 'r-1' },
    });

    const log = await until(
      () => attempts('nats-eg'),
      (l) => l.length >= 2,
    );
    expect(log.map((a) => a.outcome)).toEqual(['Succeeded', 'Succeeded']);
    expect(log[0]!.responseExcerpt).toMatch(new RegExp(`^stream=${STREAMS[HUB]} seq=\\d+$`));
  });

  it('delivers CloudEvents structured, which the SDK parses', async () => {
    const put = await s.arm('PUT', esPath('nats-ce'), {
      properties: {
        destination: { endpointType: 'EventHub', properties: { resourceId: `${NS}/eventhubs/${HUB}-ce` } },
        eventDeliverySchema: 'CloudEventSchemaV1_0',
        filter: { subjectBeginsWith: 'experiments/e/runs/ce-' },
      },
    });
    expect(put.status).toBe(201);
    await publish([ev('c1', 'ce', { score: 0.9 })]);
    const [m] = await consume(`${HUB}-ce`, 1);
    expect(m!.headers?.get('content-type')).toBe('application/cloudevents+json; charset=utf-8');
    const [ce] = await deserializer.deserializeCloudEvents(m!.string());
    expect(ce).toMatchObject({
      id: 'c1',
      source: TOPIC,
      type: ev('c1', 'ce').eventType,
      data: { score: 0.9 },
    });
  });

  it('lets JetStream de-duplicate by event id: a repeated send is acknowledged as a duplicate and stored once', async () => {
    const h = new NatsHandler(
      directory([{ name: 'n', resourceId: NS, kind: 'nats', url: BROKERS.nats.url }]),
      {
        timeoutMs: 3000,
      },
    );
    try {
      const t = h.target({
        endpointType: 'EventHub',
        properties: { resourceId: `${NS}/eventhubs/${HUB}-dedup` },
      })!;
      expect(t.origin).toBe(`nats:${NS.toLowerCase()}`);
      const first = await t.send(request('dup-1'), oneEvent('dup-1'));
      const again = await t.send(request('dup-1'), oneEvent('dup-1'));
      const other = await t.send(request('dup-2'), oneEvent('dup-2'));
      expect(first.result).toMatchObject({ kind: 'handler', ok: true });
      expect(first.excerpt).not.toContain('duplicate');
      expect(again.result).toMatchObject({ kind: 'handler', ok: true });
      expect(again.excerpt).toMatch(/ duplicate$/);
      expect(other.excerpt).not.toContain('duplicate');
      const msgs = await consume(`${HUB}-dedup`, 2);
      expect(msgs.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual(['dup-1:h', 'dup-2:h']);
    } finally {
      await h.close();
    }
  });

  it('retries, then dead-letters, when no stream captures the subject; the log names the cause', async () => {
    const missing = `nohub-${RUN}`;
    const put = await s.arm('PUT', esPath('nats-missing'), {
      properties: {
        destination: { endpointType: 'EventHub', properties: { resourceId: `${NS}/eventhubs/${missing}` } },
        filter: { subjectBeginsWith: 'experiments/e/runs/miss-' },
        retryPolicy: { maxDeliveryAttempts: 2 },
      },
    });
    expect(put.status).toBe(201);
    await publish([ev('m1', 'miss')]);
    const dead = await deadLettered(s, esPath('nats-missing'));
    expect(dead[0]).toMatchObject({ deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 2 });
    const log = await attempts('nats-missing');
    expect(log.map((a) => a.outcome)).toEqual(['GenericError', 'GenericError']);
    expect(log[0]!.eventIds).toEqual(['m1']);
    expect(log[0]!.responseExcerpt).toContain(`no JetStream stream captures subject '${missing}'`);
  });

  it('reports a missing connection and a closed port as retryable, and a non-hub id as final', async () => {
    const port = await closedPort();
    const h = new NatsHandler(
      directory([
        { name: 'down', resourceId: `${NS}-down`, kind: 'nats', url: `nats://u:s3cret@127.0.0.1:${port}` },
      ]),
      { timeoutMs: 2000 },
    );
    try {
      const send = (resourceId: string) =>
        h.target({ endpointType: 'EventHub', properties: { resourceId } })!.send(request('x'), oneEvent('x'));
      const none = await send(
        `/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/zz/eventhubs/h`,
      );
      expect(none.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(none.excerpt).toMatch(/no nats connection is registered for '.*\/namespaces\/zz\/eventhubs\/h'/);
      const down = await send(`${NS}-down/eventhubs/h`);
      expect(down.result).toEqual({ kind: 'network', code: 'ECONNREFUSED' });
      expect(down.excerpt).not.toContain('s3cret');
      const notHub = await send(`${NS}-down/queues/q`);
      expect(notHub.result).toMatchObject({ kind: 'handler', ok: false, retryable: false });
      expect(notHub.excerpt).toContain('is not an event hub id');
    } finally {
      await h.close();
    }
  });
});
