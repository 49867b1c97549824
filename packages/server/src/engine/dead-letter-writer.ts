/**
 * Dead letters are always kept in the store (listed and redriven through the API). A subscription whose
 * `deadLetterDestination` is a `LocalDirectory` also gets Azure's blob layout on disk: NAME/Y/M/D/H/<guid>.json,
 * each file an array with the record. Azure waits 5 minutes before writing; mlgrid writes at once.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { InputSchema } from '@mlgrid/protocol';
import { deadLetterBlobPath, deadLetterRecord } from '../core/delivery-format.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import type { ClaimedDelivery, EventSubscriptionRecord, Settlement } from '../store/types.js';

export class DeadLetterWriter {
  private pending = new Set<Promise<void>>();
  constructor(private readonly log: Logger) {}

  write(rec: EventSubscriptionRecord, d: ClaimedDelivery, st: Settlement, now: number): void {
    const dest = (rec.spec as EventSubscriptionSpec).deadLetterDestination;
    if (dest?.endpointType !== 'LocalDirectory') return;
    const record = deadLetterRecordOf(rec, d, st);
    const file = join(
      fileURLToPath(dest.properties.path),
      deadLetterBlobPath(rec.name, new Date(now), randomUUID()),
    );
    const p = mkdir(dirname(file), { recursive: true })
      .then(() => writeFile(file, JSON.stringify([record])))
      .catch((err) => this.log.error({ err, subscription: rec.key }, 'could not write dead-letter file'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Wait for files being written (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }
}

/** Azure's dead-letter record for a stored delivery. */
export function deadLetterRecordOf(
  rec: EventSubscriptionRecord,
  d: Pick<ClaimedDelivery, 'event'>,
  st: Pick<Settlement, 'deadLetterReason' | 'attempts' | 'lastOutcome' | 'lastStatusCode' | 'lastAttemptAt'>,
): Record<string, unknown> {
  const spec = rec.spec as EventSubscriptionSpec;
  return deadLetterRecord(
    { schema: d.event.schema as InputSchema, event: JSON.parse(d.event.body) },
    spec.eventDeliverySchema,
    {
      deadLetterReason: st.deadLetterReason ?? 'Unknown',
      deliveryAttempts: st.attempts,
      lastDeliveryOutcome: st.lastOutcome ?? 'Probation',
      ...(st.lastStatusCode !== undefined ? { lastHttpStatusCode: st.lastStatusCode } : {}),
      publishTime: new Date(d.event.publishedAt),
      lastDeliveryAttemptTime: new Date(st.lastAttemptAt ?? d.event.publishedAt),
    },
  );
}
