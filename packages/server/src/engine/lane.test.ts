import { describe, expect, it } from 'vitest';
import { planBatches } from '../core/delivery-format.js';
import type { ClaimedDelivery } from '../store/types.js';
import { takeBatch, type Lane } from './lane.js';

const d = (id: number, size = 10, publishedAt = 0): ClaimedDelivery => ({
  id: String(id),
  subscriptionKey: 's',
  attempts: 0,
  createdAt: 0,
  event: {
    seq: String(id),
    eventId: `e${id}`,
    schema: 'EventGridSchema',
    body: 'x'.repeat(size),
    publishedAt,
  },
});
const lane = (ds: ClaimedDelivery[]): Lane => ({ key: 's', queue: ds, head: 0 });
const ids = (ds: ClaimedDelivery[]) => ds.map((x) => x.id);
const never = () => false;

describe('takeBatch', () => {
  it('takes one event per request without batching options', () => {
    const l = lane([d(1), d(2)]);
    expect(ids(takeBatch(l, undefined, never).batch)).toEqual(['1']);
    expect(ids(takeBatch(l, undefined, never).batch)).toEqual(['2']);
    expect(takeBatch(l, undefined, never).batch).toEqual([]);
  });

  it('cuts batches exactly where planBatches does', () => {
    const sizes = [300, 700, 100, 2000, 50, 50, 900, 10, 10, 10, 10, 1500];
    for (const opts of [
      { maxEventsPerBatch: 3 },
      { preferredBatchSizeInKilobytes: 1 },
      { maxEventsPerBatch: 4, preferredBatchSizeInKilobytes: 1 },
    ]) {
      const items = sizes.map((s, i) => d(i, s));
      const expected = planBatches(
        items.map((x) => ({ x, bytes: x.event.body.length })),
        opts,
      ).map((b) => b.map((y) => y.x.id));
      const l = lane(items);
      const got: string[][] = [];
      for (let b = takeBatch(l, opts, never).batch; b.length > 0; b = takeBatch(l, opts, never).batch)
        got.push(ids(b));
      expect(got).toEqual(expected);
    }
  });

  it('steps over expired deliveries and returns them apart', () => {
    const l = lane([d(1, 10, 1), d(2), d(3, 10, 1), d(4), d(5)]);
    const expired = (x: ClaimedDelivery) => x.event.publishedAt === 1;
    const first = takeBatch(l, { maxEventsPerBatch: 2 }, expired);
    expect(ids(first.batch)).toEqual(['2', '4']);
    expect(ids(first.expired!)).toEqual(['1', '3']);
    const second = takeBatch(l, { maxEventsPerBatch: 2 }, expired);
    expect(ids(second.batch)).toEqual(['5']);
    expect(second.expired).toBeUndefined();
  });

  it('drops the consumed part of a long queue', () => {
    const l = lane(Array.from({ length: 3000 }, (_, i) => d(i)));
    for (let i = 0; i < 1600; i++) takeBatch(l, undefined, never);
    expect(l.head).toBeLessThan(1600);
    expect(l.queue.length - l.head).toBe(1400);
    expect(takeBatch(l, undefined, never).batch[0]!.id).toBe('1600');
  });
});
