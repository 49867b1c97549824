/** Request bodies for the publish benchmark: batches of realistic ~1 KB Event Grid events, built once. */
import { mlEvent, prng, stamped, TOPIC_ID, type EgEvent } from './ml-events.js';

export const BATCH_EVENTS = 100;
/** Distinct request bodies, cycled by the clients (every event id is unique within the set). */
export const DISTINCT_BODIES = 64;
/** Words of free text per event: brings the serialized event to ~1 KB. */
const PADDING_WORDS = 55;

export function makeBatches(seed = 0x9b1b): EgEvent[][] {
  const rng = prng(seed);
  let seq = 0;
  return Array.from({ length: DISTINCT_BODIES }, () =>
    Array.from({ length: BATCH_EVENTS }, () => mlEvent(rng, seq++, { padding: PADDING_WORDS })),
  );
}

export function requestBodies(batches: EgEvent[][]): Buffer[] {
  return batches.map((b) => Buffer.from(JSON.stringify(b)));
}

/** The rows mlgrid stores for a batch: what the bare-SQLite baseline commits. */
export function storedRows(batches: EgEvent[][], topicId = TOPIC_ID) {
  return batches.map((b) =>
    b.map((e) => ({
      eventId: e.id,
      eventType: e.eventType,
      subject: e.subject,
      body: JSON.stringify(stamped(e, topicId)),
    })),
  );
}
