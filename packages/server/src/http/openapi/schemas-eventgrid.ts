/**
 * Event Grid request and response schemas (`@azure/arm-eventgrid` 14.x shapes, mlgrid extensions marked), written
 * to accept whatever core/topic.ts, core/event-subscription.ts and core/filter-validate.ts accept. Structural rules
 * live here; semantic ones (operator/value pairing, immutability, handshakes) stay in the parsers and are
 * described in `description`s.
 */
import {
  ADVANCED_FILTER_OPERATORS,
  CLOUD_EVENT_RESERVED,
  DELIVERY_SCHEMAS,
  ENDPOINT_TYPES,
  FILTER_LIMITS,
  INPUT_SCHEMAS,
  RETRY_LIMITS,
} from '@mlgrid/protocol';
import { TAG_LIMITS } from '../../core/arm-fields.js';
import { PUBLISH_LIMITS } from '../../core/publish.js';
import {
  any,
  arr,
  bool,
  ciEnum,
  int,
  map,
  MESSAGE,
  nonBlank,
  nullable,
  obj,
  optStr,
  ref,
  str,
  type Schema,
} from './kit.js';

const n = nullable;
const range = (k: 'maxDeliveryAttempts' | 'eventTimeToLiveInMinutes') =>
  n(int(RETRY_LIMITS[k].min, RETRY_LIMITS[k].max));

export const Tags: Schema = map(str({ max: TAG_LIMITS.valueLength }), {
  max: TAG_LIMITS.max,
  keys: str({ min: 1, max: TAG_LIMITS.nameLength }),
  description: `ARM tags: at most ${TAG_LIMITS.max}, names 1-${TAG_LIMITS.nameLength} characters, values up to ${TAG_LIMITS.valueLength}.`,
});

const mappingField = (withDefault: boolean) =>
  obj({
    sourceField: n(
      str({
        pattern: '^[^.]+(\\.[^.]+)*$',
        message: 'must be a dot-separated property path',
        description: 'Dot path of the field in the published JSON.',
      }),
    ),
    ...(withDefault ? { defaultValue: optStr('Used when the event lacks the field.') } : {}),
  });

const JsonInputSchemaMapping = obj(
  {
    inputSchemaMappingType: ciEnum(['Json']),
    properties: n(
      obj({
        id: n(ref('InputSchemaMappingField')),
        topic: n(ref('InputSchemaMappingField')),
        eventTime: n(ref('InputSchemaMappingField')),
        eventType: n(ref('InputSchemaMappingFieldWithDefault')),
        subject: n(ref('InputSchemaMappingFieldWithDefault')),
        dataVersion: n(ref('InputSchemaMappingFieldWithDefault')),
      }),
    ),
  },
  {
    required: ['inputSchemaMappingType'],
    description:
      "Maps a publisher's own JSON onto an Event Grid envelope (defaultValue only on eventType, subject, dataVersion).",
  },
);

const topicFields = {
  inputSchema: n(ciEnum(INPUT_SCHEMAS, 'Immutable after creation; default EventGridSchema.')),
  inputSchemaMapping: n(ref('JsonInputSchemaMapping')),
  publicNetworkAccess: n(ciEnum(['Enabled', 'Disabled'])),
  disableLocalAuth: n(bool('true: only Bearer may publish.')),
};

const TopicPut = obj(
  {
    location: nonBlank('Any region name; mlgrid stores it.'),
    tags: n(ref('Tags')),
    properties: n(
      obj(topicFields, {
        description: 'inputSchemaMapping is required with, and only allowed with, CustomInputSchema.',
      }),
    ),
  },
  { required: ['location'] },
);

const TopicPatch = obj(
  {
    tags: n(ref('Tags')),
    location: optStr('May only restate the current location.'),
    properties: n(obj(topicFields)),
    ...topicFields,
  },
  {
    description:
      'TopicUpdateParameters: tags, publicNetworkAccess, disableLocalAuth (nested under properties or flat). The input schema, its mapping and the location may only be restated.',
  },
);

const DeliveryAttributeMapping = obj(
  {
    name: str({
      pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
      message: 'must be a valid HTTP header name',
      description: "An HTTP header name, unique, not starting with 'aeg-'.",
    }),
    type: ciEnum(['Static', 'Dynamic']),
    properties: n(
      obj({
        value: optStr(
          `Static: the header value (at most ${RETRY_LIMITS.deliveryAttributeMappings.maxValueBytes} bytes).`,
        ),
        isSecret: n(bool('Static: withheld on reads.')),
        sourceField: optStr('Dynamic: the event field whose value is sent.'),
      }),
    ),
  },
  { required: ['name', 'type'] },
);

const batch = (k: 'maxEventsPerBatch' | 'preferredBatchSizeInKilobytes') =>
  n(int(RETRY_LIMITS[k].min, RETRY_LIMITS[k].max, 'WebHook and AzureFunction only.'));

const Destination = obj(
  {
    endpointType: ciEnum(ENDPOINT_TYPES),
    properties: n(
      obj({
        endpointUrl: optStr('WebHook: absolute http(s) URL; write-only (reads return endpointBaseUrl).'),
        resourceId: optStr('Every type but WebHook: the destination resource id.'),
        queueName: optStr('StorageQueue'),
        queueMessageTimeToLiveInSeconds: n(
          int(-1, Number.MAX_SAFE_INTEGER, 'StorageQueue: -1 or at least 1.'),
        ),
        maxEventsPerBatch: batch('maxEventsPerBatch'),
        preferredBatchSizeInKilobytes: batch('preferredBatchSizeInKilobytes'),
        azureActiveDirectoryTenantId: optStr('WebHook, with the application id.'),
        azureActiveDirectoryApplicationIdOrUri: optStr('WebHook, with the tenant id.'),
        deliveryAttributeMappings: n(
          arr(ref('DeliveryAttributeMapping'), { max: RETRY_LIMITS.deliveryAttributeMappings.max }),
        ),
        topic: optStr('Mqtt (mlgrid): the topic name to publish to (no wildcards).'),
        qos: n(int(0, 1, 'Mqtt (mlgrid): 0 or 1 (default 1, the PUBACK decides success).')),
        retain: n(bool('Mqtt (mlgrid): publish with the retain flag (default false).')),
      }),
    ),
  },
  { required: ['endpointType'] },
);

const filterValue = {
  type: ['number', 'string', 'array'],
  maxLength: FILTER_LIMITS.maxStringLength,
  items: { type: 'number' },
  minItems: 2,
  maxItems: 2,
  description: 'A number, a string, or a [min, max] pair (NumberInRange, NumberNotInRange).',
};

const AdvancedFilter = obj(
  {
    operatorType: ciEnum(ADVANCED_FILTER_OPERATORS),
    key: str({
      min: 1,
      max: FILTER_LIMITS.maxStringLength,
      description: 'Dot path such as data.modelTags.stage.',
    }),
    value: { type: ['number', 'boolean', 'null'], description: 'NumberLessThan… and BoolEquals.' },
    values: n(arr(filterValue, { min: 1, max: FILTER_LIMITS.maxValuesTotal })),
  },
  {
    required: ['operatorType', 'key'],
    description: `Single-value operators take value, list operators values, IsNullOrUndefined/IsNotNull neither; at most ${FILTER_LIMITS.maxValuesTotal} values across all filters (checked by the server). See docs/filters.md.`,
  },
);

const Filter = obj({
  includedEventTypes: n(
    arr(str({ min: 1 }), { min: 1, description: "null means every type ('All' is refused)." }),
  ),
  subjectBeginsWith: optStr(),
  subjectEndsWith: optStr(),
  isSubjectCaseSensitive: n(bool()),
  enableAdvancedFilteringOnArrays: n(bool()),
  advancedFilters: n(arr(ref('AdvancedFilter'), { max: FILTER_LIMITS.maxAdvancedFilters })),
});

const DeadLetterDestination = obj(
  {
    endpointType: ciEnum(['StorageBlob', 'LocalDirectory'], "LocalDirectory is mlgrid's."),
    properties: n(
      obj({
        resourceId: optStr('StorageBlob'),
        blobContainerName: optStr('StorageBlob'),
        path: optStr('LocalDirectory: a file:// URL.'),
      }),
    ),
  },
  { required: ['endpointType'] },
);

const subscriptionFields = (): Record<string, Schema> => ({
  destination: ref('EventSubscriptionDestination'),
  filter: n(ref('EventSubscriptionFilter')),
  labels: n(arr(str())),
  expirationTimeUtc: n(
    str({ format: 'date-time', description: 'ISO-8601, in the future; UTC when no offset.' }),
  ),
  eventDeliverySchema: n(ciEnum(DELIVERY_SCHEMAS, "Default: the topic's input schema.")),
  retryPolicy: n(ref('RetryPolicy')),
  deadLetterDestination: n(ref('DeadLetterDestination')),
  signing: n(ref('SigningRequest')),
});

const EventSubscriptionPut = obj(
  { properties: obj(subscriptionFields(), { required: ['destination'] }) },
  { required: ['properties'] },
);

const EventSubscriptionPatch = obj(
  { ...subscriptionFields(), properties: n(obj(subscriptionFields())) },
  {
    description:
      'EventSubscriptionUpdateParameters: flat, or nested under properties (nested wins); null resets a field.',
  },
);

// ------------------------------------------------------------------ publish

const time = (description: string) =>
  str({
    pattern: '^\\d{4}-\\d{2}-\\d{2}T',
    message: 'must be an RFC 3339 date-time',
    format: 'date-time',
    description,
  });
const id = (description?: string) => str({ min: 1, description });

const EventGridEvent = obj(
  {
    id: id(),
    eventType: id(),
    subject: id(),
    eventTime: time('RFC 3339.'),
    data: any('Any JSON (required, may be null).'),
    topic: optStr("Omitted, or this topic's resource id."),
    dataVersion: optStr('Stamped "" when absent.'),
    metadataVersion: { type: ['string', 'null'], enum: ['1', null] },
  },
  { required: ['id', 'eventType', 'subject', 'eventTime', 'data'] },
);

const CloudEvent = {
  ...obj(
    {
      specversion: { type: 'string', const: '1.0' },
      id: id(),
      source: id(),
      type: id(),
      subject: optStr(),
      time: n(time('RFC 3339.')),
      datacontenttype: optStr(),
      dataschema: optStr(),
      data: any(),
      data_base64: any('Instead of data, not with it.'),
    },
    { required: ['specversion', 'id', 'source', 'type'] },
  ),
  propertyNames: { anyOf: [{ enum: [...CLOUD_EVENT_RESERVED] }, { pattern: '^[a-z0-9]+$' }] },
  [MESSAGE]: 'extension attribute names are lower-case letters and digits only',
};

const batchOf = (item: Schema, description: string) =>
  arr(item, { min: 1, max: PUBLISH_LIMITS.maxEvents, description });

// ------------------------------------------------------------------ responses

const resource = (properties: Schema, extra: Record<string, Schema> = {}) =>
  obj(
    {
      id: str(),
      name: str(),
      type: str(),
      ...extra,
      systemData: obj({
        createdAt: str({ format: 'date-time' }),
        lastModifiedAt: str({ format: 'date-time' }),
      }),
      properties,
    },
    { required: ['id', 'name', 'type', 'properties'] },
  );

export const EVENTGRID_SCHEMAS: Record<string, Schema> = {
  Tags,
  InputSchemaMappingField: mappingField(false),
  InputSchemaMappingFieldWithDefault: mappingField(true),
  JsonInputSchemaMapping,
  TopicCreateOrUpdateParameters: TopicPut,
  TopicUpdateParameters: TopicPatch,
  TopicRegenerateKeyRequest: obj({ keyName: ciEnum(['key1', 'key2']) }, { required: ['keyName'] }),
  DeliveryAttributeMapping,
  EventSubscriptionDestination: Destination,
  AdvancedFilter,
  EventSubscriptionFilter: Filter,
  RetryPolicy: obj({
    maxDeliveryAttempts: range('maxDeliveryAttempts'),
    eventTimeToLiveInMinutes: range('eventTimeToLiveInMinutes'),
  }),
  DeadLetterDestination,
  SigningRequest: obj(
    { enabled: bool() },
    { required: ['enabled'], description: 'mlgrid: Standard Webhooks signing of every delivery.' },
  ),
  EventSubscriptionCreateOrUpdateParameters: EventSubscriptionPut,
  EventSubscriptionUpdateParameters: EventSubscriptionPatch,
  RedriveRequest: {
    ...obj({
      ids: any('Dead-letter ids (digits) from deadLetters.'),
      all: any('true: every dead letter.'),
    }),
    anyOf: [
      { required: ['all'], properties: { all: { const: true } } },
      { required: ['ids'], properties: { ids: arr(str({ pattern: '^\\d+$' }), { min: 1 }) } },
    ],
    [MESSAGE]: 'give {"ids": ["<dead-letter id>", ...]} or {"all": true}',
  },
  ReplayRequest: obj(
    { from: str({ format: 'date-time', description: 'ISO-8601; UTC when no offset.' }) },
    { required: ['from'] },
  ),
  RotateSigningSecretRequest: obj({
    graceMinutes: n(int(0, 43_200, 'How long the old secrets stay valid; default 1440.')),
  }),
  EventGridEvent,
  CloudEvent,
  EventGridEvents: batchOf(ref('EventGridEvent'), 'A topic with EventGridSchema (application/json).'),
  CloudEventBatch: batchOf(ref('CloudEvent'), 'A topic with CloudEventSchemaV1_0.'),
  CustomEvents: batchOf(
    { type: 'object' },
    "A topic with CustomInputSchema: objects mapped by the topic's inputSchemaMapping.",
  ),
  Topic: resource(
    obj({
      provisioningState: str(),
      endpoint: str({ format: 'uri', description: 'Where publishers POST.' }),
      inputSchema: str(),
      inputSchemaMapping: ref('JsonInputSchemaMapping'),
      publicNetworkAccess: str(),
      disableLocalAuth: bool(),
      metricResourceId: str(),
    }),
    { location: str(), tags: ref('Tags') },
  ),
  TopicSharedAccessKeys: obj({ key1: str(), key2: str() }),
  EventSubscription: resource(
    obj({
      topic: str(),
      provisioningState: str(),
      destination: ref('EventSubscriptionDestination'),
      filter: ref('EventSubscriptionFilter'),
      labels: arr(str()),
      expirationTimeUtc: str({ format: 'date-time' }),
      eventDeliverySchema: str(),
      retryPolicy: ref('RetryPolicy'),
      deadLetterDestination: ref('DeadLetterDestination'),
    }),
  ),
  EventSubscriptionFullUrl: obj({ endpointUrl: str() }),
};
