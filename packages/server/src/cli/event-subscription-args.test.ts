/** Event subscription flags → PUT/PATCH bodies, pure and through the real commander program. */
import { describe, expect, it } from 'vitest';
import {
  buildEventSubscriptionCreate,
  buildEventSubscriptionPatch,
  resolveScope,
  updateNeeds,
} from './event-subscription-args.js';
import { runCli } from './program.js';

const SEED_ID =
  '/subscriptions/{subId}/resourceGroups/{rgName}/ \\providers/Microsoft.MachineLearningServices/workspaces/{wsName}';
const WS =
  '/subscriptions/{subId}/resourceGroups/{rgName}/providers/Microsoft.MachineLearningServices/workspaces/{wsName}';
const SA = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa';
const HOOK = 'https://example.com/hook';

/** Runs the real commander program against a fake fetch and returns what would have been sent. */
async function run(args: string[], answer: (method: string, url: URL) => unknown = () => ({})) {
  const requests: { method: string; url: URL; body: unknown }[] = [];
  let stdout = '';
  let stderr = '';
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    requests.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    return new Response(JSON.stringify(answer(method, url)), { status: 200 });
  }) as typeof globalThis.fetch;
  const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), fetch });
  return { code, requests, stdout, stderr, body: requests.at(-1)?.body };
}

const create = (...flags: string[]) =>
  run(['eventgrid', 'event-subscription', 'create', '-n', 's1', '--source-resource-id', WS, ...flags]);

describe('event subscription create body (pure)', () => {
  it('sends only what was given', () => {
    expect(buildEventSubscriptionCreate({ endpoint: HOOK })).toEqual({
      properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: HOOK } } },
    });
  });
  it('maps every delivery setting', () => {
    const body = buildEventSubscriptionCreate({
      endpoint: HOOK,
      endpointType: 'WEBHOOK',
      maxEventsPerBatch: '10',
      preferredBatchSizeInKilobytes: '512',
      azureActiveDirectoryTenantId: 'tenant',
      azureActiveDirectoryApplicationIdOrUri: 'api://app',
      deliveryAttributeMapping: [['x-a', 'static', 'v', 'true']],
      maxDeliveryAttempts: '5',
      eventTtl: '60',
      deadletterEndpoint: `${SA}/blobServices/default/containers/dl`,
      eventDeliverySchema: 'cloudeventschemav1_0',
      labels: ['l1', 'l2'],
      expirationDate: '2030-01-01',
      includedEventTypes: ['All'],
    });
    expect(body.properties).toEqual({
      destination: {
        endpointType: 'WebHook',
        properties: {
          endpointUrl: HOOK,
          maxEventsPerBatch: 10,
          preferredBatchSizeInKilobytes: 512,
          azureActiveDirectoryTenantId: 'tenant',
          azureActiveDirectoryApplicationIdOrUri: 'api://app',
          deliveryAttributeMappings: [
            { name: 'x-a', type: 'Static', properties: { value: 'v', isSecret: true } },
          ],
        },
      },
      // az turns the legacy ["All"] into "all event types", i.e. no includedEventTypes at all.
      filter: {},
      retryPolicy: { maxDeliveryAttempts: 5, eventTimeToLiveInMinutes: 60 },
      deadLetterDestination: {
        endpointType: 'StorageBlob',
        properties: { resourceId: SA, blobContainerName: 'dl' },
      },
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      labels: ['l1', 'l2'],
      expirationTimeUtc: '2030-01-01T00:00:00.000Z',
    });
  });
  it('puts non-webhook endpoints into resourceId and parses storage queues', () => {
    const hub = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/n/eventhubs/h';
    for (const [type, wire] of [
      ['eventhub', 'EventHub'],
      ['HybridConnection', 'HybridConnection'],
      ['servicebusqueue', 'ServiceBusQueue'],
      ['servicebustopic', 'ServiceBusTopic'],
      ['azurefunction', 'AzureFunction'],
    ] as const) {
      expect(
        buildEventSubscriptionCreate({ endpoint: hub, endpointType: type }).properties.destination,
      ).toEqual({
        endpointType: wire,
        properties: { resourceId: hub },
      });
    }
    expect(
      buildEventSubscriptionCreate({
        endpoint: `${SA}/queueServices/default/queues/q`,
        endpointType: 'storagequeue',
        storageQueueMsgTtl: '-1',
      }).properties.destination,
    ).toEqual({
      endpointType: 'StorageQueue',
      properties: { resourceId: SA, queueName: 'q', queueMessageTimeToLiveInSeconds: -1 },
    });
  });
  it('rejects settings the endpoint type cannot take, and bad numbers', () => {
    const hub = { endpoint: '/subscriptions/s/x', endpointType: 'eventhub' };
    expect(() => buildEventSubscriptionCreate({ ...hub, maxEventsPerBatch: '5' })).toThrow(
      /only to webhook and azurefunction/,
    );
    expect(() => buildEventSubscriptionCreate({ ...hub, azureActiveDirectoryTenantId: 't' })).toThrow(
      /only to webhook/,
    );
    expect(() => buildEventSubscriptionCreate({ ...hub, storageQueueMsgTtl: '5' })).toThrow(
      /only to storagequeue/,
    );
    const queue = { endpoint: `${SA}/queueServices/default/queues/q`, endpointType: 'storagequeue' };
    expect(() =>
      buildEventSubscriptionCreate({ ...queue, deliveryAttributeMapping: [['a', 'dynamic', 'b']] }),
    ).toThrow(/does not apply to storagequeue/);
    expect(() => buildEventSubscriptionCreate({ ...queue, storageQueueMsgTtl: '0' })).toThrow(
      /positive, or -1/,
    );
    expect(() => buildEventSubscriptionCreate({ endpoint: HOOK, azureActiveDirectoryTenantId: 't' })).toThrow(
      /needs both/,
    );
    expect(() => buildEventSubscriptionCreate({ endpoint: HOOK, maxDeliveryAttempts: '31' })).toThrow(
      "--max-delivery-attempts: '31' is not an integer between 1 and 30",
    );
    expect(() => buildEventSubscriptionCreate({ endpoint: HOOK, eventTtl: '1.5' })).toThrow(
      /--event-ttl: '1.5'/,
    );
    expect(() => buildEventSubscriptionCreate({ endpoint: HOOK, maxEventsPerBatch: 'ten' })).toThrow(
      /--max-events-per-batch/,
    );
    expect(() =>
      buildEventSubscriptionCreate({ endpoint: HOOK, preferredBatchSizeInKilobytes: '2048' }),
    ).toThrow(/--preferred-batch-size-in-kilobytes: '2048'/);
    expect(() => buildEventSubscriptionCreate({ endpoint: 'ftp://x' })).toThrow(/not an http\(s\) URL/);
    expect(() => buildEventSubscriptionCreate({})).toThrow(/--endpoint: is required/);
    expect(() => buildEventSubscriptionCreate({ endpoint: HOOK, endpointType: 'kafka' })).toThrow(
      /--endpoint-type: 'kafka'/,
    );
    expect(() => buildEventSubscriptionCreate({ endpoint: HOOK, eventDeliverySchema: 'xml' })).toThrow(
      /--event-delivery-schema/,
    );
  });
});

describe('event subscription update (pure)', () => {
  const current = {
    filter: {
      includedEventTypes: ['A'],
      subjectBeginsWith: 'models/',
      advancedFilters: [{ operatorType: 'IsNotNull' as const, key: 'k' }],
    },
    retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 120 },
    destination: {
      endpointType: 'WebHook' as const,
      properties: { endpointUrl: `${HOOK}?code=secret`, endpointBaseUrl: HOOK, maxEventsPerBatch: 1 },
    },
  };
  it('says what must be fetched first', () => {
    expect(updateNeeds({ labels: ['x'] })).toEqual({ current: false, destination: false });
    expect(updateNeeds({ maxDeliveryAttempts: '3', eventTtl: '9' })).toEqual({
      current: false,
      destination: false,
    });
    expect(updateNeeds({ maxDeliveryAttempts: '3' })).toEqual({ current: true, destination: false });
    expect(updateNeeds({ subjectEndsWith: '.onnx' })).toEqual({ current: true, destination: false });
    expect(updateNeeds({ maxEventsPerBatch: '5' })).toEqual({ current: true, destination: true });
  });
  it('merges filter, retry policy and destination into the current values', () => {
    expect(
      buildEventSubscriptionPatch(
        { subjectEndsWith: '.onnx', eventTtl: '30', maxEventsPerBatch: '5' },
        current,
      ),
    ).toEqual({
      filter: { ...current.filter, subjectEndsWith: '.onnx' },
      retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 30 },
      destination: {
        endpointType: 'WebHook',
        properties: { endpointUrl: `${HOOK}?code=secret`, maxEventsPerBatch: 5 },
      },
    });
  });
  it('replaces the advanced filter list and the destination when the type changes', () => {
    const hub = '/subscriptions/s/x';
    expect(
      buildEventSubscriptionPatch(
        { advancedFilter: [['data.a', 'StringIn', 'x']], endpoint: hub, endpointType: 'eventhub' },
        current,
      ),
    ).toEqual({
      filter: {
        ...current.filter,
        advancedFilters: [{ operatorType: 'StringIn', key: 'data.a', values: ['x'] }],
      },
      destination: { endpointType: 'EventHub', properties: { resourceId: hub } },
    });
  });
  it('sends plain fields as given and refuses an empty update', () => {
    expect(buildEventSubscriptionPatch({ labels: ['a'], deadletterEndpoint: 'file:///tmp/dl' })).toEqual({
      labels: ['a'],
      deadLetterDestination: { endpointType: 'LocalDirectory', properties: { path: 'file:///tmp/dl' } },
    });
    expect(() => buildEventSubscriptionPatch({})).toThrow(/nothing to update/);
    expect(() => buildEventSubscriptionPatch({ endpointType: 'eventhub' }, current)).toThrow(
      /--endpoint: is required when --endpoint-type is given/,
    );
  });
});

describe('resolveScope', () => {
  it('uses the id, the --topic-name shorthand or the subscription', () => {
    expect(resolveScope({ sourceResourceId: SEED_ID }, 'sub')).toBe(WS);
    expect(resolveScope({ topicName: 't', resourceGroup: 'rg' }, 'sub')).toBe(
      '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t',
    );
    expect(resolveScope({}, 'sub')).toBe('/subscriptions/sub');
    expect(() => resolveScope({ topicName: 't' }, 'sub')).toThrow(
      /--resource-group: is required with --topic-name/,
    );
    expect(() => resolveScope({ sourceResourceId: ' / ' }, 'sub')).toThrow(/--source-resource-id: is empty/);
  });
});

describe('argv → request body through commander', () => {
  it('runs the seed doc example exactly as written (az → mlgrid)', async () => {
    const r = await run([
      'eventgrid',
      'event-subscription',
      'create',
      '--name',
      'sub1',
      '--source-resource-id',
      SEED_ID,
      '--endpoint',
      'http://127.0.0.1:9/hook',
      '--included-event-types',
      'Microsoft.MachineLearningServices.ModelRegistered',
      '--subject-begins-with',
      'models/mymodelname',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]?.method).toBe('PUT');
    expect(decodeURIComponent(r.requests[0]!.url.pathname)).toBe(
      `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/sub1`,
    );
    expect(r.body).toEqual({
      properties: {
        destination: { endpointType: 'WebHook', properties: { endpointUrl: 'http://127.0.0.1:9/hook' } },
        filter: {
          includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'],
          subjectBeginsWith: 'models/mymodelname',
        },
      },
    });
  });

  it('keeps repeated --advanced-filter occurrences apart', async () => {
    const r = await create(
      '--endpoint',
      HOOK,
      '--advanced-filter',
      'data.runType',
      'StringIn',
      'automl',
      'pipelinerun',
      '--advanced-filter',
      'data.x',
      'NumberGreaterThan',
      '0.5',
      '--subject-begins-with',
      'x',
    );
    expect(r.code).toBe(0);
    expect((r.body as { properties: { filter: unknown } }).properties.filter).toEqual({
      subjectBeginsWith: 'x',
      advancedFilters: [
        { operatorType: 'StringIn', key: 'data.runType', values: ['automl', 'pipelinerun'] },
        { operatorType: 'NumberGreaterThan', key: 'data.x', value: 0.5 },
      ],
    });
  });

  it('handles negative numbers, zero-value ops, = forms and the -d alias', async () => {
    const r = await create(
      '--endpoint',
      HOOK,
      '--advanced-filter=data.t',
      'NumberInRange',
      '-10,-1',
      '--advanced-filter',
      'data.n',
      'IsNullOrUndefined',
      '--advanced-filter',
      'data.y',
      'NumberLessThan',
      '-3',
      '-d',
      'x-static',
      'static',
      'abc',
      'true',
      '--delivery-attribute-mapping',
      'x-dyn',
      'dynamic',
      'data.runId',
      '--subject-case-sensitive',
      '--enable-af-arr',
      'true',
    );
    expect(r.stderr).toBe('');
    const props = (r.body as { properties: { filter: unknown; destination: { properties: unknown } } })
      .properties;
    expect(props.filter).toEqual({
      isSubjectCaseSensitive: true,
      enableAdvancedFilteringOnArrays: true,
      advancedFilters: [
        { operatorType: 'NumberInRange', key: 'data.t', values: [[-10, -1]] },
        { operatorType: 'IsNullOrUndefined', key: 'data.n' },
        { operatorType: 'NumberLessThan', key: 'data.y', value: -3 },
      ],
    });
    expect(props.destination.properties).toEqual({
      endpointUrl: HOOK,
      deliveryAttributeMappings: [
        { name: 'x-static', type: 'Static', properties: { value: 'abc', isSecret: true } },
        { name: 'x-dyn', type: 'Dynamic', properties: { sourceField: 'data.runId' } },
      ],
    });
  });

  it('keeps dash-led values inside an occurrence but stops at the next option', async () => {
    const r = await create(
      '--endpoint',
      HOOK,
      '--advanced-filter',
      'subject',
      'StringBeginsWith',
      '-draft',
      '--subject-ends-with',
      '-draft.onnx',
      '--labels',
      'l',
    );
    expect(r.stderr).toBe('');
    expect(r.body).toMatchObject({
      properties: {
        filter: {
          subjectEndsWith: '-draft.onnx',
          advancedFilters: [{ operatorType: 'StringBeginsWith', key: 'subject', values: ['-draft'] }],
        },
        labels: ['l'],
      },
    });
    const typo = await create('--endpoint', HOOK, '--advanced-filter', 'a', 'StringIn', 'x', '--subjct', 'y');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/unknown option '--subjct'/);
    expect(typo.requests).toHaveLength(0);
  });

  it('builds a storage queue destination from argv', async () => {
    const r = await create(
      '--endpoint-type',
      'StorageQueue',
      '--endpoint',
      `${SA}/queueServices/default/queues/q1`,
      '--qttl',
      '300',
      '--deadletter-endpoint',
      'file:///srv/dead',
    );
    expect(r.stderr).toBe('');
    expect(r.body).toEqual({
      properties: {
        destination: {
          endpointType: 'StorageQueue',
          properties: { resourceId: SA, queueName: 'q1', queueMessageTimeToLiveInSeconds: 300 },
        },
        deadLetterDestination: { endpointType: 'LocalDirectory', properties: { path: 'file:///srv/dead' } },
      },
    });
  });

  it('maps the long alias flags and explicit false booleans', async () => {
    const r = await create(
      '--endpoint',
      HOOK,
      '--preferred-batch-size-in-kilobytes',
      '64',
      '--azure-active-directory-tenant-id',
      't',
      '--aad-app-id',
      'a',
      '--subject-case-sensitive',
      'False',
      '--enable-advanced-filtering-on-arrays',
      'false',
      '--labels',
      'a',
      'b',
    );
    expect(r.stderr).toBe('');
    expect(r.body).toMatchObject({
      properties: {
        destination: {
          properties: {
            preferredBatchSizeInKilobytes: 64,
            azureActiveDirectoryTenantId: 't',
            azureActiveDirectoryApplicationIdOrUri: 'a',
          },
        },
        filter: { isSubjectCaseSensitive: false, enableAdvancedFilteringOnArrays: false },
        labels: ['a', 'b'],
      },
    });
  });

  it('reports usage errors naming the flag without calling the server', async () => {
    const bad = await create('--endpoint', HOOK, '--advanced-filter', 'data.x', 'NumberGreaterThan', 'big');
    expect(bad.code).toBe(1);
    expect(bad.requests).toHaveLength(0);
    expect(bad.stderr).toBe("ERROR: --advanced-filter: 'big' is not a number (data.x NumberGreaterThan)\n");
    const zero = await create('--endpoint', HOOK, '--advanced-filter', 'data.x', 'IsNotNull', 'oops');
    expect(zero.stderr).toMatch(/IsNotNull takes no values but got 1/);
    const op = await create('--endpoint', HOOK, '--advanced-filter', 'data.x', 'Like', 'a');
    expect(op.stderr).toMatch(/unknown operator 'Like'/);
    const bool = await create('--endpoint', HOOK, '--subject-case-sensitive', 'maybe');
    expect(bool.code).toBe(1);
    expect(bool.stderr).toMatch(/--subject-case-sensitive: 'maybe' is not true or false/);
  });

  it('update fetches the current subscription and merges the filter before PATCHing', async () => {
    const r = await run(
      [
        'eventgrid',
        'event-subscription',
        'update',
        '-n',
        's1',
        '--source-resource-id',
        WS,
        '--subject-ends-with',
        '.onnx',
      ],
      (method) =>
        method === 'GET'
          ? {
              name: 's1',
              properties: { filter: { includedEventTypes: ['A'] }, retryPolicy: { maxDeliveryAttempts: 30 } },
            }
          : { name: 's1' },
    );
    expect(r.code).toBe(0);
    expect(r.requests.map((q) => q.method)).toEqual(['GET', 'PATCH']);
    expect(r.body).toEqual({ filter: { includedEventTypes: ['A'], subjectEndsWith: '.onnx' } });
  });
});

describe('queue, stream and mqtt endpoints (issue 6 CLI parity)', () => {
  const BROKER = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MLGrid/brokers/mosquitto';
  const NS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns';

  it('builds every az endpoint type from argv, with the long --storage-queue-msg-ttl name', async () => {
    const cases: [string, string, object][] = [
      [
        'azurefunction',
        'AzureFunction',
        { resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/functions/fn' },
      ],
      ['eventhub', 'EventHub', { resourceId: `${NS}/eventhubs/hub1` }],
      [
        'servicebusqueue',
        'ServiceBusQueue',
        {
          resourceId:
            '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb/queues/q',
        },
      ],
      [
        'servicebustopic',
        'ServiceBusTopic',
        {
          resourceId:
            '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/sb/topics/t',
        },
      ],
    ];
    for (const [flag, wire, props] of cases) {
      const r = await create(
        '--endpoint-type',
        flag,
        '--endpoint',
        (props as { resourceId: string }).resourceId,
      );
      expect(r.stderr).toBe('');
      expect(r.body).toEqual({ properties: { destination: { endpointType: wire, properties: props } } });
    }
    const q = await create(
      '--endpoint-type',
      'storagequeue',
      '--endpoint',
      `${SA}/queueServices/default/queues/jobs`,
      '--storage-queue-msg-ttl',
      '-1',
    );
    expect(q.body).toEqual({
      properties: {
        destination: {
          endpointType: 'StorageQueue',
          properties: { resourceId: SA, queueName: 'jobs', queueMessageTimeToLiveInSeconds: -1 },
        },
      },
    });
  });

  it('builds an mqtt destination: the connection id as --endpoint, --mqtt-topic, --mqtt-qos, --mqtt-retain', async () => {
    const r = await create(
      '--endpoint-type',
      'mqtt',
      '--endpoint',
      BROKER,
      '--mqtt-topic',
      'ml/models/registered',
      '--mqtt-qos',
      '0',
      '--mqtt-retain',
      '-d',
      'x-model',
      'dynamic',
      'data.modelName',
    );
    expect(r.stderr).toBe('');
    expect(r.body).toEqual({
      properties: {
        destination: {
          endpointType: 'Mqtt',
          properties: {
            resourceId: BROKER,
            topic: 'ml/models/registered',
            qos: 0,
            retain: true,
            deliveryAttributeMappings: [
              { name: 'x-model', type: 'Dynamic', properties: { sourceField: 'data.modelName' } },
            ],
          },
        },
      },
    });
    const plain = buildEventSubscriptionCreate({ endpoint: BROKER, endpointType: 'MQTT', mqttTopic: 'a/b' });
    expect(plain.properties.destination).toEqual({
      endpointType: 'Mqtt',
      properties: { resourceId: BROKER, topic: 'a/b' },
    });
  });

  it('rejects mqtt flags elsewhere, a missing or wildcard topic, and a QoS other than 0 or 1', async () => {
    const mq = { endpoint: BROKER, endpointType: 'mqtt' };
    expect(() => buildEventSubscriptionCreate(mq)).toThrow(/--mqtt-topic: is required for mqtt endpoints/);
    expect(() => buildEventSubscriptionCreate({ ...mq, mqttTopic: 'a/#' })).toThrow(/--mqtt-topic: 'a\/#'/);
    expect(() => buildEventSubscriptionCreate({ ...mq, mqttTopic: 'a', mqttQos: '2' })).toThrow(
      /--mqtt-qos: '2' is not an integer between 0 and 1/,
    );
    expect(() =>
      buildEventSubscriptionCreate({
        endpoint: `${NS}/eventhubs/h`,
        endpointType: 'eventhub',
        mqttRetain: true,
      }),
    ).toThrow(/--mqtt-retain: applies only to mqtt endpoints/);
    const r = await create('--endpoint', HOOK, '--mqtt-topic', 'a');
    expect(r.code).toBe(1);
    expect(r.requests).toHaveLength(0);
    expect(r.stderr).toMatch(/--mqtt-topic: applies only to mqtt endpoints/);
  });

  it('update keeps the mqtt topic when only the QoS changes', () => {
    const current = {
      destination: {
        endpointType: 'Mqtt' as const,
        properties: { resourceId: BROKER, topic: 'a/b', qos: 1 as const, retain: false },
      },
    };
    expect(updateNeeds({ mqttQos: '0' })).toEqual({ current: true, destination: true });
    expect(buildEventSubscriptionPatch({ mqttQos: '0' }, current)).toEqual({
      destination: {
        endpointType: 'Mqtt',
        properties: { resourceId: BROKER, topic: 'a/b', qos: 0, retain: false },
      },
    });
  });
});
