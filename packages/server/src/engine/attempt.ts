/** One delivery request: build it from the stored bodies, sign, send, and turn the answer into settlements. */
import type { InputSchema } from '@mlgrid/protocol';
import { buildStoredDeliveryRequest } from '../core/delivery-format.js';
import type { EndpointHealth } from '../core/endpoint-health.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import { classify, decideAfterFailure, parseRetryAfter } from '../core/retry-policy.js';
import { activeSecrets, signingOf } from '../core/signing.js';
import { signWebhook } from '../core/webhook-signing.js';
import type { DeliveryTarget } from '../handlers/destination.js';
import type { AttemptRecord, ClaimedDelivery, EventSubscriptionRecord, Settlement } from '../store/types.js';
import type { DeadLetterWriter } from './dead-letter-writer.js';
import type { Metrics } from './metrics.js';

export type Unit = { settlement?: Settlement; attempt?: AttemptRecord };

export interface AttemptContext {
  rec: EventSubscriptionRecord;
  spec: EventSubscriptionSpec;
  target: DeliveryTarget;
  origin: string;
  batching: boolean;
  timeScale: number;
  random: () => number;
}

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
    events: batch.map((d) => ({ schema: d.event.schema as InputSchema, body: d.event.body })),
    deliverySchema: spec.eventDeliverySchema,
    batching: ctx.batching,
    subscriptionName: rec.name,
    deliveryCount,
    mappings: spec.destination?.properties.deliveryAttributeMappings,
  });
  const startedAt = clock();
  const secrets = activeSecrets(signingOf(rec), startedAt);
  if (secrets.length > 0) {
    // Stable across retries of the same batch, so receivers can de-duplicate on webhook-id.
    const id = batch.length === 1 ? batch[0]!.event.eventId : `batch-${batch[0]!.id}-${batch.length}`;
    Object.assign(req.headers, signWebhook(secrets, id, new Date(startedAt), req.body));
  }
  const sent = await ctx.target.send(req, { subscription: rec, batch });
  const c = classify(sent.result);
  const now = clock();
  metrics?.attempt(rec.name, c.outcome, sent.durationMs / 1000);
  const status = sent.result.kind === 'http' ? sent.result.status : undefined;
  if (c.success) health.recordSuccess(ctx.origin, now);
  else health.recordFailure(ctx.origin, c.outcome, now);
  const attempt: AttemptRecord = {
    subscriptionKey: rec.key,
    startedAt,
    durationMs: sent.durationMs,
    deliveryCount,
    eventIds: batch.map((d) => d.event.eventId),
    ...(status !== undefined ? { statusCode: status } : {}),
    outcome: c.outcome,
    ...(sent.excerpt ? { responseExcerpt: sent.excerpt } : {}),
  };
  const retryAfter = sent.result.kind === 'http' ? sent.result.retryAfter : undefined;
  const units: Unit[] = [{ attempt }];
  const last = {
    lastAttemptAt: now,
    lastOutcome: c.outcome,
    ...(status !== undefined ? { lastStatusCode: status } : {}),
  };
  for (const d of batch) {
    const attempts = d.attempts + 1;
    if (c.success) {
      units.push({ settlement: { id: d.id, status: 'delivered', attempts, ...last } });
      metrics?.final(rec.name, 'delivered', undefined, d.event.publishedAt, now);
      continue;
    }
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
      units.push({
        settlement: { id: d.id, status: 'pending', attempts, nextAttemptAt: decision.at, ...last },
      });
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
    units.push({ settlement: st });
  }
  return units;
}
