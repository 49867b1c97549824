/**
 * What running a Command job needs, pure: the experiment id, the command with `${{inputs.x}}` substituted, the
 * process environment, and the Run events a status change raises.
 */
import { createHash } from 'node:crypto';
import type { EventGridEvent } from '@mlgrid/protocol';
import { bindingValue, PLACEHOLDER_RE, type JobSpec } from './job.js';
import { lineageOf } from './lineage.js';
import { runCompleted, runStatusChanged } from './ml-events.js';
import { raisesRunStatusChanged, type WorkspaceSpec } from './workspace.js';

/** Namespace of mlgrid's name-based (v5) experiment ids; never change it, ids would change with it. */
const EXPERIMENT_NAMESPACE = '96e06d1e-5d55-47af-ad93-fc80cbf243a3';

/** `runType` of a Command job in Run events (Azure sends a type per run kind, `null` for some). */
export const COMMAND_RUN_TYPE = 'command';

/**
 * Azure gives each experiment a GUID. mlgrid keeps no experiment table: the id is a UUID v5 of the
 * workspace's lower-cased resource id and the experiment's name, so it is stable across restarts, nodes and
 * stores, and equal for every job of one experiment in one workspace.
 */
export function experimentId(workspaceId: string, experimentName: string): string {
  const ns = Buffer.from(EXPERIMENT_NAMESPACE.replace(/-/g, ''), 'hex');
  const name = Buffer.from(`${workspaceId.toLowerCase()}/experiments/${experimentName}`, 'utf8');
  const h = createHash('sha1').update(ns).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Each input's and output's local value (paths for `file://` URIs, the value of literals). */
export function bindingValues(spec: JobSpec): {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
} {
  const pick = (bs: JobSpec['inputs']) => {
    const out: [string, string][] = [];
    for (const [k, b] of Object.entries(bs)) {
      const v = bindingValue(b);
      if (v !== undefined) out.push([k, v]);
    }
    return Object.fromEntries(out);
  };
  return { inputs: pick(spec.inputs), outputs: pick(spec.outputs) };
}

/** Azure substitutes `${{inputs.x}}` / `${{outputs.x}}` in the command text as is (no shell quoting). */
export function resolveCommand(spec: JobSpec): string {
  const v = bindingValues(spec);
  return spec.command.replace(PLACEHOLDER_RE, (m, kind: 'inputs' | 'outputs', name: string) =>
    Object.hasOwn(v[kind], name) ? v[kind][name]! : m,
  );
}

export interface RunContext {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  jobName: string;
  experimentId: string;
}

/**
 * The job's variables, laid over `base` (the server's environment without its secrets, see `inheritedEnv`):
 * Azure's run variables, `AZURE_ML_INPUT_<name>` / `AZURE_ML_OUTPUT_<name>` as Azure sets them for command
 * jobs, then the job's own `environmentVariables`, which win.
 */
export function jobEnvironment(
  spec: JobSpec,
  ctx: RunContext,
  base: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    AZUREML_RUN_ID: ctx.jobName,
    AZUREML_ARM_SUBSCRIPTION: ctx.subscriptionId,
    AZUREML_ARM_RESOURCEGROUP: ctx.resourceGroup,
    AZUREML_ARM_WORKSPACE_NAME: ctx.workspaceName,
    AZUREML_ARM_PROJECT_NAME: spec.experimentName,
    AZUREML_EXPERIMENT_ID: ctx.experimentId,
  });
  const v = bindingValues(spec);
  for (const [k, val] of Object.entries(v.inputs)) env[`AZURE_ML_INPUT_${k}`] = val;
  for (const [k, val] of Object.entries(v.outputs)) env[`AZURE_ML_OUTPUT_${k}`] = val;
  return Object.assign(env, spec.environmentVariables);
}

/** The server's own secrets never reach a job: mlgrid's settings and the database credentials. */
export function inheritedEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('MLGRID_') || k === 'DATABASE_URL' || k === 'PGPASSWORD') continue;
    out[k] = v;
  }
  return out;
}

export interface RunEventInput {
  workspaceId: string;
  workspace: Pick<WorkspaceSpec, 'runStatusChangedStatuses'>;
  jobName: string;
  spec: JobSpec;
  /** The status the job just changed to. */
  status: string;
  sequencer: number;
  etag: string;
  now: Date;
  newId: () => string;
}

/**
 * The events of one committed status change: RunCompleted when the job completed; RunStatusChanged when the
 * new status is one of the workspace's `runStatusChangedStatuses` (Azure: Failed only). Both for Completed
 * when the setting lists it; they then share the change's sequencer.
 */
export function runEvents(a: RunEventInput): EventGridEvent[] {
  const base = {
    workspaceId: a.workspaceId,
    now: a.now,
    experimentId: experimentId(a.workspaceId, a.spec.experimentName),
    experimentName: a.spec.experimentName,
    runId: a.jobName,
    runType: COMMAND_RUN_TYPE,
    runTags: a.spec.tags,
    runProperties: a.spec.properties,
    sequencer: a.sequencer,
    etag: a.etag,
    lineage: lineageOf(a.spec.properties), // a job started by an automation (docs/lineage.md)
  };
  const out: EventGridEvent[] = [];
  if (a.status === 'Completed') out.push(runCompleted({ ...base, id: a.newId() }));
  if (raisesRunStatusChanged(a.workspace, a.status)) {
    out.push(runStatusChanged({ ...base, id: a.newId(), runStatus: a.status }));
  }
  return out;
}

/** A version tag of the job's state: changes with every status change (the sequencer) and every spec edit. */
export function jobEtag(spec: JobSpec, status: string, sequencer: number): string {
  return createHash('sha256')
    .update(JSON.stringify([spec, status, sequencer]))
    .digest('base64url')
    .slice(0, 22);
}
