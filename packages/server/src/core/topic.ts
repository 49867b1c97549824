/**
 * Custom topics as ARM resources (`Microsoft.EventGrid/topics`): PUT/PATCH validation, Azure-shaped rendering,
 * and the CustomInputSchema mapping that turns a publisher's own JSON into an Event Grid envelope.
 */
import { createHash, randomUUID } from 'node:crypto';
import { INPUT_SCHEMAS } from '@mlgrid/protocol';
import type {
  EventGridEvent,
  InputSchema,
  InputSchemaMappingFieldWithDefault,
  JsonInputSchemaMapping,
  ProvisioningState,
  TopicOut,
} from '@mlgrid/protocol';
import { isAbsent, parseTags, requiredString, sameLocation } from './arm-fields.js';
import { invalid } from './errors.js';
import { isObject, object, oneOf, optBoolean, string, type Json } from './validate.js';

export interface TopicSpec {
  location: string;
  tags: Record<string, string>;
  inputSchema: InputSchema;
  inputSchemaMapping?: JsonInputSchemaMapping;
  publicNetworkAccess: 'Enabled' | 'Disabled';
  disableLocalAuth: boolean;
}

const TOPIC_NAME_RE = /^[A-Za-z0-9-]{3,50}$/;
// Azure Resource Manager tag limits.
const NETWORK_ACCESS = ['Enabled', 'Disabled'] as const;
const MAPPING_TYPES = ['Json'] as const;
const SOURCE_ONLY_FIELDS = ['id', 'topic', 'eventTime'] as const;
const DEFAULTABLE_FIELDS = ['eventType', 'subject', 'dataVersion'] as const;
const SOURCE_FIELD_RE = /^[^.]+(\.[^.]+)*$/;

export function validateTopicName(name: string): string {
  if (typeof name !== 'string' || !TOPIC_NAME_RE.test(name)) {
    throw invalid('name', 'must be 3-50 characters of letters, digits and hyphens', 'InvalidResourceName');
  }
  return name;
}

export function parseTopicPut(body: unknown, ctx: { name: string }): TopicSpec {
  validateTopicName(ctx.name);
  const b = object(body, 'body');
  const location = requiredString(b.location, 'location');
  const tags = parseTags(b.tags, 'tags');
  const p: Json =
    b.properties === undefined || b.properties === null ? {} : object(b.properties, 'properties');
  const inputSchema = isAbsent(p.inputSchema)
    ? 'EventGridSchema'
    : oneOf(p.inputSchema, 'properties.inputSchema', INPUT_SCHEMAS);
  const spec: TopicSpec = {
    location,
    tags,
    inputSchema,
    publicNetworkAccess: isAbsent(p.publicNetworkAccess)
      ? 'Enabled'
      : oneOf(p.publicNetworkAccess, 'properties.publicNetworkAccess', NETWORK_ACCESS),
    disableLocalAuth: optBoolean(p.disableLocalAuth, 'properties.disableLocalAuth') ?? false,
  };
  const mp = 'properties.inputSchemaMapping';
  if (inputSchema === 'CustomInputSchema') {
    if (isAbsent(p.inputSchemaMapping))
      throw invalid(mp, 'is required when inputSchema is CustomInputSchema');
    spec.inputSchemaMapping = parseInputSchemaMapping(p.inputSchemaMapping, mp);
  } else if (!isAbsent(p.inputSchemaMapping)) {
    throw invalid(mp, 'is only allowed when inputSchema is CustomInputSchema');
  }
  return spec;
}

/**
 * PATCH (`TopicUpdateParameters`): `tags` plus `properties.{publicNetworkAccess, disableLocalAuth}` (also accepted
 * flat). The input schema, its mapping and the location are immutable: restating them unchanged is fine.
 */
export function applyTopicPatch(current: TopicSpec, body: unknown): TopicSpec {
  const b = object(body, 'body');
  const nested: Json =
    b.properties === undefined || b.properties === null ? {} : object(b.properties, 'properties');
  const pick = (key: string): [unknown, string] =>
    nested[key] !== undefined ? [nested[key], `properties.${key}`] : [b[key], key];
  const next = structuredClone(current);

  if (b.tags !== undefined) next.tags = parseTags(b.tags, 'tags');
  const [access, accessPath] = pick('publicNetworkAccess');
  if (access !== undefined)
    next.publicNetworkAccess = access === null ? 'Enabled' : oneOf(access, accessPath, NETWORK_ACCESS);
  const [local, localPath] = pick('disableLocalAuth');
  if (local !== undefined) next.disableLocalAuth = optBoolean(local, localPath) ?? false;

  const [schema, schemaPath] = pick('inputSchema');
  if (!isAbsent(schema) && oneOf(schema, schemaPath, INPUT_SCHEMAS) !== current.inputSchema) {
    throw invalid(schemaPath, 'cannot be changed after the topic is created');
  }
  const [mapping, mappingPath] = pick('inputSchemaMapping');
  if (!isAbsent(mapping)) {
    const parsed = parseInputSchemaMapping(mapping, mappingPath);
    if (JSON.stringify(parsed) !== JSON.stringify(current.inputSchemaMapping)) {
      throw invalid(mappingPath, 'cannot be changed after the topic is created');
    }
  }
  if (!isAbsent(b.location) && !sameLocation(string(b.location, 'location'), current.location)) {
    throw invalid('location', 'cannot be changed after the topic is created');
  }
  return next;
}

export function renderTopic(
  spec: TopicSpec,
  meta: {
    id: string;
    name: string;
    endpoint: string;
    createdAt: string;
    updatedAt: string;
    provisioningState?: ProvisioningState;
  },
): TopicOut {
  const properties: TopicOut['properties'] = {
    provisioningState: meta.provisioningState ?? 'Succeeded',
    endpoint: meta.endpoint,
    inputSchema: spec.inputSchema,
    publicNetworkAccess: spec.publicNetworkAccess,
    disableLocalAuth: spec.disableLocalAuth,
    metricResourceId: stableUuid(meta.id),
  };
  if (spec.inputSchemaMapping) properties.inputSchemaMapping = structuredClone(spec.inputSchemaMapping);
  return {
    id: meta.id,
    name: meta.name,
    type: 'Microsoft.EventGrid/topics',
    location: spec.location,
    tags: { ...spec.tags },
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

/**
 * Map one custom-schema event into an Event Grid envelope; `data` is the whole original object. Unmapped `id` gets
 * a UUID and unmapped/missing `eventTime` gets `now`; a mapped `id`, `eventType` or `subject` that the event lacks
 * (with no defaultValue) is a 400 naming `[index].<sourceField>`. The envelope `topic` is always the topic's id.
 */
export function mapCustomEvent(
  raw: unknown,
  mapping: JsonInputSchemaMapping,
  topicId: string,
  index: number,
  now: Date = new Date(),
): EventGridEvent {
  const at = `[${index}]`;
  if (!isObject(raw)) throw invalid(at, 'must be a JSON object', 'InvalidEvent');
  const m = mapping.properties;
  const mustHave = (field: InputSchemaMappingFieldWithDefault | undefined, name: string): string => {
    const v = resolve(raw, field, at);
    if (v !== undefined && v !== '') return v;
    if (field?.sourceField === undefined) return v ?? '';
    throw invalid(`${at}.${field.sourceField}`, `is required (mapped to ${name})`, 'InvalidEvent');
  };

  const id = m.id?.sourceField === undefined ? randomUUID() : mustHave(m.id, 'id');
  const topic = resolve(raw, m.topic, at);
  if (topic !== undefined && topic.toLowerCase() !== topicId.toLowerCase()) {
    throw invalid(
      `${at}.${m.topic?.sourceField ?? 'topic'}`,
      "must match the topic's resource id",
      'InvalidEvent',
    );
  }
  const eventTime = (resolve(raw, m.eventTime, at) ?? now.toISOString()).trim();
  if (!/^\d{4}-\d{2}-\d{2}/.test(eventTime) || Number.isNaN(Date.parse(eventTime))) {
    throw invalid(
      `${at}.${m.eventTime?.sourceField ?? 'eventTime'}`,
      'must be an ISO-8601 date-time',
      'InvalidEvent',
    );
  }
  return {
    id,
    topic: topicId,
    subject: mustHave(m.subject, 'subject'),
    eventType: mustHave(m.eventType, 'eventType'),
    eventTime,
    data: raw,
    dataVersion: resolve(raw, m.dataVersion, at) ?? '',
    metadataVersion: '1',
  };
}

// ---------------------------------------------------------------- helpers

function parseInputSchemaMapping(raw: unknown, path: string): JsonInputSchemaMapping {
  const m = object(raw, path);
  const inputSchemaMappingType = oneOf(
    m.inputSchemaMappingType,
    `${path}.inputSchemaMappingType`,
    MAPPING_TYPES,
  );
  const pp = `${path}.properties`;
  const p: Json = isAbsent(m.properties) ? {} : object(m.properties, pp);
  const properties: JsonInputSchemaMapping['properties'] = {};
  for (const key of [...SOURCE_ONLY_FIELDS, ...DEFAULTABLE_FIELDS]) {
    if (isAbsent(p[key])) continue;
    const fp = `${pp}.${key}`;
    const f = object(p[key], fp);
    const field: InputSchemaMappingFieldWithDefault = {};
    if (!isAbsent(f.sourceField)) {
      const sf = string(f.sourceField, `${fp}.sourceField`);
      if (!SOURCE_FIELD_RE.test(sf))
        throw invalid(`${fp}.sourceField`, 'must be a dot-separated property path');
      field.sourceField = sf;
    }
    if (!isAbsent(f.defaultValue)) {
      // A default id or eventTime would stamp every event the same; Azure only offers defaults on these three.
      if (!(DEFAULTABLE_FIELDS as readonly string[]).includes(key)) {
        throw invalid(`${fp}.defaultValue`, `is not supported for ${key}`);
      }
      field.defaultValue = string(f.defaultValue, `${fp}.defaultValue`);
    }
    if (field.sourceField !== undefined || field.defaultValue !== undefined) properties[key] = field;
  }
  return { inputSchemaMappingType, properties };
}

/** A mapped field's value: the event's `sourceField` (dot path, own properties only), else the default. */
function resolve(
  event: Json,
  field: InputSchemaMappingFieldWithDefault | undefined,
  at: string,
): string | undefined {
  if (field === undefined) return undefined;
  if (field.sourceField !== undefined) {
    let v: unknown = event;
    for (const seg of field.sourceField.split('.'))
      v = isObject(v) && Object.hasOwn(v, seg) ? v[seg] : undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v !== undefined && v !== null) {
      throw invalid(`${at}.${field.sourceField}`, 'must be a string, number or boolean', 'InvalidEvent');
    }
  }
  return field.defaultValue;
}

/** Deterministic UUID-shaped id (name-based, v5 layout): Azure returns a GUID here and it must not change. */
function stableUuid(seed: string): string {
  const h = createHash('sha1').update(seed.toLowerCase()).digest().subarray(0, 16);
  h.writeUInt8(((h[6] ?? 0) & 0x0f) | 0x50, 6);
  h.writeUInt8(((h[8] ?? 0) & 0x3f) | 0x80, 8);
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
