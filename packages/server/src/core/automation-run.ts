/**
 * Run records (docs/automations.md#runs): what a run stores as it goes (trigger events, each step's status,
 * attempts, output, error and timings, the outcome), the retry backoff, and the API shape. Pure.
 */
import type { Lineage, TriggerEvent } from './automation-step.js';
import type { StepDef } from './automation-def.js';
import type { QueuedRun, RunningRun } from './automation-storm.js';
import {
  AUTOMATION_RUN_STATUSES as RUN_STATUSES,
  type AutomationEventSummary as EventSummary,
  type AutomationRunStatus as RunStatus,
  type AutomationStepRecord as StepRecord,
  type AutomationStepStatus as StepStatus,
} from '@mlgrid/protocol';

// The API shapes live in @mlgrid/protocol (shared with the client); these are their names here.
export { RUN_STATUSES, type EventSummary, type RunStatus, type StepRecord, type StepStatus };

export interface RunDoc {
  runId: string;
  status: RunStatus;
  /** Why a run was skipped or failed, in a few words. */
  reason?: string;
  /** The storm-control key. */
  key: string;
  /** The events the run covers, oldest first (summaries; the events themselves are kept apart). */
  events: EventSummary[];
  eventIds: string[];
  lineage?: Lineage;
  /** The steps as defined when the run started: a later change of the automation does not alter it. */
  definition?: StepDef[];
  steps: StepRecord[];
  queuedAt: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
}

export function summarize(e: TriggerEvent): EventSummary {
  return { id: e.id, eventType: e.eventType, subject: e.subject, eventTime: e.eventTime };
}

export function isFinal(status: RunStatus): boolean {
  return status === 'Succeeded' || status === 'Failed' || status === 'Skipped' || status === 'Canceled';
}

/** A run that starts now, with every step pending. */
export function startedRun(a: {
  runId: string;
  key: string;
  events: TriggerEvent[];
  eventIds: string[];
  lineage: Lineage;
  steps: StepDef[];
  queuedAt: number;
  now: number;
}): RunDoc {
  return {
    runId: a.runId,
    status: 'Running',
    key: a.key,
    events: a.events.map(summarize),
    eventIds: a.eventIds,
    lineage: a.lineage,
    definition: a.steps,
    steps: a.steps.map((s) => ({ name: s.name, type: s.type, status: 'Pending', attempts: 0 })),
    queuedAt: new Date(a.queuedAt).toISOString(),
    startedAt: new Date(a.now).toISOString(),
  };
}

/** A run that never ran (condition false, or dropped by storm control). */
export function skippedRun(a: {
  runId: string;
  key: string;
  event: TriggerEvent;
  reason: string;
  now: number;
}): RunDoc {
  const at = new Date(a.now).toISOString();
  return {
    runId: a.runId,
    status: 'Skipped',
    reason: a.reason,
    key: a.key,
    events: [summarize(a.event)],
    eventIds: [a.event.id],
    steps: [],
    queuedAt: at,
    startedAt: at,
    endedAt: at,
    durationMs: 0,
  };
}

/** The run's end: every step not reached is Skipped; a canceled run's step in progress is Canceled. */
export function endRun(
  doc: RunDoc,
  status: 'Succeeded' | 'Failed' | 'Canceled',
  now: number,
  reason?: string,
): RunDoc {
  const endedAt = new Date(now).toISOString();
  return {
    ...doc,
    status,
    ...(reason !== undefined ? { reason } : {}),
    steps: doc.steps.map((s) =>
      s.status === 'Pending'
        ? { ...s, status: 'Skipped' }
        : s.status === 'Running' && status === 'Canceled'
          ? { ...s, status: 'Canceled' }
          : s,
    ),
    endedAt,
    durationMs: doc.startedAt ? Math.max(0, now - Date.parse(doc.startedAt)) : 0,
  };
}

/** Delay before attempt `attempt + 1` after `attempt` failed: doubling from delaySeconds, capped, scaled. */
export function retryDelayMs(retry: StepDef['retry'], attempt: number, timeScale: number): number {
  const s = Math.min(retry.delaySeconds * 2 ** Math.max(0, attempt - 1), retry.maxDelaySeconds);
  return Math.round(s * 1000 * timeScale);
}

const RUN_TYPE = 'Microsoft.MachineLearningServices/workspaces/automations/runs';

/** The API shape of a run record. */
export function renderRun(automationId: string, doc: RunDoc): Record<string, unknown> {
  const { definition: _d, eventIds: _e, runId, ...rest } = doc;
  return {
    id: `${automationId}/runs/${runId}`,
    name: runId,
    type: RUN_TYPE,
    properties: { runId, ...structuredClone(rest), eventCount: doc.eventIds.length },
  };
}

/** A run still waiting in storm control (it has no record yet). */
export function renderQueuedRun(automationId: string, q: QueuedRun): Record<string, unknown> {
  return {
    id: `${automationId}/runs/${q.runId}`,
    name: q.runId,
    type: RUN_TYPE,
    properties: {
      runId: q.runId,
      status: 'Queued',
      key: q.key,
      eventCount: q.eventIds.length,
      queuedAt: new Date(q.queuedAt).toISOString(),
      notBefore: new Date(q.notBefore).toISOString(),
      steps: [],
    },
  };
}

/** A run a node has claimed but whose record it has not written yet: shown as Running, not as missing. */
export function renderClaimedRun(automationId: string, r: RunningRun): Record<string, unknown> {
  return {
    id: `${automationId}/runs/${r.runId}`,
    name: r.runId,
    type: RUN_TYPE,
    properties: {
      runId: r.runId,
      status: 'Running',
      key: r.key,
      eventCount: r.eventIds.length,
      queuedAt: new Date(r.queuedAt).toISOString(),
      startedAt: new Date(r.startedAt).toISOString(),
      steps: [],
    },
  };
}
