/**
 * Lineage (docs/lineage.md): an index document per chain (resource kind `lineage`, below its workspace, keyed by
 * a hash of the correlation id) listing the objects that joined it and the events it raised, and the lineage API
 * over it: a chain by correlation id, or the chain of an object. Objects are recorded before they are written and
 * confirmed against the object itself on read; events after their commit, from the publisher.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { TriggerEvent } from '../core/automation-step.js';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import {
  causalOrder,
  CHAIN_ROOT_TYPES,
  dataLineage,
  lineageEvent,
  lineageOf,
  mergeLineage,
  type Lineage,
  type LineageDoc,
  type LineageEvent,
  type LineageMember,
  type MemberKind,
} from '../core/lineage.js';
import { isWorkspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { EventToStore, Store, WorkspaceRecord } from '../store/types.js';
import { requireWorkspace } from './require-workspace.js';

export const LINEAGE_KIND = 'lineage';
/** Compare-and-set retries before an index append gives up (logged; the chain then lacks that entry). */
const ATTEMPTS = 8;

export interface ChainEvent extends LineageEvent {
  /** Position in the chain's causal order, shared with `objects`. */
  order: number;
}

export interface ChainObject {
  order: number;
  kind: MemberKind;
  id: string;
  causationId: string;
  /** When it joined the chain. */
  time: string;
  name?: string;
  status?: string;
  version?: string;
  endpoint?: string;
}

export interface Chain {
  correlationId: string;
  events: ChainEvent[];
  objects: ChainObject[];
  truncated?: boolean;
}

const JOB_RE = /^\/jobs\/([^/]+)$/i;
const MODEL_RE = /^\/models\/([^/]+)\/versions\/([^/]+)$/i;
const DEPLOYMENT_RE = /^\/onlineEndpoints\/([^/]+)\/deployments\/([^/]+)$/i;
const MODEL_TAIL = /\/models\/([^/]+)\/versions\/[^/]+$/i;
const DEPLOYMENT_TAIL = /\/onlineEndpoints\/([^/]+)\/deployments\/[^/]+$/i;

export class LineageService {
  /** Index appends not finished yet: a read on this node waits for them (read-your-writes). */
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Before an object with lineage is written: the index names it; a read checks that it exists and still belongs. */
  async joined(ws: WorkspaceRecord, m: { kind: MemberKind; id: string; lineage: Lineage }): Promise<void> {
    const member: LineageMember = {
      kind: m.kind,
      id: m.id,
      causationId: m.lineage.causationId,
      time: this.now().toISOString(),
    };
    await this.append(ws.key, m.lineage.correlationId, { members: [member] });
  }

  /**
   * For the automation engine: a run that joined a chain, with the event that triggered it (which gives the chain
   * its root's type, subject and time when nothing else recorded that event).
   */
  async recordRun(
    wsKey: string,
    run: { id: string; lineage: Lineage; trigger?: TriggerEvent },
  ): Promise<void> {
    const members: LineageMember[] = [
      {
        kind: 'automationRun',
        id: run.id,
        causationId: run.lineage.causationId,
        time: this.now().toISOString(),
      },
    ];
    const t = run.trigger;
    const events = t ? [lineageEvent({ ...t }, dataLineage(t.data))] : [];
    await this.track(this.append(wsKey.toLowerCase(), run.lineage.correlationId, { members, events }));
  }

  /**
   * The publisher's observer, after every resource-change commit: events that carry lineage join their chain; a
   * chain root (DatasetDriftDetected) starts its own, under its id. Other events cost a substring test.
   */
  committed(sourceKey: string, rows: readonly EventToStore[]): void {
    const byChain = new Map<string, LineageEvent[]>();
    for (const row of rows) {
      const root = CHAIN_ROOT_TYPES.includes(row.eventType);
      if (!root && !row.body.includes('"correlationId"')) continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(row.body) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof event.topic !== 'string' || !isWorkspaceId(event.topic)) continue;
      const lineage = root ? undefined : dataLineage(event.data);
      if (!root && !lineage) continue;
      const chain = lineage ? lineage.correlationId : String(event.id);
      byChain.set(chain, [...(byChain.get(chain) ?? []), lineageEvent(event, lineage)]);
    }
    for (const [chain, events] of byChain) void this.track(this.append(sourceKey, chain, { events }));
  }

  /** Resolves once this node's pending index appends are done. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** GET `…/lineage/{correlationId}`: the chain's events and objects in causal order; 404 when nothing is known. */
  async chain(ref: WorkspaceRef, correlationId: string): Promise<Chain> {
    await this.settled();
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.store.getResource(indexKey(ws.key, correlationId));
    const doc = rec?.spec as LineageDoc | undefined;
    const objects: Omit<ChainObject, 'order'>[] = [];
    for (const m of doc?.members ?? []) {
      const o = await this.confirm(ws, m, correlationId);
      if (o) objects.push(o);
    }
    if (!doc || (objects.length === 0 && doc.events.length === 0)) notFoundChain(correlationId);
    type Node = {
      id: string;
      time: string;
      causationId?: string;
      source?: string;
      i: number;
      event: boolean;
    };
    const nodes: Node[] = [
      ...doc!.events.map((e, i) => ({ ...e, i, event: true })),
      ...objects.map((o, i) => ({ id: o.id, time: o.time, causationId: o.causationId, i, event: false })),
    ];
    const out: Chain = { correlationId, events: [], objects: [] };
    causalOrder(nodes).forEach((n, k) => {
      if (n.event) out.events.push({ order: k + 1, ...doc!.events[n.i]! });
      else out.objects.push({ order: k + 1, ...objects[n.i]! });
    });
    if (doc!.truncated) out.truncated = true;
    return out;
  }

  /** GET `…/lineage?resourceId=`: the chain of a job, model version or deployment of this workspace. */
  async chainOf(ref: WorkspaceRef, resourceId: string): Promise<Chain> {
    await this.settled();
    const ws = await requireWorkspace(this.store, ref);
    const id = resourceId.replace(/\/+$/, '');
    const rest = id.toLowerCase().startsWith(`${ws.key}/`) ? id.slice(ws.key.length) : '';
    const kind: MemberKind | undefined = JOB_RE.test(rest)
      ? 'job'
      : MODEL_RE.test(rest)
        ? 'modelVersion'
        : DEPLOYMENT_RE.test(rest)
          ? 'deployment'
          : undefined;
    if (!kind) {
      throw invalid('resourceId', `must be a job, model version or online deployment id of ${ws.id}`);
    }
    const cur = await this.load(kind, id);
    if (!cur) throw notFound(kind === 'modelVersion' ? 'model version' : kind, id);
    const lineage = lineageOf(cur.properties);
    if (!lineage) {
      throw new MlgridError(
        'ResourceNotFound',
        `'${id}' has no lineage: it was not made within a chain (properties.properties has no mlgrid.correlationId).`,
      );
    }
    return this.chain(ref, lineage.correlationId);
  }

  // ---------------------------------------------------------------- helpers

  /** A member as it is now: undefined when it does not exist (never written, or deleted) or left the chain. */
  private async confirm(
    ws: WorkspaceRecord,
    m: LineageMember,
    correlationId: string,
  ): Promise<Omit<ChainObject, 'order'> | undefined> {
    const base = { kind: m.kind, id: m.id, causationId: m.causationId, time: m.time };
    if (m.kind === 'automationRun') return base; // kept by the automation engine; shown as recorded
    if (!m.id.toLowerCase().startsWith(`${ws.key}/`)) return undefined;
    const cur = await this.load(m.kind, m.id);
    if (!cur || lineageOf(cur.properties)?.correlationId !== correlationId) return undefined;
    return { ...base, ...cur.view };
  }

  private async load(
    kind: MemberKind,
    id: string,
  ): Promise<{ properties: Record<string, string>; view: Partial<ChainObject> } | undefined> {
    const key = id.toLowerCase();
    if (kind === 'job') {
      const j = await this.store.getJob(key);
      if (!j) return undefined;
      const props = (j.spec as { properties: Record<string, string> }).properties;
      return { properties: props, view: { name: j.name, status: j.status } };
    }
    if (kind === 'modelVersion') {
      const v = await this.store.getModelVersion(key);
      const m = MODEL_TAIL.exec(id);
      if (!v || !m) return undefined;
      const props = (v.spec as { properties: Record<string, string> }).properties;
      return { properties: props, view: { name: m[1]!, version: v.version } };
    }
    const r = await this.store.getResource(key);
    const m = DEPLOYMENT_TAIL.exec(id);
    if (!r || r.kind !== 'onlineDeployment' || !m) return undefined;
    const doc = r.spec as { spec: { properties: Record<string, string> }; runtime: { state: string } };
    return {
      properties: doc.spec.properties,
      view: { name: r.name, endpoint: m[1]!, status: doc.runtime.state },
    };
  }

  /** Compare-and-set append to the chain's document. */
  private async append(
    wsKey: string,
    correlationId: string,
    add: { members?: LineageMember[]; events?: LineageEvent[] },
  ): Promise<void> {
    const key = indexKey(wsKey, correlationId);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const cur = await this.store.getResource(key);
      const next = mergeLineage(cur?.spec as LineageDoc | undefined, correlationId, add);
      if (!next) return;
      const now = this.now();
      const at = now.toISOString();
      const r = await this.store.putResource(
        {
          key,
          kind: LINEAGE_KIND,
          parentKey: wsKey,
          name: correlationId,
          spec: next,
          createdAt: cur?.createdAt ?? at,
          updatedAt: at,
        },
        now.getTime(),
        { ifSequencer: cur?.sequencer ?? 0 },
      );
      if (r.updated) return;
    }
    throw new Error(`lineage index ${correlationId}: kept changing`);
  }

  private track(p: Promise<void>): Promise<void> {
    const t = p.catch((err: Error) => this.log.warn({ err: err.message }, 'lineage index append failed'));
    this.inflight.add(t);
    void t.finally(() => this.inflight.delete(t));
    return t;
  }
}

/** Correlation ids are free-form (event ids): hashed into the key, compared exactly. */
export function indexKey(wsKey: string, correlationId: string): string {
  return `${wsKey}/lineage/${createHash('sha256').update(correlationId, 'utf8').digest('hex').slice(0, 40)}`;
}

function notFoundChain(correlationId: string): never {
  throw new MlgridError(
    'ResourceNotFound',
    `No chain with correlation id '${correlationId}' is known in this workspace.`,
  );
}
