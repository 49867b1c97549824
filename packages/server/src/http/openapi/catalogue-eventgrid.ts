/** Event Grid operations: topics, event subscriptions (both path forms), mlgrid's delivery extensions, publish. */
import {
  API_VERSION,
  DELETED,
  json,
  listOf,
  NO_CONTENT,
  type Operation,
  type QueryParam,
} from './operation.js';

const V = [API_VERSION('2022-06-15')];
const TOPICS_RG =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.EventGrid/topics';
const TOPIC = `${TOPICS_RG}/{topicName}`;
const SUBS = '/{scope}/providers/Microsoft.EventGrid/eventSubscriptions';
const SUB = `${SUBS}/{eventSubscriptionName}`;
const TOPIC_SUBS = `${TOPIC}/eventSubscriptions`;
const TOPIC_SUB = `${TOPIC_SUBS}/{eventSubscriptionName}`;
const tag = 'Event Grid';
const admin = { tag, security: 'admin' as const, query: V };

const topicOps: Operation[] = [
  {
    ...admin,
    operationId: 'Topics_CreateOrUpdate',
    method: 'put',
    path: TOPIC,
    summary: 'Create or replace a custom topic',
    arm: { kind: 'topic' },
    body: { schema: 'TopicCreateOrUpdateParameters', required: true },
    responses: { '200': json('Topic', 'Replaced.'), '201': json('Topic', 'Created.') },
  },
  {
    ...admin,
    operationId: 'Topics_Get',
    method: 'get',
    path: TOPIC,
    summary: 'Get a topic',
    arm: { kind: 'topic' },
    responses: { '200': json('Topic', 'The topic.') },
  },
  {
    ...admin,
    operationId: 'Topics_Update',
    method: 'patch',
    path: TOPIC,
    summary: 'Update tags, publicNetworkAccess, disableLocalAuth',
    arm: { kind: 'topic' },
    body: { schema: 'TopicUpdateParameters', required: true },
    responses: { '200': json('Topic', 'The updated topic.') },
  },
  {
    ...admin,
    operationId: 'Topics_Delete',
    method: 'delete',
    path: TOPIC,
    summary: 'Delete a topic and its event subscriptions',
    arm: { kind: 'topic' },
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...admin,
    operationId: 'Topics_ListByResourceGroup',
    method: 'get',
    path: TOPICS_RG,
    summary: 'List the topics of a resource group',
    arm: { kind: 'topics' },
    responses: { '200': listOf('Topic') },
  },
  {
    ...admin,
    operationId: 'Topics_ListBySubscription',
    method: 'get',
    path: '/subscriptions/{subscriptionId}/providers/Microsoft.EventGrid/topics',
    summary: 'List the topics of an Azure subscription id',
    arm: { kind: 'topics' },
    responses: { '200': listOf('Topic') },
  },
  {
    ...admin,
    operationId: 'Topics_ListSharedAccessKeys',
    method: 'post',
    path: `${TOPIC}/listKeys`,
    summary: "The topic's two access keys",
    arm: { kind: 'topic', action: 'listKeys' },
    responses: { '200': json('TopicSharedAccessKeys', 'key1 and key2.') },
  },
  {
    ...admin,
    operationId: 'Topics_RegenerateKey',
    method: 'post',
    path: `${TOPIC}/regenerateKey`,
    summary: 'Replace one access key',
    arm: { kind: 'topic', action: 'regenerateKey' },
    body: { schema: 'TopicRegenerateKeyRequest', required: true },
    responses: { '200': json('TopicSharedAccessKeys', 'The new pair.') },
  },
];

/** The CRUD, list and Azure actions of event subscriptions at `path` (scope form or topic form). */
function subscriptionOps(prefix: string, list: string, item: string, form: string): Operation[] {
  const es = { ...admin, path: item, arm: { kind: 'eventSubscription' as const } };
  return [
    {
      ...es,
      operationId: `${prefix}_CreateOrUpdate`,
      method: 'put',
      summary: `Create or replace an event subscription (${form})`,
      description:
        "A WebHook endpoint must pass the validation handshake (docs/delivery.md). eventDeliverySchema is checked against the topic's input schema.",
      body: { schema: 'EventSubscriptionCreateOrUpdateParameters', required: true },
      responses: {
        '200': json('EventSubscription', 'Replaced.'),
        '201': json('EventSubscription', 'Created.'),
      },
    },
    {
      ...es,
      operationId: `${prefix}_Get`,
      method: 'get',
      summary: 'Get an event subscription',
      responses: { '200': json('EventSubscription', 'Secrets withheld.') },
    },
    {
      ...es,
      operationId: `${prefix}_Update`,
      method: 'patch',
      summary: 'Update an event subscription',
      body: { schema: 'EventSubscriptionUpdateParameters', required: true },
      responses: { '200': json('EventSubscription', 'The updated subscription.') },
    },
    {
      ...es,
      operationId: `${prefix}_Delete`,
      method: 'delete',
      summary: 'Delete an event subscription',
      responses: { '200': DELETED, '204': NO_CONTENT },
    },
    {
      ...admin,
      operationId: prefix === 'EventSubscriptions' ? 'EventSubscriptions_ListByResource' : `${prefix}_List`,
      method: 'get',
      path: list,
      summary: `List the event subscriptions (${form})`,
      arm: { kind: 'eventSubscriptions' },
      responses: { '200': listOf('EventSubscription') },
    },
    {
      ...es,
      path: `${item}/getFullUrl`,
      operationId: `${prefix}_GetFullUrl`,
      method: 'post',
      summary: 'The webhook URL with its query string',
      arm: { kind: 'eventSubscription', action: 'getFullUrl' },
      responses: { '200': json('EventSubscriptionFullUrl', 'WebHook destinations only.') },
    },
    {
      ...es,
      path: `${item}/getDeliveryAttributes`,
      operationId: `${prefix}_GetDeliveryAttributes`,
      method: 'post',
      summary: 'Delivery attribute mappings with secret values',
      arm: { kind: 'eventSubscription', action: 'getDeliveryAttributes' },
      responses: { '200': listOf('DeliveryAttributeMapping') },
    },
  ];
}

const page: QueryParam[] = [
  {
    name: 'top',
    description: 'Page size, 1-1000 (default 100); $top also accepted.',
    schema: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  {
    name: 'after',
    description: 'nextAfter of the previous page.',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
];
const list = {
  description: 'A page; nextAfter when there may be more.',
  schema: {
    type: 'object',
    properties: { value: { type: 'array', items: { type: 'object' } }, nextAfter: { type: 'string' } },
  },
};
const ext = (
  action:
    | 'deliveries'
    | 'deliveryAttempts'
    | 'deadLetters'
    | 'redrive'
    | 'replay'
    | 'getSigningSecrets'
    | 'rotateSigningSecret',
  method: 'get' | 'post',
  summary: string,
  more: Partial<Operation> = {},
): Operation => ({
  ...admin,
  operationId: `EventSubscriptions_${action[0]!.toUpperCase()}${action.slice(1)}`,
  method,
  path: `${SUB}/${action}`,
  summary,
  description: `mlgrid extension; also under the topic form (${TOPIC_SUB}/${action}).`,
  arm: { kind: 'eventSubscription', action },
  responses: { '200': list },
  ...more,
});

const deliveryOps: Operation[] = [
  ext('deliveries', 'get', "The subscription's delivery records with their events", {
    query: [
      ...V,
      ...page,
      { name: 'status', description: 'pending, delivered, deadLettered…', schema: { type: 'string' } },
    ],
  }),
  ext('deliveryAttempts', 'get', 'The delivery log: one row per HTTP request', {
    query: [
      ...V,
      ...page,
      { name: 'outcome', description: 'failed, or a DeliveryOutcome name.', schema: { type: 'string' } },
      { name: 'from', description: 'ISO-8601.', schema: { type: 'string', format: 'date-time' } },
      { name: 'to', description: 'ISO-8601.', schema: { type: 'string', format: 'date-time' } },
    ],
  }),
  ext('deadLetters', 'get', "Dead letters with Azure's dead-letter record", { query: [...V, ...page] }),
  ext('redrive', 'post', 'Make dead letters pending again', {
    body: { schema: 'RedriveRequest', required: true },
    responses: {
      '200': json({ type: 'object', properties: { redriven: { type: 'integer' } } }, 'How many.'),
    },
  }),
  ext('replay', 'post', 'Re-deliver retained events that match the filter today', {
    body: { schema: 'ReplayRequest', required: true },
    responses: {
      '200': json(
        { type: 'object', properties: { enqueued: { type: 'integer' }, from: { type: 'string' } } },
        'How many.',
      ),
    },
  }),
  ext('getSigningSecrets', 'post', 'The Standard Webhooks signing secrets'),
  ext('rotateSigningSecret', 'post', 'A new signing secret; the old ones expire after graceMinutes', {
    body: { schema: 'RotateSigningSecretRequest', required: false },
  }),
];

const publish: Operation = {
  operationId: 'EventGridPublisher_PublishEvents',
  method: 'post',
  path: '/topics/{topicName}/api/events',
  summary: 'Publish events to a topic (the data plane)',
  description:
    "The body's schema follows the topic's input schema and the Content-Type. Durable: events and their deliveries are committed before the 200. Limits: 5,000 events, 1 MB per request.",
  tag,
  security: 'publish',
  query: [API_VERSION('2018-01-01')],
  body: {
    schema: 'EventGridEvents',
    required: true,
    contentTypes: {
      'application/json': {
        oneOf: [
          { $ref: '#/components/schemas/EventGridEvents' },
          { $ref: '#/components/schemas/CloudEventBatch' },
          { $ref: '#/components/schemas/CustomEvents' },
        ],
      },
      'application/cloudevents+json': 'CloudEvent',
      'application/cloudevents-batch+json': 'CloudEventBatch',
    },
  },
  responses: { '200': { description: 'Accepted (empty body).' } },
};

export const EVENTGRID_OPERATIONS: Operation[] = [
  ...topicOps,
  ...subscriptionOps('EventSubscriptions', SUBS, SUB, 'on any resource id'),
  ...subscriptionOps('TopicEventSubscriptions', TOPIC_SUBS, TOPIC_SUB, 'topic path form'),
  ...deliveryOps,
  publish,
];
