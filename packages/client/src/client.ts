/** `MlgridClient`: typed resources over mlgrid's Azure-shaped REST API. */
import type { EventSubscriptionOut, EventSubscriptionPatch, TopicKeys, TopicOut } from '@mlgrid/protocol';
import { OnlineDeployments, OnlineEndpoints } from './endpoints.js';
import { Principals, RoleAssignments } from './access.js';
import { Artifacts } from './artifacts.js';
import { Automations } from './automations.js';
import { Connections } from './connections.js';
import { DataAssets } from './data.js';
import { DataDrift } from './drift.js';
import { Functions } from './functions.js';
import { Lineage } from './lineage.js';
import { JobReports, type MetricIn, type MetricSeriesOut, type StatusReportIn } from './run.js';
import { API_VERSIONS, seg, Transport, type FetchLike } from './http.js';
import {
  TERMINAL_JOB_STATUSES,
  type DeadLetterView,
  type DeliveryAttemptView,
  type DeliveryStatus,
  type DeliveryView,
  type EventSubscriptionIn,
  type JobIn,
  type JobOut,
  type ModelContainerIn,
  type ModelContainerOut,
  type ModelVersionIn,
  type ModelVersionOut,
  type Page,
  type PageQuery,
  type PublishBody,
  type TopicIn,
  type TopicPatch,
  type WorkspaceIn,
  type WorkspaceOut,
  type WorkspacePatch,
} from './types.js';

export interface MlgridClientOptions {
  /** The server, e.g. `http://localhost:7080` (a trailing slash is ignored). */
  baseUrl: string;
  /** The admin key, sent as `Authorization: Bearer`. Optional for a client that only publishes with a topic key. */
  key?: string;
  /** Azure subscription id in resource paths (mlgrid accepts any). */
  subscriptionId?: string;
  fetch?: FetchLike;
}

export interface PublishOptions {
  /** A topic key (`aeg-sas-key`); without it (and without `sasToken`) the admin key is sent as Bearer. */
  key?: string;
  /** A SAS token (`aeg-sas-token`), as `@azure/eventgrid`'s `generateSharedAccessSignature` builds it. */
  sasToken?: string;
  /** Overrides the Content-Type picked from the body (CloudEvents are detected by `specversion`). */
  contentType?: string;
}

export interface WaitOptions {
  intervalMs?: number;
  timeoutMs?: number;
}

type List<T> = { value: T[] };
const EG = API_VERSIONS.eventGrid;
const ML = API_VERSIONS.ml;

export class MlgridClient {
  readonly subscriptionId: string;
  readonly workspaces: Workspaces;
  readonly models: Models;
  readonly jobs: Jobs;
  readonly topics: Topics;
  readonly eventSubscriptions: EventSubscriptions;
  /** Access control (see access.ts): principals and their keys (admin key), role assignments. */
  readonly principals: Principals;
  readonly roleAssignments: RoleAssignments;
  readonly onlineEndpoints: OnlineEndpoints;
  readonly onlineDeployments: OnlineDeployments;
  /** mlgrid's artifact store (see artifacts.ts): uploads whose URI a model version registers. */
  readonly artifacts: Artifacts;
  /** Data assets (see data.ts): local CSV and Parquet data, described at registration. */
  readonly data: DataAssets;
  /** Data-drift monitors (see drift.ts): runs, backfills, results; DatasetDriftDetected above the threshold. */
  readonly dataDrift: DataDrift;
  /** Chains an automation started (see lineage.ts): by correlation id, or from a job, model version or deployment. */
  readonly lineage: Lineage;
  /** Automations (see automations.ts): definitions, manual triggers, runs. */
  readonly automations: Automations;
  /** Local functions (see functions.ts): `AzureFunction` destinations run as local processes. */
  readonly functions: Functions;
  /** Broker connections (see connections.ts, admin key): the brokers behind queue destinations. */
  readonly connections: Connections;
  private readonly http: Transport;

  constructor(opts: MlgridClientOptions) {
    const f = opts.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new TypeError('No fetch: pass `fetch` (Node 20 has a global one).');
    this.subscriptionId = opts.subscriptionId ?? '00000000-0000-0000-0000-000000000000';
    this.http = new Transport(opts.baseUrl.replace(/\/+$/, ''), opts.key, f);
    this.workspaces = new Workspaces(this.http, this);
    this.models = new Models(this.http, this);
    this.jobs = new Jobs(this.http, this);
    this.topics = new Topics(this.http, this);
    this.eventSubscriptions = new EventSubscriptions(this.http);
    this.principals = new Principals(this.http);
    this.roleAssignments = new RoleAssignments(this.http);
    this.onlineEndpoints = new OnlineEndpoints(this.http, this);
    this.onlineDeployments = new OnlineDeployments(this.http, this);
    this.artifacts = new Artifacts(this.http, this);
    this.data = new DataAssets(this.http, this);
    this.dataDrift = new DataDrift(this.http, this);
    this.lineage = new Lineage(this.http, this);
    this.automations = new Automations(this.http, this);
    this.functions = new Functions(this.http, this);
    this.connections = new Connections(this.http);
  }

  /** `/subscriptions/{s}`: the widest event-subscription scope. */
  subscriptionScope(): string {
    return `/subscriptions/${seg(this.subscriptionId)}`;
  }

  /** `/subscriptions/{s}/resourceGroups/{rg}`: a scope for event subscriptions on a whole resource group. */
  resourceGroupId(rg: string): string {
    return `${this.subscriptionScope()}/resourceGroups/${seg(rg)}`;
  }

  topicId(rg: string, name: string): string {
    return `${this.resourceGroupId(rg)}/providers/Microsoft.EventGrid/topics/${seg(name)}`;
  }

  workspaceId(rg: string, name: string): string {
    return `${this.resourceGroupId(rg)}/providers/Microsoft.MachineLearningServices/workspaces/${seg(name)}`;
  }

  /**
   * Publishes to a topic, by name or by its `properties.endpoint` URL. Resolves once mlgrid committed the
   * events and their deliveries (200); a rejected batch throws ApiError and stores nothing.
   */
  async publish(topicEndpointOrName: string, events: PublishBody, opts: PublishOptions = {}): Promise<void> {
    const target = /^https?:\/\//i.test(topicEndpointOrName)
      ? topicEndpointOrName
      : `/topics/${seg(topicEndpointOrName)}/api/events`;
    const headers: Record<string, string> = { 'content-type': opts.contentType ?? contentTypeOf(events) };
    if (opts.key !== undefined) headers['aeg-sas-key'] = opts.key;
    if (opts.sasToken !== undefined) headers['aeg-sas-token'] = opts.sasToken;
    const bearer = opts.key === undefined && opts.sasToken === undefined;
    // The body is serialized here so that the Content-Type chosen above is the one sent.
    const res = await this.http.send('POST', target, {
      apiVersion: API_VERSIONS.publish,
      headers,
      bearer,
      body: events,
    });
    await res.body?.cancel();
  }
}

function contentTypeOf(events: PublishBody): string {
  const isCloud = (e: unknown) => typeof e === 'object' && e !== null && 'specversion' in e;
  if (!Array.isArray(events)) return 'application/cloudevents+json';
  return events.length > 0 && events.every(isCloud)
    ? 'application/cloudevents-batch+json'
    : 'application/json';
}

interface Ids {
  subscriptionScope(): string;
  resourceGroupId(rg: string): string;
  topicId(rg: string, name: string): string;
  workspaceId(rg: string, name: string): string;
}

class Workspaces {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  /** PUT: creates (or replaces) the workspace; it is `Succeeded` at once. */
  create(rg: string, name: string, body: WorkspaceIn): Promise<WorkspaceOut> {
    return this.http.json('PUT', this.ids.workspaceId(rg, name), { apiVersion: ML, body });
  }
  get(rg: string, name: string): Promise<WorkspaceOut> {
    return this.http.json('GET', this.ids.workspaceId(rg, name), { apiVersion: ML });
  }
  update(rg: string, name: string, body: WorkspacePatch): Promise<WorkspaceOut> {
    return this.http.json('PATCH', this.ids.workspaceId(rg, name), { apiVersion: ML, body });
  }
  /** Kills and deletes the workspace's jobs too. */
  delete(rg: string, name: string): Promise<boolean> {
    return this.http.delete(this.ids.workspaceId(rg, name), ML);
  }
  /** The resource group's workspaces, or every workspace of the subscription without `rg`. */
  async list(rg?: string): Promise<WorkspaceOut[]> {
    const path = `${rg === undefined ? this.ids.subscriptionScope() : this.ids.resourceGroupId(rg)}/providers/Microsoft.MachineLearningServices/workspaces`;
    return (await this.http.json<List<WorkspaceOut>>('GET', path, { apiVersion: ML })).value;
  }
}

class Models {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  private path(rg: string, ws: string, name?: string, version?: string): string {
    let p = `${this.ids.workspaceId(rg, ws)}/models`;
    if (name !== undefined) p += `/${seg(name)}`;
    if (version !== undefined) p += `/versions/${seg(version)}`;
    return p;
  }
  createContainer(
    rg: string,
    ws: string,
    name: string,
    body: ModelContainerIn = {},
  ): Promise<ModelContainerOut> {
    return this.http.json('PUT', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  getContainer(rg: string, ws: string, name: string): Promise<ModelContainerOut> {
    return this.http.json('GET', this.path(rg, ws, name), { apiVersion: ML });
  }
  async listContainers(rg: string, ws: string): Promise<ModelContainerOut[]> {
    return (await this.http.json<List<ModelContainerOut>>('GET', this.path(rg, ws), { apiVersion: ML }))
      .value;
  }
  deleteContainer(rg: string, ws: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name), ML);
  }
  /** PUT a model version (the container is created when missing); raises `ModelRegistered`. */
  register(
    rg: string,
    ws: string,
    name: string,
    version: string,
    body: ModelVersionIn,
  ): Promise<ModelVersionOut> {
    return this.http.json('PUT', this.path(rg, ws, name, version), { apiVersion: ML, body });
  }
  getVersion(rg: string, ws: string, name: string, version: string): Promise<ModelVersionOut> {
    return this.http.json('GET', this.path(rg, ws, name, version), { apiVersion: ML });
  }
  async listVersions(rg: string, ws: string, name: string): Promise<ModelVersionOut[]> {
    const path = `${this.path(rg, ws, name)}/versions`;
    return (await this.http.json<List<ModelVersionOut>>('GET', path, { apiVersion: ML })).value;
  }
  deleteVersion(rg: string, ws: string, name: string, version: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name, version), ML);
  }
}

class Jobs {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  private path(rg: string, ws: string, name?: string): string {
    const p = `${this.ids.workspaceId(rg, ws)}/jobs`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  /** PUT a Command job: it is queued and runs on the mlgrid host. */
  create(rg: string, ws: string, name: string, body: JobIn): Promise<JobOut> {
    return this.http.json('PUT', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  get(rg: string, ws: string, name: string): Promise<JobOut> {
    return this.http.json('GET', this.path(rg, ws, name), { apiVersion: ML });
  }
  async list(rg: string, ws: string): Promise<JobOut[]> {
    return (await this.http.json<List<JobOut>>('GET', this.path(rg, ws), { apiVersion: ML })).value;
  }
  /** Requests a cancel. `final`: the job is already final (200); false while it is stopping (202). */
  async cancel(rg: string, ws: string, name: string): Promise<{ final: boolean }> {
    const res = await this.http.send('POST', `${this.path(rg, ws, name)}/cancel`, { apiVersion: ML });
    await res.body?.cancel();
    return { final: res.status === 200 };
  }
  /** Cancels a running job, waits for it, deletes it and its log. */
  delete(rg: string, ws: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name), ML);
  }
  /** mlgrid: a job run elsewhere (`mlgrid.runner: external`) reports its status; Run events follow. */
  reportStatus(rg: string, ws: string, name: string, report: StatusReportIn) {
    return new JobReports(this.http).reportStatus(this.path(rg, ws, name), report);
  }
  /** mlgrid: appends points to the job's metric series. */
  logMetrics(rg: string, ws: string, name: string, metrics: MetricIn[]): Promise<{ logged: number }> {
    return new JobReports(this.http).logMetrics(this.path(rg, ws, name), metrics);
  }
  /** mlgrid: the job's metric series (or the one named). */
  getMetrics(rg: string, ws: string, name: string, metric?: string): Promise<MetricSeriesOut[]> {
    return new JobReports(this.http).getMetrics(this.path(rg, ws, name), metric);
  }
  /** The job's log (stdout and stderr), or its last `tail` lines. */
  logs(rg: string, ws: string, name: string, opts: { tail?: number } = {}): Promise<string> {
    return this.http.text('GET', `${this.path(rg, ws, name)}/logs`, { apiVersion: ML, query: opts });
  }
  /** Polls `get` until the job is Completed, Failed or Canceled; throws after `timeoutMs` (default 10 min). */
  async waitFor(rg: string, ws: string, name: string, opts: WaitOptions = {}): Promise<JobOut> {
    const end = Date.now() + (opts.timeoutMs ?? 600_000);
    for (;;) {
      const job = await this.get(rg, ws, name);
      if (TERMINAL_JOB_STATUSES.includes(job.properties.status)) return job;
      if (Date.now() >= end) {
        throw new Error(
          `Job ${name} is still ${job.properties.status} after ${opts.timeoutMs ?? 600_000} ms.`,
        );
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  }
}

class Topics {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  create(rg: string, name: string, body: TopicIn): Promise<TopicOut> {
    return this.http.json('PUT', this.ids.topicId(rg, name), { apiVersion: EG, body });
  }
  get(rg: string, name: string): Promise<TopicOut> {
    return this.http.json('GET', this.ids.topicId(rg, name), { apiVersion: EG });
  }
  update(rg: string, name: string, body: TopicPatch): Promise<TopicOut> {
    return this.http.json('PATCH', this.ids.topicId(rg, name), { apiVersion: EG, body });
  }
  delete(rg: string, name: string): Promise<boolean> {
    return this.http.delete(this.ids.topicId(rg, name), EG);
  }
  /** The resource group's topics, or every topic of the subscription without `rg`. */
  async list(rg?: string): Promise<TopicOut[]> {
    const path = `${rg === undefined ? this.ids.subscriptionScope() : this.ids.resourceGroupId(rg)}/providers/Microsoft.EventGrid/topics`;
    return (await this.http.json<List<TopicOut>>('GET', path, { apiVersion: EG })).value;
  }
  listKeys(rg: string, name: string): Promise<TopicKeys> {
    return this.http.json('POST', `${this.ids.topicId(rg, name)}/listKeys`, { apiVersion: EG });
  }
  regenerateKey(rg: string, name: string, keyName: 'key1' | 'key2'): Promise<TopicKeys> {
    const path = `${this.ids.topicId(rg, name)}/regenerateKey`;
    return this.http.json('POST', path, { apiVersion: EG, body: { keyName } });
  }
}

/** Event subscriptions on any scope (a topic, workspace, resource group or subscription id). */
class EventSubscriptions {
  constructor(private readonly http: Transport) {}
  private path(scope: string, name?: string, action?: string): string {
    let p = `${scope.replace(/\/+$/, '')}/providers/Microsoft.EventGrid/eventSubscriptions`;
    if (name !== undefined) p += `/${seg(name)}`;
    if (action !== undefined) p += `/${action}`;
    return p;
  }
  /** PUT: a webhook destination must answer the validation handshake before this resolves. */
  create(scope: string, name: string, body: EventSubscriptionIn): Promise<EventSubscriptionOut> {
    return this.http.json('PUT', this.path(scope, name), { apiVersion: EG, body });
  }
  get(scope: string, name: string): Promise<EventSubscriptionOut> {
    return this.http.json('GET', this.path(scope, name), { apiVersion: EG });
  }
  update(scope: string, name: string, body: EventSubscriptionPatch): Promise<EventSubscriptionOut> {
    return this.http.json('PATCH', this.path(scope, name), { apiVersion: EG, body });
  }
  delete(scope: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(scope, name), EG);
  }
  async list(scope: string): Promise<EventSubscriptionOut[]> {
    return (await this.http.json<List<EventSubscriptionOut>>('GET', this.path(scope), { apiVersion: EG }))
      .value;
  }
  /** The webhook URL with its query string (responses otherwise show only `endpointBaseUrl`). */
  async getFullUrl(scope: string, name: string): Promise<string> {
    const r = await this.http.json<{ endpointUrl: string }>('POST', this.path(scope, name, 'getFullUrl'), {
      apiVersion: EG,
    });
    return r.endpointUrl;
  }
  /** mlgrid: the subscription's delivery records, oldest first. */
  deliveries(
    scope: string,
    name: string,
    q: PageQuery & { status?: DeliveryStatus } = {},
  ): Promise<Page<DeliveryView>> {
    return this.http.json('GET', this.path(scope, name, 'deliveries'), { apiVersion: EG, query: { ...q } });
  }
  /** mlgrid: the delivery log, one row per HTTP request; `outcome: 'failed'` for every failure. */
  deliveryAttempts(
    scope: string,
    name: string,
    q: PageQuery & { outcome?: string; from?: string | Date; to?: string | Date } = {},
  ): Promise<Page<DeliveryAttemptView>> {
    const query = { ...q, from: iso(q.from), to: iso(q.to) };
    return this.http.json('GET', this.path(scope, name, 'deliveryAttempts'), { apiVersion: EG, query });
  }
  /** mlgrid: dead letters, each with the record Azure would write to a blob. */
  deadLetters(scope: string, name: string, q: PageQuery = {}): Promise<Page<DeadLetterView>> {
    return this.http.json('GET', this.path(scope, name, 'deadLetters'), { apiVersion: EG, query: { ...q } });
  }
  /** mlgrid: makes dead letters pending again (`{ids}` or `{all: true}`). */
  redrive(
    scope: string,
    name: string,
    body: { ids: string[] } | { all: true },
  ): Promise<{ redriven: number }> {
    return this.http.json('POST', this.path(scope, name, 'redrive'), { apiVersion: EG, body });
  }
  /** mlgrid: re-delivers the retained events since `from` that match the subscription's filter. */
  replay(scope: string, name: string, from: string | Date): Promise<{ enqueued: number; from: string }> {
    const body = { from: iso(from) };
    return this.http.json('POST', this.path(scope, name, 'replay'), { apiVersion: EG, body });
  }
}

function iso(d: string | Date | undefined): string | undefined {
  return d instanceof Date ? d.toISOString() : d;
}
