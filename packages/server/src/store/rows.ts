/** Row ↔ record mapping shared by both store adapters (column names are the same in both dialects). */
import { MlgridError } from '../core/errors.js';
import type {
  AttemptView,
  ClaimedDelivery,
  DeliveryStatus,
  DeliveryView,
  EventSubscriptionRecord,
  JobRecord,
  JobStatusPatch,
  ModelContainerRecord,
  ModelVersionRecord,
  ReplayEvent,
  ResourceRecord,
  TopicRecord,
  WorkspaceRecord,
} from './types.js';

export type Row = Record<string, unknown>;

export function topicNameTaken(name: string): MlgridError {
  return new MlgridError(
    'Conflict',
    `Topic name '${name}' is already in use: a topic name names its publish endpoint and must be unique on this server.`,
    'name',
  );
}

export function toTopic(r: Row | undefined): TopicRecord | undefined {
  if (!r) return undefined;
  return {
    key: r.key as string,
    id: r.id as string,
    subscriptionId: r.subscription_id as string,
    resourceGroup: r.resource_group as string,
    name: r.name as string,
    spec: JSON.parse(r.spec as string),
    key1: r.key1 as string,
    key2: r.key2 as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function toSub(r: Row | undefined): EventSubscriptionRecord | undefined {
  if (!r) return undefined;
  return {
    key: r.key as string,
    id: r.id as string,
    scopeKey: r.scope_key as string,
    name: r.name as string,
    spec: JSON.parse(r.spec as string),
    provisioningState: r.provisioning_state as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    ...(r.validation_code ? { validationCode: r.validation_code as string } : {}),
    ...(r.validation_deadline != null ? { validationDeadline: Number(r.validation_deadline) } : {}),
  };
}

export function toDelivery(r: Row): DeliveryView {
  return {
    id: String(r.id),
    subscriptionKey: r.subscription_key as string,
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    createdAt: Number(r.created_at),
    ...optNum('lastAttemptAt', r.last_attempt_at),
    ...optNum('lastStatusCode', r.last_status_code),
    ...optNum('settledAt', r.settled_at),
    ...(r.last_outcome ? { lastOutcome: r.last_outcome as string } : {}),
    ...(r.dead_letter_reason ? { deadLetterReason: r.dead_letter_reason as string } : {}),
    event: {
      seq: String(r.event_seq),
      eventId: r.event_id as string,
      eventType: r.event_type as string,
      subject: r.subject as string,
      schema: r.schema as string,
      body: r.body as string,
      publishedAt: Number(r.published_at),
    },
  };
}

function optNum<K extends string>(k: K, v: unknown): Partial<Record<K, number>> {
  return v === null || v === undefined ? {} : ({ [k]: Number(v) } as Record<K, number>);
}

export function toAttempt(r: Row): AttemptView {
  return {
    id: String(r.id),
    subscriptionKey: r.subscription_key as string,
    startedAt: Number(r.started_at),
    durationMs: Number(r.duration_ms),
    deliveryCount: Number(r.delivery_count),
    eventIds: JSON.parse(r.event_ids as string),
    ...optNum('statusCode', r.status_code),
    outcome: r.outcome as string,
    ...(r.response_excerpt ? { responseExcerpt: r.response_excerpt as string } : {}),
  };
}

export function toClaimed(r: Row): ClaimedDelivery {
  return {
    id: String(r.id),
    subscriptionKey: r.subscription_key as string,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    event: {
      seq: String(r.event_seq),
      eventId: r.event_id as string,
      schema: r.schema as string,
      body: r.body as string,
      publishedAt: Number(r.published_at),
    },
  };
}

export function toReplayEvent(r: Row): ReplayEvent {
  return {
    seq: String(r.seq),
    eventId: r.event_id as string,
    eventType: r.event_type as string,
    subject: r.subject as string,
    schema: r.schema as string,
    body: r.body as string,
    publishedAt: Number(r.published_at),
  };
}

/** `failed` is every outcome but Succeeded; anything else is one outcome. */
export function outcomeFilter(outcome: string | undefined): { outcome: string | null; failed: number } {
  if (outcome === undefined) return { outcome: null, failed: 0 };
  return outcome.toLowerCase() === 'failed' ? { outcome: null, failed: 1 } : { outcome, failed: 0 };
}

export function toWorkspace(r: Row | undefined): WorkspaceRecord | undefined {
  if (!r) return undefined;
  return {
    key: r.key as string,
    id: r.id as string,
    subscriptionId: r.subscription_id as string,
    resourceGroup: r.resource_group as string,
    name: r.name as string,
    workspaceGuid: r.workspace_guid as string,
    spec: JSON.parse(r.spec as string),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function toModelContainer(r: Row | undefined): ModelContainerRecord | undefined {
  if (!r) return undefined;
  return {
    key: r.key as string,
    workspaceKey: r.workspace_key as string,
    name: r.name as string,
    spec: JSON.parse(r.spec as string),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function toModelVersion(r: Row | undefined): ModelVersionRecord | undefined {
  if (!r) return undefined;
  return {
    key: r.key as string,
    containerKey: r.container_key as string,
    version: r.version as string,
    spec: JSON.parse(r.spec as string),
    sequencer: Number(r.sequencer),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function toJob(r: Row | undefined): JobRecord | undefined {
  if (!r) return undefined;
  const opt = <K extends keyof JobRecord>(k: K, v: unknown, f: (x: unknown) => JobRecord[K]) =>
    v === null || v === undefined ? {} : { [k]: f(v) };
  return {
    key: r.key as string,
    workspaceKey: r.workspace_key as string,
    name: r.name as string,
    spec: JSON.parse(r.spec as string),
    status: r.status as string,
    statusHistory: JSON.parse(r.status_history as string),
    sequencer: Number(r.sequencer),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    ...opt('startedAt', r.started_at, String),
    ...opt('endedAt', r.ended_at, String),
    ...opt('exitCode', r.exit_code, Number),
    ...opt('failureReason', r.failure_reason, String),
    ...opt('runnerId', r.runner_id, String),
    ...opt('leaseUntil', r.lease_until, Number),
    ...opt('process', r.process, (x) => JSON.parse(x as string)),
  };
}

/** A job as named columns (both dialects bind these by name or in this order). */
export function jobColumns(j: JobRecord) {
  return {
    key: j.key,
    workspaceKey: j.workspaceKey,
    name: j.name,
    spec: JSON.stringify(j.spec),
    status: j.status,
    statusHistory: JSON.stringify(j.statusHistory),
    sequencer: j.sequencer,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    startedAt: j.startedAt ?? null,
    endedAt: j.endedAt ?? null,
    exitCode: j.exitCode ?? null,
    failureReason: j.failureReason ?? null,
    runnerId: j.runnerId ?? null,
    leaseUntil: j.leaseUntil ?? null,
    process: j.process ? JSON.stringify(j.process) : null,
  };
}

/** The job after `p`, or undefined when one of its guards does not hold. Both adapters apply it in a transaction. */
export function applyJobPatch(cur: JobRecord, p: JobStatusPatch): JobRecord | undefined {
  if (!p.from.includes(cur.status)) return undefined;
  if (p.leaseExpiredAt !== undefined && cur.leaseUntil !== undefined && cur.leaseUntil >= p.leaseExpiredAt) {
    return undefined;
  }
  if (p.runnerId !== undefined && cur.runnerId !== p.runnerId) return undefined;
  const next: JobRecord = {
    ...cur,
    status: p.status,
    statusHistory: [...cur.statusHistory, { status: p.status, time: p.time }],
    sequencer: cur.sequencer + 1,
    updatedAt: p.time,
  };
  if (p.setRunner === null) {
    delete next.runnerId;
    delete next.leaseUntil;
  } else if (p.setRunner) {
    next.runnerId = p.setRunner.runnerId;
    next.leaseUntil = p.setRunner.leaseUntil;
  }
  if (p.process === null) delete next.process;
  else if (p.process) next.process = { ...p.process };
  for (const k of ['startedAt', 'endedAt', 'failureReason'] as const) if (p[k] !== undefined) next[k] = p[k];
  if (p.exitCode !== undefined) next.exitCode = p.exitCode;
  return next;
}

export function toResource(r: Row | undefined): ResourceRecord | undefined {
  if (!r) return undefined;
  return {
    key: r.key as string,
    kind: r.kind as string,
    parentKey: r.parent_key as string,
    name: r.name as string,
    ...(r.lookup == null ? {} : { lookup: r.lookup as string }),
    spec: JSON.parse(r.spec as string),
    sequencer: Number(r.sequencer),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

/** The upper bound of a key's descendants: keys k with `key + '/' <= k < descendantsEnd(key)`. */
export function descendantsEnd(key: string): string {
  return `${key}0`;
}
