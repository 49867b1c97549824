/** Mqtt destinations (mlgrid extension): validation, and delivery to a real MQTT broker (Mosquitto). */
import { EventGridDeserializer } from '@azure/eventgrid';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeliveryRequest } from '../src/core/delivery-format.js';
import type { ConnectionDirectory, SendContext } from '../src/handlers/destination.js';
import { MqttHandler } from '../src/handlers/mqtt.js';
import type { EventSubscriptionRecord } from '../src/store/types.js';
import { closedPort } from './helpers/arm-eventgrid.js';
import { BROKERS, skipWithoutBroker } from './helpers/brokers.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';
import { deadLettered } from './helpers/broker-kit.js';

const RUN = randomBytes(4).toString('hex');
const SUB = 'mqtt-sub';
const CONNS = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.MLGrid/brokers`;
const BROKER = `${CONNS}/mosquitto${RUN}`;
const BROKER_V4 = `${CONNS}/v4${RUN}`;
const BROKER_DOWN = `${CONNS}/down${RUN}`;
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/mqtt-${RUN}`;
const esPath = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;
const t = (name: string) => `mlgrid/test/${RUN}/${name}`;
const deserializer = new EventGridDeserializer();

const ev = (id: string, prefix: string, data: object = {}) => ({
  id,
  eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
  subject: `models/${prefix}-${id}/versions/1`,
  eventTime: '2026-01-01T00:00:00.000Z',
  dataVersion: '2',
  data,
});
const mqttDest = (resourceId: string, props: object): EventSubscriptionDestination => ({
  endpointType: 'Mqtt',
  properties: { resourceId, ...props },
});

describe('Mqtt destination validation', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => s?.stop());
  const put = async (name: string, props: object) => {
    const r = await s.arm(
      'PUT',
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/eventSubscriptions/${name}`,
      {
        properties: { destination: mqttDest(BROKER, props) },
      },
    );
    return { status: r.status, body: await r.json() };
  };

  it('requires a topic name without wildcards, qos 0 or 1, and renders the defaults', async () => {
    const missing = await put('mq-missing', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('properties.destination.properties.topic');
    for (const [topic, why] of [
      ['a/+/b', 'wildcards'],
      ['a/#', 'wildcards'],
      ['$SYS/x', "'$'"],
    ]) {
      const bad = await put('mq-bad', { topic });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain(why);
    }
    const qos = await put('mq-qos', { topic: 'a/b', qos: 2 });
    expect(qos.status).toBe(400);
    expect(qos.body.error.message).toContain('properties.destination.properties.qos');
    const ok = await put('mq-ok', { topic: 'models/registered' });
    expect(ok.status).toBe(201);
    expect(ok.body.properties.destination).toEqual(
      mqttDest(BROKER, { topic: 'models/registered', qos: 1, retain: false }),
    );
  });
});

const skip = await skipWithoutBroker('mqtt', 'Mqtt destinations');

describe.skipIf(skip)('Mqtt destinations → Mosquitto', () => {
  let s: TestServer;
  let sub: MqttClient;
  let key = '';
  const got: IPublishPacket[] = [];

  beforeAll(async () => {
    sub = await mqtt.connectAsync(BROKERS.mqtt.url, { protocolVersion: 5, reconnectPeriod: 0 });
    sub.on('message', (_topic, _payload, packet) => got.push(packet));
    await sub.subscribeAsync(t('#'), { qos: 1 });
    s = await startTestServer('sqlite', {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false, timeoutMs: 3000 },
    });
    for (const [name, resourceId, url] of [
      ['mosquitto', BROKER, BROKERS.mqtt.url],
      ['mosquitto-v4', BROKER_V4, `${BROKERS.mqtt.url}?protocolVersion=4`],
      ['mqtt-down', BROKER_DOWN, `mqtt://127.0.0.1:${await closedPort()}`],
    ] as const) {
      const r = await s.arm('PUT', `/providers/Microsoft.MLGrid/connections/${name}`, {
        properties: { resourceId, kind: 'mqtt', url },
      });
      expect(r.status).toBe(201);
    }
    expect((await s.arm('PUT', TOPIC, { location: 'local' })).status).toBe(201);
    key = (await (await s.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
  });
  afterAll(async () => {
    await s?.stop();
    // Clear the retained message so the broker keeps nothing from this run.
    await sub?.publishAsync(t('retained'), '', { qos: 1, retain: true }).catch(() => {});
    await sub?.endAsync();
  });

  const publish = async (events: object[]) => {
    const r = await fetch(`${s.url}/topics/mqtt-${RUN}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify(events),
    });
    expect(r.status).toBe(200);
  };
  const create = async (name: string, props: object) =>
    expect((await s.arm('PUT', esPath(name), { properties: props })).status).toBe(201);
  const on = (topic: string) => got.filter((p) => p.topic === topic);
  const attempts = async (name: string) =>
    (await (await s.arm('GET', `${esPath(name)}/deliveryAttempts`)).json()).value as {
      outcome: string;
      responseExcerpt?: string;
    }[];

  it('publishes at QoS 1 with the headers as MQTT 5 user properties and the content type', async () => {
    await create('mq-eg', {
      destination: mqttDest(BROKER, {
        topic: t('eg'),
        deliveryAttributeMappings: [
          { name: 'x-model', type: 'Dynamic', properties: { sourceField: 'data.modelName' } },
        ],
      }),
      filter: { subjectBeginsWith: 'models/eg-' },
    });
    await publish([ev('m1', 'eg', { modelName: 'churn' }), ev('m2', 'other')]);
    await until(
      async () => on(t('eg')).length,
      (n) => n >= 1,
    );
    const p = on(t('eg'))[0]!;
    expect(p.qos).toBe(1);
    expect(p.retain).toBe(false);
    expect(p.properties?.contentType).toBe('application/json; charset=utf-8');
    expect(p.properties?.userProperties).toMatchObject({
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'MQ-EG',
      'aeg-delivery-count': '0',
      'aeg-output-event-id': 'm1',
      'x-model': 'churn',
    });
    const [e] = await deserializer.deserializeEventGridEvents(p.payload.toString());
    expect(e).toMatchObject({ id: 'm1', topic: TOPIC, data: { modelName: 'churn' } });
    const log = await until(
      () => attempts('mq-eg'),
      (l) => l.length >= 1,
    );
    expect(log[0]).toMatchObject({ outcome: 'Succeeded' });
    expect(log[0]!.responseExcerpt).toMatch(new RegExp(`^PUBACK ${t('eg')} messageId=\\d+$`));
    expect(on(t('eg'))).toHaveLength(1);
  });

  it('publishes CloudEvents at QoS 0 with retain, which a late subscriber still receives', async () => {
    await create('mq-ce', {
      destination: mqttDest(BROKER, { topic: t('retained'), qos: 0, retain: true }),
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      filter: { subjectBeginsWith: 'models/ce-' },
    });
    await publish([ev('c1', 'ce', { stage: 'prod' })]);
    await until(
      async () => on(t('retained')).length,
      (n) => n >= 1,
    );
    const late = await mqtt.connectAsync(BROKERS.mqtt.url, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const retained = new Promise<IPublishPacket>((resolve) =>
        late.on('message', (_t, _p, pk) => resolve(pk)),
      );
      await late.subscribeAsync(t('retained'), { qos: 1 });
      const pk = await retained;
      expect(pk.retain).toBe(true);
      expect(pk.properties?.contentType).toBe('application/cloudevents+json; charset=utf-8');
      const [ce] = await deserializer.deserializeCloudEvents(pk.payload.toString());
      expect(ce).toMatchObject({ id: 'c1', source: TOPIC, data: { stage: 'prod' } });
    } finally {
      await late.endAsync();
    }
    expect((await attempts('mq-ce'))[0]!.responseExcerpt).toBe(`PUBLISH ${t('retained')} qos=0`);
  });

  it('speaks MQTT 3.1.1 when the connection says protocolVersion=4 (the body only)', async () => {
    await create('mq-v4', {
      destination: mqttDest(BROKER_V4, { topic: t('v4') }),
      filter: { subjectBeginsWith: 'models/v4-' },
    });
    await publish([ev('v1', 'v4')]);
    await until(
      async () => on(t('v4')).length,
      (n) => n >= 1,
    );
    const p = on(t('v4'))[0]!;
    expect(p.properties?.userProperties).toBeUndefined();
    expect((await deserializer.deserializeEventGridEvents(p.payload.toString()))[0]!.id).toBe('v1');
  });

  it('retries, then dead-letters, when the broker is not reachable', async () => {
    await create('mq-down', {
      destination: mqttDest(BROKER_DOWN, { topic: t('down') }),
      filter: { subjectBeginsWith: 'models/dn-' },
      retryPolicy: { maxDeliveryAttempts: 2 },
    });
    await publish([ev('d1', 'dn')]);
    const dead = await deadLettered(s, esPath('mq-down'));
    expect(dead[0]).toMatchObject({ deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 2 });
    const log = await attempts('mq-down');
    expect(log.map((a) => a.outcome)).toEqual(['SocketError', 'SocketError']);
    expect(log[0]!.responseExcerpt).toContain('ECONNREFUSED');
  });

  it('fails retryably, with a clear excerpt, when no connection is registered or it is of another kind', async () => {
    const directory: ConnectionDirectory = {
      forResource: async (id) =>
        id === BROKER
          ? { name: 'redis-not-mqtt', resourceId: BROKER, kind: 'redis', url: BROKERS.redis.url }
          : undefined,
    };
    const h = new MqttHandler(directory, { timeoutMs: 2000 });
    const req = buildDeliveryRequest({
      events: [{ schema: 'EventGridSchema', event: ev('x', 'x') }],
      deliverySchema: 'EventGridSchema',
      batching: false,
      subscriptionName: 'x',
      deliveryCount: 0,
    });
    const ctx = { subscription: {} as EventSubscriptionRecord, batch: [] } as SendContext;
    try {
      const none = await h.target(mqttDest(`${CONNS}/nothing`, { topic: 'a' }))!.send(req, ctx);
      expect(none.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(none.excerpt).toMatch(/no mqtt connection is registered for '.*\/nothing'/);
      const kind = await h.target(mqttDest(BROKER, { topic: 'a' }))!.send(req, ctx);
      expect(kind.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(kind.excerpt).toBe(
        "connection 'redis-not-mqtt' is a redis connection; Mqtt destinations need mqtt",
      );
    } finally {
      await h.close();
    }
  });
});
