/**
 * Request and response shapes the client speaks. Event Grid shapes come from `@mlgrid/protocol`; the Azure ML
 * ones (api-version 2022-10-01) and mlgrid's delivery views are declared here, as loose as the server is.
 */
import type {
  CloudEvent,
  EventSubscriptionOut,
  EventSubscriptionPropertiesIn,
  InputSchema,
  JsonInputSchemaMapping,
} from '@mlgrid/protocol';

type Json = Record<string, unknown>;

// ---- Event Grid ----

export interface TopicIn {
  location: string;
  tags?: Record<string, string>;
  properties?: {
    inputSchema?: InputSchema;
    inputSchemaMapping?: JsonInputSchemaMapping;
    disableLocalAuth?: boolean;
    publicNetworkAccess?: 'Enabled' | 'Disabled';
  };
}

export interface TopicPatch {
  tags?: Record<string, string>;
  properties?: { disableLocalAuth?: boolean; publicNetworkAccess?: 'Enabled' | 'Disabled' };
}

export interface EventSubscriptionIn {
  properties: EventSubscriptionPropertiesIn;
}

/** An Event Grid event as published: mlgrid stamps `topic`, `metadataVersion` and an empty `dataVersion`. */
export interface EventGridEventIn {
  id: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: unknown;
  dataVersion?: string;
  topic?: string;
  metadataVersion?: '1';
}

/** Event Grid events, CloudEvents (a batch or one), or custom-schema objects (a CustomInputSchema topic). */
export type PublishBody = EventGridEventIn[] | CloudEvent[] | CloudEvent | Json[];

/** mlgrid's keyset paging: pass `nextAfter` back as `after` while it is present. */
export interface Page<T> {
  value: T[];
  nextAfter?: string;
}

export interface PageQuery {
  top?: number;
  after?: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'deadlettered';

export interface DeliveryView {
  id: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptTime: string;
  createdTime: string;
  /** The stored event as published (after mlgrid's stamping). */
  event: Json;
}

export interface DeliveryAttemptView {
  id: string;
  subscriptionKey: string;
  startedAt: string;
  durationMs: number;
  /** Attempts made before this one (the `aeg-delivery-count` header sent). */
  deliveryCount: number;
  eventIds: string[];
  statusCode?: number;
  /** `Succeeded` or a failure outcome (`TimedOut`, `Busy`, `BadRequest`, ...). */
  outcome: string;
  responseExcerpt?: string;
}

export interface DeadLetterView {
  id: string;
  deadLetterReason: string;
  deliveryAttempts: number;
  lastDeliveryOutcome?: string;
  lastHttpStatusCode?: number;
  publishTime: string;
  lastDeliveryAttemptTime?: string;
  /** The record exactly as Azure writes it to a dead-letter blob. */
  record: Json;
}

export type { EventSubscriptionOut };

// ---- Azure ML ----

/** Common ARM envelope of the ML resources mlgrid serves. */
export interface MlResource<P = Json> {
  id: string;
  name: string;
  type: string;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: P;
}

export interface WorkspaceIn {
  location: string;
  tags?: Record<string, string>;
  identity?: Json;
  sku?: Json;
  properties?: Json & {
    friendlyName?: string;
    description?: string;
    publicNetworkAccess?: 'Enabled' | 'Disabled';
    /** mlgrid: `runStatusChangedStatuses` (default `['Failed']`), `failureEvents`. */
    mlgridSettings?: { runStatusChangedStatuses?: string[]; failureEvents?: boolean };
  };
}

export interface WorkspacePatch {
  tags?: Record<string, string>;
  properties?: WorkspaceIn['properties'];
}

export interface WorkspaceOut extends MlResource {
  location: string;
  tags: Record<string, string>;
}

export interface ModelContainerIn {
  properties?: { description?: string; tags?: Record<string, string>; properties?: Record<string, string> };
}

export interface ModelVersionIn {
  properties: Json & {
    /** `file://…`, `mlgrid://artifacts/<sha256>` or `azureml://…`. */
    modelUri: string;
    modelType?: string;
    description?: string;
    tags?: Record<string, string>;
    properties?: Record<string, string>;
    flavors?: Record<string, { data?: Record<string, string> }>;
    jobName?: string;
  };
}

export type ModelContainerOut = MlResource;
export type ModelVersionOut = MlResource;

export type JobStatus =
  | 'NotStarted'
  | 'Queued'
  | 'Starting'
  | 'Running'
  | 'Finalizing'
  | 'CancelRequested'
  | 'Completed'
  | 'Failed'
  | 'Canceled';

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['Completed', 'Failed', 'Canceled'];

/** A Command job (the only job type mlgrid runs). */
export interface JobIn {
  properties: Json & {
    jobType: 'Command';
    command: string;
    environmentId: string;
    environmentVariables?: Record<string, string>;
    /** An absolute local folder (path or `file://` URL): the working directory. */
    codeId?: string;
    experimentName?: string;
    displayName?: string;
    description?: string;
    tags?: Record<string, string>;
    properties?: Record<string, string>;
    inputs?: Record<string, Json>;
    outputs?: Record<string, Json>;
    computeId?: string;
  };
}

export interface JobRun {
  experimentId: string;
  statusHistory: { status: JobStatus; time: string }[];
  startedAt?: string;
  endedAt?: string;
  exitCode?: number;
  failureReason?: string;
}

export type JobOut = MlResource<
  JobIn['properties'] & {
    status: JobStatus;
    services?: { Logs?: { jobServiceType: 'Logs'; endpoint: string } };
    /** mlgrid's run details (dropped by the Azure SDK's mappers). */
    mlgridRun: JobRun;
  }
>;
