/**
 * The storage port. Domain-level operations only; SQL lives in the adapters.
 * Glossary: a *topic* is a custom topic resource; an *event subscription* is an extension resource on
 * any source resource id (its *scope*); a *delivery* is one event owed to one event subscription.
 * Keys (`key`, `scopeKey`, `sourceKey`) are lower-cased resource ids: ARM ids compare case-insensitively.
 */
export interface TopicRecord {
  key: string;
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  spec: unknown; // TopicSpec, owned by core/topic.ts
  key1: string;
  key2: string;
  createdAt: string;
  updatedAt: string;
}

export interface EventSubscriptionRecord {
  key: string;
  id: string;
  scopeKey: string;
  name: string;
  spec: unknown; // EventSubscriptionSpec, owned by core/event-subscription.ts
  provisioningState: string;
  createdAt: string;
  updatedAt: string;
  /** Webhook validation handshake in progress (AwaitingManualAction): the code and its deadline (epoch ms). */
  validationCode?: string;
  validationDeadline?: number;
}

/** An accepted event, ready to store, and the event subscriptions it owes a delivery to. */
export interface EventToStore {
  eventId: string;
  sourceKey: string;
  eventType: string;
  subject: string;
  schema: string;
  body: string;
  subscriptionKeys: string[];
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'deadlettered', 'dropped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryView {
  id: string;
  subscriptionKey: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  lastAttemptAt?: number;
  lastStatusCode?: number;
  lastOutcome?: string;
  deadLetterReason?: string;
  settledAt?: number;
  event: {
    seq: string;
    eventId: string;
    eventType: string;
    subject: string;
    schema: string;
    body: string;
    publishedAt: number;
  };
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  /** Only these delivery ids. */
  ids?: string[];
  /** Return deliveries with an id greater than this (paging cursor). */
  after?: string;
  limit: number;
}

export interface DeliveryLease {
  owner: string;
  until: number;
}

/** A delivery leased to one dispatcher until `leaseUntil`; another may take it over once the lease lapses. */
export interface ClaimedDelivery {
  id: string;
  subscriptionKey: string;
  attempts: number;
  createdAt: number;
  event: {
    seq: string;
    eventId: string;
    schema: string;
    body: string;
    /** The body as UTF-8, where the store read it so (SQLite's reader thread); `body` is then decoded lazily. */
    bytes?: Buffer;
    publishedAt: number;
  };
}

/** The outcome of an attempt for one delivery; applied only while the settling worker still holds the lease. */
export interface Settlement {
  id: string;
  status: DeliveryStatus;
  attempts: number;
  /** When still pending: the next attempt time (epoch ms). */
  nextAttemptAt?: number;
  lastAttemptAt?: number;
  lastStatusCode?: number;
  lastOutcome?: string;
  deadLetterReason?: string;
}

/** One request to a destination (it may carry a batch of events). */
export interface AttemptRecord {
  subscriptionKey: string;
  startedAt: number;
  durationMs: number;
  deliveryCount: number;
  eventIds: string[];
  statusCode?: number;
  outcome: string;
  responseExcerpt?: string;
}

export interface AttemptView extends AttemptRecord {
  id: string;
}

export interface AttemptQuery {
  /** `Succeeded`, or a failure outcome such as `TimedOut`; `failed` = every outcome but Succeeded. */
  outcome?: string;
  from?: number;
  to?: number;
  after?: string;
  limit: number;
}

export interface ReplayEvent {
  seq: string;
  eventId: string;
  eventType: string;
  subject: string;
  schema: string;
  body: string;
  publishedAt: number;
}

export interface WorkspaceRecord {
  key: string;
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  workspaceGuid: string;
  spec: unknown; // WorkspaceSpec, owned by core/workspace.ts
  createdAt: string;
  updatedAt: string;
}

export interface ModelContainerRecord {
  key: string;
  workspaceKey: string;
  name: string;
  spec: unknown; // owned by core/model.ts
  createdAt: string;
  updatedAt: string;
}

export interface ModelVersionRecord {
  key: string;
  containerKey: string;
  version: string;
  spec: unknown; // owned by core/model.ts
  /** Monotonic per model container; assigned by the store. */
  sequencer: number;
  createdAt: string;
  updatedAt: string;
}

/** Where a job's process runs, to find (and stop) it after a crash of the server that started it. */
export interface JobProcess {
  host: string;
  pid: number;
  /** Linux: the process's start time (`/proc/<pid>/stat` field 22), telling it apart from a reused pid. */
  startTicks?: string;
}

export interface JobRecord {
  /** Lower-cased `{workspace id}/jobs/{name}`. */
  key: string;
  workspaceKey: string;
  name: string;
  spec: unknown; // JobSpec, owned by core/job.ts
  status: string;
  statusHistory: { status: string; time: string }[];
  /** Monotonic per job: 1 at creation, +1 per committed status change; orders the job's events. */
  sequencer: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  exitCode?: number;
  failureReason?: string;
  /** The runner (one per server process) that claimed the job, and until when its claim holds (epoch ms). */
  runnerId?: string;
  leaseUntil?: number;
  process?: JobProcess;
}

/** One status change, applied only while its guards hold (compare-and-set). */
export interface JobStatusPatch {
  status: string;
  /** Applied only when the job's current status is one of these. */
  from: readonly string[];
  /** Applied only when no runner's lease is live at this time (taking over a dead node's job). */
  leaseExpiredAt?: number;
  /** Applied only when this runner holds the job. */
  runnerId?: string;
  /** ISO time of the change, recorded in the status history. */
  time: string;
  /** null clears. */
  setRunner?: { runnerId: string; leaseUntil: number } | null;
  process?: JobProcess | null;
  startedAt?: string;
  endedAt?: string;
  exitCode?: number;
  failureReason?: string;
}

/**
 * A resource kept as a JSON document (data assets, online endpoints and deployments, principals, API keys, role
 * assignments): the kinds that need no query beyond key, parent, kind and one secondary `lookup` key.
 */
export interface ResourceRecord {
  /** Lower-cased resource id; descendants are the keys below `key + '/'`. */
  key: string;
  kind: string;
  /** Lower-cased id of the parent resource (`''` for none). */
  parentKey: string;
  /** The name as the client spelled it. */
  name: string;
  /** A secondary key to find the resource by (e.g. an API key's hash, an assignment's principal). */
  lookup?: string;
  spec: unknown; // owned by the core module of the kind
  /** 1 at creation, +1 per committed put: compare-and-set token and event order. */
  sequencer: number;
  createdAt: string;
  updatedAt: string;
}

export interface ResourcePut {
  /** Applied only when the stored sequencer is this (0 = only when absent); otherwise `updated: false`. */
  ifSequencer?: number;
  /** Events to commit in the same transaction, given the record as stored (outbox). */
  events?: (rec: ResourceRecord) => EventToStore[];
}

export interface StoreCapabilities {
  /** Several mlgrid processes may share this store. */
  multiNode: boolean;
  /** The store tells every node when an event subscription changes (`watchSubscriptions`). */
  notify: boolean;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly capabilities: StoreCapabilities;
  close(): Promise<void>;

  getMeta(key: string): Promise<string | undefined>;
  /** Sets the value only when the key is absent; returns the value now stored. */
  initMeta(key: string, value: string): Promise<string>;

  /** Insert or replace by key; `created` tells which. A topic name is unique server-wide (it names the endpoint). */
  putTopic(rec: TopicRecord): Promise<{ created: boolean }>;
  getTopic(key: string): Promise<TopicRecord | undefined>;
  getTopicByName(name: string): Promise<TopicRecord | undefined>;
  listTopics(filter: { subscriptionId: string; resourceGroup?: string }): Promise<TopicRecord[]>;
  /** Deletes the topic, the event subscriptions scoped on it and their deliveries. */
  deleteTopic(key: string): Promise<boolean>;

  putEventSubscription(rec: EventSubscriptionRecord): Promise<{ created: boolean }>;
  getEventSubscription(key: string): Promise<EventSubscriptionRecord | undefined>;
  /** By scope key; all when omitted (the routing index loads them all at start). */
  listEventSubscriptions(scopeKey?: string): Promise<EventSubscriptionRecord[]>;
  /** Deletes the event subscription and its deliveries. */
  deleteEventSubscription(key: string): Promise<boolean>;

  /**
   * Calls `fn(key)` whenever any node changes or deletes an event subscription (stores with `notify`);
   * resolves to an unsubscribe function. Single-node stores never call `fn`.
   */
  watchSubscriptions(fn: (key: string) => void): Promise<() => Promise<void>>;

  putWorkspace(rec: WorkspaceRecord): Promise<{ created: boolean }>;
  getWorkspace(key: string): Promise<WorkspaceRecord | undefined>;
  listWorkspaces(filter: { subscriptionId: string; resourceGroup?: string }): Promise<WorkspaceRecord[]>;
  /** Deletes the workspace with its models, jobs and every resource document below it. */
  deleteWorkspace(key: string): Promise<boolean>;

  putModelContainer(rec: ModelContainerRecord): Promise<{ created: boolean }>;
  getModelContainer(key: string): Promise<ModelContainerRecord | undefined>;
  listModelContainers(workspaceKey: string): Promise<ModelContainerRecord[]>;
  /** Deletes the container with its versions. */
  deleteModelContainer(key: string): Promise<boolean>;
  /**
   * Inserts or replaces a model version and, in the same transaction, the events `events(sequencer)` returns
   * (outbox: the events exist exactly when the change does). A new sequencer is drawn per call.
   */
  putModelVersion(
    rec: Omit<ModelVersionRecord, 'sequencer'>,
    events: (sequencer: number) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; sequencer: number }>;
  getModelVersion(key: string): Promise<ModelVersionRecord | undefined>;
  listModelVersions(containerKey: string): Promise<ModelVersionRecord[]>;
  deleteModelVersion(key: string): Promise<boolean>;

  /**
   * Inserts a job (status and history as given, sequencer 1) with the events `events(1, job)` returns, in one
   * transaction; an existing job is left alone (`created: false`, no events).
   */
  createJob(
    rec: Omit<JobRecord, 'sequencer'>,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ created: boolean; job: JobRecord }>;
  getJob(key: string): Promise<JobRecord | undefined>;
  /** A workspace's jobs, oldest first. */
  listJobs(workspaceKey: string): Promise<JobRecord[]>;
  /**
   * Jobs of every workspace in one of `statuses`, oldest first (the queue, and recovery); with `exceptRunner`,
   * not those that runner holds (the queue skips jobs run elsewhere).
   */
  listJobsByStatus(
    statuses: readonly string[],
    limit?: number,
    opts?: { exceptRunner?: string },
  ): Promise<JobRecord[]>;
  /** Replaces the spec (the few fields a PUT may change); no status change, no event. */
  updateJobSpec(key: string, spec: unknown, updatedAt: string): Promise<boolean>;
  /**
   * Applies a status change when its guards hold and, in the same transaction, the events
   * `events(sequencer, job)` returns for the job as changed (outbox). `updated: false` with the job as it
   * is when a guard failed (or no job when it does not exist).
   */
  updateJobStatus(
    key: string,
    patch: JobStatusPatch,
    events: (sequencer: number, job: JobRecord) => EventToStore[],
    now: number,
  ): Promise<{ updated: boolean; job?: JobRecord }>;
  /** Extends the lease of every job `runnerId` holds (a runner lets go of a job when it ends); returns how many. */
  renewJobLeases(runnerId: string, leaseUntil: number): Promise<number>;
  deleteJob(key: string): Promise<boolean>;

  /**
   * Inserts or replaces a resource document (created time kept on replace; sequencer +1) with its events in one
   * transaction. `updated: false` (nothing written) when `ifSequencer` does not match; `rec` is then the stored one.
   */
  putResource(
    rec: Omit<ResourceRecord, 'sequencer'>,
    now: number,
    opts?: ResourcePut,
  ): Promise<{ created: boolean; updated: boolean; rec?: ResourceRecord }>;
  getResource(key: string): Promise<ResourceRecord | undefined>;
  /** By kind, and parent or lookup key when given; oldest first. */
  listResources(q: { kind: string; parentKey?: string; lookup?: string }): Promise<ResourceRecord[]>;
  /** Deletes the resource and every resource below it (with `events` in the same transaction). */
  deleteResource(key: string, now: number, events?: EventToStore[]): Promise<boolean>;

  /**
   * Commits every event and its deliveries in one transaction (group commit), all or none. With `lease`, the
   * new deliveries are stored already leased to that owner and returned (the dispatcher's fresh hand-off).
   */
  appendEvents(events: EventToStore[], now: number, lease?: DeliveryLease): Promise<ClaimedDelivery[]>;
  listDeliveries(subscriptionKey: string, q: DeliveryQuery): Promise<DeliveryView[]>;

  /** Lease up to `limit` due pending deliveries (oldest due first) to `owner` until `leaseUntil`. */
  claimDeliveries(q: {
    owner: string;
    limit: number;
    now: number;
    leaseUntil: number;
  }): Promise<ClaimedDelivery[]>;
  /** Apply outcomes (only where `owner` still holds the lease) and log attempts, in one transaction. */
  settleDeliveries(
    owner: string,
    settlements: Settlement[],
    attempts: AttemptRecord[],
    now: number,
  ): Promise<void>;
  /** Drop leases (all when `owner` is omitted: a single-process store at start owns no lease of the past). */
  releaseLeases(owner?: string): Promise<number>;
  /** The earliest `next_attempt_at` among pending deliveries, if any. */
  nextDueAt(): Promise<number | undefined>;
  listAttempts(subscriptionKey: string, q: AttemptQuery): Promise<AttemptView[]>;
  /** Dead-lettered deliveries (all, or the given ids) become pending again with a fresh attempt count. */
  redrive(subscriptionKey: string, ids: string[] | 'all', now: number): Promise<number>;
  /** Retained events from `scopeKey` or any resource below it, published at or after `from`, by sequence. */
  eventsSince(scopeKey: string, from: number, afterSeq: string, limit: number): Promise<ReplayEvent[]>;
  /** New pending deliveries of the given events to one subscription (replay). */
  enqueueDeliveries(subscriptionKey: string, eventSeqs: string[], now: number): Promise<number>;
  /** Retention: remove settled deliveries, attempts and events older than `before` that nothing pending needs. */
  purge(before: number): Promise<{ events: number; deliveries: number; attempts: number }>;
  setProvisioning(
    key: string,
    state: { provisioningState: string; validationCode?: string; validationDeadline?: number },
  ): Promise<void>;
  countDeliveries(subscriptionKey: string, status?: DeliveryStatus): Promise<number>;
  /** Pending deliveries over all subscriptions (the queue depth). */
  countPending(): Promise<number>;
}
