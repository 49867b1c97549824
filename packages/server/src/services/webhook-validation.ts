/**
 * Webhook endpoint validation (reference §5): Event Grid schema subscriptions get the SubscriptionValidationEvent
 * and either answer `{"validationResponse": code}` at once or later open the `validationUrl` mlgrid serves;
 * CloudEvents subscriptions get the CloudEvents abuse-protection OPTIONS handshake instead.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { buildDeliveryRequest } from '../core/delivery-format.js';
import { MlgridError } from '../core/errors.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import {
  asStoredEvent,
  parseValidationResponse,
  subscriptionDeletedEvent,
  subscriptionValidationEvent,
} from '../core/system-events.js';
import type { WebhookSender } from '../handlers/webhook.js';

export type ValidationOutcome =
  | { provisioningState: 'Succeeded' }
  | { provisioningState: 'AwaitingManualAction'; validationCode: string; validationDeadline: number };

/** Azure's manual-validation window (the 2023 documentation: 5 minutes; some later summaries say 10). */
export const MANUAL_VALIDATION_WINDOW_MS = 5 * 60_000;
export const VALIDATION_PATH = '/eventSubscriptionValidation';
const ORIGIN = 'eventgrid.azure.net';

export class WebhookValidator {
  constructor(
    private readonly sender: WebhookSender,
    private readonly timeScale: number,
    private readonly now: () => number = Date.now,
  ) {}

  async validate(a: {
    id: string;
    spec: EventSubscriptionSpec;
    baseUrl: string;
  }): Promise<ValidationOutcome> {
    const url = a.spec.destination!.properties.endpointUrl!;
    if (a.spec.eventDeliverySchema === 'CloudEventSchemaV1_0') return this.cloudEventsHandshake(url);
    const code = randomUUID().toUpperCase();
    const secret = randomBytes(16).toString('base64url');
    const validationUrl = `${a.baseUrl}${VALIDATION_PATH}?id=${encodeURIComponent(a.id)}&code=${secret}`;
    const event = subscriptionValidationEvent({
      id: randomUUID(),
      topic: a.spec.scope,
      validationCode: code,
      validationUrl,
      now: new Date(this.now()),
    });
    const req = buildDeliveryRequest({
      events: [asStoredEvent(event)],
      deliverySchema: 'EventGridSchema',
      batching: false,
      subscriptionName: a.spec.name,
      deliveryCount: 0,
      eventType: 'SubscriptionValidation',
    });
    const sent = await this.sender.send(url, req);
    if (sent.result.kind !== 'http' || sent.result.status !== 200) {
      throw failed(url, sent.result.kind === 'http' ? `HTTP ${sent.result.status}` : sent.result.kind);
    }
    if (parseValidationResponse(sent.body ?? '') === code) return { provisioningState: 'Succeeded' };
    return {
      provisioningState: 'AwaitingManualAction',
      validationCode: secret,
      validationDeadline: this.now() + MANUAL_VALIDATION_WINDOW_MS * this.timeScale,
    };
  }

  private async cloudEventsHandshake(url: string): Promise<ValidationOutcome> {
    const sent = await this.sender.send(
      url,
      { body: '', headers: { 'webhook-request-origin': ORIGIN } },
      'OPTIONS',
    );
    const allowed = sent.headers?.['webhook-allowed-origin'];
    const origins = (Array.isArray(allowed) ? allowed.join(',') : (allowed ?? ''))
      .split(',')
      .map((s) => s.trim());
    if (
      sent.result.kind === 'http' &&
      sent.result.status === 200 &&
      (origins.includes(ORIGIN) || origins.includes('*'))
    ) {
      return { provisioningState: 'Succeeded' };
    }
    throw failed(
      url,
      sent.result.kind === 'http'
        ? `OPTIONS answered ${sent.result.status} without WebHook-Allowed-Origin`
        : sent.result.kind,
    );
  }

  /** Best effort: tell the endpoint its subscription is gone (aeg-event-type SubscriptionDeletion). */
  async notifyDeleted(id: string, spec: EventSubscriptionSpec): Promise<void> {
    const url =
      spec.destination?.endpointType === 'WebHook' ? spec.destination.properties.endpointUrl : undefined;
    if (!url) return;
    const event = subscriptionDeletedEvent({
      id: randomUUID(),
      topic: spec.scope,
      subscriptionId: id,
      now: new Date(this.now()),
    });
    const schema =
      spec.eventDeliverySchema === 'CloudEventSchemaV1_0' ? 'CloudEventSchemaV1_0' : 'EventGridSchema';
    const req = buildDeliveryRequest({
      events: [asStoredEvent(event)],
      deliverySchema: schema,
      batching: false,
      subscriptionName: spec.name,
      deliveryCount: 0,
      eventType: 'SubscriptionDeletion',
    });
    await this.sender.send(url, req);
  }
}

function failed(url: string, why: string): MlgridError {
  const base = url.split('?')[0];
  return new MlgridError(
    'InvalidRequestContent',
    `Webhook validation handshake failed for ${base}: ${why}. The endpoint must answer the SubscriptionValidationEvent ` +
      'with 200 and {"validationResponse": "<validationCode>"} (or 200 and then open the validationUrl).',
    'properties.destination.properties.endpointUrl',
  );
}
