/**
 * Event subscriptions as ARM resources: validate PUT/PATCH bodies (reference §7.2) into a normalized spec, and
 * render a spec the way Azure returns it (webhook query strings and secret header values withheld, §4.6).
 */
import { BATCHING_ENDPOINT_TYPES, DELIVERY_SCHEMAS, ENDPOINT_TYPES, RETRY_LIMITS } from '@mlgrid/protocol';
import type {
  DeadLetterDestination,
  DeliveryAttributeMapping,
  DeliverySchema,
  DestinationProperties,
  EventSubscriptionDestination,
  EventSubscriptionFilter,
  EventSubscriptionOut,
  InputSchema,
  ProvisioningState,
  RetryPolicy,
} from '@mlgrid/protocol';
import { invalid } from './errors.js';
import { validateFilter } from './filter.js';
import { array, dateTime, integer, object, oneOf, optBoolean, string, type Json } from './validate.js';

export interface EventSubscriptionSpec {
  /** Source resource id as given, normalized: leading single '/', no trailing '/'. */
  scope: string;
  name: string;
  /** Full destination, including the webhook query string and secret mapping values. */
  destination?: EventSubscriptionDestination;
  filter: EventSubscriptionFilter;
  labels: string[];
  expirationTimeUtc?: string;
  eventDeliverySchema: DeliverySchema;
  retryPolicy: RetryPolicy;
  deadLetterDestination?: DeadLetterDestination;
}

export interface SubscriptionContext {
  /** Input schema of the source when it is a custom topic; enables the §1.2 compatibility check. */
  topicInputSchema?: InputSchema;
  /** Clock for the expiration check (tests). */
  now?: Date;
}

const DEFAULT_RETRY: RetryPolicy = {
  maxDeliveryAttempts: RETRY_LIMITS.maxDeliveryAttempts.default,
  eventTimeToLiveInMinutes: RETRY_LIMITS.eventTimeToLiveInMinutes.default,
};
/** Azure's defaults shown on GET for batching-capable destinations. */
const DEFAULT_BATCH = { maxEventsPerBatch: 1, preferredBatchSizeInKilobytes: 64 };
/** Reference §1.2: topic input schema → the delivery schema it cannot produce. */
const UNSUPPORTED_DELIVERY: Partial<Record<InputSchema, DeliverySchema>> = {
  EventGridSchema: 'CustomInputSchema',
  CloudEventSchemaV1_0: 'EventGridSchema',
};
const DEAD_LETTER_TYPES = ['StorageBlob', 'LocalDirectory'] as const;
const MAPPING_TYPES = ['Static', 'Dynamic'] as const;
// prettier-ignore
const FIELDS = ['destination', 'filter', 'labels', 'expirationTimeUtc', 'eventDeliverySchema', 'retryPolicy',
  'deadLetterDestination'] as const;
type Field = (typeof FIELDS)[number];
// RFC 9110 token: mapping names become HTTP header names at delivery time, where anything else would throw.
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What Node's HTTP client accepts in a header value; catches CR/LF injection too.
const BAD_HEADER_VALUE_RE = /[^\t\x20-\x7e\x80-\xff]/;
const SUBSCRIPTION_NAME_RE = /^[A-Za-z0-9-]{3,64}$/;

export function validateSubscriptionName(name: string): string {
  if (typeof name !== 'string' || !SUBSCRIPTION_NAME_RE.test(name)) {
    throw invalid('name', 'must be 3-64 characters of letters, digits and hyphens', 'InvalidResourceName');
  }
  return name;
}

/**
 * Canonical form of an ARM resource id. Whitespace and backslashes are dropped because shell line continuations
 * leave them inside quoted ids (the seed doc's own `--source-resource-id` example does); ARM ids never contain them.
 */
export function normalizeResourceId(raw: string): string {
  const segments = raw
    .replace(/[\s\\]+/g, '')
    .split('/')
    .filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

export function parseEventSubscriptionPut(
  body: unknown,
  ctx: SubscriptionContext & { scope: string; name: string },
): EventSubscriptionSpec {
  const name = validateSubscriptionName(ctx.name);
  const scope = normalizeResourceId(ctx.scope);
  if (scope === '/') throw invalid('scope', 'must be a resource id');
  const props = object(object(body, 'body').properties, 'properties');
  // Azure lets a subscription exist without one, but mlgrid has nothing to deliver to then.
  if (absent(props.destination)) throw invalid('properties.destination', 'is required');
  const defaults: EventSubscriptionSpec = {
    scope,
    name,
    filter: parseFilter(undefined, 'properties.filter'),
    labels: [],
    eventDeliverySchema: parseDeliverySchema(undefined, 'properties.eventDeliverySchema', ctx),
    retryPolicy: { ...DEFAULT_RETRY },
  };
  return applyFields(defaults, (key) => [props[key], `properties.${key}`], ctx);
}

/**
 * PATCH (`EventSubscriptionUpdateParameters`): flat, or nested under `properties` (nested wins). A given field
 * replaces the stored one; `null` resets it to its default (removes expiration and dead-lettering). A partial
 * `retryPolicy` keeps the stored value of the omitted limit rather than silently resetting it.
 */
export function applyEventSubscriptionPatch(
  current: EventSubscriptionSpec,
  patch: unknown,
  // Accepts the PUT context too; scope and name come from `current` (they are not patchable).
  ctx: SubscriptionContext & { scope?: string; name?: string } = {},
): EventSubscriptionSpec {
  const body = object(patch, 'body');
  const nested = objectOrEmpty(body.properties, 'properties');
  const pick = (key: Field): [unknown, string] =>
    nested[key] !== undefined ? [nested[key], `properties.${key}`] : [body[key], key];
  return applyFields(structuredClone(current), pick, ctx);
}

export interface SubscriptionMeta {
  id: string;
  provisioningState: ProvisioningState;
  createdAt: string;
  updatedAt: string;
  topic: string;
}

export function renderEventSubscription(
  spec: EventSubscriptionSpec,
  meta: SubscriptionMeta,
): EventSubscriptionOut {
  const properties: EventSubscriptionOut['properties'] = {
    topic: meta.topic,
    provisioningState: meta.provisioningState,
    filter: structuredClone(spec.filter),
    labels: [...spec.labels],
    eventDeliverySchema: spec.eventDeliverySchema,
    retryPolicy: { ...spec.retryPolicy },
  };
  if (spec.destination) properties.destination = renderDestination(spec.destination);
  if (spec.expirationTimeUtc !== undefined) properties.expirationTimeUtc = spec.expirationTimeUtc;
  if (spec.deadLetterDestination) {
    properties.deadLetterDestination = structuredClone(spec.deadLetterDestination);
  }
  return {
    id: meta.id,
    name: spec.name,
    type: 'Microsoft.EventGrid/eventSubscriptions',
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

/** For `getFullUrl`: the webhook URL including its query string. */
export function fullEndpointUrl(spec: EventSubscriptionSpec): string {
  const d = spec.destination;
  if (d?.endpointType !== 'WebHook' || d.properties.endpointUrl === undefined) {
    throw invalid('properties.destination', 'getFullUrl needs a WebHook destination', 'InvalidArgument');
  }
  return d.properties.endpointUrl;
}

/** For `getDeliveryAttributes`: every mapping, secret values included. */
export function deliveryAttributes(spec: EventSubscriptionSpec): DeliveryAttributeMapping[] {
  return structuredClone(spec.destination?.properties.deliveryAttributeMappings ?? []);
}

// ---------------------------------------------------------------- rendering helpers

function renderDestination(d: EventSubscriptionDestination): EventSubscriptionDestination {
  const { endpointUrl, deliveryAttributeMappings, ...rest } = d.properties;
  const props: DestinationProperties = {};
  if (endpointUrl !== undefined) props.endpointBaseUrl = endpointBaseUrl(endpointUrl);
  if (BATCHING_ENDPOINT_TYPES.includes(d.endpointType)) Object.assign(props, DEFAULT_BATCH);
  Object.assign(props, structuredClone(rest));
  if (deliveryAttributeMappings) props.deliveryAttributeMappings = deliveryAttributeMappings.map(redact);
  return { endpointType: d.endpointType, properties: props };
}

/** Scheme, host and path only: the query string and userinfo may carry credentials. */
function endpointBaseUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

function redact(m: DeliveryAttributeMapping): DeliveryAttributeMapping {
  if (m.type !== 'Static' || m.properties.isSecret !== true) return structuredClone(m);
  return { name: m.name, type: 'Static', properties: { isSecret: true } }; // Azure omits a secret's value on read
}

// ---------------------------------------------------------------- parsing helpers

/** Validate each given field (value and the path the client sent it at) into `spec`; `null` resets to default. */
function applyFields(
  spec: EventSubscriptionSpec,
  pick: (key: Field) => [unknown, string],
  ctx: SubscriptionContext,
): EventSubscriptionSpec {
  for (const key of FIELDS) {
    const [value, path] = pick(key);
    if (value === undefined) continue;
    switch (key) {
      case 'destination':
        if (value === null) throw invalid(path, 'cannot be removed');
        spec.destination = parseDestination(value, path);
        break;
      case 'filter':
        spec.filter = parseFilter(value, path);
        break;
      case 'labels':
        spec.labels = parseLabels(value, path);
        break;
      case 'expirationTimeUtc':
        if (value === null) delete spec.expirationTimeUtc;
        else spec.expirationTimeUtc = parseExpiration(value, path, ctx.now);
        break;
      case 'eventDeliverySchema':
        spec.eventDeliverySchema = parseDeliverySchema(value, path, ctx);
        break;
      case 'retryPolicy':
        spec.retryPolicy = parseRetryPolicy(value, path, value === null ? DEFAULT_RETRY : spec.retryPolicy);
        break;
      case 'deadLetterDestination':
        if (value === null) delete spec.deadLetterDestination;
        else spec.deadLetterDestination = parseDeadLetter(value, path);
        break;
    }
  }
  return spec;
}

function absent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** Missing `properties` objects are read as empty so errors name the first required leaf instead. */
function objectOrEmpty(v: unknown, path: string): Json {
  return absent(v) ? {} : object(v, path);
}

function required(v: unknown, path: string): string {
  if (absent(v)) throw invalid(path, 'is required');
  const s = string(v, path);
  if (s.trim() === '') throw invalid(path, 'must not be empty');
  return s;
}

function parseDestination(raw: unknown, path: string): EventSubscriptionDestination {
  const d = object(raw, path);
  const endpointType = oneOf(d.endpointType, `${path}.endpointType`, ENDPOINT_TYPES);
  const pp = `${path}.properties`;
  const p = objectOrEmpty(d.properties, pp);
  const out: DestinationProperties = {};

  if (endpointType === 'WebHook') out.endpointUrl = parseEndpointUrl(p.endpointUrl, `${pp}.endpointUrl`);
  else out.resourceId = required(p.resourceId, `${pp}.resourceId`);
  if (endpointType === 'StorageQueue') {
    out.queueName = required(p.queueName, `${pp}.queueName`);
    const ttl = p.queueMessageTimeToLiveInSeconds;
    if (!absent(ttl)) {
      const tp = `${pp}.queueMessageTimeToLiveInSeconds`;
      const n = integer(ttl, tp, -1, Number.MAX_SAFE_INTEGER);
      if (n === 0) throw invalid(tp, 'must be -1 (never expire) or at least 1');
      out.queueMessageTimeToLiveInSeconds = n;
    }
  }
  if (endpointType === 'Mqtt') Object.assign(out, parseMqtt(p, pp));

  for (const key of ['maxEventsPerBatch', 'preferredBatchSizeInKilobytes'] as const) {
    if (absent(p[key])) continue;
    if (!BATCHING_ENDPOINT_TYPES.includes(endpointType)) {
      throw invalid(`${pp}.${key}`, 'is only supported for WebHook and AzureFunction destinations');
    }
    out[key] = integer(p[key], `${pp}.${key}`, RETRY_LIMITS[key].min, RETRY_LIMITS[key].max);
  }

  const tenantPath = `${pp}.azureActiveDirectoryTenantId`;
  const appPath = `${pp}.azureActiveDirectoryApplicationIdOrUri`;
  const tenant = optNonEmpty(p.azureActiveDirectoryTenantId, tenantPath);
  const app = optNonEmpty(p.azureActiveDirectoryApplicationIdOrUri, appPath);
  if (tenant !== undefined || app !== undefined) {
    if (endpointType !== 'WebHook') throw invalid(tenant ? tenantPath : appPath, 'is only for WebHook');
    if (tenant === undefined) throw invalid(tenantPath, 'is required with the application id');
    if (app === undefined) throw invalid(appPath, 'is required with the tenant id');
    out.azureActiveDirectoryTenantId = tenant;
    out.azureActiveDirectoryApplicationIdOrUri = app;
  }

  const mp = `${pp}.deliveryAttributeMappings`;
  if (!absent(p.deliveryAttributeMappings)) {
    if (endpointType === 'StorageQueue') throw invalid(mp, 'is not supported for StorageQueue destinations');
    out.deliveryAttributeMappings = parseMappings(p.deliveryAttributeMappings, mp);
  }
  return { endpointType, properties: out };
}

/** Mqtt (mlgrid): `topic` (a topic name, not a filter), `qos` 0|1 (default 1), `retain` (default false). */
function parseMqtt(p: Json, pp: string): Pick<DestinationProperties, 'topic' | 'qos' | 'retain'> {
  const tp = `${pp}.topic`;
  const topic = required(p.topic, tp);
  if (/[+#]/.test(topic) || topic.includes('\0'))
    throw invalid(tp, "must be a topic name: no wildcards ('+', '#') or NUL");
  if (topic.startsWith('$')) throw invalid(tp, "must not start with '$' (reserved for the broker)");
  if (Buffer.byteLength(topic, 'utf8') > 65535) throw invalid(tp, 'must be at most 65535 bytes');
  const qos = absent(p.qos) ? 1 : integer(p.qos, `${pp}.qos`, 0, 1);
  const retain = optBoolean(p.retain, `${pp}.retain`) ?? false;
  return { topic, qos: qos === 0 ? 0 : 1, retain };
}

function optNonEmpty(v: unknown, path: string): string | undefined {
  return absent(v) || v === '' ? undefined : required(v, path);
}

function parseEndpointUrl(v: unknown, path: string): string {
  const s = required(v, path);
  const protocol = URL.canParse(s) ? new URL(s).protocol : '';
  // Azure requires https; mlgrid also allows http so loopback development endpoints work.
  if (protocol !== 'https:' && protocol !== 'http:') throw invalid(path, 'must be an absolute http(s) URL');
  return s;
}

function parseMappings(raw: unknown, path: string): DeliveryAttributeMapping[] {
  const list = array(raw, path);
  const limits = RETRY_LIMITS.deliveryAttributeMappings;
  if (list.length > limits.max) throw invalid(path, `must have at most ${limits.max} entries`);
  const seen = new Set<string>();
  return list.map((item, i): DeliveryAttributeMapping => {
    const ip = `${path}[${i}]`;
    const m = object(item, ip);
    const name = required(m.name, `${ip}.name`);
    if (!HEADER_NAME_RE.test(name)) throw invalid(`${ip}.name`, 'must be a valid HTTP header name');
    if (name.toLowerCase().startsWith('aeg-'))
      throw invalid(`${ip}.name`, "must not start with the reserved 'aeg-' prefix");
    if (seen.has(name.toLowerCase()))
      throw invalid(`${ip}.name`, `duplicates another mapping named '${name}'`);
    seen.add(name.toLowerCase());
    const type = oneOf(m.type, `${ip}.type`, MAPPING_TYPES);
    const pp = `${ip}.properties`;
    const p = objectOrEmpty(m.properties, pp);
    if (type === 'Dynamic')
      return { name, type, properties: { sourceField: required(p.sourceField, `${pp}.sourceField`) } };
    if (absent(p.value)) throw invalid(`${pp}.value`, 'is required');
    const value = string(p.value, `${pp}.value`);
    if (Buffer.byteLength(value, 'utf8') > limits.maxValueBytes) {
      throw invalid(`${pp}.value`, `must be at most ${limits.maxValueBytes} bytes`);
    }
    if (BAD_HEADER_VALUE_RE.test(value))
      throw invalid(`${pp}.value`, 'contains characters not allowed in an HTTP header');
    const isSecret = optBoolean(p.isSecret, `${pp}.isSecret`);
    return { name, type, properties: isSecret === undefined ? { value } : { value, isSecret } };
  });
}

function parseFilter(raw: unknown, path: string): EventSubscriptionFilter {
  return validateFilter(absent(raw) ? {} : raw, path);
}

function parseLabels(raw: unknown, path: string): string[] {
  if (absent(raw)) return [];
  return array(raw, path).map((l, i) => string(l, `${path}[${i}]`));
}

function parseDeliverySchema(raw: unknown, path: string, ctx: SubscriptionContext): DeliverySchema {
  if (absent(raw)) return ctx.topicInputSchema ?? 'EventGridSchema';
  const schema = oneOf(raw, path, DELIVERY_SCHEMAS);
  const topic = ctx.topicInputSchema;
  if (topic !== undefined && UNSUPPORTED_DELIVERY[topic] === schema) {
    throw invalid(path, `cannot be ${schema} for a topic whose input schema is ${topic}`);
  }
  return schema;
}

function parseRetryPolicy(raw: unknown, path: string, base: RetryPolicy): RetryPolicy {
  if (absent(raw)) return { ...base };
  const r = object(raw, path);
  const read = (key: keyof RetryPolicy): number =>
    absent(r[key])
      ? base[key]
      : integer(r[key], `${path}.${key}`, RETRY_LIMITS[key].min, RETRY_LIMITS[key].max);
  return {
    maxDeliveryAttempts: read('maxDeliveryAttempts'),
    eventTimeToLiveInMinutes: read('eventTimeToLiveInMinutes'),
  };
}

function parseExpiration(raw: unknown, path: string, now: Date = new Date()): string {
  const s = string(raw, path);
  // The field is UTC by name; JS would read an offset-less date-time as local time.
  const utc = /^\d{4}-\d{2}-\d{2}T[^Z+-]*$/i.test(s.trim()) ? `${s.trim()}Z` : s;
  const iso = dateTime(utc, path);
  if (Date.parse(iso) <= now.getTime()) throw invalid(path, 'must be in the future');
  return iso;
}

function parseDeadLetter(raw: unknown, path: string): DeadLetterDestination {
  const d = object(raw, path);
  const endpointType = oneOf(d.endpointType, `${path}.endpointType`, DEAD_LETTER_TYPES);
  const pp = `${path}.properties`;
  const p = objectOrEmpty(d.properties, pp);
  if (endpointType === 'StorageBlob') {
    return {
      endpointType,
      properties: {
        resourceId: required(p.resourceId, `${pp}.resourceId`),
        blobContainerName: required(p.blobContainerName, `${pp}.blobContainerName`),
      },
    };
  }
  const dir = required(p.path, `${pp}.path`);
  if (!URL.canParse(dir) || new URL(dir).protocol !== 'file:')
    throw invalid(`${pp}.path`, 'must be a file:// URL');
  return { endpointType, properties: { path: dir } };
}
