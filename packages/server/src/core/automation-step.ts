/**
 * The contract between the automation engine (runs, storm control, records) and its step kinds (sendEmail,
 * submitJob, deployModel, httpRequest, publishEvent). A step kind parses its part of the definition once,
 * at create time, and executes it per run; everything it needs from the run comes in the context.
 */
import type { WorkspaceRef } from './ml-events.js';

/** A triggering event as delivered (Event Grid schema, parsed). */
export interface TriggerEvent {
  id: string;
  eventType: string;
  subject: string;
  topic?: string;
  eventTime: string;
  dataVersion?: string;
  data?: unknown;
}

/**
 * Correlation and causation ids (beyond Azure). Everything a run causes carries them, so that
 * "drift → retraining job → model version → deployment" can be followed both ways. They travel on resources
 * as `properties.properties["mlgrid.correlationId"]` / `["mlgrid.causationId"]` (Azure's free-form
 * dictionary on jobs, model versions and deployments) and on events as data fields.
 */
export interface Lineage {
  /** The id of the first event of the chain (inherited from the trigger when it has one). */
  correlationId: string;
  /** The id of the event that caused this run. */
  causationId: string;
}

export const LINEAGE_PROPERTIES = {
  correlationId: 'mlgrid.correlationId',
  causationId: 'mlgrid.causationId',
} as const;

export interface StepContext {
  workspace: WorkspaceRef;
  automation: { name: string; id: string };
  runId: string;
  /** The event that started the run (for a coalesced run or a digest: the latest). */
  event: TriggerEvent;
  /** Every event the run covers, oldest first (one unless events were coalesced). */
  events: TriggerEvent[];
  /** Outputs of the earlier steps of this run, by step name. */
  outputs: Record<string, Record<string, unknown>>;
  lineage: Lineage;
  /**
   * Stable for this step of this run, across redeliveries, retries and restarts: side effects are keyed on it
   * (a job's name, a deployment's tag) so a repeated step never starts a second job or deployment.
   */
  idempotencyKey: string;
  /** Fills `{{eventType}}`, `{{data.runId}}`, `{{steps.<name>.<field>}}`, `{{link}}`… (HTML-escaped when `html`). */
  render(template: string, opts?: { html?: boolean }): string;
  /** mlgrid's public base URL, for links to objects. */
  baseUrl?: string;
  /** Aborted when the server stops or the step times out. */
  signal: AbortSignal;
  /**
   * Renders every string inside a JSON value (a body, event data); a string that is exactly one placeholder
   * becomes the value itself, typed (`"{{data.count}}"` → 3).
   */
  renderValue?(value: unknown): unknown;
}

export interface StepResult {
  /** Shown in the run record and available to later steps as `steps.<name>.*`. */
  output?: Record<string, unknown>;
  summary?: string;
}

/** A step failure; `retryable` failures are tried again with backoff, others fail the run at once. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StepError';
  }
}

export interface StepKind<S = unknown> {
  /** The `type` in the definition: 'sendEmail', 'submitJob', 'deployModel', 'httpRequest', 'publishEvent'. */
  readonly type: string;
  /** Validates the step's own fields (not `type`/`name`), throwing `invalid(path + '.field', …)`. */
  parse(raw: Record<string, unknown>, path: string): S;
  execute(step: S, ctx: StepContext): Promise<StepResult>;
  /** The step's `timeoutSeconds` when the definition gives none (the engine's default is 600). */
  readonly defaultTimeoutSeconds?: number;
  /** The step's fields as GET shows them: secrets (credentials, tokens) withheld. Default: as given. */
  redact?(raw: Record<string, unknown>): Record<string, unknown>;
  /**
   * Checks the placeholders in the step's fields at create time, instead of the engine's generic check, for kinds
   * whose fields hold text that only looks like one (Azure's `${{inputs.x}}` in a job command, sendEmail's
   * `{{digest}}`). `earlierSteps`: the step names `{{steps.<name>…}}` may use.
   */
  checkTemplates?(raw: Record<string, unknown>, path: string, earlierSteps: ReadonlySet<string>): void;
}
