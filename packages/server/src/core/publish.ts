/**
 * Publish data plane, pure part: turn a request body into accepted, stamped events for one topic.
 * Errors name the event index and field (`[3].eventTime`). Limits follow Azure: 1 MB per event,
 * 5,000 events per request (the 1 MB request limit is enforced while reading the body).
 */
import {
  CLOUD_EVENT_RESERVED,
  type EventGridEvent,
  type InputSchema,
  type JsonInputSchemaMapping,
} from '@mlgrid/protocol';
import { invalid, MlgridError } from './errors.js';
import type { FilterableEvent } from './filter.js';
import { mapCustomEvent } from './topic.js';
import { isObject, type Json } from './validate.js';

export const PUBLISH_LIMITS = {
  maxEvents: 5000,
  maxEventBytes: 1024 * 1024,
  maxRequestBytes: 1024 * 1024,
} as const;

export interface PublishTarget {
  id: string; // the topic's resource id, stamped as `topic`
  inputSchema: InputSchema;
  inputSchemaMapping?: JsonInputSchemaMapping;
}

export interface AcceptedEvent {
  eventId: string;
  eventType: string;
  subject: string;
  schema: InputSchema;
  body: string; // stamped JSON as stored and, later, delivered
  filterable: FilterableEvent;
}

export type PublishContentKind = 'json' | 'cloudevents' | 'cloudevents-batch';

export function contentKind(contentType: string | undefined): PublishContentKind | undefined {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/json' || mime === '') return 'json';
  if (mime === 'application/cloudevents-batch+json') return 'cloudevents-batch';
  if (mime === 'application/cloudevents+json') return 'cloudevents';
  return undefined;
}

export function acceptEvents(
  payload: unknown,
  kind: PublishContentKind,
  target: PublishTarget,
  now: Date,
): AcceptedEvent[] {
  const isCe = target.inputSchema === 'CloudEventSchemaV1_0';
  if (!isCe && kind !== 'json') {
    throw new MlgridError(
      'UnsupportedMediaType',
      `This topic's input schema is ${target.inputSchema}: publish with Content-Type application/json.`,
      'content-type',
    );
  }
  let list: unknown[];
  if (kind === 'cloudevents') {
    if (!isObject(payload)) throw invalid('body', 'a application/cloudevents+json body is one JSON object');
    list = [payload];
  } else {
    if (!Array.isArray(payload)) throw invalid('body', 'must be a JSON array of events', 'InvalidEvent');
    list = payload;
  }
  if (list.length === 0) throw invalid('body', 'must contain at least one event', 'InvalidEvent');
  if (list.length > PUBLISH_LIMITS.maxEvents) {
    throw new MlgridError(
      'TooManyEvents',
      `A request may carry at most ${PUBLISH_LIMITS.maxEvents} events; this one has ${list.length}.`,
      'body',
    );
  }
  const out = new Array<AcceptedEvent>(list.length);
  for (let i = 0; i < list.length; i++) {
    const raw = list[i];
    const a =
      target.inputSchema === 'EventGridSchema'
        ? acceptEventGrid(raw, i, target.id)
        : isCe
          ? acceptCloudEvent(raw, i)
          : acceptCustom(raw, i, target, now);
    if (
      a.body.length > PUBLISH_LIMITS.maxEventBytes / 4 &&
      Buffer.byteLength(a.body) > PUBLISH_LIMITS.maxEventBytes
    ) {
      throw new MlgridError('PayloadTooLarge', `Event [${i}] is larger than 1 MB.`, `[${i}]`);
    }
    out[i] = a;
  }
  return out;
}

function str(e: Json, i: number, field: string, required = true): string | undefined {
  const v = e[field];
  if (v === undefined || v === null) {
    if (required) throw invalid(`[${i}].${field}`, 'is required', 'InvalidEvent');
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`[${i}].${field}`, 'must be a string', 'InvalidEvent');
  if (required && v.length === 0) throw invalid(`[${i}].${field}`, 'must not be empty', 'InvalidEvent');
  return v;
}

function time(e: Json, i: number, field: string, required: boolean): string | undefined {
  const v = str(e, i, field, required);
  if (v !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v)))) {
    throw invalid(`[${i}].${field}`, 'must be an RFC 3339 date-time', 'InvalidEvent');
  }
  return v;
}

function acceptEventGrid(raw: unknown, i: number, topicId: string): AcceptedEvent {
  if (!isObject(raw)) throw invalid(`[${i}]`, 'must be a JSON object', 'InvalidEvent');
  const id = str(raw, i, 'id')!;
  const eventType = str(raw, i, 'eventType')!;
  const subject = str(raw, i, 'subject')!;
  const eventTime = time(raw, i, 'eventTime', true)!;
  if (!('data' in raw)) throw invalid(`[${i}].data`, 'is required', 'InvalidEvent');
  const topic = str(raw, i, 'topic', false);
  if (topic !== undefined && topic.toLowerCase() !== topicId.toLowerCase()) {
    throw invalid(
      `[${i}].topic`,
      `must be omitted or equal this topic's resource id ${topicId}`,
      'InvalidEvent',
    );
  }
  const mv = raw.metadataVersion;
  if (mv !== undefined && mv !== null && mv !== '1') {
    throw invalid(`[${i}].metadataVersion`, 'must be omitted or "1"', 'InvalidEvent');
  }
  const dataVersion = str(raw, i, 'dataVersion', false) ?? '';
  const event = {
    id,
    topic: topicId,
    subject,
    eventType,
    eventTime,
    data: raw.data,
    dataVersion,
    metadataVersion: '1',
  };
  return {
    eventId: id,
    eventType,
    subject,
    schema: 'EventGridSchema',
    body: JSON.stringify(event),
    filterable: { schema: 'EventGridSchema', eventType, subject, envelope: event },
  };
}

/** An event raised by mlgrid itself (ML workspace events), in the form publish produces. */
export function systemEvent(event: EventGridEvent): AcceptedEvent {
  return {
    eventId: event.id,
    eventType: event.eventType,
    subject: event.subject,
    schema: 'EventGridSchema',
    body: JSON.stringify(event),
    filterable: {
      schema: 'EventGridSchema',
      eventType: event.eventType,
      subject: event.subject,
      envelope: event as unknown as Record<string, unknown>,
    },
  };
}

const CE_EXTENSION_NAME = /^[a-z0-9]+$/;
const CE_KNOWN: ReadonlySet<string> = new Set(CLOUD_EVENT_RESERVED);

function acceptCloudEvent(raw: unknown, i: number): AcceptedEvent {
  if (!isObject(raw)) throw invalid(`[${i}]`, 'must be a JSON object', 'InvalidEvent');
  if (raw.specversion !== '1.0') throw invalid(`[${i}].specversion`, 'must be "1.0"', 'InvalidEvent');
  const id = str(raw, i, 'id')!;
  str(raw, i, 'source');
  const type = str(raw, i, 'type')!;
  const subject = str(raw, i, 'subject', false) ?? '';
  time(raw, i, 'time', false);
  for (const f of ['datacontenttype', 'dataschema']) str(raw, i, f, false);
  if ('data' in raw && 'data_base64' in raw) {
    throw invalid(
      `[${i}].data_base64`,
      'an event carries either data or data_base64, not both',
      'InvalidEvent',
    );
  }
  for (const k of Object.keys(raw)) {
    if (!CE_KNOWN.has(k) && !CE_EXTENSION_NAME.test(k)) {
      throw invalid(
        `[${i}].${k}`,
        'extension attribute names are lower-case letters and digits only',
        'InvalidEvent',
      );
    }
  }
  return {
    eventId: id,
    eventType: type,
    subject,
    schema: 'CloudEventSchemaV1_0',
    body: JSON.stringify(raw),
    filterable: { schema: 'CloudEventSchemaV1_0', eventType: type, subject, envelope: raw },
  };
}

function acceptCustom(raw: unknown, i: number, target: PublishTarget, now: Date): AcceptedEvent {
  if (!target.inputSchemaMapping) throw new Error('custom topic without a mapping'); // guarded at topic create
  const mapped = mapCustomEvent(raw, target.inputSchemaMapping, target.id, i, now);
  return {
    eventId: mapped.id,
    eventType: mapped.eventType,
    subject: mapped.subject,
    schema: 'CustomInputSchema',
    body: JSON.stringify(mapped),
    filterable: {
      schema: 'CustomInputSchema',
      eventType: mapped.eventType,
      subject: mapped.subject,
      envelope: mapped as unknown as Record<string, unknown>,
    },
  };
}
