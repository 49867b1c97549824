/**
 * Command jobs of a workspace (`…/workspaces/{ws}/jobs/{name}`, api-version 2022-10-01): PUT validation, the
 * `JobBase` JSON `@azure/arm-machinelearning` deserializes, and the status state machine. Pure.
 */
import { isAbsolute } from 'node:path';
import { envMap, stringMap } from './arm-fields.js';
import { fileURLToPath } from 'node:url';
import { invalid, MlgridError } from './errors.js';
import { isObject, object, oneOf, optBoolean, optString, string, type Json } from './validate.js';

/** The statuses a local Command job goes through (a subset of the API's `JobStatus`). */
export const JOB_STATUSES = [
  'NotStarted',
  'Queued',
  'Starting',
  'Running',
  'Finalizing',
  'CancelRequested',
  'Completed',
  'Failed',
  'Canceled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses in which a process may exist: a job found in one at start-up belongs to a dead runner. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['Starting', 'Running', 'Finalizing', 'CancelRequested'];
/** Waiting for a runner. */
export const WAITING_STATUSES: readonly JobStatus[] = ['NotStarted', 'Queued'];

/**
 * Legal moves. Success goes through Finalizing (output collection, as Azure); a failure goes straight to
 * Failed; a cancel always passes CancelRequested, which only ends in Canceled (or Failed when it cannot be
 * carried out, e.g. the runner died).
 */
const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  NotStarted: ['Queued', 'CancelRequested', 'Failed'],
  Queued: ['Starting', 'CancelRequested', 'Failed'],
  Starting: ['Running', 'CancelRequested', 'Failed'],
  Running: ['Finalizing', 'CancelRequested', 'Failed'],
  Finalizing: ['Completed', 'CancelRequested', 'Failed'],
  CancelRequested: ['Canceled', 'Failed'],
  Completed: [],
  Failed: [],
  Canceled: [],
};

export function isTerminal(s: string): boolean {
  return s === 'Completed' || s === 'Failed' || s === 'Canceled';
}

export function canTransition(from: string, to: string): boolean {
  return (NEXT[from as JobStatus] ?? []).includes(to as JobStatus);
}

/** `to` if the move is legal; a 409 otherwise (e.g. a finished job cannot start again). */
export function transition(from: string, to: JobStatus): JobStatus {
  if (!canTransition(from, to)) {
    throw new MlgridError('Conflict', `A job in status ${from} cannot change to ${to}.`);
  }
  return to;
}

/** The statuses `to` may be reached from: the store's compare-and-set guard for a change to `to`. */
export function predecessors(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((s) => NEXT[s].includes(to));
}

export const JOB_TYPES = ['Command', 'AutoML', 'Sweep', 'Pipeline'] as const;
/** `KnownJobInputType` / `KnownJobOutputType`. */
export const INPUT_TYPES = [
  'uri_folder',
  'uri_file',
  'mltable',
  'custom_model',
  'mlflow_model',
  'triton_model',
  'literal',
] as const;
export const OUTPUT_TYPES = INPUT_TYPES.filter((t) => t !== 'literal');

/** The REST spec's pattern for a job's `{id}` (the SDK's `id1` URL parameter). */
const JOB_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$/;
/** Input/output names become environment variable names (`AZURE_ML_INPUT_<name>`). */
const BINDING_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
/** `${{inputs.x}}` / `${{outputs.x}}` in a command, as Azure substitutes them. */
export const PLACEHOLDER_RE = /\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}/g;
const CODE_ASSET_RE = /^(azureml:|\/subscriptions\/[^/]+\/resourceGroups\/)/i;

export interface JobBinding {
  type: string;
  /** As given (`file://…`, an absolute path, `azureml://…`, `https://…`); for outputs defaulted by the service. */
  uri?: string;
  /** Literal inputs only. */
  value?: string;
  mode?: string;
  description?: string;
}

export interface JobSpec {
  jobType: 'Command';
  command: string;
  /** Stored as given: mlgrid runs the command on the host, not in the environment's image. */
  environmentId: string;
  environmentVariables: Record<string, string>;
  /** As given, and `codePath`, the absolute local folder it names (the job's working directory). */
  codeId?: string;
  codePath?: string;
  experimentName: string;
  displayName?: string;
  description?: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  inputs: Record<string, JobBinding>;
  outputs: Record<string, JobBinding>;
  /** Stored and echoed; mlgrid has one local compute. */
  computeId?: string;
  isArchived: boolean;
}

/** What a PUT on an existing job may change (Azure: tags, description, display name, archiving). */
const UPDATABLE = ['tags', 'description', 'displayName', 'isArchived'] as const;

export function validateJobName(name: string): string {
  if (typeof name !== 'string' || !JOB_NAME_RE.test(name)) {
    throw invalid(
      'name',
      'must be 1-255 letters, digits, hyphens or underscores, starting with a letter or digit',
      'InvalidResourceName',
    );
  }
  return name;
}

/** PUT (`JobBase` with `CommandJob` properties). Outputs without a URI are left for the service to place. */
export function parseJobPut(body: unknown, ctx: { name: string }): JobSpec {
  validateJobName(ctx.name);
  const b = object(body, 'body');
  if (b.properties === undefined || b.properties === null) throw invalid('properties', 'is required');
  const p = object(b.properties, 'properties');
  if (p.jobType === undefined || p.jobType === null) throw invalid('properties.jobType', 'is required');
  const jobType = string(p.jobType, 'properties.jobType');
  if (jobType.toLowerCase() !== 'command') {
    const known = JOB_TYPES.find((t) => t.toLowerCase() === jobType.toLowerCase());
    throw invalid(
      'properties.jobType',
      known
        ? `${known} jobs are not supported yet; mlgrid runs Command jobs`
        : `must be one of ${JOB_TYPES.join(', ')} (mlgrid runs Command jobs)`,
    );
  }
  const spec: JobSpec = {
    jobType: 'Command',
    command: required(p.command, 'properties.command'),
    environmentId: required(p.environmentId, 'properties.environmentId'),
    environmentVariables: envMap(p.environmentVariables, 'properties.environmentVariables'),
    experimentName: optString(p.experimentName, 'properties.experimentName', { max: 255 }) || 'Default',
    tags: stringMap(p.tags, 'properties.tags'),
    properties: stringMap(p.properties, 'properties.properties'),
    inputs: bindings(p.inputs, 'properties.inputs', 'input'),
    outputs: bindings(p.outputs, 'properties.outputs', 'output'),
    isArchived: optBoolean(p.isArchived, 'properties.isArchived') ?? false,
  };
  const codeId = optString(p.codeId, 'properties.codeId');
  if (codeId !== undefined && codeId !== '') {
    spec.codeId = codeId;
    spec.codePath = codePath(codeId, 'properties.codeId');
  }
  for (const key of ['displayName', 'description', 'computeId'] as const) {
    const v = optString(p[key], `properties.${key}`);
    if (v !== undefined) spec[key] = v;
  }
  for (const m of spec.command.matchAll(PLACEHOLDER_RE)) {
    const [, kind, name] = m as unknown as [string, 'inputs' | 'outputs', string];
    if (!Object.hasOwn(spec[kind], name)) {
      throw invalid('properties.command', `refers to ${kind}.${name}, which the job does not define`);
    }
  }
  return spec;
}

/** A PUT on an existing job: only tags, description, display name and archiving change, as in Azure. */
export function applyJobUpdate(current: JobSpec, next: JobSpec): JobSpec {
  const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
  const rest = (s: JobSpec) => {
    const copy: Record<string, unknown> = { ...s };
    for (const k of UPDATABLE) delete copy[k];
    return copy;
  };
  const [a, b] = [rest(current), rest(next)];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (key === 'codePath' || same(a[key], b[key])) continue;
    throw invalid(
      `properties.${key}`,
      `cannot be changed on an existing job (only ${UPDATABLE.join(', ')}); create a new job`,
    );
  }
  const out: JobSpec = { ...current, tags: { ...next.tags }, isArchived: next.isArchived };
  for (const k of ['description', 'displayName'] as const) {
    if (next[k] === undefined) delete out[k];
    else out[k] = next[k];
  }
  return out;
}

export interface JobStatusEntry {
  status: string;
  time: string;
}

export interface JobMeta {
  /** The workspace's ARM resource id. */
  workspaceId: string;
  name: string;
  status: string;
  statusHistory: readonly JobStatusEntry[];
  experimentId: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  exitCode?: number;
  failureReason?: string;
  /** Absolute URL of the job's log (mlgrid's `…/jobs/{name}/logs`), shown as the `Logs` service. */
  logsUrl?: string;
}

export interface JobOut {
  id: string;
  name: string;
  type: 'Microsoft.MachineLearningServices/workspaces/jobs';
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Json;
}

/**
 * `JobBase`. Azure's fields first; mlgrid's run details (times, exit code, failure reason, status history,
 * experiment id) under `properties.mlgridRun`, which the SDK's mappers drop and REST clients can read.
 */
export function renderJob(spec: JobSpec, meta: JobMeta): JobOut {
  const properties: Json = {
    jobType: spec.jobType,
    command: spec.command,
    environmentId: spec.environmentId,
    environmentVariables: { ...spec.environmentVariables },
    experimentName: spec.experimentName,
    tags: { ...spec.tags },
    properties: { ...spec.properties },
    inputs: renderBindings(spec.inputs, 'jobInputType'),
    outputs: renderBindings(spec.outputs, 'jobOutputType'),
    isArchived: spec.isArchived,
    status: meta.status,
  };
  for (const key of ['codeId', 'displayName', 'description', 'computeId'] as const) {
    if (spec[key] !== undefined) properties[key] = spec[key];
  }
  if (meta.logsUrl !== undefined) {
    properties.services = { Logs: { jobServiceType: 'Logs', endpoint: meta.logsUrl } };
  }
  const run: Json = {
    experimentId: meta.experimentId,
    statusHistory: meta.statusHistory.map((e) => ({ ...e })),
  };
  for (const key of ['startedAt', 'endedAt', 'exitCode', 'failureReason'] as const) {
    if (meta[key] !== undefined) run[key] = meta[key];
  }
  properties.mlgridRun = run;
  return {
    id: `${meta.workspaceId}/jobs/${meta.name}`,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces/jobs',
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

/** A binding's local value: a `file://` URI as its path, a literal's value, any other URI unchanged. */
export function bindingValue(b: JobBinding): string | undefined {
  if (b.type === 'literal') return b.value;
  if (b.uri === undefined) return undefined;
  return /^file:/i.test(b.uri) ? fileURLToPath(b.uri) : b.uri;
}

// ---------------------------------------------------------------- helpers

function required(v: unknown, path: string): string {
  if (v === undefined || v === null) throw invalid(path, 'is required');
  const s = string(v, path);
  if (s.trim() === '') throw invalid(path, 'must not be empty');
  return s;
}

/** `codeId`: a local folder, absolute, as a path or a `file://` URL. Azure's code assets are not served. */
export function codePath(codeId: string, path: string): string {
  if (CODE_ASSET_RE.test(codeId)) {
    throw invalid(path, 'code assets are not supported yet; give an absolute local folder or file:// URL');
  }
  if (/^file:/i.test(codeId)) {
    try {
      return fileURLToPath(codeId);
    } catch {
      throw invalid(path, 'must be a file:// URL of an absolute path');
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(codeId)) {
    throw invalid(path, 'must be an absolute local folder or a file:// URL');
  }
  if (!isAbsolute(codeId)) throw invalid(path, 'must be an absolute path');
  return codeId;
}

function bindings(raw: unknown, path: string, kind: 'input' | 'output'): Record<string, JobBinding> {
  if (raw === undefined || raw === null) return {};
  const out: [string, JobBinding][] = [];
  for (const [name, v] of Object.entries(object(raw, path))) {
    const bp = `${path}.${name}`;
    if (!BINDING_NAME_RE.test(name)) {
      throw invalid(bp, `${kind} names are letters, digits and underscores, not starting with a digit`);
    }
    if (v === null) continue;
    const o = object(v, bp);
    const typeKey = kind === 'input' ? 'jobInputType' : 'jobOutputType';
    // azure-ai-ml's default type; REST clients may leave it out.
    const type = isAbsent(o[typeKey])
      ? 'uri_folder'
      : oneOf(o[typeKey], `${bp}.${typeKey}`, kind === 'input' ? INPUT_TYPES : OUTPUT_TYPES);
    const b: JobBinding = { type };
    if (type === 'literal') {
      if (isAbsent(o.value)) throw invalid(`${bp}.value`, 'is required for a literal input');
      b.value = string(o.value, `${bp}.value`);
    } else {
      // `uri` is the REST name; `path` is what the az ml YAML calls it.
      const uri = optString(o.uri ?? o.path, `${bp}.uri`);
      if (uri !== undefined && uri !== '') b.uri = bindingUri(uri, `${bp}.uri`);
      else if (kind === 'input') throw invalid(`${bp}.uri`, 'is required');
    }
    for (const key of ['mode', 'description'] as const) {
      const s = optString(o[key], `${bp}.${key}`);
      if (s !== undefined) b[key] = s;
    }
    out.push([name, b]);
  }
  return Object.fromEntries(out);
}

/** Local data must be absolute (`file://` or a path); other URIs are passed to the process as given. */
function bindingUri(uri: string, path: string): string {
  if (/^file:/i.test(uri)) {
    try {
      fileURLToPath(uri);
    } catch {
      throw invalid(path, 'must be a file:// URL of an absolute path');
    }
    return uri;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) return uri;
  if (!isAbsolute(uri)) throw invalid(path, 'a local path must be absolute');
  return uri;
}

function renderBindings(bs: Record<string, JobBinding>, typeKey: string): Json {
  const out: [string, Json][] = [];
  for (const [name, b] of Object.entries(bs)) {
    const o: Json = { [typeKey]: b.type };
    for (const key of ['uri', 'value', 'mode', 'description'] as const) {
      if (b[key] !== undefined) o[key] = b[key];
    }
    out.push([name, o]);
  }
  return Object.fromEntries(out);
}

function isAbsent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** Key-order-independent form for comparing stored and restated values. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => v[k] !== undefined)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  }
  return v;
}
