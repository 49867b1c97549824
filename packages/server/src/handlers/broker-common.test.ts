/** The stream/queue handlers' pure parts: destination ids, connection URLs, message bodies, scrubbed failures. */
import { describe, expect, it } from 'vitest';
import { failureOf, scrub } from './broker-common.js';
import { mqttOptions } from './mqtt.js';
import { eventHubOf } from './nats.js';
import { queueMessageBody, redisOptions } from './redis.js';

const NS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns1';

describe('eventHubOf', () => {
  it('maps an event hub id to its namespace and the hub as subject', () => {
    expect(eventHubOf(`${NS}/eventhubs/runs.completed`)).toEqual({ namespace: NS, hub: 'runs.completed' });
    expect(eventHubOf(`${NS.toLowerCase()}/EVENTHUBS/h1/`)).toEqual({
      namespace: NS.toLowerCase(),
      hub: 'h1',
    });
  });
  it('refuses other ids and names that are not NATS subjects', () => {
    expect(eventHubOf(`${NS}/queues/q`)).toMatchObject({
      error: expect.stringContaining('is not an event hub id'),
    });
    expect(eventHubOf(NS)).toHaveProperty('error');
    expect(eventHubOf(`${NS}/eventhubs/h/consumergroups/c`)).toHaveProperty('error');
    for (const bad of ['a*', 'a>', 'a b', '.a', 'a..b'])
      expect(eventHubOf(`${NS}/eventhubs/${bad}`)).toMatchObject({
        error: expect.stringContaining('not a valid NATS subject'),
      });
  });
});

describe('redisOptions', () => {
  it('reads credentials, database, TLS and the queue type', () => {
    expect(redisOptions('rediss://u:p%40ss@cache.local:6380/3?queueType=list')).toEqual({
      host: 'cache.local',
      port: 6380,
      db: 3,
      queueType: 'list',
      username: 'u',
      password: 'p@ss',
      tls: true,
    });
    expect(redisOptions('redis://[::1]')).toEqual({
      host: '::1',
      port: 6379,
      db: 0,
      queueType: 'stream',
      tls: false,
    });
  });
  it('refuses a database that is not a number and an unknown queue type', () => {
    expect(() => redisOptions('redis://h/x')).toThrow(/must be a number/);
    expect(() => redisOptions('redis://h?queueType=set')).toThrow(/stream or list/);
  });
});

describe('queueMessageBody', () => {
  const req = (body: string) => ({ body, headers: {} });
  it('unwraps the array of one that an Event Grid delivery carries, and leaves a CloudEvent alone', () => {
    expect(queueMessageBody(req('[{"id":"a"}]'), 1)).toBe('{"id":"a"}');
    expect(queueMessageBody(req('{"id":"a"}'), 1)).toBe('{"id":"a"}');
    expect(queueMessageBody(req('[{"id":"a"},{"id":"b"}]'), 2)).toBe('[{"id":"a"},{"id":"b"}]');
  });
});

describe('mqttOptions', () => {
  it('keeps credentials out of the broker URL and reads a pinned protocol version', () => {
    const o = mqttOptions('mqtts://dev:s%3Acret@broker:8883?protocolVersion=4', 5000);
    expect(o.broker).toBe('mqtts://broker:8883');
    expect(o.options).toMatchObject({
      username: 'dev',
      password: 's:cret',
      connectTimeout: 5000,
      reconnectPeriod: 0,
    });
    expect(o.pinned).toBe(4);
    expect(mqttOptions('mqtt://broker', 1).pinned).toBeUndefined();
    expect(() => mqttOptions('mqtt://broker?protocolVersion=3', 1)).toThrow(/4 or 5/);
  });
});

describe('failures', () => {
  const conn = { name: 'c', resourceId: NS, kind: 'redis' as const, url: 'redis://u:p%40ss@h:1' };
  it('never shows the password, raw or URL-encoded, and caps the excerpt', () => {
    expect(scrub('auth p@ss and p%40ss failed', conn)).toBe('auth *** and *** failed');
    expect(scrub('x'.repeat(600))).toHaveLength(512);
  });
  it('maps transport errors to network outcomes and the rest to retryable handler failures', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(failureOf(refused, performance.now(), conn).result).toEqual({
      kind: 'network',
      code: 'ECONNREFUSED',
    });
    const cause = new Error('wrapped', { cause: { code: 'ENOTFOUND' } });
    expect(failureOf(cause, performance.now()).result).toEqual({ kind: 'network', code: 'ENOTFOUND' });
    expect(failureOf(new Error('WRONGTYPE x'), performance.now()).result).toMatchObject({
      kind: 'handler',
      ok: false,
      retryable: true,
    });
  });
});
