import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, TopicRecord, EventSubscriptionRecord } from '../src/store/types.js';
import { storeBackends } from './helpers/stores.js';

const backends = await storeBackends('store contract');

function topic(name: string, rg = 'rg1', sub = 'sub1'): TopicRecord {
  const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.EventGrid/topics/${name}`;
  return {
    key: id.toLowerCase(),
    id,
    subscriptionId: sub,
    resourceGroup: rg,
    name,
    spec: { location: 'local', inputSchema: 'EventGridSchema' },
    key1: 'k1',
    key2: 'k2',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

function subscription(scopeId: string, name: string): EventSubscriptionRecord {
  const id = `${scopeId}/providers/Microsoft.EventGrid/eventSubscriptions/${name}`;
  return {
    key: id.toLowerCase(),
    id,
    scopeKey: scopeId.toLowerCase(),
    name,
    spec: { name, filter: {} },
    provisioningState: 'Succeeded',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

// skipIf: the PostgreSQL backend skips (with a logged reason) only when no server answers outside CI.
describe.each(backends)('Store contract on $name', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async (ctx) => {
    if (backend.skip) return ctx.skip();
    ({ store, cleanup } = await backend.open());
  });
  afterEach(async () => {
    await cleanup?.();
  });

  it('applies migrations idempotently and keeps meta values set once', async () => {
    expect(await store.getMeta('admin')).toBeUndefined();
    expect(await store.initMeta('admin', 'h1')).toBe('h1');
    expect(await store.initMeta('admin', 'h2')).toBe('h1');
  });

  it('creates, replaces, lists and deletes topics', async () => {
    expect(await store.putTopic(topic('t-one'))).toEqual({ created: true });
    expect(await store.putTopic({ ...topic('t-one'), key1: 'new' })).toEqual({ created: false });
    await store.putTopic(topic('t-two', 'RG2'));
    await store.putTopic(topic('t-three', 'rg1', 'sub2'));
    expect((await store.getTopic(topic('t-one').key))?.key1).toBe('new');
    expect((await store.getTopicByName('T-ONE'))?.name).toBe('t-one');
    expect((await store.listTopics({ subscriptionId: 'SUB1' })).map((t) => t.name)).toEqual([
      't-one',
      't-two',
    ]);
    expect(
      (await store.listTopics({ subscriptionId: 'sub1', resourceGroup: 'rg2' })).map((t) => t.name),
    ).toEqual(['t-two']);
    expect(await store.deleteTopic(topic('t-one').key)).toBe(true);
    expect(await store.deleteTopic(topic('t-one').key)).toBe(false);
    expect(await store.getTopic(topic('t-one').key)).toBeUndefined();
  });

  it('refuses a topic name already used under another resource group', async () => {
    await store.putTopic(topic('shared'));
    await expect(store.putTopic(topic('Shared', 'other'))).rejects.toMatchObject({
      code: 'Conflict',
      status: 409,
    });
  });

  it('stores event subscriptions per scope and deletes them with their topic', async () => {
    const t = topic('t-subs');
    await store.putTopic(t);
    expect(await store.putEventSubscription(subscription(t.id, 'a'))).toEqual({ created: true });
    expect(await store.putEventSubscription(subscription(t.id, 'a'))).toEqual({ created: false });
    await store.putEventSubscription(subscription(t.id, 'b'));
    await store.putEventSubscription(subscription('/subscriptions/sub1/resourceGroups/rg1', 'c'));
    expect((await store.listEventSubscriptions(t.key)).map((s) => s.name)).toEqual(['a', 'b']);
    expect(await store.listEventSubscriptions()).toHaveLength(3);
    expect(await store.getEventSubscription(subscription(t.id, 'a').key)).toMatchObject({
      name: 'a',
      spec: { name: 'a', filter: {} },
    });
    await store.deleteTopic(t.key);
    expect((await store.listEventSubscriptions()).map((s) => s.name)).toEqual(['c']);
  });

  it('commits events with one pending delivery per matching subscription, in order', async () => {
    const t = topic('t-events');
    await store.putTopic(t);
    const a = subscription(t.id, 'a');
    const b = subscription(t.id, 'b');
    await store.putEventSubscription(a);
    await store.putEventSubscription(b);
    const ev = (i: number, subs: string[]) => ({
      eventId: `e${i}`,
      sourceKey: t.key,
      eventType: 'T',
      subject: `s/${i}`,
      schema: 'EventGridSchema',
      body: JSON.stringify({ id: `e${i}` }),
      subscriptionKeys: subs,
    });
    await store.appendEvents([ev(1, [a.key, b.key]), ev(2, [b.key]), ev(3, [])], 1000);
    await store.appendEvents([ev(4, [a.key])], 2000);
    const forA = await store.listDeliveries(a.key, { limit: 10 });
    expect(forA.map((d) => d.event.eventId)).toEqual(['e1', 'e4']);
    expect(forA[0]).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: 1000, createdAt: 1000 });
    expect(JSON.parse(forA[1]!.event.body)).toEqual({ id: 'e4' });
    expect(await store.countDeliveries(b.key)).toBe(2);
    expect(await store.countDeliveries(b.key, 'pending')).toBe(2);
    expect(await store.countDeliveries(b.key, 'delivered')).toBe(0);
    const page2 = await store.listDeliveries(b.key, {
      limit: 1,
      after: (await store.listDeliveries(b.key, { limit: 1 }))[0]!.id,
    });
    expect(page2.map((d) => d.event.eventId)).toEqual(['e2']);
    expect(await store.deleteEventSubscription(a.key)).toBe(true);
    expect(await store.countDeliveries(a.key)).toBe(0);
  });

  it('keeps a failed group commit all-or-none', async () => {
    const t = topic('t-atomic');
    await store.putTopic(t);
    const s = subscription(t.id, 'a');
    await store.putEventSubscription(s);
    const good = {
      eventId: 'ok',
      sourceKey: t.key,
      eventType: 'T',
      subject: '',
      schema: 'EventGridSchema',
      body: '{}',
      subscriptionKeys: [s.key],
    };
    const bad = { ...good, eventId: null as unknown as string };
    await expect(store.appendEvents([good, bad], 1)).rejects.toThrow();
    expect(await store.countDeliveries(s.key)).toBe(0);
  });
});
