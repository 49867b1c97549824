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

  describe('delivery lifecycle', () => {
    async function seed(n: number, at = 1000) {
      const t = topic('t-life');
      await store.putTopic(t);
      const sub = subscription(t.id, 'life');
      await store.putEventSubscription(sub);
      const evs = Array.from({ length: n }, (_, i) => ({
        eventId: `e${i}`,
        sourceKey: t.key,
        eventType: 'T',
        subject: `s/${i}`,
        schema: 'EventGridSchema',
        body: JSON.stringify({ id: `e${i}` }),
        subscriptionKeys: [sub.key],
      }));
      await store.appendEvents(evs, at);
      return { t, sub };
    }

    it('leases due deliveries once, in due order, and hands them over when the lease lapses', async () => {
      await seed(3);
      const a = await store.claimDeliveries({ owner: 'w1', limit: 2, now: 1000, leaseUntil: 5000 });
      expect(a.map((d) => d.event.eventId)).toEqual(['e0', 'e1']);
      expect(a[0]).toMatchObject({ attempts: 0, event: { schema: 'EventGridSchema', publishedAt: 1000 } });
      const b = await store.claimDeliveries({ owner: 'w2', limit: 10, now: 1000, leaseUntil: 5000 });
      expect(b.map((d) => d.event.eventId)).toEqual(['e2']);
      expect(await store.claimDeliveries({ owner: 'w2', limit: 10, now: 4999, leaseUntil: 9000 })).toEqual(
        [],
      );
      const c = await store.claimDeliveries({ owner: 'w3', limit: 10, now: 5001, leaseUntil: 9000 });
      expect(c.map((d) => d.event.eventId).sort()).toEqual(['e0', 'e1', 'e2']);
      // w1 lost its lease: its late settlement must not apply.
      await store.settleDeliveries('w1', [{ id: a[0]!.id, status: 'delivered', attempts: 1 }], [], 5002);
      const [d0] = await store.listDeliveries(a[0]!.subscriptionKey, { limit: 1 });
      expect(d0!.status).toBe('pending');
    });

    it('stores deliveries leased at birth for the fresh hand-off, and hands them back like a claim', async () => {
      const t = topic('t-fresh');
      await store.putTopic(t);
      const [a, b] = [subscription(t.id, 'fa'), subscription(t.id, 'fb')];
      await store.putEventSubscription(a);
      await store.putEventSubscription(b);
      const row = (i: number, subs: string[]) => ({
        eventId: `f${i}`,
        sourceKey: t.key,
        eventType: 'T',
        subject: `s/${i}`,
        schema: 'EventGridSchema',
        body: JSON.stringify({ id: `f${i}`, n: i }),
        subscriptionKeys: subs,
      });
      const fresh = await store.appendEvents([row(0, [a.key, b.key]), row(1, []), row(2, [b.key])], 1000, {
        owner: 'w1',
        until: 5000,
      });
      expect(fresh.map((d) => [d.event.eventId, d.subscriptionKey]).sort()).toEqual([
        ['f0', a.key],
        ['f0', b.key],
        ['f2', b.key],
      ]);
      const f2 = fresh.find((d) => d.event.eventId === 'f2')!;
      expect(f2).toMatchObject({
        attempts: 0,
        createdAt: 1000,
        event: { schema: 'EventGridSchema', body: JSON.stringify({ id: 'f2', n: 2 }), publishedAt: 1000 },
      });
      const [stored] = await store.listDeliveries(b.key, { limit: 10, ids: [f2.id] });
      expect(stored!.event.seq).toBe(f2.event.seq);
      // Leased: nobody else claims them before the lease lapses, and only the owner settles them.
      expect(await store.claimDeliveries({ owner: 'w2', limit: 10, now: 4999, leaseUntil: 9000 })).toEqual(
        [],
      );
      await store.settleDeliveries('w2', [{ id: f2.id, status: 'delivered', attempts: 1 }], [], 2000);
      await store.settleDeliveries('w1', [{ id: f2.id, status: 'delivered', attempts: 1 }], [], 2000);
      expect(await store.countDeliveries(b.key, 'delivered')).toBe(1);
      // A dead owner's rows come back (SQLite releases every lease at start; elsewhere the lease lapses).
      expect(await store.releaseLeases('w1')).toBe(2);
      const again = await store.claimDeliveries({ owner: 'w2', limit: 10, now: 1000, leaseUntil: 9000 });
      expect(again.map((d) => d.id).sort()).toEqual(
        fresh
          .filter((d) => d !== f2)
          .map((d) => d.id)
          .sort(),
      );
      // Without a lease nothing is returned and the rows are claimable at once.
      expect(await store.appendEvents([row(3, [a.key])], 1000)).toEqual([]);
      expect(
        (await store.claimDeliveries({ owner: 'w3', limit: 10, now: 1000, leaseUntil: 9000 })).length,
      ).toBe(1);
    });

    it('settles outcomes with the attempt log, and reschedules retries', async () => {
      const { sub } = await seed(3);
      const got = await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 9000 });
      await store.settleDeliveries(
        'w',
        [
          {
            id: got[0]!.id,
            status: 'delivered',
            attempts: 1,
            lastAttemptAt: 1100,
            lastStatusCode: 200,
            lastOutcome: 'Succeeded',
          },
          {
            id: got[1]!.id,
            status: 'pending',
            attempts: 1,
            nextAttemptAt: 20_000,
            lastAttemptAt: 1100,
            lastStatusCode: 500,
            lastOutcome: 'GenericError',
          },
          {
            id: got[2]!.id,
            status: 'deadlettered',
            attempts: 1,
            lastAttemptAt: 1100,
            lastStatusCode: 400,
            lastOutcome: 'BadRequest',
            deadLetterReason: 'UndeliverableDueToHttpBadRequest',
          },
        ],
        [
          {
            subscriptionKey: sub.key,
            startedAt: 1100,
            durationMs: 5,
            deliveryCount: 0,
            eventIds: ['e0'],
            statusCode: 200,
            outcome: 'Succeeded',
          },
          {
            subscriptionKey: sub.key,
            startedAt: 1101,
            durationMs: 7,
            deliveryCount: 0,
            eventIds: ['e1', 'e2'],
            statusCode: 500,
            outcome: 'GenericError',
            responseExcerpt: 'boom',
          },
        ],
        1200,
      );
      const all = await store.listDeliveries(sub.key, { limit: 10 });
      expect(all.map((d) => d.status)).toEqual(['delivered', 'pending', 'deadlettered']);
      expect(all[1]).toMatchObject({
        attempts: 1,
        nextAttemptAt: 20_000,
        lastStatusCode: 500,
        lastOutcome: 'GenericError',
      });
      expect(all[2]).toMatchObject({ deadLetterReason: 'UndeliverableDueToHttpBadRequest', settledAt: 1200 });
      expect(await store.nextDueAt()).toBe(20_000);
      expect(await store.claimDeliveries({ owner: 'w', limit: 10, now: 19_999, leaseUntil: 30_000 })).toEqual(
        [],
      );
      expect(
        (await store.claimDeliveries({ owner: 'w', limit: 10, now: 20_000, leaseUntil: 30_000 })).length,
      ).toBe(1);

      const attempts = await store.listAttempts(sub.key, { limit: 10 });
      expect(attempts.map((a) => a.eventIds)).toEqual([['e0'], ['e1', 'e2']]);
      expect(attempts[1]).toMatchObject({ statusCode: 500, durationMs: 7, responseExcerpt: 'boom' });
      expect((await store.listAttempts(sub.key, { limit: 10, outcome: 'failed' })).length).toBe(1);
      expect((await store.listAttempts(sub.key, { limit: 10, outcome: 'Succeeded' })).length).toBe(1);
      expect((await store.listAttempts(sub.key, { limit: 10, from: 1101 })).length).toBe(1);
      expect((await store.listAttempts(sub.key, { limit: 10, to: 1101 })).length).toBe(1);

      expect(await store.redrive(sub.key, 'all', 50_000)).toBe(1);
      const redriven = (await store.listDeliveries(sub.key, { limit: 10 }))[2]!;
      expect(redriven).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: 50_000 });
      expect(redriven.deadLetterReason).toBeUndefined();
      expect((await store.listDeliveries(sub.key, { limit: 10, ids: [redriven.id] })).length).toBe(1);
    });

    it('releases leases, replays retained events and purges what retention no longer needs', async () => {
      const { t, sub } = await seed(2, 1000);
      await store.claimDeliveries({ owner: 'dead', limit: 10, now: 1000, leaseUntil: 99_000 });
      expect(await store.releaseLeases()).toBe(2);
      expect(
        (await store.claimDeliveries({ owner: 'w', limit: 10, now: 1000, leaseUntil: 2000 })).length,
      ).toBe(2);
      expect(await store.releaseLeases('w')).toBe(2);

      const evs = await store.eventsSince(t.key, 0, '0', 10);
      expect((await store.eventsSince('/subscriptions/sub1/resourcegroups/rg1', 0, '0', 10)).length).toBe(2);
      expect(await store.eventsSince('/subscriptions/sub1/resourcegroups/rg', 0, '0', 10)).toEqual([]);
      expect(evs.map((e) => e.eventId)).toEqual(['e0', 'e1']);
      expect(await store.eventsSince(t.key, 1001, '0', 10)).toEqual([]);
      expect(await store.enqueueDeliveries(sub.key, [evs[0]!.seq], 3000)).toBe(1);
      expect(await store.countDeliveries(sub.key, 'pending')).toBe(3);

      const got = await store.claimDeliveries({ owner: 'w', limit: 10, now: 3000, leaseUntil: 4000 });
      await store.settleDeliveries(
        'w',
        got.map((d) => ({ id: d.id, status: 'delivered' as const, attempts: 1 })),
        [],
        3500,
      );
      expect(await store.purge(3000)).toEqual({ events: 0, deliveries: 0, attempts: 0 });
      expect(await store.purge(4000)).toEqual({ events: 2, deliveries: 3, attempts: 0 });
      expect(await store.eventsSince(t.key, 0, '0', 10)).toEqual([]);
    });

    it('records webhook validation state', async () => {
      const t = topic('t-val');
      await store.putTopic(t);
      const sub = {
        ...subscription(t.id, 'v'),
        provisioningState: 'AwaitingManualAction',
        validationCode: 'c1',
        validationDeadline: 9,
      };
      await store.putEventSubscription(sub);
      expect(await store.getEventSubscription(sub.key)).toMatchObject({
        validationCode: 'c1',
        validationDeadline: 9,
      });
      await store.setProvisioning(sub.key, { provisioningState: 'Succeeded' });
      const after = await store.getEventSubscription(sub.key);
      expect(after?.provisioningState).toBe('Succeeded');
      expect(after?.validationCode).toBeUndefined();
    });
  });

  describe('ML workspace resources', () => {
    const WS =
      '/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1';
    const ws = () => ({
      key: WS.toLowerCase(),
      id: WS,
      subscriptionId: 'sub1',
      resourceGroup: 'rg1',
      name: 'ws1',
      workspaceGuid: 'g-1',
      spec: { location: 'local' },
      createdAt: 'c',
      updatedAt: 'u',
    });
    const container = (name: string) => ({
      key: `${WS}/models/${name}`.toLowerCase(),
      workspaceKey: WS.toLowerCase(),
      name,
      spec: {},
      createdAt: 'c',
      updatedAt: 'u',
    });
    const version = (name: string, v: string) => ({
      key: `${WS}/models/${name}/versions/${v}`.toLowerCase(),
      containerKey: `${WS}/models/${name}`.toLowerCase(),
      version: v,
      spec: { modelUri: `file:///m/${v}` },
      createdAt: `2026-01-0${v}`,
      updatedAt: 'u',
    });
    const event = (id: string, sequencer: number) => ({
      eventId: id,
      sourceKey: WS.toLowerCase(),
      eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
      subject: `models/m:${sequencer}`,
      schema: 'EventGridSchema',
      body: JSON.stringify({ id, sequencer }),
      subscriptionKeys: ['sub-key'],
    });

    it('stores workspaces and model containers, and deletes them together', async () => {
      expect(await store.putWorkspace(ws())).toEqual({ created: true });
      expect(await store.putWorkspace({ ...ws(), spec: { location: 'x' } })).toEqual({ created: false });
      expect((await store.getWorkspace(WS.toLowerCase()))?.spec).toEqual({ location: 'x' });
      expect(
        (await store.listWorkspaces({ subscriptionId: 'SUB1', resourceGroup: 'RG1' })).map((w) => w.name),
      ).toEqual(['ws1']);
      expect(await store.putModelContainer(container('m'))).toEqual({ created: true });
      await store.putModelVersion(version('m', '1'), () => [], 1);
      expect((await store.listModelContainers(WS.toLowerCase())).map((c) => c.name)).toEqual(['m']);
      expect(await store.deleteWorkspace(WS.toLowerCase())).toBe(true);
      expect(await store.getModelContainer(container('m').key)).toBeUndefined();
      expect(await store.getModelVersion(version('m', '1').key)).toBeUndefined();
    });

    it('draws a sequencer per container and commits a version with its events atomically', async () => {
      await store.putWorkspace(ws());
      await store.putModelContainer(container('m'));
      const a = await store.putModelVersion(version('m', '1'), (seq) => [event('e1', seq)], 10);
      const b = await store.putModelVersion(version('m', '2'), (seq) => [event('e2', seq)], 11);
      expect([a, b]).toEqual([
        { created: true, sequencer: 1 },
        { created: true, sequencer: 2 },
      ]);
      expect(
        (await store.listModelVersions(container('m').key)).map((v) => [v.version, v.sequencer]),
      ).toEqual([
        ['1', 1],
        ['2', 2],
      ]);
      const queued = await store.listDeliveries('sub-key', { limit: 10 });
      expect(queued.map((d) => JSON.parse(d.event.body))).toEqual([
        { id: 'e1', sequencer: 1 },
        { id: 'e2', sequencer: 2 },
      ]);
      // An event that cannot be stored takes the version down with it.
      await expect(
        store.putModelVersion(
          version('m', '3'),
          () => [{ ...event('e3', 3), eventId: null as unknown as string }],
          12,
        ),
      ).rejects.toThrow();
      expect(await store.getModelVersion(version('m', '3').key)).toBeUndefined();
      expect(await store.deleteModelVersion(version('m', '2').key)).toBe(true);
      expect(await store.deleteModelContainer(container('m').key)).toBe(true);
    });
  });
});
