/**
 * Pure: `mlgrid eventgrid event-subscription create|update` flags → the ARM PUT body (spec §7.2) or the flat
 * PATCH body. Flags arrive as commander gives them (strings, string[], one string[] per repeated occurrence).
 */
import { BATCHING_ENDPOINT_TYPES, RETRY_LIMITS } from '@mlgrid/protocol';
import type {
  EventSubscriptionPropertiesIn,
  EventSubscriptionDestination,
  EventSubscriptionFilter,
  RetryPolicy,
} from '@mlgrid/protocol';
import {
  normalizeResourceId,
  parseAdvancedFilter,
  parseDeadLetterEndpoint,
  parseDeliveryAttributeMapping,
  parseDeliverySchema,
  parseEndpointType,
  parseExpirationDate,
  parseIntFlag,
  parseStorageQueueEndpoint,
  usage,
} from './eventgrid-args.js';

export interface FilterFlags {
  includedEventTypes?: string[];
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  subjectCaseSensitive?: boolean;
  advancedFilter?: string[][];
  enableAdvancedFilteringOnArrays?: boolean;
}

export interface DestinationFlags {
  endpoint?: string;
  endpointType?: string;
  maxEventsPerBatch?: string;
  preferredBatchSizeInKilobytes?: string;
  azureActiveDirectoryTenantId?: string;
  azureActiveDirectoryApplicationIdOrUri?: string;
  storageQueueMsgTtl?: string;
  deliveryAttributeMapping?: string[][];
  /** mlgrid: the Mqtt destination's topic, QoS (0|1) and retain flag. */
  mqttTopic?: string;
  mqttQos?: string;
  mqttRetain?: boolean;
}

export interface EventSubscriptionFlags extends FilterFlags, DestinationFlags {
  maxDeliveryAttempts?: string;
  eventTtl?: string;
  deadletterEndpoint?: string;
  eventDeliverySchema?: string;
  labels?: string[];
  expirationDate?: string;
}

/** The wire properties the CLI sends (dead-letter may use mlgrid's LocalDirectory extension). */
export type EventSubscriptionBody = EventSubscriptionPropertiesIn;

/** What `update` may need from the server before it can build a PATCH that keeps unrelated settings. */
export interface CurrentEventSubscription {
  filter?: EventSubscriptionFilter;
  retryPolicy?: Partial<RetryPolicy>;
  /** The GET destination, with the full webhook URL and secret attribute values filled back in by the caller. */
  destination?: EventSubscriptionDestination;
}

const FILTER_KEYS: (keyof FilterFlags)[] = [
  'includedEventTypes',
  'subjectBeginsWith',
  'subjectEndsWith',
  'subjectCaseSensitive',
  'advancedFilter',
  'enableAdvancedFilteringOnArrays',
];
const DESTINATION_KEYS: (keyof DestinationFlags)[] = [
  'endpoint',
  'endpointType',
  'maxEventsPerBatch',
  'preferredBatchSizeInKilobytes',
  'azureActiveDirectoryTenantId',
  'azureActiveDirectoryApplicationIdOrUri',
  'storageQueueMsgTtl',
  'deliveryAttributeMapping',
  'mqttTopic',
  'mqttQos',
  'mqttRetain',
];
const given = <T extends object>(f: T, keys: (keyof T)[]) => keys.some((k) => f[k] !== undefined);

/** `--source-resource-id`, or `--topic-name -g` shorthand for a custom topic, else the subscription itself. */
export function resolveScope(
  f: { sourceResourceId?: string; topicName?: string; resourceGroup?: string },
  subscription: string,
): string {
  if (f.sourceResourceId !== undefined) {
    if (f.topicName !== undefined)
      throw usage('--topic-name', 'cannot be combined with --source-resource-id');
    const id = normalizeResourceId(f.sourceResourceId);
    if (id === '/') throw usage('--source-resource-id', 'is empty');
    return id;
  }
  const sub = `/subscriptions/${subscription}`;
  if (f.topicName !== undefined) {
    if (!f.resourceGroup) throw usage('--resource-group', 'is required with --topic-name');
    return `${sub}/resourceGroups/${f.resourceGroup}/providers/Microsoft.EventGrid/topics/${f.topicName}`;
  }
  return f.resourceGroup ? `${sub}/resourceGroups/${f.resourceGroup}` : sub;
}

function buildFilter(f: FilterFlags, base: EventSubscriptionFilter = {}): EventSubscriptionFilter {
  const out: EventSubscriptionFilter = { ...base };
  if (f.includedEventTypes !== undefined) {
    // az rewrites the legacy ["All"] to "no filter" (null) since API 2019-02-01-preview rejects it.
    const all = f.includedEventTypes.length === 1 && f.includedEventTypes[0]?.toLowerCase() === 'all';
    out.includedEventTypes = all ? null : f.includedEventTypes;
  }
  if (f.subjectBeginsWith !== undefined) out.subjectBeginsWith = f.subjectBeginsWith;
  if (f.subjectEndsWith !== undefined) out.subjectEndsWith = f.subjectEndsWith;
  if (f.subjectCaseSensitive !== undefined) out.isSubjectCaseSensitive = f.subjectCaseSensitive;
  if (f.enableAdvancedFilteringOnArrays !== undefined) {
    out.enableAdvancedFilteringOnArrays = f.enableAdvancedFilteringOnArrays;
  }
  // Like az, the given filters replace the whole list rather than appending to it.
  if (f.advancedFilter !== undefined)
    out.advancedFilters = f.advancedFilter.map((g) => parseAdvancedFilter(g));
  return out;
}

function buildRetryPolicy(f: EventSubscriptionFlags, base: Partial<RetryPolicy> = {}): Partial<RetryPolicy> {
  const out = { ...base };
  const { maxDeliveryAttempts: attempts, eventTimeToLiveInMinutes: ttl } = RETRY_LIMITS;
  if (f.maxDeliveryAttempts !== undefined) {
    out.maxDeliveryAttempts = parseIntFlag(
      '--max-delivery-attempts',
      f.maxDeliveryAttempts,
      attempts.min,
      attempts.max,
    );
  }
  if (f.eventTtl !== undefined) {
    out.eventTimeToLiveInMinutes = parseIntFlag('--event-ttl', f.eventTtl, ttl.min, ttl.max);
  }
  return out;
}

/**
 * Destination from flags. With `base` (update) the current settings are kept unless the endpoint type
 * changes, so `update --max-events-per-batch 10` does not drop the URL or the delivery attributes.
 */
function buildDestination(
  f: DestinationFlags,
  base?: EventSubscriptionDestination,
): EventSubscriptionDestination {
  const endpointType =
    f.endpointType !== undefined ? parseEndpointType(f.endpointType) : (base?.endpointType ?? 'WebHook');
  const keep = base !== undefined && base.endpointType === endpointType;
  const { endpointBaseUrl: _readOnly, ...kept } = keep ? base.properties : {};
  const p: EventSubscriptionDestination['properties'] = kept;

  if (f.endpoint !== undefined) {
    if (endpointType === 'WebHook') {
      if (!/^https?:\/\/[^/]/i.test(f.endpoint) || !URL.canParse(f.endpoint)) {
        throw usage('--endpoint', `'${f.endpoint}' is not an http(s) URL (webhook endpoint)`);
      }
      p.endpointUrl = f.endpoint;
    } else if (endpointType === 'StorageQueue') {
      Object.assign(p, parseStorageQueueEndpoint(f.endpoint));
    } else {
      p.resourceId = normalizeResourceId(f.endpoint);
    }
  } else if (!keep) {
    throw usage('--endpoint', f.endpointType ? 'is required when --endpoint-type is given' : 'is required');
  }

  const batching = BATCHING_ENDPOINT_TYPES.includes(endpointType);
  const { maxEventsPerBatch: maxBatch, preferredBatchSizeInKilobytes: prefKb } = RETRY_LIMITS;
  if (f.maxEventsPerBatch !== undefined) {
    if (!batching)
      throw usage('--max-events-per-batch', 'applies only to webhook and azurefunction endpoints');
    p.maxEventsPerBatch = parseIntFlag(
      '--max-events-per-batch',
      f.maxEventsPerBatch,
      maxBatch.min,
      maxBatch.max,
    );
  }
  if (f.preferredBatchSizeInKilobytes !== undefined) {
    const flag = '--preferred-batch-size-in-kilobytes';
    if (!batching) throw usage(flag, 'applies only to webhook and azurefunction endpoints');
    p.preferredBatchSizeInKilobytes = parseIntFlag(
      flag,
      f.preferredBatchSizeInKilobytes,
      prefKb.min,
      prefKb.max,
    );
  }

  const tenant = f.azureActiveDirectoryTenantId;
  const app = f.azureActiveDirectoryApplicationIdOrUri;
  if (tenant !== undefined || app !== undefined) {
    const flag =
      tenant !== undefined
        ? '--azure-active-directory-tenant-id'
        : '--azure-active-directory-application-id-or-uri';
    if (endpointType !== 'WebHook') throw usage(flag, 'applies only to webhook endpoints');
    if (tenant !== undefined) p.azureActiveDirectoryTenantId = tenant;
    if (app !== undefined) p.azureActiveDirectoryApplicationIdOrUri = app;
    if (!p.azureActiveDirectoryTenantId || !p.azureActiveDirectoryApplicationIdOrUri) {
      throw usage(
        flag,
        'needs both --azure-active-directory-tenant-id and --azure-active-directory-application-id-or-uri',
      );
    }
  }

  if (f.storageQueueMsgTtl !== undefined) {
    const flag = '--storage-queue-msg-ttl';
    if (endpointType !== 'StorageQueue') throw usage(flag, 'applies only to storagequeue endpoints');
    // Azure: seconds, positive, or -1 for "never expires".
    const ttl = parseIntFlag(flag, f.storageQueueMsgTtl, -1, Number.MAX_SAFE_INTEGER);
    if (ttl === 0) throw usage(flag, 'must be positive, or -1 for no expiry');
    p.queueMessageTimeToLiveInSeconds = ttl;
  }

  applyMqttFlags(f, endpointType, p);

  if (f.deliveryAttributeMapping !== undefined) {
    const flag = '--delivery-attribute-mapping';
    if (endpointType === 'StorageQueue') throw usage(flag, 'does not apply to storagequeue endpoints');
    const max = RETRY_LIMITS.deliveryAttributeMappings.max;
    if (f.deliveryAttributeMapping.length > max) throw usage(flag, `at most ${max} mappings are allowed`);
    p.deliveryAttributeMappings = f.deliveryAttributeMapping.map((g) => parseDeliveryAttributeMapping(g));
  }
  return { endpointType, properties: p };
}

/** `--mqtt-topic` (required for mqtt, kept on update), `--mqtt-qos`, `--mqtt-retain`: mlgrid's Mqtt extension. */
function applyMqttFlags(
  f: DestinationFlags,
  endpointType: EventSubscriptionDestination['endpointType'],
  p: EventSubscriptionDestination['properties'],
): void {
  const stray = (['mqttTopic', 'mqttQos', 'mqttRetain'] as const).find((k) => f[k] !== undefined);
  if (endpointType !== 'Mqtt') {
    if (stray)
      throw usage(
        `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        'applies only to mqtt endpoints',
      );
    return;
  }
  if (f.mqttTopic !== undefined) {
    if (f.mqttTopic === '' || /[+#]/.test(f.mqttTopic)) {
      throw usage('--mqtt-topic', `'${f.mqttTopic}' is not a topic name (no wildcards '+' or '#')`);
    }
    p.topic = f.mqttTopic;
  }
  if (p.topic === undefined) throw usage('--mqtt-topic', 'is required for mqtt endpoints');
  if (f.mqttQos !== undefined) p.qos = parseIntFlag('--mqtt-qos', f.mqttQos, 0, 1) === 0 ? 0 : 1;
  if (f.mqttRetain !== undefined) p.retain = f.mqttRetain;
}

/** Fields shared by create and update that need no merging with the current state. */
function buildPlainFields(f: EventSubscriptionFlags): EventSubscriptionBody {
  const out: EventSubscriptionBody = {};
  if (f.labels !== undefined) out.labels = f.labels;
  if (f.expirationDate !== undefined) out.expirationTimeUtc = parseExpirationDate(f.expirationDate);
  if (f.eventDeliverySchema !== undefined)
    out.eventDeliverySchema = parseDeliverySchema(f.eventDeliverySchema);
  if (f.deadletterEndpoint !== undefined)
    out.deadLetterDestination = parseDeadLetterEndpoint(f.deadletterEndpoint);
  return out;
}

/** PUT body. Sends only what was given: the server applies Azure's defaults (30 attempts, 1440 min, ...). */
export function buildEventSubscriptionCreate(f: EventSubscriptionFlags): {
  properties: EventSubscriptionBody;
} {
  const properties: EventSubscriptionBody = { destination: buildDestination(f) };
  if (given(f, FILTER_KEYS)) {
    const filter = buildFilter(f);
    if (filter.includedEventTypes === null) delete filter.includedEventTypes;
    properties.filter = filter;
  }
  if (f.maxDeliveryAttempts !== undefined || f.eventTtl !== undefined)
    properties.retryPolicy = buildRetryPolicy(f);
  return { properties: { ...properties, ...buildPlainFields(f) } };
}

/** Which current settings `update` must fetch first (see {@link buildEventSubscriptionPatch}). */
export function updateNeeds(f: EventSubscriptionFlags): { current: boolean; destination: boolean } {
  const destination = given(f, DESTINATION_KEYS);
  // A lone retry flag would otherwise reset its sibling to the default.
  const retry = (f.maxDeliveryAttempts === undefined) !== (f.eventTtl === undefined);
  return { destination, current: destination || retry || given(f, FILTER_KEYS) };
}

/**
 * Flat PATCH body with only the top-level fields the flags touch. `filter`, `retryPolicy` and `destination`
 * are whole objects on the wire, so (like az) they are merged into the current values before sending.
 */
export function buildEventSubscriptionPatch(
  f: EventSubscriptionFlags,
  current: CurrentEventSubscription = {},
): EventSubscriptionBody {
  const out: EventSubscriptionBody = buildPlainFields(f);
  if (given(f, DESTINATION_KEYS)) out.destination = buildDestination(f, current.destination);
  if (given(f, FILTER_KEYS)) out.filter = buildFilter(f, current.filter);
  if (f.maxDeliveryAttempts !== undefined || f.eventTtl !== undefined) {
    out.retryPolicy = buildRetryPolicy(f, current.retryPolicy);
  }
  if (Object.keys(out).length === 0) {
    throw usage('update', 'nothing to update: give at least one filter, destination or delivery flag');
  }
  return out;
}
