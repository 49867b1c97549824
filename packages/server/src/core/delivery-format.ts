/**
 * Delivery, pure part: what a subscriber receives (output schema, batches, request body and headers) and what a
 * dead-letter blob holds. No I/O; the delivery engine does the sending.
 */
import type { DeliveryAttributeMapping, DeliverySchema, InputSchema } from '@mlgrid/protocol';
import { resolve } from './filter-eval.js';
import { dataLineage } from './lineage.js';

/** One stored event: `event` is the parsed stamped body written at publish (see publish.ts). */
export interface StoredEvent {
  schema: InputSchema;
  event: Record<string, unknown>;
}

/**
 * The event as the subscription's delivery schema shows it. Stored EG and custom events are both Event Grid
 * envelopes (a custom one carries the original event as `data`), so every conversion starts from one of two shapes.
 * Unsupported pairs (EG→Custom, CE→EG, CE→Custom) are rejected at subscription validation; here they throw.
 * Pass-through results are the stored objects themselves: copy before mutating.
 */
export function toOutputEvent(e: StoredEvent, deliverySchema: DeliverySchema): Record<string, unknown> {
  const { schema, event } = e;
  if (schema === 'CloudEventSchemaV1_0') {
    if (deliverySchema === 'CloudEventSchemaV1_0') return event;
  } else if (deliverySchema === 'EventGridSchema') {
    return event;
  } else if (deliverySchema === 'CloudEventSchemaV1_0') {
    return eventGridToCloudEvent(event);
  } else if (schema === 'CustomInputSchema') {
    return event.data as Record<string, unknown>;
  }
  throw new Error(`cannot deliver ${schema} events as ${deliverySchema}`);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Event Grid → CloudEvents 1.0 per the mapping of Azure's own examples (topic→source, eventType→type,
 * eventTime→time). `dataVersion` has no CE attribute; Azure's delivery-and-retry CE example carries it as the
 * extension `dataversion`, so a non-empty one is kept that way and an empty one is dropped (an empty extension
 * says nothing). `metadataVersion` is dropped: `specversion` takes its place. `data.correlationId` and
 * `data.causationId` (both strings) are also surfaced as the extensions `correlationid` / `causationid`.
 */
function eventGridToCloudEvent(ev: Record<string, unknown>): Record<string, unknown> {
  const ce: Record<string, unknown> = {
    specversion: '1.0',
    id: ev.id,
    source: ev.topic,
    type: ev.eventType,
  };
  // CE requires a non-empty subject when present; custom mappings may default it to ''.
  if (typeof ev.subject === 'string' && ev.subject !== '') ce.subject = ev.subject;
  const time = cloudEventTime(ev.eventTime);
  if (time !== undefined) ce.time = time;
  if (ev.data !== undefined) ce.data = ev.data;
  ce.datacontenttype = 'application/json';
  if (typeof ev.dataVersion === 'string' && ev.dataVersion !== '') ce.dataversion = ev.dataVersion;
  // Lineage (docs/lineage.md) as extension attributes too, named by CE's rules ([a-z0-9]); `data` keeps its copy.
  const lineage = dataLineage(ev.data);
  if (lineage) {
    ce.correlationid = lineage.correlationId;
    ce.causationid = lineage.causationId;
  }
  return ce;
}

/** CE `time` must be RFC 3339; custom mappings accept looser ISO-8601 (e.g. a bare date), normalized here. */
function cloudEventTime(t: unknown): string | undefined {
  if (typeof t !== 'string') return undefined;
  if (RFC3339.test(t)) return t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export interface BatchingOptions {
  maxEventsPerBatch?: number;
  preferredBatchSizeInKilobytes?: number;
}

/**
 * Defaults when only one batching option is set (the reference leaves Azure's values UNCONFIRMED). The ARM docs
 * give 1 event / 64 KB, but a default of 1 event would make "only preferredBatchSizeInKilobytes" pointless, so
 * the count defaults to the 5,000 maximum and the size limit alone shapes batches; the size defaults to 64 KB.
 */
export const BATCH_DEFAULTS = { maxEventsPerBatch: 5000, preferredBatchSizeInKilobytes: 64 } as const;

/**
 * Greedy, order-preserving batching. The count limit is hard; the size is a target ceiling, so an item larger
 * than it still travels, alone. No batching options → one item per batch (Azure's default delivery).
 */
export function planBatches<T extends { bytes: number }>(
  items: T[],
  opts: BatchingOptions | undefined,
): T[][] {
  if (opts?.maxEventsPerBatch === undefined && opts?.preferredBatchSizeInKilobytes === undefined) {
    return items.map((i) => [i]);
  }
  const maxCount = Math.max(1, opts.maxEventsPerBatch ?? BATCH_DEFAULTS.maxEventsPerBatch);
  const maxBytes =
    (opts.preferredBatchSizeInKilobytes ?? BATCH_DEFAULTS.preferredBatchSizeInKilobytes) * 1024;
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (cur.length > 0 && (cur.length >= maxCount || bytes + item.bytes > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += item.bytes;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface OutgoingRequest {
  body: string;
  headers: Record<string, string>;
  /** The body as UTF-8 when it was built from bytes: senders that take bytes use it; `body` then decodes lazily. */
  bytes?: Buffer;
}

export type DeliveryEventType = 'Notification' | 'SubscriptionValidation' | 'SubscriptionDeletion';

export const CONTENT_TYPES = {
  json: 'application/json; charset=utf-8',
  cloudEvent: 'application/cloudevents+json; charset=utf-8',
  cloudEventBatch: 'application/cloudevents-batch+json; charset=utf-8',
} as const;

/** Sent as `Origin` / `WebHook-Request-Origin` on CloudEvents deliveries (reference §4.6, §5.2). */
export const CLOUD_EVENTS_ORIGIN = 'eventgrid.azure.net';

/** Headers a delivery attribute mapping may never set: ours, the signature's, and the transport's. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'transfer-encoding',
  'host',
  'origin',
  'webhook-request-origin',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

/**
 * One HTTP delivery. Event Grid and custom schemas always go as a JSON array; CloudEvents go as one structured
 * event unless the subscription batches, then as a batch array even for a single event (so a receiver sees one
 * shape per subscription). Header names are lower-case.
 */
export interface DeliveryRequestOptions {
  deliverySchema: DeliverySchema;
  batching: boolean;
  subscriptionName: string;
  deliveryCount: number;
  mappings?: DeliveryAttributeMapping[];
  eventType?: DeliveryEventType;
}

export function buildDeliveryRequest(a: DeliveryRequestOptions & { events: StoredEvent[] }): OutgoingRequest {
  const first = a.events[0];
  const structured = checkShape(a.events.length, a);
  const out = a.events.map((e) => toOutputEvent(e, a.deliverySchema));
  return { body: JSON.stringify(structured ? out[0] : out), headers: deliveryHeaders(first!.event, a) };
}

/** A stored event before parsing: its schema and the JSON text written at publish (also as UTF-8, if read so). */
export interface StoredBody {
  schema: InputSchema;
  body: string;
  bytes?: Buffer;
}

/** True when the delivery schema shows the stored event exactly as stored (see toOutputEvent). */
export function isPassThrough(schema: InputSchema, deliverySchema: DeliverySchema): boolean {
  return schema === 'CloudEventSchemaV1_0'
    ? deliverySchema === 'CloudEventSchemaV1_0'
    : deliverySchema === 'EventGridSchema';
}

/**
 * buildDeliveryRequest from stored bodies. Where no conversion applies the stored JSON is sent as it is (it was
 * written by JSON.stringify, so parsing and serialising it again would give the same bytes) and only the first
 * event is parsed, for the headers; otherwise every event is parsed and converted.
 */
export function buildStoredDeliveryRequest(
  a: DeliveryRequestOptions & { events: StoredBody[] },
): OutgoingRequest {
  if (!a.events.every((e) => isPassThrough(e.schema, a.deliverySchema))) {
    const events = a.events.map((e) => ({ schema: e.schema, event: JSON.parse(e.body) }));
    return buildDeliveryRequest({ ...a, events });
  }
  const structured = checkShape(a.events.length, a);
  const first = headerFields(a.events[0]!.body, a);
  if (a.events.every((e) => e.bytes !== undefined)) {
    const bytes = structured ? a.events[0]!.bytes! : jsonArray(a.events);
    return new BytesRequest(bytes, deliveryHeaders(first, a));
  }
  let body: string;
  if (structured) body = a.events[0]!.body;
  else if (a.events.length === 1) body = `[${a.events[0]!.body}]`;
  else body = `[${a.events.map((e) => e.body).join(',')}]`;
  return { body, headers: deliveryHeaders(first, a) };
}

/** `[b1,b2,…]` from the events' UTF-8 bodies, in one buffer. */
function jsonArray(events: StoredBody[]): Buffer {
  let size = events.length + 1; // brackets and commas
  for (const e of events) size += e.bytes!.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x5b; // [
  let at = 1;
  events.forEach((e, i) => {
    if (i > 0) out[at++] = 0x2c; // ,
    at += e.bytes!.copy(out, at);
  });
  out[at] = 0x5d; // ]
  return out;
}

/** A request built from bytes; its text is decoded only if a sender asks for it. */
class BytesRequest implements OutgoingRequest {
  private text?: string;
  constructor(
    readonly bytes: Buffer,
    readonly headers: Record<string, string>,
  ) {}

  get body(): string {
    return (this.text ??= this.bytes.toString('utf8'));
  }
}

/**
 * What deliveryHeaders reads of the first event. Without Dynamic mappings that is only `id` (and `dataVersion`
 * for Event Grid), which for events stamped by publish — JSON.stringify of `{"id":…,…,"dataVersion":…,
 * "metadataVersion":"1"}`, no duplicate keys — are read from the text: the `"` delimiters around them are not
 * escaped and the values hold no `\\` or `"`, so they are top-level members, literally. Otherwise: parsed.
 */
function headerFields(body: string, a: DeliveryRequestOptions): Record<string, unknown> {
  if (!a.mappings?.some((m) => m.type === 'Dynamic') && body.startsWith(ID_PREFIX)) {
    const id = body.slice(ID_PREFIX.length, body.indexOf('"', ID_PREFIX.length));
    if (!id.includes('\\')) {
      if (a.deliverySchema === 'CloudEventSchemaV1_0') return { id };
      const end = body.length - STAMPED_END.length;
      const at = body.endsWith(STAMPED_END) ? body.lastIndexOf(DATA_VERSION_KEY, end) : -1;
      const from = at + DATA_VERSION_KEY.length;
      const dataVersion = at < 0 || from > end ? '"' : body.slice(from, end);
      if (!dataVersion.includes('"') && !dataVersion.includes('\\')) return { id, dataVersion };
    }
  }
  return JSON.parse(body) as Record<string, unknown>;
}

const ID_PREFIX = '{"id":"';
const DATA_VERSION_KEY = ',"dataVersion":"';
const STAMPED_END = '","metadataVersion":"1"}';

/** Validates the event count; true when the body is one structured CloudEvent rather than an array. */
function checkShape(count: number, a: DeliveryRequestOptions): boolean {
  if (count === 0) throw new Error('a delivery carries at least one event');
  const isCe = a.deliverySchema === 'CloudEventSchemaV1_0';
  if (isCe && !a.batching && count !== 1) {
    throw new Error('an unbatched CloudEvents delivery carries exactly one event');
  }
  return isCe && !a.batching;
}

/** `first` is the first event in its stored form (parsed). */
function deliveryHeaders(first: Record<string, unknown>, a: DeliveryRequestOptions): Record<string, string> {
  const isCe = a.deliverySchema === 'CloudEventSchemaV1_0';
  const structured = isCe && !a.batching;
  const headers: Record<string, string> = {
    'content-type': !isCe
      ? CONTENT_TYPES.json
      : structured
        ? CONTENT_TYPES.cloudEvent
        : CONTENT_TYPES.cloudEventBatch,
    'aeg-event-type': a.eventType ?? 'Notification',
    // Azure sends the name upper-cased (observed; dead-letter paths do the same).
    'aeg-subscription-name': a.subscriptionName.toUpperCase(),
    // Attempts already made: 0 on the first try, as observed on Azure (the reference marks this UNCONFIRMED).
    'aeg-delivery-count': String(a.deliveryCount),
    'aeg-metadata-version': isCe ? '1.0' : '1',
  };
  // Stored EG and custom events are envelopes with dataVersion and id; a CE has an id too.
  if (!isCe) headers['aeg-data-version'] = stringOr(first.dataVersion, '');
  headers['aeg-output-event-id'] = stringOr(first.id, '');
  if (isCe) {
    headers.origin = CLOUD_EVENTS_ORIGIN;
    headers['webhook-request-origin'] = CLOUD_EVENTS_ORIGIN;
  }
  for (const m of a.mappings ?? []) {
    const name = m.name.toLowerCase();
    if (name.startsWith('aeg-') || RESERVED_HEADERS.has(name) || Object.hasOwn(headers, name)) continue;
    const value = m.type === 'Static' ? m.properties.value : dynamicValue(first, m.properties.sourceField);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

function stringOr(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

/** Only characters Node's HTTP stack accepts in a header value; anything else would fail every attempt. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A Dynamic mapping reads `sourceField` (dotted, case-insensitive, as filter keys) from the FIRST event of the
 * delivery in its stored form, i.e. as published: Azure evaluates mappings against the input event, so the
 * same mapping works whatever the delivery schema (for a custom topic `data.*` reaches the original event).
 * Only string/number/boolean values become headers; a missing, null, object or array value omits the header.
 */
function dynamicValue(event: Record<string, unknown>, sourceField: string): string | undefined {
  const segs = sourceField.split('.');
  const v = resolve(
    event,
    segs,
    segs.map((s) => s.toLowerCase()),
  );
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
  const s = String(v);
  return HEADER_VALUE.test(s) ? s : undefined;
}

export interface DeadLetterInfo {
  deadLetterReason: string;
  deliveryAttempts: number;
  lastDeliveryOutcome: string;
  lastHttpStatusCode?: number;
  publishTime: Date;
  lastDeliveryAttemptTime: Date;
}

/**
 * One record of a dead-letter blob, in Azure's format: the delivered event plus the dead-letter fields,
 * camelCase for Event Grid, lower-case CE extension attributes for CloudEvents (names must be [a-z0-9]; numbers
 * are CE integers). A custom-schema subscription gets the Event Grid envelope with the original event as `data`.
 */
export function deadLetterRecord(
  e: StoredEvent,
  deliverySchema: DeliverySchema,
  info: DeadLetterInfo,
): Record<string, unknown> {
  if (deliverySchema === 'CloudEventSchemaV1_0') {
    const r: Record<string, unknown> = { ...toOutputEvent(e, deliverySchema) };
    r.deadletterreason = info.deadLetterReason;
    r.deliveryattempts = info.deliveryAttempts;
    r.lastdeliveryoutcome = info.lastDeliveryOutcome;
    if (info.lastHttpStatusCode !== undefined) r.lasthttpstatuscode = info.lastHttpStatusCode;
    r.publishtime = info.publishTime.toISOString();
    r.lastdeliveryattempttime = info.lastDeliveryAttemptTime.toISOString();
    return r;
  }
  const fields: Record<string, unknown> = {
    deadLetterReason: info.deadLetterReason,
    deliveryAttempts: info.deliveryAttempts,
    lastDeliveryOutcome: info.lastDeliveryOutcome,
  };
  if (info.lastHttpStatusCode !== undefined) fields.lastHttpStatusCode = info.lastHttpStatusCode;
  fields.publishTime = info.publishTime.toISOString();
  fields.lastDeliveryAttemptTime = info.lastDeliveryAttemptTime.toISOString();
  if (deliverySchema === 'EventGridSchema') return { ...toOutputEvent(e, deliverySchema), ...fields };
  toOutputEvent(e, deliverySchema); // throws on an unsupported pair
  // Custom: the mapped envelope, in the field order of Azure's documented record.
  const ev = e.event;
  return {
    id: ev.id,
    eventTime: ev.eventTime,
    eventType: ev.eventType,
    dataVersion: ev.dataVersion,
    metadataVersion: ev.metadataVersion,
    topic: ev.topic,
    subject: ev.subject,
    ...fields,
    data: ev.data,
  };
}

/** `NAME-UPPERCASE/YYYY/M/D/H/<fileId>.json` in UTC, month/day/hour not zero-padded (Azure's blob layout). */
export function deadLetterBlobPath(subscriptionName: string, at: Date, fileId: string): string {
  return [
    subscriptionName.toUpperCase(),
    at.getUTCFullYear(),
    at.getUTCMonth() + 1,
    at.getUTCDate(),
    at.getUTCHours(),
    `${fileId}.json`,
  ].join('/');
}
