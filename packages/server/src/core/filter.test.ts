import { describe, expect, it } from 'vitest';
import { compileFilter, validateFilter, type FilterableEvent } from './filter.js';

/** Marks "the key is absent from the event". */
const MISSING = Symbol('missing');

function egEvent(value: unknown, extra: Partial<FilterableEvent> = {}): FilterableEvent {
  const data: Record<string, unknown> = { other: 'x' };
  if (value !== MISSING) data.v = value;
  return {
    schema: 'EventGridSchema',
    eventType: 'Microsoft.MachineLearningServices.RunCompleted',
    subject: 'experiments/e1/runs/r1',
    envelope: {
      id: 'id-1',
      topic: '/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/ws1',
      subject: 'experiments/e1/runs/r1',
      eventType: 'Microsoft.MachineLearningServices.RunCompleted',
      eventTime: '2024-05-01T10:00:00Z',
      data,
      dataVersion: '2',
      metadataVersion: '1',
    },
    ...extra,
  };
}

/** Validate (so the wire shape is exercised too) then compile. */
function matcher(filter: unknown) {
  return compileFilter(validateFilter(filter));
}

function advanced(op: string, operand: object, arrays: boolean, key = 'data.v') {
  return matcher({
    enableAdvancedFilteringOnArrays: arrays,
    advancedFilters: [{ operatorType: op, key, ...operand }],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Operator matrix. `hit` satisfies the operator's positive predicate, `miss` is the right type but does not,
// `wrong` is another JSON type. Expected outcomes are spelled out per operator family below.
// ---------------------------------------------------------------------------------------------------------------

interface Expect {
  hit: boolean;
  miss: boolean;
  wrongType: boolean;
  missing: boolean;
  null: boolean;
  arrayAny: boolean; // flag on: [wrong, miss, hit]
  arrayNone: boolean; // flag on: [miss, wrong]
  arrayOnlyWrongType: boolean; // flag on: [wrong]
  arrayEmpty: boolean; // flag on: []
  arrayFlagOff: boolean; // flag off: [hit]
  arrayWithObject: boolean; // flag on: [hit, {}] and [miss, {}]
  object: boolean; // { a: hit }
}

const POSITIVE: Expect = {
  hit: true,
  miss: false,
  wrongType: false,
  missing: false,
  null: false,
  arrayAny: true,
  arrayNone: false,
  arrayOnlyWrongType: false,
  arrayEmpty: false,
  arrayFlagOff: false,
  arrayWithObject: false,
  object: false,
};
/** NumberNotIn, StringNotIn, NumberNotInRange: "no comparable value" matches (Azure NOTE for the NotIn pair). */
const NEGATED_MATCH_MISSING: Expect = {
  hit: false,
  miss: true,
  wrongType: true,
  missing: true,
  null: true,
  arrayAny: false,
  arrayNone: true,
  arrayOnlyWrongType: true,
  arrayEmpty: true,
  arrayFlagOff: false,
  arrayWithObject: false,
  object: false,
};
/** StringNotBeginsWith, StringNotEndsWith, StringNotContains: "no comparable value" does not match (Azure NOTE). */
const NEGATED_FAIL_MISSING: Expect = {
  ...NEGATED_MATCH_MISSING,
  wrongType: false,
  missing: false,
  null: false,
  arrayOnlyWrongType: false,
  arrayEmpty: false,
};

interface OpRow {
  op: string;
  operand: object;
  hit: unknown;
  miss: unknown;
  wrong: unknown;
  /** String ops: a case variant of a filter value that must behave like `hit`. */
  caseHit?: string;
  expect: Expect;
}

const STRINGS_IN = { values: ['AutoML', 'pipeline'] };
const PREFIXES = { values: ['Exp', 'run/'] };
const SUFFIXES = { values: ['.ONNX', '.pkl'] };
const INFIXES = { values: ['Drift', 'zzz'] };
const NUMS = { values: [1, 2.5] };
const RANGES = {
  values: [
    [3.14159, 999.95],
    [3000, 4000],
  ],
};

const OPS: OpRow[] = [
  { op: 'NumberIn', operand: NUMS, hit: 2.5, miss: 3, wrong: '2.5', expect: POSITIVE },
  { op: 'NumberNotIn', operand: NUMS, hit: 1, miss: 3, wrong: '1', expect: NEGATED_MATCH_MISSING },
  { op: 'NumberLessThan', operand: { value: 10 }, hit: 9.99, miss: 10, wrong: '5', expect: POSITIVE },
  { op: 'NumberGreaterThan', operand: { value: 0.5 }, hit: 0.51, miss: 0.5, wrong: true, expect: POSITIVE },
  {
    op: 'NumberLessThanOrEquals',
    operand: { value: 10 },
    hit: 10,
    miss: 10.01,
    wrong: '1',
    expect: POSITIVE,
  },
  {
    op: 'NumberGreaterThanOrEquals',
    operand: { value: 5 },
    hit: 5,
    miss: 4.99,
    wrong: '9',
    expect: POSITIVE,
  },
  { op: 'NumberInRange', operand: RANGES, hit: 3000, miss: 1000, wrong: '3000', expect: POSITIVE },
  {
    op: 'NumberNotInRange',
    operand: RANGES,
    hit: 999.95,
    miss: 2,
    wrong: '500',
    expect: NEGATED_MATCH_MISSING,
  },
  { op: 'BoolEquals', operand: { value: false }, hit: false, miss: true, wrong: 'false', expect: POSITIVE },
  {
    op: 'StringIn',
    operand: STRINGS_IN,
    hit: 'AutoML',
    caseHit: 'PIPELINE',
    miss: 'auto',
    wrong: 5,
    expect: POSITIVE,
  },
  {
    op: 'StringNotIn',
    operand: STRINGS_IN,
    hit: 'pipeline',
    caseHit: 'automl',
    miss: 'automl2',
    wrong: 5,
    expect: NEGATED_MATCH_MISSING,
  },
  {
    op: 'StringBeginsWith',
    operand: PREFIXES,
    hit: 'Experiment',
    caseHit: 'RUN/7',
    miss: 'models',
    wrong: 1,
    expect: POSITIVE,
  },
  {
    op: 'StringNotBeginsWith',
    operand: PREFIXES,
    hit: 'run/1',
    caseHit: 'EXPERIMENT',
    miss: 'xexp',
    wrong: false,
    expect: NEGATED_FAIL_MISSING,
  },
  {
    op: 'StringEndsWith',
    operand: SUFFIXES,
    hit: 'm.ONNX',
    caseHit: 'M.Pkl',
    miss: 'm.onnx.pt',
    wrong: 2,
    expect: POSITIVE,
  },
  {
    op: 'StringNotEndsWith',
    operand: SUFFIXES,
    hit: 'a.pkl',
    caseHit: 'a.onnx',
    miss: 'a.pt',
    wrong: 2,
    expect: NEGATED_FAIL_MISSING,
  },
  {
    op: 'StringContains',
    operand: INFIXES,
    hit: 'dataDrift1',
    caseHit: 'xZZZx',
    miss: 'dri ft',
    wrong: 3,
    expect: POSITIVE,
  },
  {
    op: 'StringNotContains',
    operand: INFIXES,
    hit: 'noDrift',
    caseHit: 'DRIFTING',
    miss: 'stable',
    wrong: 3,
    expect: NEGATED_FAIL_MISSING,
  },
];

type Case = [label: string, value: unknown, arrays: boolean, expected: boolean];

function casesFor(r: OpRow): Case[] {
  const e = r.expect;
  const cases: Case[] = [
    ['scalar hit', r.hit, false, e.hit],
    ['scalar hit, arrays flag on', r.hit, true, e.hit],
    ['scalar miss', r.miss, false, e.miss],
    ['wrong type', r.wrong, false, e.wrongType],
    ['missing key', MISSING, false, e.missing],
    ['null value', null, false, e.null],
    ['array, one element hits', [r.wrong, r.miss, r.hit], true, e.arrayAny],
    ['array, no element hits', [r.miss, r.wrong], true, e.arrayNone],
    ['array of only wrong types', [r.wrong, null], true, e.arrayOnlyWrongType],
    ['empty array', [], true, e.arrayEmpty],
    ['array with flag off', [r.hit], false, e.arrayFlagOff],
    ['array with flag off, miss', [r.miss], false, e.arrayFlagOff],
    ['array containing an object (hit first)', [r.hit, { a: r.hit }], true, e.arrayWithObject],
    ['array containing an object (miss first)', [r.miss, { a: r.miss }], true, e.arrayWithObject],
    ['object value', { a: r.hit }, true, e.object],
  ];
  if (r.caseHit !== undefined) {
    cases.push(['case variant hits', r.caseHit, false, e.hit]);
    cases.push(['case variant in array', [r.miss, r.caseHit], true, e.arrayAny]);
  }
  return cases;
}

describe('advanced filter operators', () => {
  const rows = OPS.flatMap((r) => casesFor(r).map((c) => [r.op, ...c, r.operand] as const));
  it.each(rows)('%s: %s', (op, _label, value, arrays, expected, operand) => {
    expect(advanced(op, operand, arrays)(egEvent(value))).toBe(expected);
  });

  it('covers all 19 operators', () => {
    expect(new Set([...OPS.map((r) => r.op), 'IsNullOrUndefined', 'IsNotNull']).size).toBe(19);
  });

  const boundaries: [op: string, operand: object, value: number, expected: boolean][] = [
    ['NumberInRange', RANGES, 3.14159, true],
    ['NumberInRange', RANGES, 999.95, true],
    ['NumberInRange', RANGES, 4000, true],
    ['NumberInRange', RANGES, 4000.0001, false],
    ['NumberInRange', RANGES, 3.14, false],
    ['NumberInRange', { values: [[-1, -1]] }, -1, true],
    ['NumberNotInRange', RANGES, 3500, false],
    ['NumberNotInRange', RANGES, 2999.9, true],
    ['NumberIn', { values: [0] }, -0, true],
    ['NumberLessThan', { value: -1.5 }, -2, true],
    ['NumberGreaterThan', { value: 1e6 }, 1e6 + 1, true],
  ];
  it.each(boundaries)('%s %j on %d → %s', (op, operand, value, expected) => {
    expect(advanced(op, operand, false)(egEvent(value))).toBe(expected);
  });

  const nullOps: [label: string, value: unknown, isNullOrUndefined: boolean][] = [
    ['missing key', MISSING, true],
    ['null', null, true],
    ['empty string', '', false],
    ['zero', 0, false],
    ['false', false, false],
    ['object', { a: 1 }, false],
    ['empty array', [], false],
    ['array', [1, 2], false],
  ];
  it.each(nullOps)('IsNullOrUndefined / IsNotNull on %s', (_label, value, isNull) => {
    for (const arrays of [false, true]) {
      expect(advanced('IsNullOrUndefined', {}, arrays)(egEvent(value))).toBe(isNull);
      expect(advanced('IsNotNull', {}, arrays)(egEvent(value))).toBe(!isNull);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Subject, event types, composition.
// ---------------------------------------------------------------------------------------------------------------

describe('subject filters', () => {
  const cases: [
    begins: string,
    ends: string,
    caseSensitive: boolean | undefined,
    subject: string,
    expected: boolean,
  ][] = [
    ['', '', undefined, 'anything', true],
    ['experiments/', '', undefined, 'experiments/e1', true],
    ['EXPERIMENTS/', '', undefined, 'experiments/e1', true],
    ['EXPERIMENTS/', '', false, 'Experiments/e1', true],
    ['EXPERIMENTS/', '', true, 'experiments/e1', false],
    ['experiments/', '', true, 'experiments/e1', true],
    ['', '/RUNS/R1', undefined, 'experiments/e1/runs/r1', true],
    ['', '/RUNS/R1', true, 'experiments/e1/runs/r1', false],
    ['', '/runs/r1', true, 'experiments/e1/runs/r1', true],
    ['models/', '.onnx', undefined, 'MODELS/m.ONNX', true],
    ['models/', '.onnx', undefined, 'models/m.pt', false],
    ['models/', '.onnx', undefined, 'datasets/m.onnx', false],
    ['models/', '', undefined, '', false], // an event without a subject
    ['', 'x', true, 'X', false],
  ];
  it.each(cases)('begins %j ends %j caseSensitive %s on %j → %s', (begins, ends, cs, subject, expected) => {
    const m = matcher({ subjectBeginsWith: begins, subjectEndsWith: ends, isSubjectCaseSensitive: cs });
    expect(m(egEvent(MISSING, { subject }))).toBe(expected);
  });
});

describe('includedEventTypes', () => {
  const RC = 'Microsoft.MachineLearningServices.RunCompleted';
  const cases: [types: string[] | null | undefined, eventType: string, expected: boolean][] = [
    [undefined, RC, true],
    [null, 'Anything.At.All', true],
    [[RC], RC, true],
    [[RC.toUpperCase()], RC, true], // case-insensitive
    [[RC], RC.toLowerCase(), true],
    [['Microsoft.MachineLearningServices.ModelRegistered', RC], RC, true],
    [['Microsoft.MachineLearningServices.ModelRegistered'], RC, false],
    [[RC], `${RC}X`, false], // exact, not prefix
    [[RC], 'RunCompleted', false],
  ];
  it.each(cases)('%j vs %s → %s', (types, eventType, expected) => {
    expect(matcher({ includedEventTypes: types })(egEvent(MISSING, { eventType }))).toBe(expected);
  });
});

describe('composition', () => {
  const filter = {
    includedEventTypes: ['Microsoft.MachineLearningServices.RunCompleted'],
    subjectBeginsWith: 'experiments/',
    advancedFilters: [
      { operatorType: 'StringIn', key: 'data.runType', values: ['automl', 'pipelinerun'] },
      { operatorType: 'NumberGreaterThan', key: 'data.score', value: 0.5 },
      { operatorType: 'StringContains', key: 'Subject', values: ['/runs/'] },
      { operatorType: 'StringContains', key: 'Subject', values: ['/e1/'] }, // same key twice: both must hold
    ],
  };
  const ok = { runType: 'pipelinerun', score: 0.9 };
  const cases: [label: string, data: object, extra: Partial<FilterableEvent>, expected: boolean][] = [
    ['all hold (second OR value)', ok, {}, true],
    ['first OR value', { ...ok, runType: 'AutoML' }, {}, true],
    ['no OR value', { ...ok, runType: 'command' }, {}, false],
    ['second filter fails', { ...ok, score: 0.5 }, {}, false],
    ['event type fails', ok, { eventType: 'Microsoft.MachineLearningServices.RunStatusChanged' }, false],
    ['subject prefix fails', ok, { subject: 'models/m' }, false],
  ];
  it.each(cases)('%s → %s', (_label, data, extra, expected) => {
    const e = egEvent(MISSING, extra);
    e.envelope.data = data;
    expect(matcher(filter)(e)).toBe(expected);
  });

  it('repeated-key filters AND together on the envelope subject', () => {
    const e = egEvent(MISSING);
    e.envelope.data = ok;
    e.envelope.subject = 'experiments/e2/runs/r1';
    expect(matcher(filter)(e)).toBe(false);
  });

  it('no filter matches every event', () => {
    expect(matcher(undefined)(egEvent(MISSING, { eventType: 'X', subject: '' }))).toBe(true);
    expect(matcher({})({ schema: 'CloudEventSchemaV1_0', eventType: 'T', subject: '', envelope: {} })).toBe(
      true,
    );
  });

  it('stays correct when many distinct strings cycle through the fold memo', () => {
    const m = advanced('StringIn', { values: ['Value-3', 'value-11'] }, false);
    const expected = (i: number) => i === 3 || i === 11;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) expect(m(egEvent(`VALUE-${i}`))).toBe(expected(i));
    }
  });
});
