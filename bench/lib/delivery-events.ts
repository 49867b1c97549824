/**
 * Events of the delivery benchmark: the ~1 KB ML events of the publish benchmark (bench/lib/publish-bodies.ts),
 * each published under a run-unique, UUID-shaped id that encodes its sequence number, so a receiver can check
 * "every event delivered at least once" with a bitmap instead of a set of strings:
 *
 *   nnnnnnnn-0000-4000-a000-ssssssssssss      n = 8 hex digits of the run nonce, s = 12 hex digits of seq
 */
import { stamped, TOPIC_ID, type EgEvent } from './ml-events.js';
import { makeBatches } from './publish-bodies.js';

export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const SUBSCRIPTION = 'deliver-all';

let templates: EgEvent[] | undefined;
/** 6,400 distinct realistic events (64 × 100, seeded), cycled by sequence number. */
function template(seq: number): EgEvent {
  templates ??= makeBatches().flat();
  return templates[seq % templates.length]!;
}

export const nonceHex = (nonce: number): string => (nonce >>> 0).toString(16).padStart(8, '0');

export function eventId(nonce: string, seq: number): string {
  return `${nonce}-0000-4000-a000-${seq.toString(16).padStart(12, '0')}`;
}

/** The event published with sequence number `seq` in the run of `nonce`. */
export function benchEvent(nonce: string, seq: number): EgEvent {
  return { ...template(seq), id: eventId(nonce, seq) };
}

/** One publish request body: events from..from+count-1. */
export function publishBody(nonce: string, from: number, count: number): string {
  const out: EgEvent[] = [];
  for (let i = 0; i < count; i++) out.push(benchEvent(nonce, from + i));
  return JSON.stringify(out);
}

/** The event as mlgrid stores (and, in Event Grid schema, delivers) it. */
export function storedEvent(nonce: string, seq: number): Record<string, unknown> {
  return stamped(benchEvent(nonce, seq), TOPIC_ID);
}

const ID_KEY = Buffer.from('{"id":"');
const ID_LEN = 36;

/**
 * The event ids of an Event Grid delivery body (a JSON array of envelopes whose first field is `id`, as
 * mlgrid writes them), without parsing it: every `{"id":"` followed by 36 characters. The receiver cross-checks
 * this against JSON.parse on a sample of the requests.
 */
export function scanIds(body: Buffer, each: (id: string) => void): number {
  let n = 0;
  for (let at = body.indexOf(ID_KEY); at !== -1; at = body.indexOf(ID_KEY, at + ID_KEY.length + ID_LEN)) {
    const start = at + ID_KEY.length;
    each(body.toString('latin1', start, start + ID_LEN));
    n++;
  }
  return n;
}

/** seq of an id of this run's nonce, else -1. */
export function seqOf(id: string, nonce: string): number {
  if (!id.startsWith(nonce) || id.length !== ID_LEN) return -1;
  const seq = parseInt(id.slice(24), 16);
  return Number.isFinite(seq) ? seq : -1;
}
