/** StorageQueue destinations delivered to a real Redis: streams (default) and lists, TTL, failures. */
import { EventGridDeserializer } from '@azure/eventgrid';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_TTL_SECONDS, RedisHandler } from '../src/handlers/redis.js';
import { armEventGrid, closedPort } from './helpers/arm-eventgrid.js';
import { BROKERS, skipWithoutBroker } from './helpers/brokers.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';
import { deadLettered, directory, ev, oneEvent, request } from './helpers/broker-kit.js';

const skip = await skipWithoutBroker('redis', 'StorageQueue → Redis');
const RUN = randomBytes(4).toString('hex');
const SUB = 'redis-sub';
const ACCOUNTS = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts`;
const ACCT = `${ACCOUNTS}/acct${RUN}`;
const LIST_ACCT = `${ACCOUNTS}/list${RUN}`;
const DOWN_ACCT = `${ACCOUNTS}/down${RUN}`;
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/redis-${RUN}`;
const esPath = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;
const q = (name: string) => `mlgrid-test-${RUN}-${name}`;
const deserializer = new EventGridDeserializer();

/** Stream entry fields ([k, v, k, v …]) → object. */
const fieldsOf = (flat: string[]) =>
  Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));

describe.skipIf(skip)('StorageQueue destinations → Redis', () => {
  let s: TestServer;
  let redis: Redis;
  let key = '';
  let downPort = 0;

  beforeAll(async () => {
    redis = new Redis(BROKERS.redis.url);
    downPort = await closedPort();
    s = await startTestServer('sqlite', {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false, timeoutMs: 3000 },
    });
    const register = async (name: string, resourceId: string, url: string) =>
      expect(
        (
          await s.arm('PUT', `/providers/Microsoft.MLGrid/connections/${name}`, {
            properties: { resourceId, kind: 'redis', url },
          })
        ).status,
      ).toBe(201);
    await register('redis-stream', ACCT, BROKERS.redis.url);
    await register('redis-list', LIST_ACCT, `${BROKERS.redis.url}?queueType=list`);
    await register('redis-down', DOWN_ACCT, `redis://127.0.0.1:${downPort}`);
    expect((await s.arm('PUT', TOPIC, { location: 'local' })).status).toBe(201);
    key = (await (await s.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
  });
  afterAll(async () => {
    await s?.stop();
    const keys = await redis?.keys(`mlgrid-test-${RUN}-*`);
    if (keys?.length) await redis.del(...keys);
    redis?.disconnect();
  });

  const publish = async (events: object[]) => {
    const r = await fetch(`${s.url}/topics/redis-${RUN}/api/events`, {
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
    }[];

  it('adds one stream entry per event (SDK-made subscription), headers as fields, read by a consumer group', async () => {
    const client = armEventGrid(s, SUB);
    const made = await client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC, 'redis-stream', {
      destination: {
        endpointType: 'StorageQueue',
        resourceId: ACCT,
        queueName: q('stream'),
        queueMessageTimeToLiveInSeconds: 3600,
      },
      filter: { subjectBeginsWith: 'experiments/e/runs/st-' },
    });
    expect(made.destination).toMatchObject({ queueName: q('stream'), queueMessageTimeToLiveInSeconds: 3600 });
    await redis.xgroup('CREATE', q('stream'), 'workers', '0', 'MKSTREAM');

    const before = Date.now();
    await publish([ev('s1', 'st', { runId: 'r1' }), ev('s2', 'st'), ev('s3', 'skip')]);
    await until(
      () => redis.xlen(q('stream')),
      (n) => n >= 2,
    );
    const read = (await redis.xreadgroup(
      'GROUP',
      'workers',
      'w1',
      'COUNT',
      10,
      'STREAMS',
      q('stream'),
      '>',
    )) as [string, [string, string[]][]][];
    const entries = read[0]![1].map(([id, flat]) => ({ id, f: fieldsOf(flat) }));
    expect(entries).toHaveLength(2);
    const f = entries[0]!.f;
    expect(f).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'REDIS-STREAM',
      'aeg-delivery-count': '0',
      'aeg-output-event-id': 's1',
    });
    // One event per message, as Azure Storage Queue messages hold it (not an array of one).
    expect(JSON.parse(f.body!)).toMatchObject({ id: 's1', data: { runId: 'r1' } });
    const [parsed] = await deserializer.deserializeEventGridEvents(f.body!);
    expect(parsed).toMatchObject({ id: 's1', topic: TOPIC });
    const expires = Date.parse(f['expiration-time']!);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 5000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 5000);
    expect(await redis.xack(q('stream'), 'workers', ...entries.map((e) => e.id))).toBe(2);

    const log = await until(
      () => attempts('redis-stream'),
      (l) => l.length >= 2,
    );
    expect(log.map((a) => a.outcome)).toEqual(['Succeeded', 'Succeeded']);
    expect(log[0]!.responseExcerpt).toMatch(new RegExp(`^XADD ${q('stream')} \\d+-\\d+$`));
  });

  it('honours queueMessageTimeToLiveInSeconds: older entries are trimmed on add, -1 keeps them, default is 7 days', async () => {
    const h = new RedisHandler(
      directory([{ name: 'r', resourceId: ACCT, kind: 'redis', url: BROKERS.redis.url }]),
      {
        timeoutMs: 3000,
      },
    );
    try {
      const send = (queueName: string, ttl: number | undefined, id: string) =>
        h
          .target({
            endpointType: 'StorageQueue',
            properties: {
              resourceId: ACCT,
              queueName,
              ...(ttl !== undefined ? { queueMessageTimeToLiveInSeconds: ttl } : {}),
            },
          })!
          .send(request(id), oneEvent(id));
      const [sec] = await redis.time();
      const tenSecondsAgo = `${Number(sec) * 1000 - 10_000}-0`; // an entry added 10 s ago (ids are add times)
      for (const name of ['ttl5', 'never', 'default'])
        await redis.xadd(q(name), tenSecondsAgo, 'body', 'old');

      expect((await send(q('ttl5'), 5, 't1')).result).toMatchObject({ ok: true });
      const ttl5 = await redis.xrange(q('ttl5'), '-', '+');
      expect(ttl5.map(([, f]) => fieldsOf(f).body)).toEqual([JSON.stringify(ev('t1', 'h'))]);

      expect((await send(q('never'), -1, 't2')).result).toMatchObject({ ok: true });
      const never = await redis.xrange(q('never'), '-', '+');
      expect(never.map(([id]) => id)[0]).toBe(tenSecondsAgo);
      expect(never).toHaveLength(2);
      expect(fieldsOf(never[1]![1])['expiration-time']).toBeUndefined();

      expect((await send(q('default'), undefined, 't3')).result).toMatchObject({ ok: true });
      const dflt = await redis.xrange(q('default'), '-', '+');
      expect(dflt).toHaveLength(2);
      const exp = Date.parse(fieldsOf(dflt[1]![1])['expiration-time']!);
      expect(Math.abs(exp - (Date.now() + DEFAULT_QUEUE_TTL_SECONDS * 1000))).toBeLessThan(10_000);
    } finally {
      await h.close();
    }
  });

  it('pushes the body onto a list for BLPOP workers when the connection says queueType=list; the key carries the TTL', async () => {
    const put = await s.arm('PUT', esPath('redis-list'), {
      properties: {
        destination: {
          endpointType: 'StorageQueue',
          properties: { resourceId: LIST_ACCT, queueName: q('list'), queueMessageTimeToLiveInSeconds: 600 },
        },
        eventDeliverySchema: 'CloudEventSchemaV1_0',
        filter: { subjectBeginsWith: 'experiments/e/runs/li-' },
      },
    });
    expect(put.status).toBe(201);
    await publish([ev('l1', 'li', { n: 1 }), ev('l2', 'li', { n: 2 })]);
    const worker = new Redis(BROKERS.redis.url);
    try {
      const got = [await worker.blpop(q('list'), 5), await worker.blpop(q('list'), 5)];
      const events = await Promise.all(got.map((g) => deserializer.deserializeCloudEvents(g![1])));
      expect(events.map(([e]) => [e!.id, e!.source, e!.data])).toEqual([
        ['l1', TOPIC, { n: 1 }],
        ['l2', TOPIC, { n: 2 }],
      ]);
    } finally {
      worker.disconnect();
    }
    await publish([ev('l3', 'li')]);
    await until(
      () => redis.llen(q('list')),
      (n) => n >= 1,
    );
    const pttl = await redis.pttl(q('list'));
    expect(pttl).toBeGreaterThan(590_000);
    expect(pttl).toBeLessThanOrEqual(600_000);
    const log = await until(
      () => attempts('redis-list'),
      (l) => l.length >= 3,
    );
    expect(log[0]!.responseExcerpt).toMatch(new RegExp(`^RPUSH ${q('list')} length=\\d+$`));
  });

  it('retries, then dead-letters, when Redis does not answer; the log shows the socket error', async () => {
    const put = await s.arm('PUT', esPath('redis-down'), {
      properties: {
        destination: {
          endpointType: 'StorageQueue',
          properties: { resourceId: DOWN_ACCT, queueName: q('down') },
        },
        filter: { subjectBeginsWith: 'experiments/e/runs/dn-' },
        retryPolicy: { maxDeliveryAttempts: 2 },
      },
    });
    expect(put.status).toBe(201);
    await publish([ev('d1', 'dn')]);
    const dead = await deadLettered(s, esPath('redis-down'));
    expect(dead[0]).toMatchObject({ deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 2 });
    const log = await attempts('redis-down');
    expect(log.map((a) => a.outcome)).toEqual(['SocketError', 'SocketError']);
    expect(log[0]!.responseExcerpt).toContain('ECONNREFUSED');
  });

  it('opens a new client after Redis drops the connection', async () => {
    const h = new RedisHandler(
      directory([{ name: 'r', resourceId: ACCT, kind: 'redis', url: BROKERS.redis.url }]),
      {
        timeoutMs: 3000,
      },
    );
    const ids = async () =>
      new Set(
        String(await redis.client('LIST'))
          .split('\n')
          .filter((l) => / name=mlgrid /.test(l))
          .map((l) => /^id=(\d+)/.exec(l)![1]!),
      );
    try {
      const send = () =>
        h
          .target({ endpointType: 'StorageQueue', properties: { resourceId: ACCT, queueName: q('drop') } })!
          .send(request('r'), oneEvent('r'));
      const known = await ids();
      expect((await send()).result).toMatchObject({ ok: true });
      const mine = [...(await ids())].filter((id) => !known.has(id));
      expect(mine).toHaveLength(1);
      await redis.client('KILL', 'ID', mine[0]!);
      const after = await until(send, (r) => r.result.kind === 'handler' && r.result.ok, 5000);
      expect(after.result).toMatchObject({ ok: true });
      expect(await redis.xlen(q('drop'))).toBe(2);
    } finally {
      await h.close();
    }
  });

  it('fails retryably on a refused login, a database that does not exist, a wrong key type and no connection', async () => {
    const acct = (n: string) => `${ACCOUNTS}/${n}${RUN}`;
    const h = new RedisHandler(
      directory([
        {
          name: 'acl',
          resourceId: acct('acl'),
          kind: 'redis',
          url: `redis://nobody-${RUN}:pa55word@127.0.0.1:6379`,
        },
        { name: 'db', resourceId: acct('db'), kind: 'redis', url: `${BROKERS.redis.url}/999` },
        { name: 'ok', resourceId: acct('ok'), kind: 'redis', url: BROKERS.redis.url },
      ]),
      { timeoutMs: 3000 },
    );
    try {
      const send = (resourceId: string, queueName: string) =>
        h
          .target({ endpointType: 'StorageQueue', properties: { resourceId, queueName } })!
          .send(request('f'), oneEvent('f'));
      const acl = await send(acct('acl'), q('acl'));
      expect(acl.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(acl.excerpt).toContain('WRONGPASS');
      expect(acl.excerpt).not.toContain('pa55word');
      const db = await send(acct('db'), q('db'));
      expect(db.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(db.excerpt).toMatch(/DB index is out of range/);
      await redis.set(q('string'), 'not a stream');
      const wrong = await send(acct('ok'), q('string'));
      expect(wrong.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(wrong.excerpt).toContain('WRONGTYPE');
      const none = await send(acct('none'), q('none'));
      expect(none.result).toMatchObject({ kind: 'handler', ok: false, retryable: true });
      expect(none.excerpt).toMatch(/no redis connection is registered/);
    } finally {
      await h.close();
    }
  });
});
