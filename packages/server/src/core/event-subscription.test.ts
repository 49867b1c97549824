import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import {
  applyEventSubscriptionPatch,
  deliveryAttributes,
  fullEndpointUrl,
  normalizeResourceId,
  parseEventSubscriptionPut,
  renderEventSubscription,
  validateSubscriptionName,
  type EventSubscriptionSpec,
} from './event-subscription.js';

const WS = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws';
const NOW = new Date('2025-01-01T00:00:00Z');
const ctx = { scope: WS, name: 'sub1', now: NOW };
const hook = (properties: Record<string, unknown> = {}) => ({
  endpointType: 'WebHook',
  properties: { endpointUrl: 'https://example.com/api/events?code=s3cr3t', ...properties },
});
const put = (
  properties: Record<string, unknown>,
  extra: Partial<Parameters<typeof parseEventSubscriptionPut>[1]> = {},
) => parseEventSubscriptionPut({ properties: { destination: hook(), ...properties } }, { ...ctx, ...extra });

/** The MlgridError a call throws, reduced to what clients see. */
function failure(fn: () => unknown): { status: number; target: string | undefined; code: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MlgridError) return { status: e.status, target: e.target, code: e.code };
    throw e;
  }
  throw new Error('expected an MlgridError');
}
const rejects = (fn: () => unknown, target: string) =>
  expect(failure(fn)).toMatchObject({ status: 400, target });

const FULL_BODY = {
  properties: {
    destination: {
      endpointType: 'WebHook',
      properties: {
        endpointUrl: 'https://example.com/api/events?code=secret',
        maxEventsPerBatch: 1,
        preferredBatchSizeInKilobytes: 64,
        azureActiveDirectoryTenantId: null,
        azureActiveDirectoryApplicationIdOrUri: null,
        deliveryAttributeMappings: [
          { name: 'x-token', type: 'Static', properties: { value: 'abc', isSecret: true } },
          { name: 'x-run', type: 'Dynamic', properties: { sourceField: 'data.runId' } },
        ],
      },
    },
    filter: {
      includedEventTypes: ['Microsoft.MachineLearningServices.RunCompleted'],
      subjectBeginsWith: 'experiments/',
      subjectEndsWith: '',
      isSubjectCaseSensitive: false,
      enableAdvancedFilteringOnArrays: false,
      advancedFilters: [{ operatorType: 'StringIn', key: 'data.runType', values: ['automl'] }],
    },
    labels: ['label1'],
    expirationTimeUtc: '2030-01-01T00:00:00Z',
    eventDeliverySchema: 'EventGridSchema',
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
    deadLetterDestination: {
      endpointType: 'StorageBlob',
      properties: { resourceId: '/subscriptions/s1/storageAccounts/sa', blobContainerName: 'deadletters' },
    },
  },
};

describe('validateSubscriptionName', () => {
  it('accepts 3-64 letters, digits and hyphens', () => {
    expect(validateSubscriptionName('sub-1')).toBe('sub-1');
    expect(validateSubscriptionName('a'.repeat(64))).toBe('a'.repeat(64));
  });
  it.each(['ab', 'a'.repeat(65), 'a_b', 'a.b', 'sub 1', ''])('rejects %j', (n) => {
    const expected = { status: 400, target: 'name', code: 'InvalidResourceName' };
    expect(failure(() => validateSubscriptionName(n))).toEqual(expected);
  });
});

describe('normalizeResourceId', () => {
  it('repairs the seed doc example with a shell line continuation inside the quotes', () => {
    const seed =
      '/subscriptions/{subId}/resourceGroups/{rgName}/ \\providers/Microsoft.MachineLearningServices/workspaces/{wsName}';
    expect(normalizeResourceId(seed)).toBe(
      '/subscriptions/{subId}/resourceGroups/{rgName}/providers/Microsoft.MachineLearningServices/workspaces/{wsName}',
    );
  });
  it('trims, collapses slashes, adds the leading and drops the trailing slash, keeps case', () => {
    expect(normalizeResourceId('  subscriptions//S1/resourceGroups/RG/  ')).toBe(
      '/subscriptions/S1/resourceGroups/RG',
    );
    expect(normalizeResourceId('/a/b/\n  c/')).toBe('/a/b/c');
  });
});

describe('parseEventSubscriptionPut', () => {
  it('parses the full reference §7.2 body, keeping the full URL and secret values', () => {
    const spec = parseEventSubscriptionPut(FULL_BODY, { ...ctx, scope: `${WS}/` });
    const { destination, filter, deadLetterDestination, ...rest } = FULL_BODY.properties;
    const {
      azureActiveDirectoryTenantId: _t,
      azureActiveDirectoryApplicationIdOrUri: _a,
      ...dest
    } = destination.properties;
    expect(spec).toMatchObject({
      ...rest,
      scope: WS,
      name: 'sub1',
      expirationTimeUtc: '2030-01-01T00:00:00.000Z',
    });
    expect(spec.destination).toEqual({ endpointType: 'WebHook', properties: dest });
    expect(spec.filter).toEqual(filter);
    expect(spec.deadLetterDestination).toEqual(deadLetterDestination);
  });

  it('applies defaults to a minimal body and ignores unknown properties', () => {
    const spec = parseEventSubscriptionPut(
      { properties: { destination: hook(), new: 1 }, unknown: true },
      ctx,
    );
    expect(spec).toEqual({
      scope: WS,
      name: 'sub1',
      destination: hook(),
      filter: expect.objectContaining({ includedEventTypes: null, advancedFilters: [] }),
      labels: [],
      eventDeliverySchema: 'EventGridSchema',
      retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
    });
  });

  it('defaults the delivery schema to the topic input schema and canonicalizes enum spellings', () => {
    const schema = (topicInputSchema: 'CloudEventSchemaV1_0' | 'CustomInputSchema') =>
      put({}, { topicInputSchema }).eventDeliverySchema;
    expect(schema('CloudEventSchemaV1_0')).toBe('CloudEventSchemaV1_0');
    expect(schema('CustomInputSchema')).toBe('CustomInputSchema');
    const spec = put({
      destination: { ...hook(), endpointType: 'webhook' },
      eventDeliverySchema: 'cloudeventschemav1_0',
    });
    expect([spec.destination?.endpointType, spec.eventDeliverySchema]).toEqual([
      'WebHook',
      'CloudEventSchemaV1_0',
    ]);
  });

  it('accepts http webhooks (loopback development)', () => {
    const d = { endpointType: 'WebHook', properties: { endpointUrl: 'http://127.0.0.1:8080/hook' } };
    expect(put({ destination: d }).destination?.properties.endpointUrl).toBe('http://127.0.0.1:8080/hook');
  });

  it('requires body, properties, destination and a scope', () => {
    rejects(() => parseEventSubscriptionPut([], ctx), 'body');
    rejects(() => parseEventSubscriptionPut({}, ctx), 'properties');
    rejects(() => parseEventSubscriptionPut({ properties: 'x' }, ctx), 'properties');
    rejects(() => parseEventSubscriptionPut({ properties: {} }, ctx), 'properties.destination');
    rejects(() => put({}, { scope: ' / ' }), 'scope');
    expect(failure(() => put({}, { name: 'x' }))).toMatchObject({
      target: 'name',
      code: 'InvalidResourceName',
    });
  });

  // [target, properties, context]: every row is one invalid PUT and the exact JSON path it must name.
  const D = 'properties.destination';
  const P = `${D}.properties`;
  const M = `${P}.deliveryAttributeMappings`;
  const DL = 'properties.deadLetterDestination';
  type Props = Record<string, unknown>;
  const dst = (endpointType: string, properties: Props = {}) => ({
    destination: { endpointType, properties },
  });
  const wh = (properties: Props) => ({ destination: hook(properties) });
  const maps = (...m: unknown[]) => wh({ deliveryAttributeMappings: m });
  const st = (properties: Props, name = 'a') => ({ name, type: 'Static', properties });
  const dl = (endpointType: string, properties?: Props) => ({
    deadLetterDestination: { endpointType, properties },
  });
  const ok = st({ value: 'v' }, 'x-ok');
  const ten = Array.from({ length: 10 }, (_, i) => st({ value: 'v' }, `h${i}`));
  const [EG, CE] = ['EventGridSchema', 'CloudEventSchemaV1_0'] as const;
  const INVALID: [string, Props, { topicInputSchema?: typeof EG | typeof CE }?][] = [
    [`${D}.endpointType`, dst('Carrier pigeon')],
    [`${D}.endpointType`, { destination: { properties: {} } }],
    [D, { destination: 'https://x' }],
    [P, { destination: { endpointType: 'WebHook', properties: 5 } }],
    [`${P}.endpointUrl`, dst('WebHook')],
    [`${P}.endpointUrl`, dst('WebHook', { endpointUrl: '/relative' })],
    [`${P}.endpointUrl`, dst('WebHook', { endpointUrl: 'ftp://example.com/x' })],
    [`${P}.endpointUrl`, dst('WebHook', { endpointUrl: '' })],
    ...[
      'AzureFunction',
      'EventHub',
      'ServiceBusQueue',
      'ServiceBusTopic',
      'HybridConnection',
      'StorageQueue',
    ].map((t): [string, Props] => [`${P}.resourceId`, dst(t, { queueName: 'q' })]),
    [`${P}.queueName`, dst('StorageQueue', { resourceId: '/r' })],
    ...[0, -2, '60'].map((ttl): [string, Props] => [
      `${P}.queueMessageTimeToLiveInSeconds`,
      dst('StorageQueue', { resourceId: '/r', queueName: 'q', queueMessageTimeToLiveInSeconds: ttl }),
    ]),
    [M, dst('StorageQueue', { resourceId: '/r', queueName: 'q', deliveryAttributeMappings: [] })],
    [`${P}.maxEventsPerBatch`, dst('EventHub', { resourceId: '/r', maxEventsPerBatch: 10 })],
    [
      `${P}.preferredBatchSizeInKilobytes`,
      dst('ServiceBusQueue', { resourceId: '/r', preferredBatchSizeInKilobytes: 1 }),
    ],
    [`${P}.maxEventsPerBatch`, wh({ maxEventsPerBatch: 0 })],
    [`${P}.maxEventsPerBatch`, wh({ maxEventsPerBatch: 5001 })],
    [`${P}.maxEventsPerBatch`, wh({ maxEventsPerBatch: 1.5 })],
    [`${P}.preferredBatchSizeInKilobytes`, wh({ preferredBatchSizeInKilobytes: 1025 })],
    [`${P}.azureActiveDirectoryApplicationIdOrUri`, wh({ azureActiveDirectoryTenantId: 't' })],
    [`${P}.azureActiveDirectoryTenantId`, wh({ azureActiveDirectoryApplicationIdOrUri: 'a' })],
    [
      `${P}.azureActiveDirectoryTenantId`,
      dst('AzureFunction', { resourceId: '/f', azureActiveDirectoryTenantId: 't' }),
    ],
    [M, maps(...ten, st({ value: 'v' }, 'h10'))],
    [M, wh({ deliveryAttributeMappings: {} })],
    [`${M}[2].name`, maps(ok, st({ value: 'v' }, 'x-two'), st({ value: 'v' }, ''))],
    [`${M}[1].name`, maps(ok, st({ value: 'v' }, 'aeg-custom'))],
    [`${M}[0].name`, maps(st({ value: 'v' }, 'AEG-Custom'))],
    [`${M}[1].name`, maps(ok, st({ value: 'v' }, 'X-OK'))],
    [`${M}[0].name`, maps(st({ value: 'v' }, 'bad name'))],
    [`${M}[1]`, maps(ok, 'x-ok')],
    [`${M}[0].type`, maps({ ...ok, type: 'Computed' })],
    [`${M}[0].properties.value`, maps(st({}))],
    [`${M}[0].properties.value`, maps({ name: 'a', type: 'Static' })],
    [`${M}[0].properties.value`, maps(st({ value: 1 }))],
    [`${M}[0].properties.value`, maps(st({ value: 'a\r\nInjected: 1' }))],
    [`${M}[0].properties.value`, maps(st({ value: 'x'.repeat(4097) }))],
    [`${M}[0].properties.value`, maps(st({ value: 'é'.repeat(2049) }))], // 2049 chars, 4098 bytes
    [`${M}[0].properties.isSecret`, maps(st({ value: 'v', isSecret: 'yes' }))],
    [`${M}[0].properties.sourceField`, maps({ name: 'a', type: 'Dynamic', properties: { sourceField: '' } })],
    [`${M}[0].properties.sourceField`, maps({ name: 'a', type: 'Dynamic', properties: {} })],
    ['properties.filter', { filter: 'x' }],
    ['properties.filter.includedEventTypes', { filter: { includedEventTypes: [] } }],
    ['properties.labels', { labels: 'a' }],
    ['properties.labels[1]', { labels: ['a', 2] }],
    ['properties.expirationTimeUtc', { expirationTimeUtc: 'tomorrow' }],
    ['properties.expirationTimeUtc', { expirationTimeUtc: '2024-12-31T23:59:59Z' }],
    ['properties.expirationTimeUtc', { expirationTimeUtc: NOW.toISOString() }],
    ['properties.eventDeliverySchema', { eventDeliverySchema: 'Xml' }],
    [
      'properties.eventDeliverySchema',
      { eventDeliverySchema: 'CustomInputSchema' },
      { topicInputSchema: EG },
    ],
    ['properties.eventDeliverySchema', { eventDeliverySchema: EG }, { topicInputSchema: CE }],
    ['properties.retryPolicy', { retryPolicy: 3 }],
    ['properties.retryPolicy.maxDeliveryAttempts', { retryPolicy: { maxDeliveryAttempts: 0 } }],
    ['properties.retryPolicy.maxDeliveryAttempts', { retryPolicy: { maxDeliveryAttempts: 31 } }],
    ['properties.retryPolicy.eventTimeToLiveInMinutes', { retryPolicy: { eventTimeToLiveInMinutes: 1441 } }],
    ['properties.retryPolicy.eventTimeToLiveInMinutes', { retryPolicy: { eventTimeToLiveInMinutes: 2.5 } }],
    [`${DL}.endpointType`, dl('Queue')],
    [`${DL}.properties.blobContainerName`, dl('StorageBlob', { resourceId: '/r' })],
    [`${DL}.properties.resourceId`, dl('StorageBlob', { blobContainerName: 'c' })],
    [`${DL}.properties.path`, dl('LocalDirectory', { path: '/var/dl' })],
    [`${DL}.properties.path`, dl('LocalDirectory', { path: 'https://x/y' })],
    [`${DL}.properties.path`, dl('LocalDirectory')],
  ];
  it.each(INVALID)('400 at %s', (target, properties, extra) => rejects(() => put(properties, extra), target));

  it('accepts the valid edges of the same rules', () => {
    const both = { azureActiveDirectoryTenantId: 't', azureActiveDirectoryApplicationIdOrUri: 'api://app' };
    expect(put(wh(both)).destination?.properties).toMatchObject(both);
    for (const t of ['AzureFunction', 'EventHub', 'ServiceBusQueue', 'ServiceBusTopic', 'HybridConnection']) {
      expect(put(dst(t, { resourceId: '/r' })).destination).toEqual({
        endpointType: t,
        properties: { resourceId: '/r' },
      });
    }
    const ttl = (v: number) =>
      put(dst('StorageQueue', { resourceId: '/r', queueName: 'q', queueMessageTimeToLiveInSeconds: v }));
    expect(ttl(-1).destination?.properties.queueMessageTimeToLiveInSeconds).toBe(-1);
    expect(ttl(60).destination?.properties.queueMessageTimeToLiveInSeconds).toBe(60);
    expect(
      put(dst('AzureFunction', { resourceId: '/f', maxEventsPerBatch: 5000 })).destination?.properties,
    ).toMatchObject({ maxEventsPerBatch: 5000 });
    expect(put(maps(...ten)).destination?.properties.deliveryAttributeMappings).toHaveLength(10);
    expect(
      put(maps(st({ value: 'x'.repeat(4096) }))).destination?.properties.deliveryAttributeMappings,
    ).toHaveLength(1);
    expect(put({ retryPolicy: { maxDeliveryAttempts: 5 } }).retryPolicy).toEqual({
      maxDeliveryAttempts: 5,
      eventTimeToLiveInMinutes: 1440,
    });
    expect(put(dl('localdirectory', { path: 'file:///var/dl' })).deadLetterDestination).toEqual({
      endpointType: 'LocalDirectory',
      properties: { path: 'file:///var/dl' },
    });
  });

  it('reads expirationTimeUtc without an offset as UTC', () => {
    const exp = (v: string) => put({ expirationTimeUtc: v }).expirationTimeUtc;
    expect(exp('2025-06-01T10:00:00')).toBe('2025-06-01T10:00:00.000Z');
    expect(exp('2025-06-01T10:00:00+02:00')).toBe('2025-06-01T08:00:00.000Z');
    expect(exp('2025-06-01')).toBe('2025-06-01T00:00:00.000Z');
  });

  it('allows every supported schema combination of reference §1.2', () => {
    const schema = (s: string, topicInputSchema?: 'CustomInputSchema' | typeof EG) =>
      put({ eventDeliverySchema: s }, { topicInputSchema }).eventDeliverySchema;
    for (const s of [EG, CE, 'CustomInputSchema']) expect(schema(s, 'CustomInputSchema')).toBe(s);
    expect(schema(CE, EG)).toBe(CE);
    expect(schema('CustomInputSchema')).toBe('CustomInputSchema'); // source schema unknown: not checked
  });
});

describe('applyEventSubscriptionPatch', () => {
  const base = (): EventSubscriptionSpec => parseEventSubscriptionPut(FULL_BODY, ctx);

  it('replaces only the given fields and leaves the current spec untouched', () => {
    const current = base();
    const snapshot = structuredClone(current);
    const next = applyEventSubscriptionPatch(current, {
      labels: ['x'],
      filter: { subjectEndsWith: '.onnx' },
    });
    expect(next.labels).toEqual(['x']);
    expect(next.filter).toMatchObject({ subjectEndsWith: '.onnx', includedEventTypes: null });
    expect(next.destination).toEqual(current.destination);
    expect(next.retryPolicy).toEqual(current.retryPolicy);
    expect(current).toEqual(snapshot);
  });

  it('accepts fields nested under properties', () => {
    const next = applyEventSubscriptionPatch(base(), { properties: { destination: hook() } }, { now: NOW });
    expect(next.destination?.properties.endpointUrl).toBe('https://example.com/api/events?code=s3cr3t');
    expect(next.destination?.properties).not.toHaveProperty('deliveryAttributeMappings');
  });

  it.each([
    ['destination.properties.endpointUrl', { destination: { endpointType: 'WebHook', properties: {} } }, {}],
    [
      'properties.retryPolicy.maxDeliveryAttempts',
      { properties: { retryPolicy: { maxDeliveryAttempts: 99 } } },
      {},
    ],
    ['expirationTimeUtc', { expirationTimeUtc: '2024-12-31T00:00:00Z' }, { now: NOW }],
    [
      'eventDeliverySchema',
      { eventDeliverySchema: 'EventGridSchema' },
      { topicInputSchema: 'CloudEventSchemaV1_0' },
    ],
    ['filter.advancedFilters', { filter: { advancedFilters: 'x' } }, {}],
    ['destination', { destination: null }, {}],
    ['body', 'x', {}],
    ['properties', { properties: [] }, {}],
  ] as const)('names the path as the client sent it: %s', (target, patch, patchCtx) => {
    rejects(() => applyEventSubscriptionPatch(base(), patch, patchCtx), target);
  });

  it('uses the context clock', () => {
    const patch = { expirationTimeUtc: '2025-01-02T00:00:00Z' };
    expect(applyEventSubscriptionPatch(base(), patch, { now: NOW }).expirationTimeUtc).toBe(
      '2025-01-02T00:00:00.000Z',
    );
  });

  it('merges a partial retryPolicy with the stored one', () => {
    const current = { ...base(), retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 60 } };
    const next = applyEventSubscriptionPatch(current, { retryPolicy: { maxDeliveryAttempts: 3 } });
    expect(next.retryPolicy).toEqual({ maxDeliveryAttempts: 3, eventTimeToLiveInMinutes: 60 });
  });

  it('null clears optional fields and resets defaults', () => {
    const next = applyEventSubscriptionPatch(base(), {
      expirationTimeUtc: null,
      deadLetterDestination: null,
      labels: null,
      retryPolicy: null,
    });
    expect(next).not.toHaveProperty('expirationTimeUtc');
    expect(next).not.toHaveProperty('deadLetterDestination');
    expect(next.labels).toEqual([]);
    expect(next.retryPolicy).toEqual({ maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 });
  });
});

describe('renderEventSubscription', () => {
  const meta = {
    id: `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/sub1`,
    provisioningState: 'Succeeded' as const,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-02T00:00:00.000Z',
    topic: WS.toLowerCase(),
  };
  const secretSpec = () =>
    put({
      destination: {
        endpointType: 'WebHook',
        properties: {
          endpointUrl: 'https://user:pa55word@hooks.example.com:8443/in?code=s3cr3t&x=y#frag',
          deliveryAttributeMappings: [
            {
              name: 'Authorization',
              type: 'Static',
              properties: { value: 'Bearer t0p-s3cret', isSecret: true },
            },
            { name: 'x-env', type: 'Static', properties: { value: 'prod', isSecret: false } },
            { name: 'x-run', type: 'Dynamic', properties: { sourceField: 'data.runId' } },
          ],
        },
      },
      deadLetterDestination: { endpointType: 'LocalDirectory', properties: { path: 'file:///var/dl' } },
    });

  it("has Azure's resource shape", () => {
    const out = renderEventSubscription(parseEventSubscriptionPut(FULL_BODY, ctx), meta);
    expect(out).toMatchObject({
      id: meta.id,
      name: 'sub1',
      type: 'Microsoft.EventGrid/eventSubscriptions',
      systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
      properties: {
        topic: meta.topic,
        provisioningState: 'Succeeded',
        destination: {
          endpointType: 'WebHook',
          properties: { endpointBaseUrl: 'https://example.com/api/events' },
        },
        labels: ['label1'],
        eventDeliverySchema: 'EventGridSchema',
        retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
        expirationTimeUtc: '2030-01-01T00:00:00.000Z',
        deadLetterDestination: { endpointType: 'StorageBlob' },
      },
    });
  });

  it('never returns the endpoint query string, userinfo or secret values', () => {
    const out = renderEventSubscription(secretSpec(), meta);
    const json = JSON.stringify(out);
    for (const secret of ['s3cr3t', 'pa55word', 'user:', 't0p-s3cret', 'endpointUrl', 'frag'])
      expect(json).not.toContain(secret);
    const props = out.properties.destination?.properties;
    expect(props?.endpointBaseUrl).toBe('https://hooks.example.com:8443/in');
    expect(props?.deliveryAttributeMappings).toEqual([
      { name: 'Authorization', type: 'Static', properties: { isSecret: true } },
      { name: 'x-env', type: 'Static', properties: { value: 'prod', isSecret: false } },
      { name: 'x-run', type: 'Dynamic', properties: { sourceField: 'data.runId' } },
    ]);
    expect(props).toMatchObject({ maxEventsPerBatch: 1, preferredBatchSizeInKilobytes: 64 });
    expect(out.properties.deadLetterDestination).toEqual({
      endpointType: 'LocalDirectory',
      properties: { path: 'file:///var/dl' },
    });
  });

  it('does not add batching defaults to destinations that cannot batch', () => {
    const spec = put({ destination: { endpointType: 'EventHub', properties: { resourceId: '/eh' } } });
    expect(renderEventSubscription(spec, meta).properties.destination).toEqual({
      endpointType: 'EventHub',
      properties: { resourceId: '/eh' },
    });
  });
});

describe('fullEndpointUrl and deliveryAttributes', () => {
  it('return the secrets the GET hides', () => {
    const spec = put({
      destination: hook({
        deliveryAttributeMappings: [
          { name: 'a', type: 'Static', properties: { value: 'hidden', isSecret: true } },
        ],
      }),
    });
    expect(fullEndpointUrl(spec)).toBe('https://example.com/api/events?code=s3cr3t');
    const attrs = deliveryAttributes(spec);
    expect(attrs).toEqual([{ name: 'a', type: 'Static', properties: { value: 'hidden', isSecret: true } }]);
    attrs.pop();
    expect(deliveryAttributes(spec)).toHaveLength(1);
  });

  it('getFullUrl is a 400 InvalidArgument for non-webhook destinations', () => {
    const spec = put({ destination: { endpointType: 'EventHub', properties: { resourceId: '/eh' } } });
    expect(failure(() => fullEndpointUrl(spec))).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(deliveryAttributes(spec)).toEqual([]);
  });
});
