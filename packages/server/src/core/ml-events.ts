/**
 * The Azure Machine Learning system events (reference §2), field for field as a real workspace sends them, plus
 * mlgrid's failure events that Azure does not raise. Pure builders: the caller injects the clock and the event id.
 *
 * Envelope choices: Event Grid schema, `topic` = the workspace's ARM id, camelCase `data` (TypeSpec and every SDK;
 * the PascalCase in Microsoft's doc examples is not what the SDKs read), `dataVersion` "2" as in the SDK test
 * payloads recorded from a real workspace (the docs show "").
 */
import type { EventGridEvent } from '@mlgrid/protocol';
import type { Lineage } from './automation-step.js';

export const ML_EVENT_TYPES = [
  'Microsoft.MachineLearningServices.ModelRegistered',
  'Microsoft.MachineLearningServices.ModelDeployed',
  'Microsoft.MachineLearningServices.RunCompleted',
  'Microsoft.MachineLearningServices.RunStatusChanged',
  'Microsoft.MachineLearningServices.DatasetDriftDetected',
] as const;
export type MlEventType = (typeof ML_EVENT_TYPES)[number];

/**
 * Failures Azure stays silent about ("a failed deployment will not trigger ModelDeployed"). A failed run needs no
 * event of its own: Azure's RunStatusChanged already covers it (see the workspace's `runStatusChangedStatuses`).
 * Raised only for workspaces with `failureEvents` on; each keeps the subject of its success counterpart so one
 * subject filter catches both.
 */
export const MLGRID_FAILURE_EVENT_TYPES = [
  'MLGrid.MachineLearningServices.ModelDeploymentFailed',
  'MLGrid.MachineLearningServices.DatasetDriftDetectionFailed',
] as const;
export type MlgridFailureEventType = (typeof MLGRID_FAILURE_EVENT_TYPES)[number];

export const ML_DATA_VERSION = '2';
/** mlgrid's own payloads are versioned on their own, starting at 1. */
export const MLGRID_FAILURE_DATA_VERSION = '1';

/** Digits in a formatted sequencer: 20 holds any unsigned 64-bit counter. */
export const SEQUENCER_WIDTH = 20;

/**
 * `data.sequencer`: zero-padded so that comparing two sequencers of one object as strings (the only comparison
 * a filter or a JSON consumer has) gives their numeric order.
 */
export function formatSequencer(n: bigint | number): string {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) {
    throw new RangeError(`sequencer must be a safe integer, got ${n}`);
  }
  const b = BigInt(n);
  if (b < 0n) throw new RangeError(`sequencer must not be negative, got ${b}`);
  const s = b.toString();
  if (s.length > SEQUENCER_WIDTH) throw new RangeError(`sequencer exceeds ${SEQUENCER_WIDTH} digits`);
  return s.padStart(SEQUENCER_WIDTH, '0');
}

const WORKSPACE_ID_RE =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+$/i;

/** A workspace as its path names it. */
export interface WorkspaceRef {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
}

export function workspaceId(r: WorkspaceRef): string {
  return workspaceResourceId(r.subscriptionId, r.resourceGroup, r.workspace);
}

export function isWorkspaceId(id: string): boolean {
  return WORKSPACE_ID_RE.test(id);
}

export function workspaceResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${name}`;
}

/** What every builder takes. */
export interface MlEventBase {
  /** The workspace's ARM resource id (not its GUID): the event's `topic`. */
  workspaceId: string;
  /** From the caller's injected `newId()`. */
  id: string;
  /** From the caller's injected clock. */
  now: Date;
  /** mlgrid extension: orders the changes to one object; rendered with `formatSequencer`. */
  sequencer?: bigint | number;
  /** mlgrid extension: the object's version tag after the change, passed through. */
  etag?: string;
  /** mlgrid extension (docs/lineage.md): the source object's chain, as `data.correlationId` / `data.causationId`. */
  lineage?: Lineage | undefined;
}

type Bag = Record<string, unknown>;

export interface ModelRegisteredInput extends MlEventBase {
  modelName: string;
  /** Always a string on the wire (a doc example's number 20 is not what the SDKs declare). */
  modelVersion: string | number;
  modelTags?: Bag;
  modelProperties?: Bag;
  sequencer: bigint | number;
  etag: string;
}

export interface ModelDeployedInput extends MlEventBase {
  serviceName: string;
  /** e.g. ACI, AKS, Managed. */
  serviceComputeType: string;
  /** `name:version` ids; an array is joined with commas as Azure sends them. */
  modelIds: string | readonly string[];
  serviceTags?: Bag;
  serviceProperties?: Bag;
  /** mlgrid extension: the online deployment that went live (the subject names its endpoint). */
  deploymentName?: string;
}

export interface RunInput extends MlEventBase {
  experimentId: string;
  experimentName: string;
  runId: string;
  /** Azure sends null for some runs (doc example). */
  runType: string | null;
  runTags?: Bag;
  runProperties?: Bag;
}

export interface RunStatusChangedInput extends RunInput {
  runStatus: string;
}

export interface DriftRunInput extends MlEventBase {
  dataDriftId: string;
  dataDriftName: string;
  runId: string;
  baseDatasetId: string;
  targetDatasetId: string;
}

export interface DatasetDriftDetectedInput extends DriftRunInput {
  driftCoefficient: number;
  /** ISO date-times; null when the monitor has no window. */
  startTime: string | null;
  endTime: string | null;
}

export interface FailureInput {
  /** Short machine-readable cause, e.g. `ImageBuildFailed`. */
  errorCode: string;
  errorMessage: string;
}

export function modelRegistered(a: ModelRegisteredInput): EventGridEvent {
  const modelVersion = String(a.modelVersion);
  return envelope(
    a,
    'Microsoft.MachineLearningServices.ModelRegistered',
    `models/${a.modelName}:${modelVersion}`,
    {
      modelName: a.modelName,
      modelVersion,
      modelTags: bag(a.modelTags),
      modelProperties: bag(a.modelProperties),
    },
  );
}

export function modelDeployed(a: ModelDeployedInput): EventGridEvent {
  return envelope(
    a,
    'Microsoft.MachineLearningServices.ModelDeployed',
    `endpoints/${a.serviceName}`,
    deployData(a),
  );
}

export function runCompleted(a: RunInput): EventGridEvent {
  return envelope(a, 'Microsoft.MachineLearningServices.RunCompleted', runSubject(a), runData(a));
}

export function runStatusChanged(a: RunStatusChangedInput): EventGridEvent {
  return envelope(a, 'Microsoft.MachineLearningServices.RunStatusChanged', runSubject(a), {
    ...runData(a),
    runStatus: a.runStatus,
  });
}

export function datasetDriftDetected(a: DatasetDriftDetectedInput): EventGridEvent {
  if (!Number.isFinite(a.driftCoefficient)) throw new RangeError('driftCoefficient must be a finite number');
  return envelope(a, 'Microsoft.MachineLearningServices.DatasetDriftDetected', driftSubject(a), {
    ...driftData(a),
    driftCoefficient: a.driftCoefficient,
    startTime: a.startTime,
    endTime: a.endTime,
  });
}

/** A deployment that ended in failure: ModelDeployed's fields plus the cause. */
export function modelDeploymentFailed(a: ModelDeployedInput & FailureInput): EventGridEvent {
  return envelope(
    a,
    'MLGrid.MachineLearningServices.ModelDeploymentFailed',
    `endpoints/${a.serviceName}`,
    { ...deployData(a), errorCode: a.errorCode, errorMessage: a.errorMessage },
    MLGRID_FAILURE_DATA_VERSION,
  );
}

/** A drift monitor run that failed (so no drift verdict): the run's identity plus the cause. */
export function datasetDriftDetectionFailed(a: DriftRunInput & FailureInput): EventGridEvent {
  return envelope(
    a,
    'MLGrid.MachineLearningServices.DatasetDriftDetectionFailed',
    driftSubject(a),
    { ...driftData(a), errorCode: a.errorCode, errorMessage: a.errorMessage },
    MLGRID_FAILURE_DATA_VERSION,
  );
}

// ---------------------------------------------------------------- helpers

function envelope(
  a: MlEventBase,
  eventType: MlEventType | MlgridFailureEventType,
  subject: string,
  data: Bag,
  dataVersion: string = ML_DATA_VERSION,
): EventGridEvent {
  // A GUID or a bare name here would give subscribers a topic no Azure workspace has: a caller bug.
  if (!WORKSPACE_ID_RE.test(a.workspaceId)) {
    throw new TypeError(`workspaceId must be a workspace's ARM resource id, got '${a.workspaceId}'`);
  }
  // Extensions go last so Azure's fields read first; absent ones are left out rather than null.
  if (a.sequencer !== undefined) data.sequencer = formatSequencer(a.sequencer);
  if (a.etag !== undefined) data.etag = a.etag;
  if (a.lineage !== undefined) {
    data.correlationId = a.lineage.correlationId;
    data.causationId = a.lineage.causationId;
  }
  return {
    id: a.id,
    topic: a.workspaceId,
    subject,
    eventType,
    eventTime: a.now.toISOString(),
    data,
    dataVersion,
    metadataVersion: '1',
  };
}

/** Azure always sends the tag/property objects, empty when there are none; copied so later edits don't leak in. */
function bag(v: Bag | undefined): Bag {
  return v === undefined ? {} : structuredClone(v);
}

function deployData(a: ModelDeployedInput): Bag {
  return {
    serviceName: a.serviceName,
    serviceComputeType: a.serviceComputeType,
    modelIds: typeof a.modelIds === 'string' ? a.modelIds : a.modelIds.join(','),
    serviceTags: bag(a.serviceTags),
    serviceProperties: bag(a.serviceProperties),
    ...(a.deploymentName === undefined ? {} : { deploymentName: a.deploymentName }),
  };
}

function runSubject(a: RunInput): string {
  return `experiments/${a.experimentId}/runs/${a.runId}`;
}

function runData(a: RunInput): Bag {
  return {
    experimentId: a.experimentId,
    experimentName: a.experimentName,
    runId: a.runId,
    runType: a.runType,
    runTags: bag(a.runTags),
    runProperties: bag(a.runProperties),
  };
}

/** Singular `datadrift/…/run/…` as the how-to table and the SDK payloads (the schema doc's plural is a typo). */
function driftSubject(a: DriftRunInput): string {
  return `datadrift/${a.dataDriftId}/run/${a.runId}`;
}

function driftData(a: DriftRunInput): Bag {
  return {
    dataDriftId: a.dataDriftId,
    dataDriftName: a.dataDriftName,
    runId: a.runId,
    baseDatasetId: a.baseDatasetId,
    targetDatasetId: a.targetDatasetId,
  };
}
