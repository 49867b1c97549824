/**
 * Lineage, pure (docs/lineage.md): correlation and causation ids on resources (`properties.properties`), on events
 * (`data` fields) and in a job's process (environment), the index document that lists the members and events of
 * one chain, and the causal order the lineage API returns them in.
 */
import { LINEAGE_PROPERTIES, type Lineage } from './automation-step.js';
import { invalid } from './errors.js';
import { isObject } from './validate.js';

export { LINEAGE_PROPERTIES, type Lineage };

/** What a job's process gets when the job has lineage: the chain, and what the job's own outputs are caused by. */
export const LINEAGE_ENV = {
  correlationId: 'MLGRID_CORRELATION_ID',
  causationId: 'MLGRID_CAUSATION_ID',
} as const;

/** Event ids are free-form strings; this bounds what a property may carry into every event and index key. */
export const LINEAGE_ID_MAX = 1024;

/** Roots by design: an event of this type starts a chain (its own id is the correlation id) and carries no lineage. */
export const CHAIN_ROOT_TYPES: readonly string[] = ['Microsoft.MachineLearningServices.DatasetDriftDetected'];

/**
 * The lineage a properties dictionary carries: a non-empty correlation id, and the causation id (the root itself
 * when missing: what joins a chain without naming a cause was caused by its first event).
 */
export function lineageOf(props: Record<string, string> | undefined): Lineage | undefined {
  const c = props?.[LINEAGE_PROPERTIES.correlationId];
  if (c === undefined || c === '') return undefined;
  const cause = props![LINEAGE_PROPERTIES.causationId];
  return { correlationId: c, causationId: cause === undefined || cause === '' ? c : cause };
}

/** 400 naming the property when a lineage value is too long, has control characters, or lacks its correlation. */
export function checkLineage(props: Record<string, string>, path: string): void {
  for (const key of Object.values(LINEAGE_PROPERTIES)) {
    const v = props[key];
    // eslint-disable-next-line no-control-regex
    if (v !== undefined && (v.length > LINEAGE_ID_MAX || /[\u0000-\u001f\u007f]/.test(v))) {
      throw invalid(
        `${path}.${key}`,
        `must be at most ${LINEAGE_ID_MAX} characters without control characters`,
      );
    }
  }
  const cause = props[LINEAGE_PROPERTIES.causationId];
  const corr = props[LINEAGE_PROPERTIES.correlationId];
  if (cause !== undefined && cause !== '' && (corr === undefined || corr === '')) {
    throw invalid(
      `${path}.${LINEAGE_PROPERTIES.correlationId}`,
      `is required with ${LINEAGE_PROPERTIES.causationId}`,
    );
  }
}

/** Whether a request body's `properties.properties` names a correlation id itself (then nothing is inherited). */
export function bodyNamesLineage(body: unknown): boolean {
  const p = isObject(body) && isObject(body.properties) ? body.properties.properties : undefined;
  return isObject(p) && p[LINEAGE_PROPERTIES.correlationId] !== undefined;
}

/** `properties.jobName` of a request body, when it is a non-empty string. */
export function bodyJobName(body: unknown): string | undefined {
  const n = isObject(body) && isObject(body.properties) ? body.properties.jobName : undefined;
  return typeof n === 'string' && n !== '' ? n : undefined;
}

/**
 * The body with `lineage` added to `properties.properties` (keys already there are kept). A body of the wrong shape
 * is returned as it is, for the parser to refuse by field.
 */
export function inheritInto(body: unknown, lineage: Lineage): unknown {
  if (!isObject(body) || !isObject(body.properties)) return body;
  const props = body.properties.properties;
  if (props !== undefined && props !== null && !isObject(props)) return body;
  return {
    ...body,
    properties: {
      ...body.properties,
      properties: {
        [LINEAGE_PROPERTIES.correlationId]: lineage.correlationId,
        [LINEAGE_PROPERTIES.causationId]: lineage.causationId,
        ...(props ?? {}),
      },
    },
  };
}

/** The lineage an event carries in `data` (both ids, non-empty strings), as ML events and publishEvent put it. */
export function dataLineage(data: unknown): Lineage | undefined {
  if (!isObject(data)) return undefined;
  const { correlationId, causationId } = data;
  if (typeof correlationId !== 'string' || correlationId === '') return undefined;
  if (typeof causationId !== 'string' || causationId === '') return undefined;
  return { correlationId, causationId };
}

/** The variables a job's process gets: the chain, and the job's own ARM id as the cause of what it makes. */
export function lineageEnv(lineage: Lineage | undefined, jobId: string): Record<string, string> {
  if (!lineage) return {};
  return { [LINEAGE_ENV.correlationId]: lineage.correlationId, [LINEAGE_ENV.causationId]: jobId };
}

// ---------------------------------------------------------------- the index document

export type MemberKind = 'job' | 'modelVersion' | 'deployment' | 'automationRun';

/** An object that joined the chain (recorded before it is written, confirmed against the object on read). */
export interface LineageMember {
  kind: MemberKind;
  /** Its ARM resource id (or, for an automation run, the id its engine gives it). */
  id: string;
  causationId: string;
  /** When it joined (ISO). */
  time: string;
}

/** An event of the chain, as the index keeps it (outliving the events' retention). */
export interface LineageEvent {
  id: string;
  type: string;
  subject: string;
  time: string;
  /** Absent for the root. */
  causationId?: string;
  /** The ARM id of the object that raised it, when it is one of the workspace's. */
  source?: string;
}

export interface LineageDoc {
  correlationId: string;
  members: LineageMember[];
  events: LineageEvent[];
  /** Set once a list reached its bound and later entries were dropped. */
  truncated?: boolean;
}

/** A chain is a handful of objects; the bounds keep a runaway loop from growing one document without end. */
export const LINEAGE_LIMITS = { members: 500, events: 2000 } as const;

/**
 * The document with `add` merged in; undefined when nothing changes (a redelivered event, a member already there
 * with the same cause), so the caller skips the write. Events are immutable (first wins); a member that joins
 * again (a deployment updated within the chain) keeps its place and takes the newer cause and time.
 */
export function mergeLineage(
  doc: LineageDoc | undefined,
  correlationId: string,
  add: { members?: LineageMember[]; events?: LineageEvent[] },
): LineageDoc | undefined {
  const next: LineageDoc = doc
    ? { ...doc, members: [...doc.members], events: [...doc.events] }
    : { correlationId, members: [], events: [] };
  let changed = doc === undefined;
  for (const m of add.members ?? []) {
    const i = next.members.findIndex((x) => x.id.toLowerCase() === m.id.toLowerCase());
    if (i >= 0) {
      const cur = next.members[i]!;
      if (cur.causationId === m.causationId) continue;
      next.members[i] = { ...cur, causationId: m.causationId, time: m.time };
    } else if (next.members.length >= LINEAGE_LIMITS.members) {
      if (next.truncated) continue;
      next.truncated = true;
    } else next.members.push(m);
    changed = true;
  }
  for (const e of add.events ?? []) {
    if (next.events.some((x) => x.id === e.id)) continue;
    if (next.events.length >= LINEAGE_LIMITS.events) {
      if (next.truncated) continue;
      next.truncated = true;
    } else next.events.push(e);
    changed = true;
  }
  return changed ? next : undefined;
}

/** An ML event as the index keeps it, with the object that raised it (known types only). */
export function lineageEvent(event: Record<string, unknown>, lineage: Lineage | undefined): LineageEvent {
  const out: LineageEvent = {
    id: String(event.id),
    type: String(event.eventType),
    subject: String(event.subject),
    time: String(event.eventTime),
  };
  if (lineage) out.causationId = lineage.causationId;
  const source = eventSource(event);
  if (source !== undefined) out.source = source;
  return out;
}

/** The workspace object an ML event is about: job, model version, deployment, drift monitor (Azure's data fields). */
export function eventSource(event: Record<string, unknown>): string | undefined {
  const ws = event.topic;
  const d = event.data;
  if (typeof ws !== 'string' || !isObject(d)) return undefined;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  switch (event.eventType) {
    case 'Microsoft.MachineLearningServices.RunCompleted':
    case 'Microsoft.MachineLearningServices.RunStatusChanged': {
      const run = str(d.runId);
      return run && `${ws}/jobs/${run}`;
    }
    case 'Microsoft.MachineLearningServices.ModelRegistered': {
      const [name, version] = [str(d.modelName), str(d.modelVersion)];
      return name && version && `${ws}/models/${name}/versions/${version}`;
    }
    case 'Microsoft.MachineLearningServices.ModelDeployed':
    case 'MLGrid.MachineLearningServices.ModelDeploymentFailed': {
      const [ep, dep] = [str(d.serviceName), str(d.deploymentName)];
      return ep && dep && `${ws}/onlineEndpoints/${ep}/deployments/${dep}`;
    }
    case 'Microsoft.MachineLearningServices.DatasetDriftDetected': {
      const monitor = str(d.dataDriftName);
      return monitor && `${ws}/dataDriftDetectors/${monitor}`;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- causal order

export interface CausalNode {
  id: string;
  time: string;
  causationId?: string;
  /** For an event: the object that raised it (it comes after that object). */
  source?: string;
}

/**
 * Nodes in causal order: each after its cause and after the object that raised it; among the nodes whose causes
 * are placed, the earliest first (then input order). Ids compare case-insensitively (ARM ids); a cause outside
 * the set constrains nothing; a cycle (only from hand-written properties) is broken by time.
 */
export function causalOrder<T extends CausalNode>(nodes: readonly T[]): T[] {
  const key = (s: string) => s.toLowerCase();
  const ids = new Set(nodes.map((n) => key(n.id)));
  const parents = nodes.map((n) =>
    [n.causationId, n.source].filter(
      (p): p is string => p !== undefined && ids.has(key(p)) && key(p) !== key(n.id),
    ),
  );
  const t = nodes.map((n) => {
    const ms = Date.parse(n.time);
    return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
  });
  const placed = new Set<string>();
  const done = new Array<boolean>(nodes.length).fill(false);
  const out: T[] = [];
  while (out.length < nodes.length) {
    let pick = -1;
    let fallback = -1;
    for (let i = 0; i < nodes.length; i++) {
      if (done[i]) continue;
      if (fallback < 0 || t[i]! < t[fallback]!) fallback = i;
      if (!parents[i]!.every((p) => placed.has(key(p)))) continue;
      if (pick < 0 || t[i]! < t[pick]!) pick = i;
    }
    const i = pick >= 0 ? pick : fallback;
    done[i] = true;
    placed.add(key(nodes[i]!.id));
    out.push(nodes[i]!);
  }
  return out;
}
