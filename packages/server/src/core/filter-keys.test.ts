import { describe, expect, it } from 'vitest';
import { compileFilter, validateFilter, type FilterableEvent } from './filter.js';

/** Key resolution: envelope attributes per schema, nesting, case-insensitivity, unsupported shapes. */

function advanced(op: string, operand: object, arrays: boolean, key: string) {
  const filter = {
    enableAdvancedFilteringOnArrays: arrays,
    advancedFilters: [{ operatorType: op, key, ...operand }],
  };
  return compileFilter(validateFilter(filter));
}

const EG: FilterableEvent = {
  schema: 'EventGridSchema',
  eventType: 'Microsoft.MachineLearningServices.RunCompleted',
  subject: 'experiments/e1/runs/r1',
  envelope: {
    id: 'id-1',
    topic: '/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/ws1',
    subject: 'experiments/e1/runs/r1',
    eventType: 'Microsoft.MachineLearningServices.RunCompleted',
    eventTime: '2024-05-01T10:00:00Z',
    data: { other: 'x', v: { stage: 'Prod' } },
    dataVersion: '2',
    metadataVersion: '1',
  },
};

const ceEvent: FilterableEvent = {
  schema: 'CloudEventSchemaV1_0',
  eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
  subject: 'models/m:20',
  envelope: {
    specversion: '1.0',
    id: 'ce-1',
    source: '/subscriptions/s/workspaces/ws1',
    type: 'Microsoft.MachineLearningServices.ModelRegistered',
    subject: 'models/m:20',
    time: '2024-05-01T10:00:00Z',
    comexampleothervalue: 5,
    myext: 'Hello',
    data: { modelName: 'm', modelVersion: 20, modelTags: { stage: 'prod' } },
  },
};
const customEvent: FilterableEvent = {
  schema: 'CustomInputSchema',
  eventType: 'Order.Created',
  subject: 'orders/42',
  envelope: {
    id: 'c-1',
    topic: 't',
    subject: 'orders/42',
    eventType: 'Order.Created',
    eventTime: '2024-05-01T10:00:00Z',
    dataVersion: '1.0',
    data: { key1: 'Value1', nested: { deeper: { n: 7 } }, myEventType: 'Order.Created' },
  },
};

type KeyCase = [key: string, op: string, operand: object, expected: boolean];
const keyTables: [schema: string, event: FilterableEvent, cases: KeyCase[]][] = [
  [
    'EventGridSchema',
    EG,
    [
      ['ID', 'StringIn', { values: ['ID-1'] }, true],
      ['id', 'StringIn', { values: ['id-1'] }, true],
      ['Topic', 'StringEndsWith', { values: ['/WORKSPACES/WS1'] }, true],
      ['Subject', 'StringBeginsWith', { values: ['experiments/'] }, true],
      ['EventType', 'StringIn', { values: ['microsoft.machinelearningservices.runcompleted'] }, true],
      ['eventtype', 'StringIn', { values: ['Other'] }, false],
      ['DataVersion', 'StringIn', { values: ['2'] }, true],
      ['DataVersion', 'NumberIn', { values: [2] }, false], // "2" is a string: no coercion
      ['data.v.stage', 'StringIn', { values: ['prod'] }, true],
      ['Data.V.Stage', 'StringIn', { values: ['PROD'] }, true],
      ['data.v.absent', 'IsNullOrUndefined', {}, true],
      ['data.other.length', 'IsNullOrUndefined', {}, true], // walking into a string: missing
      ['data.constructor', 'IsNullOrUndefined', {}, true], // Object.prototype is not event data
      ['data.toString', 'IsNotNull', {}, false],
      ['data.__proto__', 'IsNotNull', {}, false],
    ],
  ],
  [
    'CloudEventSchemaV1_0',
    ceEvent,
    [
      ['id', 'StringIn', { values: ['ce-1'] }, true],
      ['source', 'StringEndsWith', { values: ['/ws1'] }, true],
      ['type', 'StringIn', { values: ['Microsoft.MachineLearningServices.ModelRegistered'] }, true],
      ['specversion', 'StringIn', { values: ['1.0'] }, true],
      ['subject', 'StringBeginsWith', { values: ['MODELS/'] }, true],
      ['time', 'StringBeginsWith', { values: ['2024-05'] }, true],
      ['comexampleothervalue', 'NumberGreaterThanOrEquals', { value: 5 }, true],
      ['MyExt', 'StringIn', { values: ['hello'] }, true],
      ['EventType', 'IsNullOrUndefined', {}, true], // Event Grid names are not aliases for CloudEvents
      ['data.modelVersion', 'NumberIn', { values: [20] }, true],
      ['data.modelTags.stage', 'StringNotIn', { values: ['dev'] }, true],
    ],
  ],
  [
    'CustomInputSchema',
    customEvent,
    [
      ['data.key1', 'StringIn', { values: ['value1'] }, true],
      ['data.nested.deeper.n', 'NumberInRange', { values: [[7, 7]] }, true],
      ['data.nested.deeper.n.x', 'IsNullOrUndefined', {}, true],
      ['Subject', 'StringEndsWith', { values: ['/42'] }, true],
      ['EventType', 'StringIn', { values: ['order.created'] }, true],
      ['data.myEventType', 'StringIn', { values: ['Order.Created'] }, true],
    ],
  ],
];

describe('advanced filter keys', () => {
  const rows = keyTables.flatMap(([schema, event, cases]) =>
    cases.map((c) => [schema, ...c, event] as const),
  );
  it.each(rows)('%s: %s %s %j → %s', (_schema, key, op, operand, expected, event) => {
    expect(advanced(op, operand, false, key)(event)).toBe(expected);
  });

  const tricky: FilterableEvent = {
    ...customEvent,
    envelope: {
      data: {
        Name: 'upper',
        name: 'lower',
        Äpfel: 'non-ascii',
        '\u212Aey': 'kelvin', // KELVIN SIGN folds to ASCII 'k'
        items: [{ name: 'a' }, { name: 'b' }],
        tags: ['A', 'B'],
      },
    },
  };
  const trickyCases: KeyCase[] = [
    ['data.name', 'StringIn', { values: ['lower'] }, true], // exact spelling wins
    ['data.Name', 'StringIn', { values: ['upper'] }, true],
    ['data.NAME', 'StringIn', { values: ['upper'] }, true], // first case-insensitive match in key order
    ['data.xame', 'IsNullOrUndefined', {}, true], // 'Name' differs by more than case
    ['data.äPFEL', 'StringIn', { values: ['non-ascii'] }, true],
    ['data.key', 'StringIn', { values: ['kelvin'] }, true],
    ['data.items.name', 'StringIn', { values: ['a'] }, false], // arrays of objects: unsupported
    ['data.items.name', 'StringNotIn', { values: ['z'] }, false],
    ['data.items.name', 'IsNullOrUndefined', {}, false],
    ['data.items.name', 'IsNotNull', {}, false],
    ['data.items', 'StringNotIn', { values: ['z'] }, false],
    ['data.tags', 'StringIn', { values: ['b'] }, false], // array without the flag
  ];
  it.each(trickyCases)('case/shape: %s %s %j → %s', (key, op, operand, expected) => {
    expect(advanced(op, operand, false, key)(tricky)).toBe(expected);
  });
});
