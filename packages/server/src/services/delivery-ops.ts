/** Dead letters, redrive, replay and the attempt log of one event subscription (mlgrid extensions). */
import { invalid } from '../core/errors.js';
import { parseIsoUtc } from '../core/validate.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import { compileFilter } from '../core/filter.js';
import type { InputSchema } from '@mlgrid/protocol';
import { deadLetterRecordOf } from '../engine/dead-letter-writer.js';
import type { AttemptQuery, AttemptView, EventSubscriptionRecord, Store } from '../store/types.js';

export interface DeadLetterView {
  id: string;
  deadLetterReason: string;
  deliveryAttempts: number;
  lastDeliveryOutcome?: string;
  lastHttpStatusCode?: number;
  publishTime: string;
  lastDeliveryAttemptTime?: string;
  /** The record exactly as Azure writes it to a dead-letter blob. */
  record: Record<string, unknown>;
}

const REPLAY_PAGE = 1000;

export class DeliveryOps {
  constructor(
    private readonly store: Store,
    /** Called when new pending deliveries exist (wakes the dispatcher). */
    private readonly onWork: () => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  async deadLetters(
    rec: EventSubscriptionRecord,
    q: { after?: string; limit: number },
  ): Promise<DeadLetterView[]> {
    const rows = await this.store.listDeliveries(rec.key, { status: 'deadlettered', ...q });
    return rows.map((d) => ({
      id: d.id,
      deadLetterReason: d.deadLetterReason ?? 'Unknown',
      deliveryAttempts: d.attempts,
      ...(d.lastOutcome ? { lastDeliveryOutcome: d.lastOutcome } : {}),
      ...(d.lastStatusCode !== undefined ? { lastHttpStatusCode: d.lastStatusCode } : {}),
      publishTime: new Date(d.event.publishedAt).toISOString(),
      ...(d.lastAttemptAt !== undefined
        ? { lastDeliveryAttemptTime: new Date(d.lastAttemptAt).toISOString() }
        : {}),
      record: deadLetterRecordOf(rec, { event: d.event }, { ...d, deadLetterReason: d.deadLetterReason }),
    }));
  }

  async redrive(rec: EventSubscriptionRecord, body: unknown): Promise<{ redriven: number }> {
    const b = (body ?? {}) as { ids?: unknown; all?: unknown };
    let ids: string[] | 'all';
    if (b.all === true) ids = 'all';
    else if (
      Array.isArray(b.ids) &&
      b.ids.length > 0 &&
      b.ids.every((x) => typeof x === 'string' && /^\d+$/.test(x))
    ) {
      ids = b.ids as string[];
    } else throw invalid('ids', 'give {"ids": ["<dead-letter id>", ...]} or {"all": true}');
    const redriven = await this.store.redrive(rec.key, ids, this.now());
    if (redriven > 0) this.onWork();
    return { redriven };
  }

  /** Re-deliver the retained events from `from` on that match the subscription's filter today. */
  async replay(rec: EventSubscriptionRecord, body: unknown): Promise<{ enqueued: number; from: string }> {
    const raw = (body ?? {}) as { from?: unknown };
    const from = typeof raw.from === 'string' ? parseIsoUtc(raw.from) : NaN;
    if (Number.isNaN(from)) throw invalid('from', 'must be an ISO-8601 date-time');
    const matches = compileFilter((rec.spec as EventSubscriptionSpec).filter);
    let after = '0';
    let enqueued = 0;
    for (;;) {
      const page = await this.store.eventsSince(rec.scopeKey, from, after, REPLAY_PAGE);
      if (page.length === 0) break;
      after = page[page.length - 1]!.seq;
      const seqs = page
        .filter((e) =>
          matches({
            schema: e.schema as InputSchema,
            eventType: e.eventType,
            subject: e.subject,
            envelope: JSON.parse(e.body),
          }),
        )
        .map((e) => e.seq);
      if (seqs.length > 0) enqueued += await this.store.enqueueDeliveries(rec.key, seqs, this.now());
    }
    if (enqueued > 0) this.onWork();
    return { enqueued, from: new Date(from).toISOString() };
  }

  attempts(rec: EventSubscriptionRecord, q: AttemptQuery): Promise<AttemptView[]> {
    return this.store.listAttempts(rec.key, q);
  }
}
