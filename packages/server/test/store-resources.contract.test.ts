/**
 * Store contract for resource documents, on both adapters: put with compare-and-set and outbox events, lookup,
 * listing by parent, and deletion of a resource with everything below it (also through its workspace).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventToStore, ResourceRecord, Store } from '../src/store/types.js';
import { storeBackends } from './helpers/stores.js';

const backends = await storeBackends('store resources contract');
const WS =
  '/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1';
const WS_KEY = WS.toLowerCase();
const EP = `${WS_KEY}/onlineendpoints/ep`;

const res = (key: string, kind: string, parentKey: string, extra: Partial<ResourceRecord> = {}) => ({
  key,
  kind,
  parentKey,
  name: key.split('/').pop()!,
  spec: { v: 1 },
  createdAt: `c-${key}`,
  updatedAt: `u-${key}`,
  ...extra,
});

const event = (id: string): EventToStore => ({
  eventId: id,
  sourceKey: WS_KEY,
  eventType: 'Microsoft.MachineLearningServices.ModelDeployed',
  subject: 'endpoints/ep',
  schema: 'EventGridSchema',
  body: JSON.stringify({ id }),
  subscriptionKeys: ['sub-key'],
});

describe.each(backends)('Store contract (resources) on $name', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async (ctx) => {
    if (backend.skip) return ctx.skip();
    ({ store, cleanup } = await backend.open());
  });
  afterEach(async () => cleanup?.());

  it('creates with sequencer 1, replaces with +1 and keeps the creation time', async () => {
    const a = await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 1);
    expect(a).toMatchObject({ created: true, updated: true, rec: { sequencer: 1 } });
    const b = await store.putResource(
      res(EP, 'onlineEndpoint', WS_KEY, { spec: { v: 2 }, createdAt: 'later', updatedAt: 'u2' }),
      2,
    );
    expect(b).toMatchObject({ created: false, updated: true, rec: { sequencer: 2, createdAt: `c-${EP}` } });
    expect(await store.getResource(EP)).toEqual({
      ...res(EP, 'onlineEndpoint', WS_KEY),
      spec: { v: 2 },
      updatedAt: 'u2',
      sequencer: 2,
    });
  });

  it('compare-and-set: a put with a stale sequencer writes nothing and returns the stored record', async () => {
    await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 1);
    const stale = await store.putResource(res(EP, 'onlineEndpoint', WS_KEY, { spec: { v: 9 } }), 2, {
      ifSequencer: 0,
    });
    expect(stale).toMatchObject({ created: false, updated: false, rec: { sequencer: 1, spec: { v: 1 } } });
    const ok = await store.putResource(res(EP, 'onlineEndpoint', WS_KEY, { spec: { v: 3 } }), 3, {
      ifSequencer: 1,
    });
    expect(ok).toMatchObject({ updated: true, rec: { sequencer: 2, spec: { v: 3 } } });
    const absent = await store.putResource(res(`${EP}x`, 'onlineEndpoint', WS_KEY), 4, { ifSequencer: 5 });
    expect(absent).toEqual({ created: false, updated: false });
    expect(await store.getResource(`${EP}x`)).toBeUndefined();
  });

  it('create-only puts racing on a new key: exactly one creates; unconditional ones all count', async () => {
    // PostgreSQL runs these on separate pooled connections, so the first inserts really race.
    const tries = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.putResource(res(EP, 'onlineEndpoint', WS_KEY, { spec: { v: i } }), 1, { ifSequencer: 0 }),
      ),
    );
    expect(tries.filter((t) => t.created)).toHaveLength(1);
    expect(tries.filter((t) => t.updated)).toHaveLength(1);
    const winner = tries.find((t) => t.created)!.rec!;
    expect(await store.getResource(EP)).toMatchObject({ sequencer: 1, spec: winner.spec });

    const other = `${WS_KEY}/onlineendpoints/ep2`;
    const puts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.putResource(res(other, 'onlineEndpoint', WS_KEY, { spec: { v: i } }), 1),
      ),
    );
    expect(puts.filter((t) => t.created)).toHaveLength(1);
    expect((await store.getResource(other))?.sequencer).toBe(8);
  });

  it('commits the events of a put in the same transaction, given the stored sequencer', async () => {
    await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 1, {
      events: (r) => [event(`e-${r.sequencer}`)],
    });
    await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 2, {
      ifSequencer: 0, // stale: neither the change nor its event
      events: (r) => [event(`stale-${r.sequencer}`)],
    });
    await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 3, {
      events: (r) => [event(`e-${r.sequencer}`)],
    });
    const ds = await store.listDeliveries('sub-key', { limit: 10 });
    expect(ds.map((d) => d.event.eventId)).toEqual(['e-1', 'e-2']);
  });

  it('lists by parent and by lookup, oldest first', async () => {
    await store.putResource(res(`${EP}/deployments/b`, 'onlineDeployment', EP, { createdAt: '2' }), 1);
    await store.putResource(res(`${EP}/deployments/a`, 'onlineDeployment', EP, { createdAt: '1' }), 1);
    await store.putResource(res(`${WS_KEY}/other`, 'onlineDeployment', WS_KEY), 1);
    await store.putResource(res('/p/k1', 'apiKey', '/p', { lookup: 'hash-1' }), 1);
    await store.putResource(res('/p/k2', 'apiKey', '/p', { lookup: 'hash-2' }), 1);
    const byParent = await store.listResources({ kind: 'onlineDeployment', parentKey: EP });
    expect(byParent.map((r) => r.name)).toEqual(['a', 'b']);
    expect((await store.listResources({ kind: 'apiKey', lookup: 'hash-2' })).map((r) => r.key)).toEqual([
      '/p/k2',
    ]);
    expect(await store.listResources({ kind: 'apiKey', lookup: 'nope' })).toEqual([]);
    expect(await store.listResources({ kind: 'onlineDeployment' })).toHaveLength(3);
  });

  it('deletes a resource with everything below it, not its neighbours, and commits the given events', async () => {
    await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 1);
    await store.putResource(res(`${EP}/deployments/a`, 'onlineDeployment', EP), 1);
    await store.putResource(res(`${EP}-2`, 'onlineEndpoint', WS_KEY), 1); // shares the prefix, not the parent
    await store.putResource(res(`${EP}0`, 'onlineEndpoint', WS_KEY), 1); // the range's upper bound itself
    expect(await store.deleteResource(EP, 5, [event('deleted')])).toBe(true);
    expect(await store.getResource(`${EP}/deployments/a`)).toBeUndefined();
    expect(await store.getResource(`${EP}-2`)).toBeDefined();
    expect(await store.getResource(`${EP}0`)).toBeDefined();
    expect(await store.deleteResource(EP, 6, [event('again')])).toBe(false);
    const ds = await store.listDeliveries('sub-key', { limit: 10 });
    expect(ds.map((d) => d.event.eventId)).toEqual(['deleted']);
  });

  it('deleting a workspace deletes the resources below it', async () => {
    await store.putWorkspace({
      key: WS_KEY,
      id: WS,
      subscriptionId: 'sub1',
      resourceGroup: 'rg1',
      name: 'ws1',
      workspaceGuid: 'g',
      spec: {},
      createdAt: 'c',
      updatedAt: 'u',
    });
    await store.putResource(res(EP, 'onlineEndpoint', WS_KEY), 1);
    await store.putResource(res(`${WS_KEY}2/onlineendpoints/x`, 'onlineEndpoint', `${WS_KEY}2`), 1);
    expect(await store.deleteWorkspace(WS_KEY)).toBe(true);
    expect(await store.getResource(EP)).toBeUndefined();
    expect(await store.getResource(`${WS_KEY}2/onlineendpoints/x`)).toBeDefined();
  });
});
