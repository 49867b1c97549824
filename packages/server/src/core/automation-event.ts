/**
 * Events as an automation sees them: the trigger event read from a stored delivery body (Event Grid, custom
 * input mapped to Event Grid, or CloudEvents), the view the condition filter evaluates, and the lineage a run
 * inherits (docs/automations.md#lineage). Pure.
 */
import type { Lineage, TriggerEvent } from './automation-step.js';
import { LINEAGE_PROPERTIES } from './automation-step.js';
import { invalid } from './errors.js';
import type { FilterableEvent } from './filter.js';
import { isObject, type Json } from './validate.js';

/** A trigger event with the envelope the condition is evaluated on (the event as delivered). */
export interface AcceptedTrigger {
  event: TriggerEvent;
  filterable: FilterableEvent;
}

/** From a stored event body and its schema (`ClaimedDelivery.event`); throws on a body that is not an event. */
export function triggerFromStored(schema: string, body: string): AcceptedTrigger {
  return triggerFromEnvelope(schema, JSON.parse(body));
}

/** From an event envelope as delivered (`schema` says which kind); throws when it is not an object. */
export function triggerFromEnvelope(schema: string, raw: unknown): AcceptedTrigger {
  if (!isObject(raw)) throw new Error('stored event is not a JSON object');
  if (schema === 'CloudEventSchemaV1_0') {
    const event: TriggerEvent = {
      id: String(raw.id),
      eventType: String(raw.type),
      subject: typeof raw.subject === 'string' ? raw.subject : '',
      topic: typeof raw.source === 'string' ? raw.source : undefined,
      eventTime: typeof raw.time === 'string' ? raw.time : new Date().toISOString(),
      ...(typeof raw.dataschema === 'string' ? { dataVersion: raw.dataschema } : {}),
      data: raw.data,
    };
    const filterable = {
      schema: 'CloudEventSchemaV1_0' as const,
      eventType: event.eventType,
      subject: event.subject,
      envelope: raw,
    };
    return { event, filterable };
  }
  const event = eventGridTrigger(raw);
  const kind = schema === 'CustomInputSchema' ? 'CustomInputSchema' : 'EventGridSchema';
  return {
    event,
    filterable: { schema: kind, eventType: event.eventType, subject: event.subject, envelope: raw },
  };
}

function eventGridTrigger(raw: Json): TriggerEvent {
  return {
    id: String(raw.id),
    eventType: String(raw.eventType),
    subject: typeof raw.subject === 'string' ? raw.subject : '',
    ...(typeof raw.topic === 'string' ? { topic: raw.topic } : {}),
    eventTime: typeof raw.eventTime === 'string' ? raw.eventTime : new Date().toISOString(),
    ...(typeof raw.dataVersion === 'string' ? { dataVersion: raw.dataVersion } : {}),
    data: raw.data,
  };
}

/**
 * The body of a manual trigger (`POST …/automations/{name}/run`): one Event Grid event. `id` defaults to
 * `newId`, `eventTime` to now, `topic` to the workspace, `subject` to '' and `data` to {}; `eventType` is required.
 */
export function parseManualEvent(
  body: unknown,
  defaults: { id: string; topic: string; now: Date },
): AcceptedTrigger {
  const root = isObject(body) && isObject(body.event) ? body.event : body;
  const path = isObject(body) && isObject(body.event) ? 'event' : 'body';
  if (!isObject(root)) throw invalid(path, 'must be an Event Grid event: {eventType, subject?, data?, id?}');
  const text = (k: string, fallback?: string): string => {
    const v = root[k];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw invalid(`${path}.${k}`, 'is required');
      return fallback;
    }
    if (typeof v !== 'string' || (fallback === undefined && v.trim() === '')) {
      throw invalid(`${path}.${k}`, 'must be a non-empty string');
    }
    return v;
  };
  const eventTime = text('eventTime', defaults.now.toISOString());
  if (Number.isNaN(Date.parse(eventTime)))
    throw invalid(`${path}.eventTime`, 'must be an ISO-8601 date-time');
  const event = {
    id: text('id', defaults.id) || defaults.id,
    topic: text('topic', defaults.topic),
    subject: text('subject', ''),
    eventType: text('eventType'),
    eventTime,
    data: root.data === undefined ? {} : root.data,
    dataVersion: text('dataVersion', ''),
    metadataVersion: '1',
  };
  return {
    event,
    filterable: {
      schema: 'EventGridSchema',
      eventType: event.eventType,
      subject: event.subject,
      envelope: event,
    },
  };
}

/**
 * The correlation id an event carries, if any: `data.correlationId` (events raised by automations and by the
 * objects they create), the CloudEvents `correlationid` extension, or `mlgrid.correlationId` in the free-form
 * properties Azure ML events echo (runProperties, modelProperties, serviceProperties).
 */
export function carriedCorrelationId(envelope: Record<string, unknown>): string | undefined {
  const data = isObject(envelope.data) ? envelope.data : {};
  const candidates: unknown[] = [
    data.correlationId,
    envelope.correlationid,
    ...['runProperties', 'modelProperties', 'serviceProperties'].map((k) =>
      isObject(data[k]) ? (data[k] as Json)[LINEAGE_PROPERTIES.correlationId] : undefined,
    ),
  ];
  const hit = candidates.find((c) => typeof c === 'string' && c !== '');
  return hit as string | undefined;
}

/** A run's lineage: the trigger's correlation id when it carries one (else its own id), caused by the trigger. */
export function lineageOf(trigger: TriggerEvent, carried: string | undefined): Lineage {
  return { correlationId: carried ?? trigger.id, causationId: trigger.id };
}
