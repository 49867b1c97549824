/**
 * Automations (mlgrid's built-in Logic App, `…/workspaces/{ws}/automations/{name}`, docs/automations.md): a trigger
 * (an event subscription filter on a source), an optional condition, ordered steps and storm control. Create or
 * replace with a definition, trigger one by hand with an event, and read its runs.
 */
import type {
  AutomationEventSummary,
  AutomationRunStatus,
  AutomationStepRecord,
  EventSubscriptionFilter,
} from '@mlgrid/protocol';
import { ApiError } from './errors.js';
import { API_VERSIONS, seg, type Transport } from './http.js';
import type { LineageIds } from './lineage.js';

const ML = API_VERSIONS.ml;
type List<T> = { value: T[] };

export interface AutomationRetry {
  /** Default 3. */
  maxAttempts?: number;
  /** Default 10; doubles after each failed attempt… */
  delaySeconds?: number;
  /** …up to this (default 600). */
  maxDelaySeconds?: number;
}

interface StepBase {
  /** 1-64 letters, digits, `_` or `-`, starting with a letter; unique in the automation. */
  name: string;
  retry?: AutomationRetry;
  /** Per attempt; default 600 (httpRequest 60, publishEvent 30). */
  timeoutSeconds?: number;
}

/** One HTTP request under the server's egress policy; every string is a template. */
export interface HttpRequestStep extends StepBase {
  type: 'httpRequest';
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  headers?: Record<string, string>;
  /** A string (sent as text/plain) or a JSON value whose strings are templates (sent as JSON). */
  body?: unknown;
  expectedStatus?: number | number[];
}

/** One event to a custom topic of this mlgrid (its endpoint name). */
export interface PublishEventStep extends StepBase {
  type: 'publishEvent';
  topic: string;
  eventType: string;
  subject?: string;
  data?: unknown;
  dataVersion?: string;
}

/** The ML step kinds (docs/automation-steps.md): their own fields are passed as given. */
export interface MlStep extends StepBase {
  type: 'sendEmail' | 'submitJob' | 'deployModel';
  [field: string]: unknown;
}

export type AutomationStep = HttpRequestStep | PublishEventStep | MlStep;

/** Event Grid's filter fields, and the source the trigger subscribes to (default: the automation's workspace). */
export interface AutomationTrigger extends EventSubscriptionFilter {
  /** A workspace, custom topic, resource group or subscription id. */
  source?: string;
}

export interface StormControl {
  /** Template of the key runs are grouped by (default `{{subject}}`). */
  key: string;
  debounceSeconds: number;
  maxWaitSeconds?: number;
  coalesce: boolean;
  maxConcurrent: number;
  cooldownSeconds: number;
  whenBusy: 'queue' | 'drop';
}

/** What a PUT sends as `properties`: everything but `steps` is optional. */
export interface AutomationDefinition {
  description?: string;
  /** false removes the trigger subscription (manual triggers still work). */
  enabled?: boolean;
  trigger?: AutomationTrigger;
  /** Evaluated on each delivered event: false records a Skipped run. */
  condition?: EventSubscriptionFilter;
  /** 1 to 20, run in order. */
  steps: AutomationStep[];
  stormControl?: Partial<StormControl>;
}

export interface AutomationOut {
  id: string;
  name: string;
  type: 'Microsoft.MachineLearningServices/workspaces/automations';
  systemData: { createdAt: string; lastModifiedAt: string };
  /** The definition with its defaults filled in; what a step kind holds secret is shown as `***`. */
  properties: {
    description?: string;
    enabled: boolean;
    trigger: AutomationTrigger & { source: string };
    condition?: EventSubscriptionFilter;
    steps: (AutomationStep & { retry: Required<AutomationRetry>; timeoutSeconds: number })[];
    stormControl: StormControl;
    provisioningState: 'Succeeded';
    /** The trigger subscription (absent while disabled). */
    eventSubscriptionId?: string;
    runsQueued: number;
    runsInProgress: number;
  };
}

/** A manual trigger's event; `eventType` is the only field required. */
export interface ManualEvent {
  eventType: string;
  /** Default a new GUID; the same id again starts nothing (`duplicate`). */
  id?: string;
  subject?: string;
  data?: unknown;
  eventTime?: string;
  /** Default the workspace. */
  topic?: string;
  dataVersion?: string;
}

export interface TriggerOutcome {
  eventId: string;
  /** A run opened, joined (storm control), skipped (condition, or dropped), or the event was seen before. */
  status: 'queued' | 'joined' | 'skipped' | 'duplicate';
  runId?: string;
  reason?: string;
  /** The run's resource id. */
  runUrl?: string;
}

export type { AutomationRunStatus, AutomationStepRecord };
export const FINAL_RUN_STATUSES: readonly AutomationRunStatus[] = [
  'Succeeded',
  'Failed',
  'Skipped',
  'Canceled',
];

export interface AutomationRunOut {
  id: string;
  name: string;
  type: 'Microsoft.MachineLearningServices/workspaces/automations/runs';
  properties: {
    runId: string;
    status: AutomationRunStatus;
    /** Why a run was skipped or failed. */
    reason?: string;
    /** The storm-control key. */
    key: string;
    eventCount: number;
    events?: AutomationEventSummary[];
    lineage?: LineageIds;
    steps: AutomationStepRecord[];
    queuedAt: string;
    /** A waiting run: when storm control lets it start at the earliest. */
    notBefore?: string;
    startedAt?: string;
    endedAt?: string;
    durationMs?: number;
    /** `runs.get` only: the full trigger events (the last 100). */
    triggerEvents?: Record<string, unknown>[];
  };
}

interface WorkspaceIds {
  workspaceId(rg: string, name: string): string;
}

export class Automations {
  /** The automation's runs, newest first. */
  readonly runs: AutomationRuns;
  constructor(
    private readonly http: Transport,
    private readonly ids: WorkspaceIds,
  ) {
    this.runs = new AutomationRuns(http, (rg, ws, name) => this.path(rg, ws, name));
  }
  private path(rg: string, ws: string, name?: string): string {
    const p = `${this.ids.workspaceId(rg, ws)}/automations`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  /**
   * PUT: creates or replaces the automation and its trigger subscription; a bad definition is a 400 ApiError whose
   * `target` names the field. Steps read back with `***` may be sent again: the stored secrets are kept.
   */
  createOrUpdate(
    rg: string,
    ws: string,
    name: string,
    definition: AutomationDefinition,
  ): Promise<AutomationOut> {
    const body = { properties: definition };
    return this.http.json('PUT', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  get(rg: string, ws: string, name: string): Promise<AutomationOut> {
    return this.http.json('GET', this.path(rg, ws, name), { apiVersion: ML });
  }
  async list(rg: string, ws: string): Promise<AutomationOut[]> {
    return (await this.http.json<List<AutomationOut>>('GET', this.path(rg, ws), { apiVersion: ML })).value;
  }
  /** Deletes the trigger subscription, the automation and its runs (runs in progress stop). */
  delete(rg: string, ws: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name), ML);
  }
  /**
   * A manual trigger with one event: condition, storm control and idempotency apply, the trigger's filter does
   * not, and it works on a disabled automation. Resolves with what became of the event (202).
   */
  trigger(rg: string, ws: string, name: string, event: ManualEvent): Promise<TriggerOutcome> {
    const path = `${this.path(rg, ws, name)}/run`;
    return this.http.json('POST', path, { apiVersion: ML, body: { event } });
  }
}

export class AutomationRuns {
  constructor(
    private readonly http: Transport,
    private readonly automationPath: (rg: string, ws: string, name: string) => string,
  ) {}
  /** Newest first, waiting runs included; `top` 1-1000 (default 100). */
  async list(
    rg: string,
    ws: string,
    name: string,
    opts: { status?: AutomationRunStatus; top?: number } = {},
  ): Promise<AutomationRunOut[]> {
    const path = `${this.automationPath(rg, ws, name)}/runs`;
    const query = { status: opts.status, $top: opts.top };
    return (await this.http.json<List<AutomationRunOut>>('GET', path, { apiVersion: ML, query })).value;
  }
  /** One run with its full trigger events (a waiting run: what storm control holds). */
  get(rg: string, ws: string, name: string, runId: string): Promise<AutomationRunOut> {
    const path = `${this.automationPath(rg, ws, name)}/runs/${seg(runId)}`;
    return this.http.json('GET', path, { apiVersion: ML });
  }
  /**
   * Cancels a waiting or running run; returns it canceled (as it is when it already was). An ended run is a 409
   * ApiError. What its steps already did stays done.
   */
  cancel(rg: string, ws: string, name: string, runId: string): Promise<AutomationRunOut> {
    const path = `${this.automationPath(rg, ws, name)}/runs/${seg(runId)}/cancel`;
    return this.http.json('POST', path, { apiVersion: ML });
  }
  /**
   * Polls `get` until the run is Succeeded, Failed, Skipped or Canceled; throws after `timeoutMs` (default 10 min). A run
   * the engine has just claimed has no record for a moment (404) while its automation exists: polled through.
   */
  async waitFor(
    rg: string,
    ws: string,
    name: string,
    runId: string,
    opts: { intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<AutomationRunOut> {
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const end = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.get(rg, ws, name, runId).catch(async (err: unknown) => {
        if (!(err instanceof ApiError) || err.status !== 404 || Date.now() >= end) throw err;
        const auto = await this.http.send('GET', this.automationPath(rg, ws, name), { apiVersion: ML });
        await auto.body?.cancel(); // throws ApiError 404 itself when the automation is gone
        return undefined;
      });
      if (run && FINAL_RUN_STATUSES.includes(run.properties.status)) return run;
      if (Date.now() >= end) {
        throw new Error(`Automation run ${runId} is still ${run?.properties.status} after ${timeoutMs} ms.`);
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  }
}
