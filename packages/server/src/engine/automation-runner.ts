/**
 * Executes one run of an automation: steps in order, each with its retries, timeout and record. The record is
 * written after every change with compare-and-set on its sequencer, so a node that lost its claim (another took
 * the run over) stops at its next write instead of racing. A resumed run skips the steps that succeeded and
 * runs the interrupted one again with the same idempotency key.
 */
import type { Logger } from 'pino';
import type { StepDef, StepKinds } from '../core/automation-def.js';
import { carriedCorrelationId, lineageOf, triggerFromEnvelope } from '../core/automation-event.js';
import { objectLink } from '../core/automation-link.js';
import { endRun, retryDelayMs, startedRun, type RunDoc, type StepRecord } from '../core/automation-run.js';
import { StepError, type Lineage, type StepContext, type TriggerEvent } from '../core/automation-step.js';
import type { RunningRun } from '../core/automation-storm.js';
import { renderTemplate, renderValue, type TemplateScope } from '../core/automation-template.js';
import { MlgridError } from '../core/errors.js';
import type { ResourceRecord, Store } from '../store/types.js';
import { eventKey, Fenced, RUN_KIND, runKey, type AutomationDoc, type EventMark } from './automation-docs.js';

export interface RunnerDeps {
  store: Store;
  kinds: StepKinds;
  timeScale: number;
  log: Logger;
  now: () => number;
  baseUrl: () => string | undefined;
  /** Told once per run, when it starts (the lineage index records the run in its chain). */
  onRunStarted?: (
    workspaceKey: string,
    run: { id: string; lineage: Lineage; trigger?: TriggerEvent },
  ) => Promise<void>;
}

/** Runs `entry` of automation `auto` to its end (or until `signal` aborts); returns the final record. */
export async function executeRun(
  deps: RunnerDeps,
  auto: ResourceRecord,
  entry: RunningRun,
  signal: AbortSignal,
): Promise<RunDoc | undefined> {
  const doc = auto.spec as AutomationDoc;
  const events = await loadEvents(deps.store, auto.key, entry.eventIds);
  const key = runKey(auto.key, entry.runId);
  let rec = await deps.store.getResource(key);
  if (!rec) {
    const last = events.at(-1);
    const trigger = last?.event ?? { id: entry.runId, eventType: '', subject: '', eventTime: '' };
    const started = startedRun({
      runId: entry.runId,
      key: entry.key,
      events: events.map((e) => e.event),
      eventIds: entry.eventIds,
      lineage: lineageOf(trigger, last ? carriedCorrelationId(last.envelope) : undefined),
      steps: doc.definition.steps,
      queuedAt: entry.queuedAt,
      now: deps.now(),
    });
    const at = new Date(deps.now()).toISOString();
    const put = await deps.store.putResource(
      {
        key,
        kind: RUN_KIND,
        parentKey: auto.key,
        name: entry.runId,
        spec: started,
        createdAt: at,
        updatedAt: at,
      },
      deps.now(),
      { ifSequencer: 0 },
    );
    rec = put.rec!;
    if (put.updated && deps.onRunStarted) {
      const run = {
        id: `${doc.id}/runs/${entry.runId}`,
        lineage: started.lineage!,
        ...(last ? { trigger: last.event } : {}),
      };
      await deps
        .onRunStarted(auto.parentKey, run)
        .catch((err: unknown) =>
          deps.log.warn({ err, run: entry.runId }, 'lineage: the run was not recorded in its chain'),
        );
    }
  }
  const run = new RunWriter(deps, rec);
  if (run.doc.status !== 'Running') return run.doc;
  try {
    return await runSteps(deps, doc, run, events, signal);
  } catch (err) {
    if (err instanceof Fenced || signal.aborted) return undefined;
    deps.log.error({ run: entry.runId, err }, 'automation run failed unexpectedly');
    return run.save(endRun(run.doc, 'Failed', deps.now(), `internal error: ${(err as Error).message}`));
  }
}

/** The run record and its sequencer: every write is a compare-and-set on it. */
class RunWriter {
  constructor(
    private readonly deps: RunnerDeps,
    private rec: ResourceRecord,
  ) {}

  get doc(): RunDoc {
    return this.rec.spec as RunDoc;
  }

  async save(next: RunDoc): Promise<RunDoc> {
    const at = new Date(this.deps.now()).toISOString();
    const r = await this.deps.store.putResource({ ...this.rec, spec: next, updatedAt: at }, this.deps.now(), {
      ifSequencer: this.rec.sequencer,
    });
    if (!r.updated) throw new Fenced(`run ${next.runId}`);
    this.rec = r.rec!;
    return next;
  }

  async step(i: number, patch: Partial<StepRecord>): Promise<StepRecord> {
    const steps = this.doc.steps.slice();
    steps[i] = { ...steps[i]!, ...patch };
    for (const k of Object.keys(patch) as (keyof StepRecord)[])
      if (patch[k] === undefined) delete steps[i]![k];
    await this.save({ ...this.doc, steps });
    return steps[i]!;
  }
}

export interface LoadedEvent {
  event: TriggerEvent;
  envelope: Record<string, unknown>;
}

/** A run's trigger events, as far as they are still stored. */
export async function loadEvents(store: Store, autoKey: string, ids: string[]): Promise<LoadedEvent[]> {
  const out: LoadedEvent[] = [];
  for (const id of ids) {
    const mark = await store.getResource(eventKey(autoKey, id));
    if (!mark) continue; // pruned (a run resumed long after): the run goes on with the events it still has
    const m = mark.spec as EventMark;
    out.push({ event: triggerFromEnvelope(m.schema, m.envelope).event, envelope: m.envelope });
  }
  return out;
}

async function runSteps(
  deps: RunnerDeps,
  doc: AutomationDoc,
  run: RunWriter,
  loaded: LoadedEvent[],
  signal: AbortSignal,
): Promise<RunDoc> {
  const defs: StepDef[] = run.doc.definition ?? doc.definition.steps;
  const events = loaded.map((e) => e.event);
  const event = events.at(-1) ?? { id: '', eventType: '', subject: '', eventTime: '' };
  const outputs: Record<string, Record<string, unknown>> = {};
  const baseUrl = deps.baseUrl();
  const lineage = run.doc.lineage ?? lineageOf(event, undefined);
  const automation = { name: doc.id.slice(doc.id.lastIndexOf('/') + 1), id: doc.id };
  const scope: TemplateScope = {
    id: event.id,
    eventType: event.eventType,
    subject: event.subject,
    topic: event.topic,
    eventTime: event.eventTime,
    dataVersion: event.dataVersion,
    data: event.data,
    event,
    events,
    steps: outputs,
    link: objectLink(event, baseUrl) ?? '',
    runId: run.doc.runId,
    automation,
    workspace: { ...doc.workspace, name: doc.workspace.workspace },
    lineage,
    baseUrl: baseUrl ?? '',
  };
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i]!;
    const rec = run.doc.steps[i]!;
    if (rec.status === 'Succeeded') {
      outputs[def.name] = rec.output ?? {};
      continue;
    }
    const kind = deps.kinds.get(def.type);
    if (!kind)
      return run.save(endRun(run.doc, 'Failed', deps.now(), `step ${def.name}: no step kind '${def.type}'`));
    let parsed: unknown;
    try {
      parsed = kind.parse(structuredClone(def.fields), `steps[${i}]`);
    } catch (err) {
      await run.step(i, { status: 'Failed', error: { message: (err as Error).message, retryable: false } });
      return run.save(endRun(run.doc, 'Failed', deps.now(), `step ${def.name}: ${(err as Error).message}`));
    }
    const ctx = (stepSignal: AbortSignal): StepContext => ({
      workspace: doc.workspace,
      automation,
      runId: run.doc.runId,
      event,
      events,
      outputs,
      lineage,
      idempotencyKey: `${run.doc.runId}-${def.name}`,
      render: (t, o) => renderTemplate(t, scope, o),
      renderValue: (v) => renderValue(v, scope),
      ...(baseUrl ? { baseUrl } : {}),
      signal: stepSignal,
    });
    const ok = await attemptStep(deps, run, i, def, (s) => kind.execute(parsed, ctx(s)), signal);
    if (!ok) {
      const err = run.doc.steps[i]!.error?.message ?? 'failed';
      return run.save(endRun(run.doc, 'Failed', deps.now(), `step ${def.name}: ${err}`));
    }
    outputs[def.name] = run.doc.steps[i]!.output ?? {};
  }
  return run.save(endRun(run.doc, 'Succeeded', deps.now()));
}

/** One step with its retries; true when it succeeded. Throws when the run is aborted (stop, lost claim). */
async function attemptStep(
  deps: RunnerDeps,
  run: RunWriter,
  i: number,
  def: StepDef,
  execute: (signal: AbortSignal) => Promise<{ output?: Record<string, unknown>; summary?: string }>,
  signal: AbortSignal,
): Promise<boolean> {
  for (;;) {
    signal.throwIfAborted();
    const started = deps.now();
    const prior = run.doc.steps[i]!;
    await run.step(i, {
      status: 'Running',
      startedAt: prior.startedAt ?? new Date(started).toISOString(),
      nextAttemptAt: undefined,
    });
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), def.timeoutSeconds * 1000);
    const stepSignal = AbortSignal.any([signal, timeout.signal]);
    let failure: StepError;
    try {
      const result = await untilAborted(execute(stepSignal), stepSignal);
      const now = deps.now();
      await run.step(i, {
        status: 'Succeeded',
        attempts: prior.attempts + 1,
        endedAt: new Date(now).toISOString(),
        durationMs: now - Date.parse(run.doc.steps[i]!.startedAt!),
        output: result.output ?? {},
        ...(result.summary !== undefined ? { summary: result.summary } : {}),
        error: undefined,
      });
      return true;
    } catch (err) {
      signal.throwIfAborted(); // stopping: the attempt is not counted, the step runs again on resume
      failure = timeout.signal.aborted
        ? new StepError(`timed out after ${def.timeoutSeconds} s`, true)
        : asStepError(err);
    } finally {
      clearTimeout(timer);
    }
    const attempts = prior.attempts + 1;
    const error = { message: failure.message.slice(0, 2000), retryable: failure.retryable };
    const now = deps.now();
    if (failure.retryable && attempts < def.retry.maxAttempts) {
      const delay = retryDelayMs(def.retry, attempts, deps.timeScale);
      await run.step(i, { attempts, error, nextAttemptAt: new Date(now + delay).toISOString() });
      await sleep(delay, signal);
      continue;
    }
    await run.step(i, {
      status: 'Failed',
      attempts,
      error,
      endedAt: new Date(now).toISOString(),
      durationMs: now - Date.parse(run.doc.steps[i]!.startedAt!),
    });
    return false;
  }
}

/** StepErrors as they are; mlgrid's own 5xx errors retryable; anything else (a bug, a 4xx) is final. */
function asStepError(err: unknown): StepError {
  if (err instanceof StepError) return err;
  if (err instanceof MlgridError)
    return new StepError(`${err.code}: ${err.message}`, err.status >= 500, { cause: err });
  return new StepError((err as Error)?.message ?? String(err), false, { cause: err });
}

/** The step's promise, or a rejection as soon as `signal` aborts (a step that ignores its signal is left behind). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(t), reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
