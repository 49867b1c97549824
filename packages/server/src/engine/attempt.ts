/** One delivery request: build it from the stored bodies, sign, send, and turn the answer into settlements. */
import { buildStoredDeliveryRequest, type StoredBody } from '../core/delivery-format.js';
import type { EndpointHealth } from '../core/endpoint-health.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import { classify, decideAfterFailure, parseRetryAfter } from '../core/retry-policy.js';
import { activeSecrets, signingOf } from '../core/signing.js';
import { signWebhook } from '../core/webhook-signing.js';
import type { DeliveryTarget } from '../handlers/destination.js';
import type { AttemptRecord, ClaimedDelivery, EventSubscriptionRecord, Settlement } from '../store/types.js';
import type { DeadLetterWriter } from './dead-letter-writer.js';
import type { Metrics } from './metrics.js';

/** What a settlement transaction takes: outcomes of deliveries and rows of the delivery log, mixed. */
export type Unit = Settlement | AttemptRecord;

export function isSettlement(u: Unit): u is Settlement {
  return (u as Settlement).status !== undefined;
}

export interface AttemptContext {
  rec: EventSubscriptionRecord;
  spec: EventSubscriptionSpec;
  target: DeliveryTarget;
  origin: string;
  batching: boolean;
  timeScale: number;
  random: () => number;
}

/** Sends one request for `batch`; resolves to its delivery-log row followed by one settlement per delivery. */
export async function attemptBatch(
  ctx: AttemptContext,
  batch: ClaimedDelivery[],
  health: EndpointHealth,
  deadLetters: DeadLetterWriter,
  clock: () => number,
  metrics?: Metrics,
): Promise<Unit[]> {
  const { rec, spec } = ctx;
  let deliveryCount = 0;
  for (const d of batch) if (d.attempts > deliveryCount) deliveryCount = d.attempts;
  const req = buildStoredDeliveryRequest({
    // ClaimedDelivery.event holds `schema` and `body`: no copy per event.
    events: batch.map((d) => d.event) as StoredBody[],
    deliverySchema: spec.eventDeliverySchema,
    batching: ctx.batching,
    subscriptionName: rec.name,
    deliveryCount,
    mappings: spec.destination?.properties.deliveryAttributeMappings,
  });
  const startedAt = clock();
  const signing = signingOf(rec);
  const secrets = signing ? activeSecrets(signing, startedAt) : [];
  if (secrets.length > 0) {
    // Stable across retries of the same batch, so receivers can de-duplicate on webhook-id.
    const id = batch.length === 1 ? batch[0]!.event.eventId : `batch-${batch[0]!.id}-${batch.length}`;
    Object.assign(req.headers, signWebhook(secrets, id, new Date(startedAt), req.bytes ?? req.body));
  }
  const sent = await ctx.target.send(req, { subscription: rec, batch });
  const c = classify(sent.result);
  const now = clock();
  metrics?.attempt(rec.name, c.outcome, sent.durationMs / 1000);
  const status = sent.result.kind === 'http' ? sent.result.status : undefined;
  if (c.success) health.recordSuccess(ctx.origin, now);
  else health.recordFailure(ctx.origin, c.outcome, now);
  const eventIds = new Array<string>(batch.length);
  for (let i = 0; i < batch.length; i++) eventIds[i] = batch[i]!.event.eventId;
  const attempt: AttemptRecord = {
    subscriptionKey: rec.key,
    startedAt,
    durationMs: sent.durationMs,
    deliveryCount,
    eventIds,
    ...(status !== undefined ? { statusCode: status } : {}),
    outcome: c.outcome,
    ...(sent.excerpt ? { responseExcerpt: sent.excerpt } : {}),
  };
  const units: Unit[] = [attempt];
  if (c.success) {
    for (const d of batch) {
      units.push({
        id: d.id,
        status: 'delivered',
        attempts: d.attempts + 1,
        lastAttemptAt: now,
        lastOutcome: c.outcome,
        ...(status !== undefined ? { lastStatusCode: status } : {}),
      });
    }
    metrics?.delivered(rec.name, batch, now);
    return units;
  }
  const retryAfter = sent.result.kind === 'http' ? sent.result.retryAfter : undefined;
  const last = {
    lastAttemptAt: now,
    lastOutcome: c.outcome,
    ...(status !== undefined ? { lastStatusCode: status } : {}),
  };
  for (const d of batch) {
    const attempts = d.attempts + 1;
    const decision = decideAfterFailure({
      classification: c,
      attemptsMade: attempts,
      maxDeliveryAttempts: spec.retryPolicy.maxDeliveryAttempts,
      now,
      timeScale: ctx.timeScale,
      random: ctx.random,
      retryAfterMs: parseRetryAfter(retryAfter, new Date(now)),
    });
    if (decision.action === 'retry') {
      units.push({ id: d.id, status: 'pending', attempts, nextAttemptAt: decision.at, ...last });
      continue;
    }
    const st: Settlement = {
      id: d.id,
      status: 'deadlettered',
      attempts,
      deadLetterReason: decision.reason,
      ...last,
    };
    deadLetters.write(rec, { ...d, attempts }, st, now);
    metrics?.final(rec.name, 'deadlettered', decision.reason);
    units.push(st);
  }
  return units;
}
