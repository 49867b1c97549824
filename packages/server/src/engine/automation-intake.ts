/**
 * Intake of trigger events (docs/automations.md#idempotency): each event's mark is created once per (automation,
 * event id) — a redelivered event finds it and starts nothing — then the condition is evaluated and the event is
 * admitted to a run by compare-and-set on the automation's state; only then is it accepted. A crash between the
 * two leaves the mark in the inbox, and the sweep finishes the job (the state's ring of recent admissions keeps it
 * from counting twice).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AutomationDef } from '../core/automation-def.js';
import { triggerFromEnvelope, type AcceptedTrigger } from '../core/automation-event.js';
import { skippedRun } from '../core/automation-run.js';
import type { TriggerEvent } from '../core/automation-step.js';
import { admit, type Admission } from '../core/automation-storm.js';
import { renderTemplate } from '../core/automation-template.js';
import { compileFilter, type EventMatcher } from '../core/filter.js';
import type { ResourceRecord, Store } from '../store/types.js';
import {
  AUTOMATION_KIND,
  AutomationGone,
  createOnce,
  EVENT_KIND,
  eventKey,
  INBOX,
  RUN_KIND,
  runKey,
  skipRunId,
  stormConfig,
  updateState,
  type AutomationDoc,
  type EventMark,
} from './automation-docs.js';

export interface AcceptOutcome {
  eventId: string;
  /** What happened to it: a run opened or joined, a skipped run, or already accepted earlier. */
  status: 'queued' | 'joined' | 'skipped' | 'duplicate';
  runId?: string;
  reason?: string;
}

export class AutomationIntake {
  /** Marks being accepted by this process (the inbox sweep leaves them alone). */
  private readonly accepting = new Set<string>();
  private readonly conditions = new Map<string, { seq: number; match: EventMatcher }>();

  constructor(
    private readonly store: Store,
    private readonly timeScale: number,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  forget(autoKey: string): void {
    this.conditions.delete(autoKey);
  }

  /** Accepts events for an automation; resolves once each is recorded in a run (or a skipped run). */
  async accept(autoKey: string, items: AcceptedTrigger[], via: EventMark['via']): Promise<AcceptOutcome[]> {
    const auto = await this.store.getResource(autoKey);
    if (!auto || auto.kind !== AUTOMATION_KIND) throw new AutomationGone(autoKey);
    const out: AcceptOutcome[] = [];
    for (const t of items) {
      const key = eventKey(autoKey, t.event.id);
      this.accepting.add(key);
      try {
        let mark = await this.store.getResource(key);
        if (!mark) {
          const at = new Date(this.now()).toISOString();
          const spec: EventMark = {
            schema: t.filterable.schema,
            envelope: t.filterable.envelope,
            status: 'received',
            receivedAt: at,
            via,
          };
          const rec = { key, kind: EVENT_KIND, parentKey: autoKey, name: t.event.id, lookup: INBOX, spec };
          mark = await createOnce(this.store, { ...rec, createdAt: at, updatedAt: at }, this.now());
        }
        out.push(await this.place(auto, mark));
      } finally {
        this.accepting.delete(key);
      }
    }
    return out;
  }

  /** Puts an accepted event in a run (idempotent: a mark already placed, or an admission already made, is kept). */
  private async place(auto: ResourceRecord, mark: ResourceRecord): Promise<AcceptOutcome> {
    const m = mark.spec as EventMark;
    const { event, filterable } = triggerFromEnvelope(m.schema, m.envelope);
    if (m.status !== 'received')
      return { eventId: event.id, status: 'duplicate', ...(m.runId ? { runId: m.runId } : {}) };
    const def = (auto.spec as AutomationDoc).definition;
    const key = renderTemplate(def.stormControl.key, eventScope(event));
    if (!this.condition(auto, def)(filterable)) {
      const runId = skipRunId(event.id);
      await this.recordSkip(auto.key, runId, key, event, 'condition is false');
      await this.settleMark(mark, 'skipped', runId);
      return { eventId: event.id, status: 'skipped', runId, reason: 'condition' };
    }
    const cfg = stormConfig(def, this.timeScale);
    const { result: a } = await updateState(this.store, auto.key, this.now, (s) => {
      const r = admit(s, cfg, { eventId: event.id, key, now: this.now(), newRunId: randomUUID() });
      return { state: r.state, result: r.admission };
    });
    const dropped = a.kind === 'dropped' ? a.reason : a.kind === 'duplicate' ? a.dropped : undefined;
    if (dropped) {
      const why = dropped === 'busy' ? 'a run of this key is in progress' : 'this key is cooling down';
      await this.recordSkip(auto.key, a.runId, key, event, `dropped by storm control: ${why}`);
    }
    await this.settleMark(mark, dropped ? 'skipped' : 'queued', a.runId);
    return outcome(event.id, a);
  }

  private condition(auto: ResourceRecord, def: AutomationDef): EventMatcher {
    if (!def.condition) return () => true;
    const hit = this.conditions.get(auto.key);
    if (hit && hit.seq === auto.sequencer) return hit.match;
    const match = compileFilter(def.condition);
    this.conditions.set(auto.key, { seq: auto.sequencer, match });
    return match;
  }

  private async recordSkip(autoKey: string, runId: string, key: string, event: TriggerEvent, reason: string) {
    const spec = skippedRun({ runId, key, event, reason, now: this.now() });
    const at = spec.queuedAt;
    const rec = { key: runKey(autoKey, runId), kind: RUN_KIND, parentKey: autoKey, name: runId, spec };
    await createOnce(this.store, { ...rec, createdAt: at, updatedAt: at }, this.now());
  }

  private async settleMark(mark: ResourceRecord, status: EventMark['status'], runId: string): Promise<void> {
    const spec: EventMark = { ...(mark.spec as EventMark), status, runId };
    const { lookup: _inbox, sequencer, ...rest } = mark;
    const at = new Date(this.now()).toISOString();
    // A lost race means another node settled it the same way (the admission ring answered it).
    await this.store.putResource({ ...rest, spec, updatedAt: at }, this.now(), { ifSequencer: sequencer });
  }

  /** Marks a crash (or a node that died) left between acceptance and placement. */
  async sweepInbox(now: number, leaseMs: number): Promise<void> {
    const multi = this.store.capabilities.multiNode;
    for (const mark of await this.store.listResources({ kind: EVENT_KIND, lookup: INBOX })) {
      if (this.accepting.has(mark.key)) continue;
      // Another node may be placing it right now: give it a claim's time.
      if (multi && now - Date.parse(mark.createdAt) < leaseMs) continue;
      const auto = await this.store.getResource(mark.parentKey);
      try {
        if (!auto) await this.store.deleteResource(mark.key, now);
        else await this.place(auto, mark);
      } catch (err) {
        if (!(err instanceof AutomationGone))
          this.log.warn({ err, mark: mark.key }, 'inbox event not placed yet');
      }
    }
  }
}

function outcome(eventId: string, a: Admission): AcceptOutcome {
  switch (a.kind) {
    case 'queued':
    case 'joined':
      return { eventId, status: a.kind, runId: a.runId };
    case 'dropped':
      return { eventId, status: 'skipped', runId: a.runId, reason: a.reason };
    default:
      return { eventId, status: 'duplicate', runId: a.runId };
  }
}

/** What a storm-control key template may use: the event's fields. */
export function eventScope(e: TriggerEvent): Record<string, unknown> {
  return {
    id: e.id,
    eventType: e.eventType,
    subject: e.subject,
    topic: e.topic,
    eventTime: e.eventTime,
    dataVersion: e.dataVersion,
    data: e.data,
    event: e,
  };
}
