/**
 * The `publishEvent` step (docs/automations.md#publishevent): publishes one event to a custom topic of this
 * mlgrid, in process (the same validation and commit as the publish route). The event's id derives from the
 * step's idempotency key, so a step repeated after a retry or a restart publishes the same id again; its data
 * carries the run's lineage (`correlationId`, `causationId`; CloudEvents topics also get them as extensions).
 */
import { createHash } from 'node:crypto';
import { StepError, type StepContext, type StepKind } from '../../core/automation-step.js';
import { acceptEvents } from '../../core/publish.js';
import type { TopicSpec } from '../../core/topic.js';
import { isObject, optString, string, type Json } from '../../core/validate.js';
import type { Publisher } from '../publisher.js';
import { MlgridError } from '../../core/errors.js';
import type { TopicRecord } from '../../store/types.js';

export interface PublishEventStep {
  /** The topic's name (its endpoint name), a template. */
  topic: string;
  eventType: string;
  subject: string;
  /** A JSON value whose strings are templates (default {}). */
  data: unknown;
  dataVersion: string;
}

export interface PublishEventDeps {
  publisher: Publisher;
  topicByName(name: string): Promise<TopicRecord>;
}

export function publishEventStep(deps: PublishEventDeps): StepKind<PublishEventStep> {
  return {
    type: 'publishEvent',
    defaultTimeoutSeconds: 30,
    parse: parsePublishEvent,
    execute: (step, ctx) => publish(deps, step, ctx),
  };
}

export function parsePublishEvent(raw: Json, path: string): PublishEventStep {
  return {
    topic: string(raw.topic, `${path}.topic`, { min: 1, max: 256 }),
    eventType: string(raw.eventType, `${path}.eventType`, { min: 1, max: 1024 }),
    subject: optString(raw.subject, `${path}.subject`, { max: 1024 }) ?? '{{subject}}',
    data: raw.data === undefined || raw.data === null ? {} : raw.data,
    dataVersion: optString(raw.dataVersion, `${path}.dataVersion`, { max: 256 }) ?? '1',
  };
}

/** A UUID-shaped id from the step's idempotency key: the same step publishes the same id every time. */
export function stableEventId(idempotencyKey: string): string {
  const h = createHash('sha256').update(`publishEvent:${idempotencyKey}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function publish(deps: PublishEventDeps, step: PublishEventStep, ctx: StepContext) {
  const name = ctx.render(step.topic);
  let topic: TopicRecord;
  try {
    topic = await deps.topicByName(name);
  } catch (err) {
    if (err instanceof MlgridError && err.status === 404)
      throw new StepError(`no topic named '${name}'`, false);
    throw new StepError(`topic '${name}': ${(err as Error).message}`, true, { cause: err });
  }
  const spec = topic.spec as TopicSpec;
  const id = stableEventId(ctx.idempotencyKey);
  const rendered = ctx.renderValue ? ctx.renderValue(step.data) : step.data;
  const lineage = { correlationId: ctx.lineage.correlationId, causationId: ctx.lineage.causationId };
  const data = isObject(rendered) ? { ...lineage, ...rendered } : rendered;
  const eventType = ctx.render(step.eventType);
  const subject = ctx.render(step.subject);
  const time = new Date().toISOString();
  let body: unknown;
  let kind: 'json' | 'cloudevents';
  if (spec.inputSchema === 'EventGridSchema') {
    body = [{ id, eventType, subject, eventTime: time, data, dataVersion: ctx.render(step.dataVersion) }];
    kind = 'json';
  } else if (spec.inputSchema === 'CloudEventSchemaV1_0') {
    body = {
      specversion: '1.0',
      id,
      type: eventType,
      source: ctx.automation.id,
      ...(subject ? { subject } : {}),
      time,
      datacontenttype: 'application/json',
      data,
      correlationid: lineage.correlationId,
      causationid: lineage.causationId,
    };
    kind = 'cloudevents';
  } else {
    throw new StepError(
      `topic '${name}' takes a custom input schema; publishEvent publishes Event Grid or CloudEvents`,
      false,
    );
  }
  let accepted;
  try {
    accepted = acceptEvents(body, kind, { id: topic.id, ...spec }, new Date());
  } catch (err) {
    throw new StepError(`the event is not valid: ${(err as Error).message}`, false);
  }
  try {
    await deps.publisher.publish(topic.key, accepted);
  } catch (err) {
    throw new StepError(`publishing to '${name}' failed: ${(err as Error).message}`, true, { cause: err });
  }
  return {
    output: { eventId: id, topic: topic.id, eventType, subject },
    summary: `published ${eventType} to ${name}`,
  };
}
