/** The dispatcher's queue of leased deliveries for one subscription, and how a request's batch is taken from it. */
import { BATCH_DEFAULTS, type BatchingOptions } from '../core/delivery-format.js';
import type { ClaimedDelivery } from '../store/types.js';

export interface Lane {
  key: string;
  queue: ClaimedDelivery[];
  /** Index of the first delivery not yet taken. */
  head: number;
}

/**
 * The next batch from the lane's head, greedy and in order as planBatches: the count limit is hard, the size a
 * target ceiling that a first event may exceed alone; no batching options → one event. Deliveries for which
 * `expired` is true are stepped over and returned apart (for dead-lettering).
 */
export function takeBatch(
  lane: Lane,
  batching: BatchingOptions | undefined,
  expired: (d: ClaimedDelivery) => boolean,
): { batch: ClaimedDelivery[]; expired?: ClaimedDelivery[] } {
  const max = batching ? (batching.maxEventsPerBatch ?? BATCH_DEFAULTS.maxEventsPerBatch) : 1;
  const maxBytes =
    (batching?.preferredBatchSizeInKilobytes ?? BATCH_DEFAULTS.preferredBatchSizeInKilobytes) * 1024;
  const batch: ClaimedDelivery[] = [];
  let dead: ClaimedDelivery[] | undefined;
  let bytes = 0;
  let i = lane.head;
  for (; i < lane.queue.length && batch.length < max; i++) {
    const d = lane.queue[i]!;
    if (expired(d)) {
      (dead ??= []).push(d);
      continue;
    }
    const size = d.event.bytes?.length ?? d.event.body.length; // bytes as read: no decoding to measure
    if (batch.length > 0 && bytes + size > maxBytes) break;
    batch.push(d);
    bytes += size;
  }
  lane.head = i;
  if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
    lane.queue = lane.queue.slice(lane.head);
    lane.head = 0;
  }
  return dead ? { batch, expired: dead } : { batch };
}
