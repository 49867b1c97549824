import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildDeliveryRequest, toOutputEvent } from './delivery-format.js';
import {
  asStoredEvent,
  parseValidationResponse,
  SUBSCRIPTION_DELETED_EVENT,
  SUBSCRIPTION_VALIDATION_EVENT,
  subscriptionDeletedEvent,
  subscriptionValidationEvent,
} from './system-events.js';

const TOPIC =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t1';
const SUB_ID = `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/sub1`;
const NOW = new Date('2025-03-04T05:06:07.000Z');

describe('subscriptionValidationEvent', () => {
  const ev = subscriptionValidationEvent({
    id: 'v-1',
    topic: TOPIC,
    validationCode: 'code-123',
    validationUrl: 'https://127.0.0.1:4710/validate?id=x&token=y',
    now: NOW,
  });

  it('has the shape of Azure’s documented handshake event', () => {
    expect(ev).toEqual({
      id: 'v-1',
      topic: TOPIC,
      subject: '',
      data: { validationCode: 'code-123', validationUrl: 'https://127.0.0.1:4710/validate?id=x&token=y' },
      eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
      eventTime: '2025-03-04T05:06:07.000Z',
      metadataVersion: '1',
      dataVersion: '1',
    });
    const noUrl = subscriptionValidationEvent({ id: 'v', topic: TOPIC, validationCode: 'c', now: NOW });
    expect(noUrl.data).toEqual({ validationCode: 'c' });
  });

  it('is delivered as an array the Azure SDK recognizes as the validation system event', async () => {
    const req = buildDeliveryRequest({
      events: [asStoredEvent(ev)],
      deliverySchema: 'EventGridSchema',
      batching: false,
      subscriptionName: 'sub1',
      deliveryCount: 0,
      eventType: 'SubscriptionValidation',
    });
    expect(req.headers['aeg-event-type']).toBe('SubscriptionValidation');
    const [got] = await new EventGridDeserializer().deserializeEventGridEvents(req.body);
    expect(got).toBeDefined();
    expect(isSystemEvent('Microsoft.EventGrid.SubscriptionValidationEvent', got!)).toBe(true);
    if (isSystemEvent('Microsoft.EventGrid.SubscriptionValidationEvent', got!)) {
      expect(got.data.validationCode).toBe('code-123');
    }
  });
});

describe('subscriptionDeletedEvent', () => {
  const ev = subscriptionDeletedEvent({ id: 'd-1', topic: TOPIC, subscriptionId: SUB_ID, now: NOW });

  it('carries the deleted subscription’s resource id', () => {
    expect(ev).toMatchObject({
      eventType: SUBSCRIPTION_DELETED_EVENT,
      subject: SUB_ID,
      data: { eventSubscriptionId: SUB_ID },
      metadataVersion: '1',
    });
  });

  it('parses in both schemas with the Azure SDK, and as a CloudEvent with the CE SDK', async () => {
    const d = new EventGridDeserializer();
    const eg = buildDeliveryRequest({
      events: [asStoredEvent(ev)],
      deliverySchema: 'EventGridSchema',
      batching: false,
      subscriptionName: 'sub1',
      deliveryCount: 0,
      eventType: 'SubscriptionDeletion',
    });
    const [g] = await d.deserializeEventGridEvents(eg.body);
    expect(isSystemEvent('Microsoft.EventGrid.SubscriptionDeletedEvent', g!)).toBe(true);

    const ce = buildDeliveryRequest({
      events: [asStoredEvent(ev)],
      deliverySchema: 'CloudEventSchemaV1_0',
      batching: false,
      subscriptionName: 'sub1',
      deliveryCount: 0,
      eventType: 'SubscriptionDeletion',
    });
    const [c] = await d.deserializeCloudEvents(ce.body);
    expect(isSystemEvent('Microsoft.EventGrid.SubscriptionDeletedEvent', c!)).toBe(true);
    const parsed = HTTP.toEvent({ headers: ce.headers, body: ce.body });
    expect(!Array.isArray(parsed) && parsed.type).toBe(SUBSCRIPTION_DELETED_EVENT);
  });

  it('renders the validation event as a CloudEvent too', () => {
    const v = subscriptionValidationEvent({ id: 'v', topic: TOPIC, validationCode: 'c', now: NOW });
    expect(toOutputEvent(asStoredEvent(v), 'CloudEventSchemaV1_0')).toEqual({
      specversion: '1.0',
      id: 'v',
      source: TOPIC,
      type: SUBSCRIPTION_VALIDATION_EVENT,
      time: '2025-03-04T05:06:07.000Z',
      data: { validationCode: 'c' },
      datacontenttype: 'application/json',
      dataversion: '1',
    });
  });
});

describe('parseValidationResponse', () => {
  it('reads the code, matching the key case-insensitively', () => {
    expect(parseValidationResponse('{"validationResponse":"abc"}')).toBe('abc');
    expect(parseValidationResponse('{"ValidationResponse": "abc", "other": 1}')).toBe('abc');
    expect(parseValidationResponse('\uFEFF{"VALIDATIONRESPONSE":"abc"}')).toBe('abc');
  });

  it('returns undefined for anything else', () => {
    for (const body of [
      '',
      'ok',
      'abc',
      '"abc"',
      'null',
      '{}',
      '{"validationResponse":123}',
      '{"validationCode":"abc"}',
      '[{"validationResponse":"abc"}]',
    ]) {
      expect(parseValidationResponse(body), body).toBeUndefined();
    }
  });
});
