/**
 * Event Grid's own control events sent to a webhook: the validation handshake and the deletion notice.
 * Both are Event Grid events; `asStoredEvent` lets `toOutputEvent` render them as CloudEvents too.
 */
import type { EventGridEvent } from '@mlgrid/protocol';
import type { StoredEvent } from './delivery-format.js';
import { isObject } from './validate.js';

export const SUBSCRIPTION_VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';
export const SUBSCRIPTION_DELETED_EVENT = 'Microsoft.EventGrid.SubscriptionDeletedEvent';

/**
 * The handshake event, field for field as Azure's documented sample (reference §5.1): `subject` "" and
 * `dataVersion` "1" there. `validationUrl` is only present when the manual (GET) path is offered.
 */
export function subscriptionValidationEvent(a: {
  id: string;
  topic: string;
  subject?: string;
  validationCode: string;
  validationUrl?: string;
  now: Date;
}): EventGridEvent {
  const data: { validationCode: string; validationUrl?: string } = { validationCode: a.validationCode };
  if (a.validationUrl !== undefined) data.validationUrl = a.validationUrl;
  return {
    id: a.id,
    topic: a.topic,
    subject: a.subject ?? '',
    data,
    eventType: SUBSCRIPTION_VALIDATION_EVENT,
    eventTime: a.now.toISOString(),
    metadataVersion: '1',
    dataVersion: '1',
  };
}

/**
 * Sent with `aeg-event-type: SubscriptionDeletion` (reference §5.3). Azure's subject is not documented; the
 * deleted subscription's resource id is used so a receiver can tell several subscriptions apart by subject too.
 */
export function subscriptionDeletedEvent(a: {
  id: string;
  topic: string;
  subscriptionId: string;
  now: Date;
}): EventGridEvent {
  return {
    id: a.id,
    topic: a.topic,
    subject: a.subscriptionId,
    data: { eventSubscriptionId: a.subscriptionId },
    eventType: SUBSCRIPTION_DELETED_EVENT,
    eventTime: a.now.toISOString(),
    metadataVersion: '1',
    dataVersion: '1',
  };
}

/** A system event in the stored form the delivery formatter takes. */
export function asStoredEvent(ev: EventGridEvent): StoredEvent {
  return { schema: 'EventGridSchema', event: { ...ev } };
}

/**
 * The code from a handshake reply `{"validationResponse": "<code>"}`; the key is matched case-insensitively
 * (Azure binds JSON case-insensitively). Only an object is accepted, not an array around it: Azure documents
 * the object form, and tolerating more here would let an endpoint pass locally and fail against Azure.
 * Anything else (invalid JSON, no such key, non-string value) is undefined.
 */
export function parseValidationResponse(body: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  for (const [k, val] of Object.entries(v)) {
    if (k.toLowerCase() === 'validationresponse' && typeof val === 'string') return val;
  }
  return undefined;
}
