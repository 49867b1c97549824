import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import {
  checkArmResourceId,
  checkConnectionName,
  connectionUrl,
  lastSegment,
  maskUrl,
  matchConnection,
  parseBrokerUrl,
  parseConnectionBody,
  renderConnection,
} from './connection.js';

const NS = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ServiceBus/namespaces/ns1';

function targetOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MlgridError);
    return (err as MlgridError).target;
  }
  throw new Error('expected a 400');
}

describe('connection body', () => {
  it('keeps credentials apart from the URL, decoding them', () => {
    const { spec, keepPassword } = parseConnectionBody({
      properties: { resourceId: `${NS}/`, kind: 'AMQP', url: 'amqp://gu%40est:p%3Aw@127.0.0.1:5672/vh' },
    });
    expect(keepPassword).toBe(false);
    expect(spec).toEqual({
      resourceId: NS,
      kind: 'amqp',
      url: 'amqp://127.0.0.1:5672/vh',
      username: 'gu@est',
      password: 'p:w',
    });
    expect(connectionUrl(spec)).toBe('amqp://gu%40est:p%3Aw@127.0.0.1:5672/vh');
  });

  it('takes separate username and password, and refuses two passwords', () => {
    const { spec } = parseConnectionBody({
      properties: {
        resourceId: NS,
        kind: 'redis',
        url: 'rediss://cache:6380/0',
        username: 'u',
        password: 'p w',
      },
    });
    expect(connectionUrl(spec)).toBe('rediss://u:p%20w@cache:6380/0');
    const both = { resourceId: NS, kind: 'amqp', url: 'amqp://a:b@h', password: 'c' };
    expect(targetOf(() => parseConnectionBody({ properties: both }))).toBe('properties.password');
    const names = { resourceId: NS, kind: 'amqp', url: 'amqp://a@h', username: 'b' };
    expect(targetOf(() => parseConnectionBody({ properties: names }))).toBe('properties.username');
  });

  it('reads the mask as "keep the stored password"', () => {
    const r = parseConnectionBody({
      properties: { resourceId: NS, kind: 'amqp', url: 'amqp://guest:***@h:5672' },
    });
    expect(r.keepPassword).toBe(true);
    expect(r.spec.password).toBeUndefined();
    expect(r.spec.username).toBe('guest');
  });

  it.each([
    [{}, 'properties'],
    [{ properties: { kind: 'amqp', url: 'amqp://h' } }, 'properties.resourceId'],
    [{ properties: { resourceId: 'ns1', kind: 'amqp', url: 'amqp://h' } }, 'properties.resourceId'],
    [{ properties: { resourceId: NS, kind: 'kafka', url: 'amqp://h' } }, 'properties.kind'],
    [{ properties: { resourceId: NS, kind: 'amqp', url: 'nats://h' } }, 'properties.url'],
    [{ properties: { resourceId: NS, kind: 'nats', url: 'amqp://h' } }, 'properties.url'],
    [{ properties: { resourceId: NS, kind: 'mqtt', url: 'not a url' } }, 'properties.url'],
    [{ properties: { resourceId: NS, kind: 'redis', url: 'redis://h#x' } }, 'properties.url'],
    [{ properties: { resourceId: NS, kind: 'redis', url: 42 } }, 'properties.url'],
    [{ properties: { resourceId: NS, kind: 'amqp', url: 'amqp://h', password: 7 } }, 'properties.password'],
  ])('names the field at fault: %j', (body, target) => {
    expect(targetOf(() => parseConnectionBody(body))).toBe(target);
  });

  it('accepts each kind with its plain and TLS schemes only', () => {
    const ok = [
      'amqp://h',
      'amqps://h',
      'nats://h',
      'tls://h',
      'redis://h',
      'rediss://h',
      'mqtt://h',
      'mqtts://h',
    ];
    const kinds = ['amqp', 'amqp', 'nats', 'nats', 'redis', 'redis', 'mqtt', 'mqtt'] as const;
    ok.forEach((url, i) => expect(parseBrokerUrl(url, kinds[i]!, 'u').url).toMatch(/^[a-z]+:\/\/h/));
    expect(() => parseBrokerUrl('http://h', 'amqp', 'u')).toThrow(/amqp:\/\/ or amqps:\/\//);
  });

  it('checks names and ARM ids', () => {
    expect(checkConnectionName('rabbit-1.prod_x')).toBe('rabbit-1.prod_x');
    expect(targetOf(() => checkConnectionName('-bad'))).toBe('name');
    expect(
      checkArmResourceId('/subscriptions/s/providers/Microsoft.EventHub/namespaces/n', 'r'),
    ).toBeTruthy();
    for (const bad of [
      '/subscriptions/s/resourceGroups/rg',
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces',
      '/subscriptions/s/resourceGroups/rg/providers/ServiceBus/namespaces/n',
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/../n',
      'subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/n',
    ]) {
      expect(
        targetOf(() => checkArmResourceId(bad, 'r')),
        bad,
      ).toBe('r');
    }
  });
});

describe('masking', () => {
  it('replaces the password and secret query values, keeps the rest', () => {
    expect(maskUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(maskUrl('redis://:s3cret@h:6379/0')).toBe('redis://:***@h:6379/0');
    expect(maskUrl('mqtt://h:1883?password=x&clientId=c')).toBe('mqtt://h:1883?password=***&clientId=c');
    expect(maskUrl('nats://h:4222')).toBe('nats://h:4222');
    expect(maskUrl('::')).toBe('<invalid url>');
  });

  it('renders without the password anywhere', () => {
    const { spec } = parseConnectionBody({
      properties: { resourceId: NS, kind: 'amqp', url: 'amqp://guest:hunter2@h:5672' },
    });
    const out = renderConnection('rabbit', spec, 't0', 't1');
    expect(JSON.stringify(out)).not.toContain('hunter2');
    expect(out).toMatchObject({
      id: '/providers/Microsoft.MLGrid/connections/rabbit',
      type: 'Microsoft.MLGrid/connections',
      properties: { url: 'amqp://guest:***@h:5672', username: 'guest', hasPassword: true, kind: 'amqp' },
    });
  });
});

describe('matching a destination to its connection', () => {
  const conns = [
    { resourceId: NS, n: 'ns' },
    { resourceId: `${NS}/queues/special`, n: 'special' },
    { resourceId: '/subscriptions/s1/resourceGroups/rg1', n: 'group' },
  ];
  it('takes the exact id or the longest ancestor, case-insensitively, by whole segments', () => {
    expect(matchConnection(`${NS}/queues/q1`, conns)?.n).toBe('ns');
    expect(matchConnection(`${NS.toUpperCase()}/QUEUES/SPECIAL`, conns)?.n).toBe('special');
    expect(matchConnection(NS, conns)?.n).toBe('ns');
    expect(matchConnection(`${NS}0/queues/q1`, conns)?.n).toBe('group'); // ns10 is not below ns1
    expect(matchConnection('/subscriptions/s2/resourceGroups/rg1/x', conns)).toBeUndefined();
  });

  it('names the entity by the last segment', () => {
    expect(lastSegment(`${NS}/queues/orders`)).toBe('orders');
    expect(lastSegment(`${NS}/topics/t/`)).toBe('t');
  });
});
