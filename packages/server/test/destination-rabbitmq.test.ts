/**
 * ServiceBusQueue / ServiceBusTopic destinations delivered to the real RabbitMQ on 127.0.0.1:5672, with the
 * subscriptions created by `@azure/arm-eventgrid` unchanged (in process, over HTTPS with the server's self-signed
 * certificate as the only trusted CA: the SDK sends Bearer tokens over HTTPS only).
 */
import { EventGridManagementClient } from '@azure/arm-eventgrid';
import { EventGridDeserializer } from '@azure/eventgrid';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKERS, skipWithoutBroker } from './helpers/brokers.js';
import { runCli } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';

const skip = await skipWithoutBroker('rabbitmq', 'RabbitMQ destinations');
const run = randomBytes(4).toString('hex');
const SUB = 'rmq-sub';
const RG = 'rmq-rg';
const NS = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ServiceBus/namespaces/ns-${run}`;
const DOWN_NS = `${NS}-down`;
const TOPIC = `rmq-${run}`;
const TOPIC_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.EventGrid/topics/${TOPIC}`;
const CONNECTIONS = '/providers/Microsoft.MLGrid/connections';
const name = (s: string) => `${s}-${run}`;
const deserializer = new EventGridDeserializer();

interface Attempt {
  outcome: string;
  responseExcerpt?: string;
  deliveryCount: number;
}

describe.skipIf(skip)('ServiceBusQueue / ServiceBusTopic destinations on RabbitMQ', () => {
  let s: TestServer;
  let mq: ChannelModel;
  let ch: Channel;
  let client: EventGridManagementClient;
  const queues: string[] = [];
  const exchanges: string[] = [];

  /** Requests in process (`inject`): this process does not trust the server's certificate for fetch. */
  const admin = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const res = await s.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const connect = (conn: string, resourceId: string, url: string) =>
    admin('PUT', `${CONNECTIONS}/${conn}`, { properties: { resourceId, kind: 'amqp', url } });
  const es = (sub: string) => `${TOPIC_ID}/providers/Microsoft.EventGrid/eventSubscriptions/${sub}`;
  const publish = async (events: object[]) => {
    const r = await admin('POST', `/topics/${TOPIC}/api/events`, events);
    expect(r.status).toBe(200);
  };
  const ev = (id: string, subject: string, data: object = {}, eventType = 'Mlgrid.Test.Created') => ({
    id,
    subject,
    eventType,
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    data,
  });
  const queue = async (q: string) => {
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    queues.push(q);
    return q;
  };
  /** Every message in the queue once `n` have arrived (or the wait ended). */
  const take = async (q: string, n: number): Promise<GetMessage[]> => {
    const got: GetMessage[] = [];
    await until(
      async () => {
        const m = await ch.get(q, { noAck: true });
        if (m) got.push(m);
        return got.length;
      },
      (len) => len >= n,
      20_000,
    );
    return got;
  };
  const attempts = async (sub: string): Promise<Attempt[]> =>
    (await admin('GET', `${es(sub)}/deliveryAttempts`)).body.value;

  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      tls: true,
      // 127.0.0.2 stands for a denied address (metadata, link-local) without pointing anything off the host.
      delivery: {
        timeScale: 0.001,
        pollMs: 20,
        validateWebhooks: false,
        egress: { allow: [], deny: ['127.0.0.2'] },
      },
    });
    client = new EventGridManagementClient(
      { getToken: async () => ({ token: ADMIN_KEY, expiresOnTimestamp: Date.now() + 3600_000 }) },
      SUB,
      {
        endpoint: s.url,
        retryOptions: { maxRetries: 0 },
        agent: new Agent({ ca: readFileSync(s.generatedCertPath!) }),
      },
    );
    mq = await amqp.connect(BROKERS.rabbitmq.url);
    ch = await mq.createChannel();
    expect((await admin('PUT', TOPIC_ID, { location: 'local' })).status).toBe(201);
    expect((await connect(name('rabbit'), NS, BROKERS.rabbitmq.url)).status).toBe(201);
  });

  afterAll(async () => {
    await s?.stop(); // closes the handler's broker connections too
    if (ch) {
      for (const q of queues) await ch.deleteQueue(q).catch(() => {});
      for (const x of exchanges) await ch.deleteExchange(x).catch(() => {});
    }
    await mq?.close().catch(() => {});
  });

  it('delivers to a queue with the Event Grid headers as message properties', async () => {
    const q = await queue(name('orders'));
    const created = await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC_ID, 'to-queue', {
      destination: {
        endpointType: 'ServiceBusQueue',
        resourceId: `${NS}/queues/${q}`,
        deliveryAttributeMappings: [
          { name: 'x-team', type: 'Static', value: 'ml', isSecret: false },
          { name: 'x-run', type: 'Dynamic', sourceField: 'data.runId' },
          { name: 'CorrelationId', type: 'Dynamic', sourceField: 'subject' },
        ],
      },
      filter: { subjectBeginsWith: 'runs/q' },
    });
    expect(created.provisioningState).toBe('Succeeded');
    expect(created.destination).toMatchObject({
      endpointType: 'ServiceBusQueue',
      resourceId: `${NS}/queues/${q}`,
    });

    await publish([ev('q-1', 'runs/q1', { runId: 'r-1' }), ev('q-2', 'runs/q2', { runId: 'r-2' })]);
    const got = await take(q, 2);
    expect(got).toHaveLength(2);
    const first = got.find((m) => m.properties.messageId === 'q-1')!;
    expect(first.properties).toMatchObject({
      messageId: 'q-1',
      correlationId: 'runs/q1',
      contentType: 'application/json; charset=utf-8',
      deliveryMode: 2,
      appId: 'mlgrid',
    });
    expect(first.properties.headers).toMatchObject({
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'TO-QUEUE',
      'aeg-delivery-count': '0',
      'aeg-metadata-version': '1',
      'aeg-data-version': '2',
      'aeg-output-event-id': 'q-1',
      'x-team': 'ml',
      'x-run': 'r-1',
    });
    const events = await deserializer.deserializeEventGridEvents(first.content.toString('utf8'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: 'q-1',
      topic: TOPIC_ID,
      eventType: 'Mlgrid.Test.Created',
      subject: 'runs/q1',
    });

    const log = await until(
      () => attempts('to-queue'),
      (a) => a.length >= 2,
    );
    expect(log.map((a) => a.outcome)).toEqual(['Succeeded', 'Succeeded']);
    expect(log[0]!.responseExcerpt).toContain(`confirmed by queue '${q}'`);
  });

  it('publishes to a topic exchange, routed by event type, for a bound queue to receive', async () => {
    const x = name('events');
    await ch.assertExchange(x, 'topic', { durable: false, autoDelete: false });
    exchanges.push(x);
    const bound = await queue(name('bound'));
    await ch.bindQueue(bound, x, 'Mlgrid.Test.*');
    await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC_ID, 'to-topic', {
      destination: { endpointType: 'ServiceBusTopic', resourceId: `${NS}/topics/${x}` },
      filter: { subjectBeginsWith: 'runs/t' },
    });
    await publish([ev('t-1', 'runs/t1'), ev('t-2', 'runs/t2', {}, 'Other.Type')]);
    const [m] = await take(bound, 1);
    expect(m!.fields).toMatchObject({ exchange: x, routingKey: 'Mlgrid.Test.Created' });
    expect(m!.properties.headers).toMatchObject({ 'aeg-subscription-name': 'TO-TOPIC' });
    const [e] = await deserializer.deserializeEventGridEvents(m!.content.toString('utf8'));
    expect(e!.id).toBe('t-1');
    // The other event was published too (confirmed), and routed nowhere: a topic without a matching subscription.
    const log = await until(
      () => attempts('to-topic'),
      (a) => a.length >= 2,
    );
    expect(log.map((a) => a.outcome)).toEqual(['Succeeded', 'Succeeded']);
    expect(await ch.get(bound, { noAck: true })).toBe(false);
  });

  it('retries a missing queue or exchange (never creating it), then dead-letters after maxDeliveryAttempts', async () => {
    const missingQueue = name('missing');
    const missingExchange = name('missing-x');
    for (const [sub, endpointType, resourceId] of [
      ['no-queue', 'ServiceBusQueue', `${NS}/queues/${missingQueue}`],
      ['no-exchange', 'ServiceBusTopic', `${NS}/topics/${missingExchange}`],
    ] as const) {
      await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC_ID, sub, {
        destination: { endpointType, resourceId },
        filter: { subjectBeginsWith: 'runs/missing' },
        retryPolicy: { maxDeliveryAttempts: 2, eventTimeToLiveInMinutes: 1440 },
      });
    }
    await publish([ev('m-1', 'runs/missing')]);
    for (const [sub, what] of [
      ['no-queue', `queue '${missingQueue}'`],
      ['no-exchange', `exchange '${missingExchange}'`],
    ] as const) {
      const dead = await until(
        async () => (await admin('GET', `${es(sub)}/deadLetters`)).body.value,
        (v: unknown[]) => v.length > 0,
      );
      expect(dead[0]).toMatchObject({
        deadLetterReason: 'MaxDeliveryAttemptsExceeded',
        deliveryAttempts: 2,
        lastDeliveryOutcome: 'GenericError',
      });
      const log = await attempts(sub);
      expect(log.map((a) => [a.outcome, a.deliveryCount])).toEqual([
        ['GenericError', 0],
        ['GenericError', 1],
      ]);
      for (const a of log)
        expect(a.responseExcerpt).toMatch(
          new RegExp(`^NotFound \\(404\\): the ${what} on amqp://guest:\\*\\*\\*@`),
        );
    }
    // Azure's rule: the entity must exist; mlgrid never declared it.
    const probe = await mq.createChannel();
    probe.on('error', () => {});
    await expect(probe.checkQueue(missingQueue)).rejects.toMatchObject({ code: 404 });
  });

  it('keeps retrying while the broker is down, and delivers once the connection points at it', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    const conn = name('down');
    expect((await connect(conn, DOWN_NS, `amqp://guest:guest@127.0.0.1:${closed}`)).status).toBe(201);
    const q = await queue(name('later'));
    await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC_ID, 'broker-down', {
      destination: { endpointType: 'ServiceBusQueue', resourceId: `${DOWN_NS}/queues/${q}` },
      filter: { subjectBeginsWith: 'runs/down' },
    });
    await publish([ev('d-1', 'runs/down')]);
    const failed = await until(
      () => attempts('broker-down'),
      (a) => a.length >= 2,
    );
    expect(failed.slice(0, 2).map((a) => a.outcome)).toEqual(['SocketError', 'SocketError']);
    expect(failed[0]!.responseExcerpt).toContain(`cannot reach amqp://guest:***@127.0.0.1:${closed}`);
    expect(failed[0]!.responseExcerpt).toContain('ECONNREFUSED');
    const [pending] = (await admin('GET', `${es('broker-down')}/deliveries`)).body.value;
    expect(pending.status).toBe('pending');

    expect((await connect(conn, DOWN_NS, BROKERS.rabbitmq.url)).status).toBe(200);
    const [m] = await take(q, 1);
    expect(m?.properties.messageId).toBe('d-1');
    expect(Number(m!.properties.headers!['aeg-delivery-count'])).toBeGreaterThanOrEqual(2);
  });

  it('refuses a broker the delivery egress policy denies, dead-lettering at once without connecting', async () => {
    const ns = `${NS}-denied`;
    expect((await connect(name('denied'), ns, 'amqp://guest:guest@127.0.0.2:5672')).status).toBe(201);
    await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC_ID, 'denied', {
      destination: { endpointType: 'ServiceBusQueue', resourceId: `${ns}/queues/q` },
      filter: { subjectBeginsWith: 'runs/denied' },
    });
    await publish([ev('x-1', 'runs/denied')]);
    const dead = await until(
      async () => (await admin('GET', `${es('denied')}/deadLetters`)).body.value,
      (v: unknown[]) => v.length > 0,
    );
    expect(dead[0]).toMatchObject({
      deadLetterReason: 'UndeliverableDueToEgressPolicy',
      deliveryAttempts: 1,
      lastDeliveryOutcome: 'Forbidden',
    });
    const [a] = await attempts('denied');
    expect(a!.responseExcerpt).toContain('egress to 127.0.0.2 is denied by policy');
  });

  it('delivers CloudEvents (structured) that the SDK parses', async () => {
    const q = await queue(name('ce'));
    await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC_ID, 'ce-queue', {
      destination: { endpointType: 'ServiceBusQueue', resourceId: `${NS}/queues/${q}` },
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      filter: { subjectBeginsWith: 'runs/ce' },
    });
    await publish([ev('ce-1', 'runs/ce', { score: 0.9 })]);
    const [m] = await take(q, 1);
    expect(m!.properties).toMatchObject({
      messageId: 'ce-1',
      contentType: 'application/cloudevents+json; charset=utf-8',
    });
    expect(m!.properties.headers).toMatchObject({
      'aeg-metadata-version': '1.0',
      'aeg-output-event-id': 'ce-1',
    });
    const [ce] = await deserializer.deserializeCloudEvents(m!.content.toString('utf8'));
    expect(ce).toMatchObject({
      id: 'ce-1',
      source: TOPIC_ID,
      type: 'Mlgrid.Test.Created',
      data: { score: 0.9 },
    });
  });

  it('registers, lists, shows and deletes connections with the CLI, never printing the password', async () => {
    const env = { NODE_EXTRA_CA_CERTS: s.generatedCertPath, MLGRID_SERVER: s.url, MLGRID_KEY: ADMIN_KEY };
    const cliName = name('cli');
    const ns = `${NS}-cli`;
    const created = await runCli(
      [
        'connection',
        'create',
        '--name',
        cliName,
        '--resource-id',
        ns,
        '--kind',
        'amqp',
        '--url',
        'amqp://127.0.0.1:5672',
        '--username',
        'guest',
        '--password',
        's3cret-pw',
      ],
      env,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).not.toContain('s3cret-pw');
    expect(JSON.parse(created.stdout).properties).toMatchObject({
      resourceId: ns,
      url: 'amqp://guest:***@127.0.0.1:5672',
      hasPassword: true,
    });
    const list = await runCli(['connection', 'list', '-o', 'json'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('s3cret-pw');
    expect(JSON.parse(list.stdout).map((c: { name: string }) => c.name)).toContain(cliName);
    const bad = await runCli(
      [
        'connection',
        'create',
        '--name',
        name('bad'),
        '--resource-id',
        ns,
        '--kind',
        'amqp',
        '--url',
        'amqp://u:s3cret-pw@h',
      ],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Conflict'); // the resource id is taken by the first one
    expect(bad.stderr + bad.stdout).not.toContain('s3cret-pw');
    expect((await runCli(['connection', 'delete', '--name', cliName], env)).code).toBe(0);
    const gone = await runCli(['connection', 'show', '--name', cliName], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('ResourceNotFound');
  });
});
