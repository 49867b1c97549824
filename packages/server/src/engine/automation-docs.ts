/**
 * The documents an automation keeps in the generic resource store, below its own key (so deleting the
 * automation, or its workspace, deletes them all): its storm-control state (one per automation, the point every
 * scheduling decision compare-and-sets), its run records, and one mark per accepted event (the idempotency record
 * and the event itself). Helpers to read and change them safely from several nodes.
 */
import { createHash, randomInt } from 'node:crypto';
import type { AutomationDef } from '../core/automation-def.js';
import type { StormConfig, AutomationState } from '../core/automation-storm.js';
import type { WorkspaceRef } from '../core/ml-events.js';
import type { ResourceRecord, Store } from '../store/types.js';

export const AUTOMATION_KIND = 'automation';
export const STATE_KIND = 'automationState';
export const RUN_KIND = 'automationRun';
export const EVENT_KIND = 'automationEvent';
/** `lookup` of an event mark accepted but not yet placed in a run (a crash in between leaves it so). */
export const INBOX = 'inbox';

/** The spec of an automation resource. */
export interface AutomationDoc {
  /** The ARM id as created (original spelling). */
  id: string;
  workspace: WorkspaceRef;
  definition: AutomationDef;
  /** The trigger's event subscription while the automation is enabled. */
  subscription?: { scope: string; name: string };
}

/** The spec of an event mark. */
export interface EventMark {
  /** `EventGridSchema`, `CustomInputSchema` or `CloudEventSchemaV1_0`: how to read `envelope`. */
  schema: string;
  /** The event as delivered (what the condition sees). */
  envelope: Record<string, unknown>;
  status: 'received' | 'queued' | 'skipped';
  runId?: string;
  receivedAt: string;
  via: 'delivery' | 'manual';
}

export function automationKey(workspaceKey: string, name: string): string {
  return `${workspaceKey}/automations/${name.toLowerCase()}`;
}
export const stateKey = (autoKey: string) => `${autoKey}/state`;
export const runKey = (autoKey: string, runId: string) => `${autoKey}/runs/${runId.toLowerCase()}`;
/** Event ids are case-sensitive and may hold any character: the key holds a digest. */
export const eventKey = (autoKey: string, eventId: string) => `${autoKey}/events/${digest(eventId)}`;

export function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 40);
}

/** The skipped run recording an event whose condition was false: one per event, whoever records it. */
export function skipRunId(eventId: string): string {
  const h = digest(`skip:${eventId}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Storm control in engine units: seconds → ms, scaled by `timeScale` like every other mlgrid delay. */
export function stormConfig(def: AutomationDef, timeScale: number): StormConfig {
  const s = def.stormControl;
  const ms = (sec: number) => Math.round(sec * 1000 * timeScale);
  return {
    debounceMs: ms(s.debounceSeconds),
    ...(s.maxWaitSeconds !== undefined ? { maxWaitMs: ms(s.maxWaitSeconds) } : {}),
    coalesce: s.coalesce,
    maxConcurrent: s.maxConcurrent,
    cooldownMs: ms(s.cooldownSeconds),
    whenBusy: s.whenBusy,
  };
}

/** The automation is gone (deleted while an event or a run was on its way). */
export class AutomationGone extends Error {
  constructor(key: string) {
    super(`automation ${key} does not exist`);
    this.name = 'AutomationGone';
  }
}

/** A run record changed under us: another node took the run over, or the automation was deleted. */
export class Fenced extends Error {
  constructor(what: string) {
    super(`${what} was changed elsewhere`);
    this.name = 'Fenced';
  }
}

/** Compare-and-set attempts before giving up under contention. */
export const CAS_TRIES = 100;

/**
 * Applies `change` to the automation's state with compare-and-set, retrying on conflict. `change` returns the
 * next state (the same object to leave it unwritten) and a result; resolves to the result and the state after.
 */
export async function updateState<R>(
  store: Store,
  autoKey: string,
  now: () => number,
  change: (s: AutomationState) => { state: AutomationState; result: R },
): Promise<{ result: R; state: AutomationState }> {
  for (let i = 0; i < CAS_TRIES; i++) {
    const rec = await store.getResource(stateKey(autoKey));
    if (!rec) throw new AutomationGone(autoKey);
    const current = rec.spec as AutomationState;
    const r = change(current);
    if (r.state === current) return r;
    const at = new Date(now()).toISOString();
    const put = await store.putResource({ ...rec, spec: r.state, updatedAt: at }, now(), {
      ifSequencer: rec.sequencer,
    });
    if (put.updated) return r;
    await new Promise((res) => setTimeout(res, randomInt(1, 5 + i)));
  }
  throw new Error(`automation state ${autoKey}: too much contention`);
}

/** Writes a document only if it is absent; returns the stored one either way. */
export async function createOnce(
  store: Store,
  rec: Omit<ResourceRecord, 'sequencer'>,
  now: number,
): Promise<ResourceRecord> {
  const r = await store.putResource(rec, now, { ifSequencer: 0 });
  return r.rec!;
}
