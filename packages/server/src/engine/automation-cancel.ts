/**
 * Cancelling an automation run (docs/automations.md#cancelling-a-run). A waiting run leaves storm control's
 * queue and is recorded as `Canceled`. A running one gets its final `Canceled` record by compare-and-set: that
 * fences the node running it (its next write fails), and that node's engine aborts the step in progress at once
 * when the cancel came through it, else at its next claim renewal. Either way the engine then frees the run's
 * storm-control slot as for any finished run. What a step already did stays done (a submitted job keeps running).
 */
import { MlgridError, notFound } from '../core/errors.js';
import { endRun, isFinal, summarize, type RunDoc } from '../core/automation-run.js';
import type { AutomationState, QueuedRun, RunningRun } from '../core/automation-storm.js';
import type { ResourceRecord, Store } from '../store/types.js';
import {
  AutomationGone,
  CAS_TRIES,
  createOnce,
  RUN_KIND,
  runKey,
  stateKey,
  updateState,
  type AutomationDoc,
} from './automation-docs.js';
import { loadEvents } from './automation-runner.js';

/** Cancels run `runId` of automation `auto`; returns its final record. Cancelling a canceled run returns it. */
export async function cancelRun(
  store: Store,
  now: () => number,
  auto: ResourceRecord,
  runId: string,
  reason: string,
): Promise<RunDoc> {
  const id = `${(auto.spec as AutomationDoc).id}/runs/${runId}`;
  const queued = await updateState(store, auto.key, now, (s) => {
    const q = s.queue.find((x) => x.runId === runId);
    return q
      ? { state: { ...s, queue: s.queue.filter((x) => x !== q) }, result: q }
      : { state: s, result: undefined as QueuedRun | undefined };
  }).then(
    (r) => r.result,
    (err: unknown) => {
      throw err instanceof AutomationGone ? notFound('automation run', id) : err;
    },
  );
  const key = runKey(auto.key, runId);
  for (let i = 0; i < CAS_TRIES; i++) {
    let rec = await store.getResource(key);
    if (!rec) {
      // Waiting, or claimed by a node that has not written its record yet: the record starts out canceled, and
      // that node, finding it, ends the run without starting it.
      const state = (await store.getResource(stateKey(auto.key)))?.spec as AutomationState | undefined;
      const entry = queued ?? state?.running.find((r) => r.runId === runId);
      if (!entry) throw notFound('automation run', id);
      const at = new Date(now()).toISOString();
      const spec = await neverStarted(store, auto.key, entry, now(), reason);
      rec = await createOnce(
        store,
        { key, kind: RUN_KIND, parentKey: auto.key, name: runId, spec, createdAt: at, updatedAt: at },
        now(),
      );
    }
    const doc = rec.spec as RunDoc;
    if (doc.status === 'Canceled') return doc;
    if (isFinal(doc.status))
      throw new MlgridError('Conflict', `The run '${runId}' has already ended (${doc.status}).`);
    const next = endRun(doc, 'Canceled', now(), reason);
    const at = new Date(now()).toISOString();
    const put = await store.putResource({ ...rec, spec: next, updatedAt: at }, now(), {
      ifSequencer: rec.sequencer,
    });
    if (put.updated) return next;
  }
  throw new Error(`automation run ${runId}: too much contention`);
}

async function neverStarted(
  store: Store,
  autoKey: string,
  entry: QueuedRun | RunningRun,
  now: number,
  reason: string,
): Promise<RunDoc> {
  const events = await loadEvents(store, autoKey, entry.eventIds);
  const at = new Date(now).toISOString();
  return {
    runId: entry.runId,
    status: 'Canceled',
    reason,
    key: entry.key,
    events: events.map((e) => summarize(e.event)),
    eventIds: entry.eventIds,
    steps: [],
    queuedAt: new Date(entry.queuedAt).toISOString(),
    endedAt: at,
    durationMs: 0,
  };
}
