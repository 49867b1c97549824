/**
 * Automations as workspace resources (docs/automations.md): `{workspace}/automations/{name}`, kept as a resource
 * document with its storm-control state, run records and event marks below it. The trigger is a real event
 * subscription on the source (`automation-{name}`, destination `Automation`), kept in step with the automation:
 * created, changed and deleted with it (rolled back when the subscription is refused), and re-checked at start.
 */
import { randomUUID } from 'node:crypto';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import {
  keepSecrets,
  parseAutomationPut,
  renderDefinition,
  triggerSubscriptionName,
  validateAutomationName,
  type StepKinds,
} from '../core/automation-def.js';
import { parseManualEvent } from '../core/automation-event.js';
import {
  renderClaimedRun,
  renderQueuedRun,
  renderRun,
  RUN_STATUSES,
  type RunDoc,
  type RunStatus,
} from '../core/automation-run.js';
import { emptyState, type AutomationState } from '../core/automation-storm.js';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import type { EventSubscriptionSpec } from '../core/event-subscription.js';
import { isWorkspaceId, workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { TopicSpec } from '../core/topic.js';
import type { AutomationEngine } from '../engine/automation-engine.js';
import {
  AUTOMATION_KIND,
  automationKey,
  createOnce,
  eventKey,
  RUN_KIND,
  runKey,
  STATE_KIND,
  stateKey,
  type AutomationDoc,
  type EventMark,
} from '../engine/automation-docs.js';
import type { ResourceRecord, Store, WorkspaceRecord } from '../store/types.js';
import { eventSubscriptionId, type EventSubscriptionService } from './event-subscriptions.js';
import { requireWorkspace } from './require-workspace.js';

const TYPE = 'Microsoft.MachineLearningServices/workspaces/automations';
const TOPIC_RE =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.EventGrid\/topics\/[^/]+$/i;
/** Full trigger events shown by `run show` (a coalesced run may hold up to 1000). */
const SHOWN_EVENTS = 100;

export class AutomationService {
  constructor(
    private readonly store: Store,
    private readonly subscriptions: EventSubscriptionService,
    private readonly engine: AutomationEngine,
    private readonly kinds: StepKinds,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Create or replace. `authorizeSource` checks the caller may subscribe to a source other than this workspace
   * (the trigger is an event subscription there).
   */
  async put(
    ref: WorkspaceRef,
    name: string,
    body: unknown,
    authorizeSource?: (scope: string) => Promise<unknown>,
  ) {
    const ws = await requireWorkspace(this.store, ref);
    validateAutomationName(name);
    const key = automationKey(ws.key, name);
    const current = await this.store.getResource(key);
    const cur = current?.spec as AutomationDoc | undefined;
    const parsed = parseAutomationPut(body, { workspaceId: ws.id, kinds: this.kinds });
    const def = keepSecrets(parsed, cur?.definition, this.kinds);
    const source = def.trigger.source;
    const schema = await this.checkSource(source);
    if (source.toLowerCase() !== ws.key) await authorizeSource?.(source);
    const id = cur?.id ?? `${ws.id}/automations/${name}`;
    const subName = triggerSubscriptionName(name);
    if (def.enabled) await this.checkSubscriptionName(source, subName, id);
    const doc: AutomationDoc = {
      id,
      workspace: wsRef(ws),
      definition: def,
      ...(def.enabled ? { subscription: { scope: source, name: subName } } : {}),
    };
    const at = this.now().toISOString();
    const put = await this.store.putResource(
      {
        key,
        kind: AUTOMATION_KIND,
        parentKey: ws.key,
        name: current?.name ?? name,
        spec: doc,
        createdAt: at,
        updatedAt: at,
      },
      this.now().getTime(),
      { ifSequencer: current?.sequencer ?? 0 },
    );
    if (!put.updated) throw new MlgridError('Conflict', `${id} was changed at the same time; retry.`);
    const state = { key: stateKey(key), kind: STATE_KIND, parentKey: key, name: 'state', spec: emptyState() };
    await createOnce(this.store, { ...state, createdAt: at, updatedAt: at }, this.now().getTime());
    try {
      await this.syncSubscription(cur, doc, schema);
    } catch (err) {
      // The trigger was refused: put the automation back as it was.
      if (!current) await this.store.deleteResource(key, this.now().getTime());
      else {
        await this.store.putResource(current, this.now().getTime(), { ifSequencer: put.rec!.sequencer });
        const old = cur!.subscription;
        if (old) await this.syncSubscription(doc, cur!, await this.checkSource(old.scope)).catch(() => {});
      }
      throw err;
    }
    return { created: put.created, out: await this.render(put.rec!) };
  }

  async get(ref: WorkspaceRef, name: string) {
    return this.render(await this.require(ref, name));
  }

  async list(ref: WorkspaceRef) {
    const ws = await requireWorkspace(this.store, ref);
    const recs = await this.store.listResources({ kind: AUTOMATION_KIND, parentKey: ws.key });
    return Promise.all(recs.map((r) => this.render(r)));
  }

  /** Deletes the trigger subscription, then the automation with its runs (runs in progress are stopped). */
  async delete(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const key = automationKey(ws.key, name);
    const rec = await this.store.getResource(key);
    if (!rec || rec.kind !== AUTOMATION_KIND) return false;
    const sub = (rec.spec as AutomationDoc).subscription;
    if (sub) await this.subscriptions.delete(sub.scope, sub.name);
    this.engine.forget(key);
    return this.store.deleteResource(key, this.now().getTime());
  }

  /** Before a workspace is deleted (its documents go with it): triggers on other sources, runs in progress. */
  async workspaceDeleting(ref: WorkspaceRef): Promise<void> {
    const ws = await this.store.getWorkspace(workspaceId(ref).toLowerCase());
    if (!ws) return;
    for (const rec of await this.store.listResources({ kind: AUTOMATION_KIND, parentKey: ws.key })) {
      const sub = (rec.spec as AutomationDoc).subscription;
      if (sub) await this.subscriptions.delete(sub.scope, sub.name);
      this.engine.forget(rec.key);
    }
  }

  /** Runs, newest first (waiting ones included); `status` filters, `top` limits (default 100). */
  async runs(ref: WorkspaceRef, name: string, q: { status?: string; top?: string } = {}) {
    const rec = await this.require(ref, name);
    const doc = rec.spec as AutomationDoc;
    const status = q.status === undefined ? undefined : runStatus(q.status);
    const top = q.top === undefined ? 100 : Number(q.top);
    if (!Number.isInteger(top) || top < 1 || top > 1000)
      throw invalid('top', 'must be an integer from 1 to 1000');
    const state = (await this.store.getResource(stateKey(rec.key)))?.spec as AutomationState | undefined;
    const queued = (state?.queue ?? []).map((qr) => ({ at: qr.queuedAt, out: renderQueuedRun(doc.id, qr) }));
    const records = await this.store.listResources({ kind: RUN_KIND, parentKey: rec.key });
    const recorded = records.map((r) => {
      const run = r.spec as RunDoc;
      return { at: Date.parse(run.queuedAt), out: renderRun(doc.id, run) };
    });
    const written = new Set(records.map((r) => (r.spec as RunDoc).runId));
    const claimed = (state?.running ?? [])
      .filter((r) => !written.has(r.runId))
      .map((r) => ({ at: r.queuedAt, out: renderClaimedRun(doc.id, r) }));
    return [...queued, ...claimed, ...recorded]
      .filter((r) => status === undefined || (r.out.properties as { status: string }).status === status)
      .sort((a, b) => b.at - a.at)
      .slice(0, top)
      .map((r) => r.out);
  }

  /** One run: its record with the full trigger events (a waiting run: what storm control holds). */
  async run(ref: WorkspaceRef, name: string, runId: string) {
    const rec = await this.require(ref, name);
    const doc = rec.spec as AutomationDoc;
    const run = await this.store.getResource(runKey(rec.key, runId));
    if (run) {
      const out = renderRun(doc.id, run.spec as RunDoc);
      const ids = (run.spec as RunDoc).eventIds.slice(-SHOWN_EVENTS);
      const marks = await Promise.all(ids.map((id) => this.store.getResource(eventKey(rec.key, id))));
      (out.properties as Record<string, unknown>).triggerEvents = marks.flatMap((m) =>
        m ? [(m.spec as EventMark).envelope] : [],
      );
      return out;
    }
    const state = (await this.store.getResource(stateKey(rec.key)))?.spec as AutomationState | undefined;
    const same = (x: { runId: string }) => x.runId.toLowerCase() === runId.toLowerCase();
    const q = state?.queue.find(same);
    if (q) return renderQueuedRun(doc.id, q);
    const claimed = state?.running.find(same);
    if (claimed) return renderClaimedRun(doc.id, claimed);
    throw notFound('automation run', `${doc.id}/runs/${runId}`);
  }

  /** Cancels a waiting or running run (docs/automations.md#cancelling-a-run); 409 once it has ended. */
  async cancelRun(ref: WorkspaceRef, name: string, runId: string) {
    const rec = await this.require(ref, name);
    const doc = rec.spec as AutomationDoc;
    const run = await this.engine.cancel(rec, runId, `canceled at ${this.now().toISOString()}`);
    return renderRun(doc.id, run);
  }

  /** A manual trigger: one Event Grid event goes through the same path as a delivered one (condition, storm control). */
  async trigger(ref: WorkspaceRef, name: string, body: unknown) {
    const rec = await this.require(ref, name);
    const doc = rec.spec as AutomationDoc;
    const t = parseManualEvent(body, { id: randomUUID(), topic: wsId(doc), now: this.now() });
    const [o] = await this.engine.accept(rec.key, [t], 'manual');
    return { ...o!, ...(o!.runId ? { runUrl: `${doc.id}/runs/${o!.runId}` } : {}) };
  }

  /**
   * At start: every enabled automation has its trigger subscription (a crash between the two writes, or a
   * subscription deleted by hand), and no `Automation` subscription points at an automation that is gone.
   */
  async reconcile(): Promise<void> {
    for (const rec of await this.store.listResources({ kind: AUTOMATION_KIND })) {
      const doc = rec.spec as AutomationDoc;
      const at = this.now().toISOString();
      const state = {
        key: stateKey(rec.key),
        kind: STATE_KIND,
        parentKey: rec.key,
        name: 'state',
        spec: emptyState(),
      };
      await createOnce(this.store, { ...state, createdAt: at, updatedAt: at }, this.now().getTime());
      if (!doc.subscription) continue;
      const sub = await this.store.getEventSubscription(
        eventSubscriptionId(doc.subscription.scope, doc.subscription.name).toLowerCase(),
      );
      if (!sub || !pointsAt(sub.spec as EventSubscriptionSpec, doc.id)) {
        await this.syncSubscription(undefined, doc, await this.checkSource(doc.subscription.scope)).catch(
          () => {},
        );
      }
    }
    for (const sub of await this.store.listEventSubscriptions()) {
      const dest = (sub.spec as EventSubscriptionSpec).destination;
      if (dest?.endpointType !== 'Automation' || !dest.properties.resourceId) continue;
      const target = await this.store.getResource(dest.properties.resourceId.toLowerCase());
      if (!target) await this.subscriptions.delete((sub.spec as EventSubscriptionSpec).scope, sub.name);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The source must exist when it is a workspace or a custom topic; the delivery schema follows the topic's. */
  private async checkSource(source: string): Promise<'EventGridSchema' | 'CloudEventSchemaV1_0'> {
    if (isWorkspaceId(source)) {
      if (!(await this.store.getWorkspace(source.toLowerCase()))) {
        throw invalid('properties.trigger.source', `the workspace '${source}' does not exist`);
      }
    } else if (TOPIC_RE.test(source)) {
      const topic = await this.store.getTopic(source.toLowerCase());
      if (!topic) throw invalid('properties.trigger.source', `the topic '${source}' does not exist`);
      const input = (topic.spec as TopicSpec).inputSchema;
      if (input === 'CloudEventSchemaV1_0') return 'CloudEventSchemaV1_0';
    }
    return 'EventGridSchema';
  }

  /** Someone else's event subscription of that name on the source is not overwritten. */
  private async checkSubscriptionName(source: string, subName: string, id: string): Promise<void> {
    const existing = await this.store.getEventSubscription(
      eventSubscriptionId(source, subName).toLowerCase(),
    );
    if (existing && !pointsAt(existing.spec as EventSubscriptionSpec, id)) {
      throw new MlgridError(
        'Conflict',
        `The source already has an event subscription '${subName}' that is not this automation's; rename one of them.`,
        'properties.trigger.source',
      );
    }
  }

  private async syncSubscription(
    cur: AutomationDoc | undefined,
    doc: AutomationDoc,
    schema: 'EventGridSchema' | 'CloudEventSchemaV1_0',
  ): Promise<void> {
    const old = cur?.subscription;
    const next = doc.subscription;
    if (old && (!next || old.scope.toLowerCase() !== next.scope.toLowerCase() || old.name !== next.name)) {
      await this.subscriptions.delete(old.scope, old.name);
    }
    if (!next) return;
    const destination: EventSubscriptionDestination = {
      endpointType: 'Automation',
      properties: { resourceId: doc.id },
    };
    await this.subscriptions.put(next.scope, next.name, {
      properties: {
        destination,
        filter: doc.definition.trigger.filter,
        eventDeliverySchema: schema,
        labels: ['mlgrid-automation'],
      },
    });
  }

  private async require(ref: WorkspaceRef, name: string): Promise<ResourceRecord> {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.store.getResource(automationKey(ws.key, name));
    if (!rec || rec.kind !== AUTOMATION_KIND) throw notFound('automation', `${ws.id}/automations/${name}`);
    return rec;
  }

  private async render(rec: ResourceRecord) {
    const doc = rec.spec as AutomationDoc;
    const state = (await this.store.getResource(stateKey(rec.key)))?.spec as AutomationState | undefined;
    return {
      id: doc.id,
      name: rec.name,
      type: TYPE,
      systemData: { createdAt: rec.createdAt, lastModifiedAt: rec.updatedAt },
      properties: {
        ...renderDefinition(doc.definition, this.kinds),
        provisioningState: 'Succeeded',
        ...(doc.subscription
          ? { eventSubscriptionId: eventSubscriptionId(doc.subscription.scope, doc.subscription.name) }
          : {}),
        runsQueued: state?.queue.length ?? 0,
        runsInProgress: state?.running.length ?? 0,
      },
    };
  }
}

function wsRef(ws: WorkspaceRecord): WorkspaceRef {
  return { subscriptionId: ws.subscriptionId, resourceGroup: ws.resourceGroup, workspace: ws.name };
}

function wsId(doc: AutomationDoc): string {
  return doc.id.slice(0, doc.id.toLowerCase().lastIndexOf('/automations/'));
}

function pointsAt(spec: EventSubscriptionSpec, automationId: string): boolean {
  const d = spec.destination;
  return (
    d?.endpointType === 'Automation' && d.properties.resourceId?.toLowerCase() === automationId.toLowerCase()
  );
}

function runStatus(v: string): RunStatus {
  const hit = RUN_STATUSES.find((s) => s.toLowerCase() === v.toLowerCase());
  if (!hit) throw invalid('status', `must be one of ${RUN_STATUSES.join(', ')}`);
  return hit;
}
