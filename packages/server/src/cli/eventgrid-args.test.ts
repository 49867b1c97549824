import { describe, expect, it } from 'vitest';
import {
  OCCURRENCE_MARK,
  buildInputSchemaMapping,
  buildTopicCreate,
  buildTopicUpdate,
  collectOccurrence,
  markOccurrences,
  normalizeResourceId,
  parseAdvancedFilter,
  parseDeadLetterEndpoint,
  parseDeliveryAttributeMapping,
  parseExpirationDate,
  parseKeyName,
  parseStorageQueueEndpoint,
} from './eventgrid-args.js';

const SEED_ID =
  '/subscriptions/{subId}/resourceGroups/{rgName}/ \\providers/Microsoft.MachineLearningServices/workspaces/{wsName}';
const WS =
  '/subscriptions/{subId}/resourceGroups/{rgName}/providers/Microsoft.MachineLearningServices/workspaces/{wsName}';
const SA = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa';

describe('normalizeResourceId', () => {
  it('repairs the seed doc id with its embedded line continuation', () => {
    expect(normalizeResourceId(SEED_ID)).toBe(WS);
  });
  it('adds the leading slash, collapses doubles, trims the trailing one', () => {
    expect(normalizeResourceId('subscriptions//s/resourceGroups/rg/')).toBe(
      '/subscriptions/s/resourceGroups/rg',
    );
  });
});

describe('parseAdvancedFilter', () => {
  it('maps string, number-list and case-insensitive operators', () => {
    expect(parseAdvancedFilter(['data.runType', 'stringin', 'automl', 'pipelinerun'])).toEqual({
      operatorType: 'StringIn',
      key: 'data.runType',
      values: ['automl', 'pipelinerun'],
    });
    expect(parseAdvancedFilter(['data.n', 'NumberNotIn', '1', '-2.5', '3e2'])).toEqual({
      operatorType: 'NumberNotIn',
      key: 'data.n',
      values: [1, -2.5, 300],
    });
    expect(parseAdvancedFilter(['Subject', 'STRINGNOTCONTAINS', 'x'])).toMatchObject({
      operatorType: 'StringNotContains',
    });
  });

  it('parses single-value number and bool operators', () => {
    expect(parseAdvancedFilter(['data.x', 'NumberGreaterThanOrEquals', '0.5'])).toEqual({
      operatorType: 'NumberGreaterThanOrEquals',
      key: 'data.x',
      value: 0.5,
    });
    expect(parseAdvancedFilter(['data.b', 'BoolEquals', 'FALSE'])).toEqual({
      operatorType: 'BoolEquals',
      key: 'data.b',
      value: false,
    });
    expect(parseAdvancedFilter(['data.b', 'boolequals', 'true'])).toMatchObject({ value: true });
  });

  it('parses ranges as low,high pairs', () => {
    expect(parseAdvancedFilter(['data.k', 'NumberInRange', '3.14,999.95', '3000,4000'])).toEqual({
      operatorType: 'NumberInRange',
      key: 'data.k',
      values: [
        [3.14, 999.95],
        [3000, 4000],
      ],
    });
    expect(parseAdvancedFilter(['data.k', 'NumberNotInRange', '-5,-1'])).toMatchObject({
      values: [[-5, -1]],
    });
    expect(() => parseAdvancedFilter(['data.k', 'NumberInRange', '1,2,3'])).toThrow(
      /range '1,2,3' is not in low,high/,
    );
    expect(() => parseAdvancedFilter(['data.k', 'NumberInRange', '1'])).toThrow(/low,high/);
    expect(() => parseAdvancedFilter(['data.k', 'NumberInRange', '1,x'])).toThrow(/'x' is not a number/);
  });

  it('accepts zero-value operators only without values', () => {
    expect(parseAdvancedFilter(['data.k', 'isnullorundefined'])).toEqual({
      operatorType: 'IsNullOrUndefined',
      key: 'data.k',
    });
    expect(parseAdvancedFilter(['data.k', 'IsNotNull'])).toEqual({
      operatorType: 'IsNotNull',
      key: 'data.k',
    });
    expect(() => parseAdvancedFilter(['data.k', 'IsNotNull', 'x'])).toThrow(
      /--advanced-filter: IsNotNull takes no values/,
    );
  });

  it('rejects bad numbers, wrong value counts, unknown operators and missing parts', () => {
    expect(() => parseAdvancedFilter(['data.x', 'NumberLessThan', 'abc'])).toThrow(
      "--advanced-filter: 'abc' is not a number (data.x NumberLessThan)",
    );
    for (const bad of ['0x10', 'Infinity', '', '1.2.3', 'NaN']) {
      expect(() => parseAdvancedFilter(['data.x', 'NumberIn', bad])).toThrow(/is not a number/);
    }
    expect(() => parseAdvancedFilter(['data.x', 'NumberLessThan', '1', '2'])).toThrow(
      /exactly one value but got 2/,
    );
    expect(() => parseAdvancedFilter(['data.x', 'NumberLessThan'])).toThrow(/exactly one value but got 0/);
    expect(() => parseAdvancedFilter(['data.b', 'BoolEquals', 'yes'])).toThrow(/'yes' is not true or false/);
    expect(() => parseAdvancedFilter(['data.x', 'StringIn'])).toThrow(/StringIn needs at least one value/);
    expect(() => parseAdvancedFilter(['data.x', 'Equals', '1'])).toThrow(
      /unknown operator 'Equals'.*NumberIn/,
    );
    expect(() => parseAdvancedFilter(['data.x'])).toThrow(/expects KEY OPERATOR/);
  });
});

describe('parseDeliveryAttributeMapping', () => {
  it('builds static (secret defaults to false) and dynamic mappings', () => {
    expect(parseDeliveryAttributeMapping(['x-token', 'Static', 'abc'])).toEqual({
      name: 'x-token',
      type: 'Static',
      properties: { value: 'abc', isSecret: false },
    });
    expect(parseDeliveryAttributeMapping(['x-token', 'static', 'abc', 'TRUE'])).toMatchObject({
      properties: { value: 'abc', isSecret: true },
    });
    expect(parseDeliveryAttributeMapping(['x-run', 'dynamic', 'data.runId'])).toEqual({
      name: 'x-run',
      type: 'Dynamic',
      properties: { sourceField: 'data.runId' },
    });
  });
  it('rejects wrong shapes', () => {
    expect(() => parseDeliveryAttributeMapping(['x', 'static'])).toThrow(/static mapping 'x' expects VALUE/);
    expect(() => parseDeliveryAttributeMapping(['x', 'static', 'v', 'true', 'more'])).toThrow(
      /expects VALUE/,
    );
    expect(() => parseDeliveryAttributeMapping(['x', 'static', 'v', 'maybe'])).toThrow(
      /'maybe' is not true or false/,
    );
    expect(() => parseDeliveryAttributeMapping(['x', 'dynamic', 'a', 'b'])).toThrow(
      /exactly one SOURCEFIELD/,
    );
    expect(() => parseDeliveryAttributeMapping(['x', 'header', 'v'])).toThrow(
      /type must be static or dynamic/,
    );
    expect(() => parseDeliveryAttributeMapping(['x'])).toThrow(/--delivery-attribute-mapping: expects/);
  });
});

describe('dead-letter and storage queue endpoints', () => {
  it('splits a blob container id into account id and container', () => {
    expect(parseDeadLetterEndpoint(`${SA}/blobServices/default/containers/dead`)).toEqual({
      endpointType: 'StorageBlob',
      properties: { resourceId: SA, blobContainerName: 'dead' },
    });
    expect(parseDeadLetterEndpoint(`${SA}/BLOBSERVICES/default/Containers/dead/`)).toMatchObject({
      properties: { resourceId: SA, blobContainerName: 'dead' },
    });
  });
  it('takes a file:// URL as a local directory (mlgrid extension)', () => {
    expect(parseDeadLetterEndpoint('file:///var/lib/mlgrid/dead')).toEqual({
      endpointType: 'LocalDirectory',
      properties: { path: 'file:///var/lib/mlgrid/dead' },
    });
  });
  it('rejects other dead-letter values', () => {
    expect(() => parseDeadLetterEndpoint(SA)).toThrow(/--deadletter-endpoint: expected .*blobServices/);
    expect(() => parseDeadLetterEndpoint(`${SA}/blobServices/default/containers/`)).toThrow(/expected/);
  });
  it('splits a storage queue id the way az does', () => {
    expect(parseStorageQueueEndpoint(`${SA}/queueServices/default/queues/q1`)).toEqual({
      resourceId: SA,
      queueName: 'q1',
    });
    expect(() => parseStorageQueueEndpoint(`${SA}/queues/q1`)).toThrow(
      /--endpoint: expected .*queueServices/,
    );
  });
});

describe('parseExpirationDate', () => {
  it('reads dates and date-times as UTC', () => {
    expect(parseExpirationDate('2030-11-30')).toBe('2030-11-30T00:00:00.000Z');
    expect(parseExpirationDate('2030-11-30T11:59:59+02:00')).toBe('2030-11-30T09:59:59.000Z');
    expect(parseExpirationDate('2030-11-30T11:59:59')).toBe('2030-11-30T11:59:59.000Z');
    expect(parseExpirationDate('2030-11-30T11:59:59.5-0130')).toBe('2030-11-30T13:29:59.500Z');
  });
  it('rejects impossible or non-ISO values', () => {
    for (const bad of ['2030-02-30', '2030-13-01', '30/11/2030', 'tomorrow', '2030-11-30T24:00:00']) {
      expect(() => parseExpirationDate(bad)).toThrow(/--expiration-date: .* is not an ISO 8601/);
    }
  });
});

describe('repeatable multi-value flags', () => {
  it('rewrites each occurrence to --long=value tokens, including = and glued short forms', () => {
    const grouped = { '--advanced-filter': '--advanced-filter', '-d': '--delivery-attribute-mapping' };
    const isOption = (t: string) => t.startsWith('--') || t === '-n';
    const M = OCCURRENCE_MARK;
    const args = [
      '--advanced-filter',
      'a',
      '-1,-2',
      '--advanced-filter=c',
      'd',
      '-n',
      'x',
      '-dX',
      'y',
      '--',
      '-d',
    ];
    expect(markOccurrences(['--name', '-dx', '-d', 'a'], grouped, isOption, (t) => t === '--name')).toEqual([
      '--name',
      '-dx',
      `--delivery-attribute-mapping=${OCCURRENCE_MARK}`,
      '--delivery-attribute-mapping=a',
    ]);
    expect(markOccurrences(args, grouped, isOption)).toEqual([
      `--advanced-filter=${M}`,
      '--advanced-filter=a',
      '--advanced-filter=-1,-2',
      `--advanced-filter=${M}`,
      '--advanced-filter=c',
      '--advanced-filter=d',
      '-n',
      'x',
      `--delivery-attribute-mapping=${M}`,
      '--delivery-attribute-mapping=X',
      '--delivery-attribute-mapping=y',
      '--',
      '-d',
    ]);
  });
  it('collects one group per mark', () => {
    let groups: string[][] | undefined;
    for (const v of [OCCURRENCE_MARK, 'a', 'b', OCCURRENCE_MARK, 'c']) groups = collectOccurrence(v, groups);
    expect(groups).toEqual([['a', 'b'], ['c']]);
  });
});

describe('topic bodies', () => {
  it('defaults to location local and the Event Grid schema', () => {
    expect(buildTopicCreate({})).toEqual({
      location: 'local',
      properties: { inputSchema: 'EventGridSchema' },
    });
  });
  it('maps az schema names, tags and custom input mappings', () => {
    expect(
      buildTopicCreate({
        location: 'westus',
        tags: ['team=ml', 'flag'],
        inputSchema: 'CustomEventSchema',
        inputMappingFields: [
          'id=myId',
          'EventType=kind',
          'eventtime=ts',
          'topic=t',
          'subject=s',
          'dataversion=v',
        ],
        inputMappingDefaultValues: ['eventtype=Default.Type', 'dataVersion=1.0', 'subject=x'],
      }),
    ).toEqual({
      location: 'westus',
      tags: { team: 'ml', flag: '' },
      properties: {
        inputSchema: 'CustomInputSchema',
        inputSchemaMapping: {
          inputSchemaMappingType: 'Json',
          properties: {
            id: { sourceField: 'myId' },
            topic: { sourceField: 't' },
            eventTime: { sourceField: 'ts' },
            subject: { sourceField: 's', defaultValue: 'x' },
            eventType: { sourceField: 'kind', defaultValue: 'Default.Type' },
            dataVersion: { sourceField: 'v', defaultValue: '1.0' },
          },
        },
      },
    });
    expect(buildTopicCreate({ inputSchema: 'cloudeventschemav1_0' }).properties.inputSchema).toBe(
      'CloudEventSchemaV1_0',
    );
  });
  it('enforces az rules for mappings and schemas', () => {
    expect(() => buildInputSchemaMapping('EventGridSchema', ['id=x'], undefined)).toThrow(
      /need a custom or CloudEvents/,
    );
    expect(() => buildInputSchemaMapping('CustomInputSchema', undefined, undefined)).toThrow(
      /needs --input-mapping-fields/,
    );
    expect(() => buildInputSchemaMapping('CloudEventSchemaV1_0', undefined, ['subject=x'])).toThrow(
      /only valid with/,
    );
    expect(() => buildInputSchemaMapping('CustomInputSchema', ['color=x'], undefined)).toThrow(
      /unknown field 'color'/,
    );
    expect(() => buildInputSchemaMapping('CustomInputSchema', undefined, ['id=x'])).toThrow(
      /unknown field 'id'/,
    );
    expect(() => buildInputSchemaMapping('CustomInputSchema', ['id'], undefined)).toThrow(
      /not in key=value form/,
    );
    expect(() => buildTopicCreate({ inputSchema: 'xml' })).toThrow(/--input-schema: 'xml' is not one of/);
  });
  it('updates tags, "" clears them, and nothing else is updatable', () => {
    expect(buildTopicUpdate({ tags: ['a=1', 'b=x=y'] })).toEqual({ tags: { a: '1', b: 'x=y' } });
    expect(buildTopicUpdate({ tags: [''] })).toEqual({ tags: {} });
    expect(() => buildTopicUpdate({})).toThrow(/nothing to update/);
    expect(parseKeyName('KEY2')).toBe('key2');
    expect(() => parseKeyName('key3')).toThrow(/--key-name/);
  });
});
