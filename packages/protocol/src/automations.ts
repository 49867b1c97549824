/** Automation runs as the API returns them and the server stores them (docs/automations.md#runs). */

export const AUTOMATION_RUN_STATUSES = [
  'Queued',
  'Running',
  'Succeeded',
  'Failed',
  'Skipped',
  'Canceled',
] as const;
export type AutomationRunStatus = (typeof AUTOMATION_RUN_STATUSES)[number];
export type AutomationStepStatus = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped' | 'Canceled';

export interface AutomationStepRecord {
  name: string;
  type: string;
  status: AutomationStepStatus;
  /** Attempts that ended (an attempt cut short by a restart is not counted; it is tried again). */
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  output?: Record<string, unknown>;
  summary?: string;
  error?: { message: string; retryable: boolean };
  /** Waiting for a retry until then. */
  nextAttemptAt?: string;
}

/** A trigger event as a run lists it (the events themselves are kept apart). */
export interface AutomationEventSummary {
  id: string;
  eventType: string;
  subject: string;
  eventTime: string;
}
