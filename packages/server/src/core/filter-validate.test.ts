import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import { validateFilter } from './filter.js';

const P = 'properties.filter';
const AF = `${P}.advancedFilters`;

function strIn(n: number, key = 'data.k') {
  return { operatorType: 'StringIn', key, values: Array.from({ length: n }, (_, i) => `v${i}`) };
}
function filters(...advancedFilters: unknown[]) {
  return { advancedFilters };
}

describe('validateFilter: normalisation', () => {
  const DEFAULTS = {
    includedEventTypes: null,
    subjectBeginsWith: '',
    subjectEndsWith: '',
    isSubjectCaseSensitive: false,
    enableAdvancedFilteringOnArrays: false,
    advancedFilters: [],
  };

  it.each([undefined, null, {}])('%j → defaults (match all)', (raw) => {
    expect(validateFilter(raw)).toEqual(DEFAULTS);
  });

  it('null members take their defaults and unknown members are dropped', () => {
    const raw = { subjectBeginsWith: null, isSubjectCaseSensitive: null, advancedFilters: null, bogus: 1 };
    expect(validateFilter(raw)).toEqual(DEFAULTS);
  });

  it('keeps given values and canonicalises operator names of any case', () => {
    const out = validateFilter({
      includedEventTypes: ['A.B'],
      subjectBeginsWith: 'Exp/',
      subjectEndsWith: '.json',
      isSubjectCaseSensitive: true,
      enableAdvancedFilteringOnArrays: true,
      advancedFilters: [
        { operatorType: 'stringin', key: 'data.a', values: ['X'], extra: 1 },
        { operatorType: 'NUMBERINRANGE', key: 'data.b', values: [[1, 2]] },
        { operatorType: 'numberlessthan', key: 'data.c', value: 3, values: null },
        { operatorType: 'boolequals', key: 'data.d', value: false },
        { operatorType: 'isNotNull', key: 'data.e' },
      ],
    });
    expect(out).toEqual({
      includedEventTypes: ['A.B'],
      subjectBeginsWith: 'Exp/',
      subjectEndsWith: '.json',
      isSubjectCaseSensitive: true,
      enableAdvancedFilteringOnArrays: true,
      advancedFilters: [
        { operatorType: 'StringIn', key: 'data.a', values: ['X'] },
        { operatorType: 'NumberInRange', key: 'data.b', values: [[1, 2]] },
        { operatorType: 'NumberLessThan', key: 'data.c', value: 3 },
        { operatorType: 'BoolEquals', key: 'data.d', value: false },
        { operatorType: 'IsNotNull', key: 'data.e' },
      ],
    });
  });

  it('is idempotent: a normalised filter validates to itself', () => {
    const once = validateFilter({
      includedEventTypes: ['A.B'],
      advancedFilters: [strIn(3), { operatorType: 'numberInRange', key: 'k', values: [[1, 2]] }],
    });
    expect(validateFilter(once)).toEqual(once);
  });

  const accepted: [label: string, raw: unknown][] = [
    [
      '25 advanced filters',
      filters(...Array.from({ length: 25 }, () => ({ operatorType: 'IsNotNull', key: 'id' }))),
    ],
    ['25 values in one filter', filters(strIn(25))],
    [
      '25 values across filters',
      filters(strIn(20), strIn(4), { operatorType: 'NumberGreaterThan', key: 'x', value: 1 }),
    ],
    [
      '25 range pairs (a pair counts once)',
      filters({ operatorType: 'NumberInRange', key: 'x', values: Array(25).fill([1, 2]) }),
    ],
    ['a 512-character string', filters({ operatorType: 'StringIn', key: 'k', values: ['x'.repeat(512)] })],
    ['a 512-character key', filters({ operatorType: 'IsNotNull', key: 'k'.repeat(512) })],
    ['an empty string value', filters({ operatorType: 'StringIn', key: 'k', values: [''] })],
    ['a degenerate range', filters({ operatorType: 'NumberInRange', key: 'k', values: [[-1, -1]] })],
  ];
  it.each(accepted)('accepts %s', (_label, raw) => {
    expect(() => validateFilter(raw)).not.toThrow();
  });
});

describe('validateFilter: errors name the exact field', () => {
  const cases: [label: string, raw: unknown, target: string][] = [
    ['filter not an object', 'x', P],
    ['filter is an array', [], P],
    ['includedEventTypes not an array', { includedEventTypes: 'A.B' }, `${P}.includedEventTypes`],
    ['includedEventTypes empty', { includedEventTypes: [] }, `${P}.includedEventTypes`],
    ['includedEventTypes ["All"]', { includedEventTypes: ['All'] }, `${P}.includedEventTypes[0]`],
    ['includedEventTypes with "all"', { includedEventTypes: ['A.B', 'all'] }, `${P}.includedEventTypes[1]`],
    ['includedEventTypes non-string', { includedEventTypes: ['A.B', 5] }, `${P}.includedEventTypes[1]`],
    ['includedEventTypes empty string', { includedEventTypes: [''] }, `${P}.includedEventTypes[0]`],
    ['subjectBeginsWith not a string', { subjectBeginsWith: 5 }, `${P}.subjectBeginsWith`],
    ['subjectEndsWith not a string', { subjectEndsWith: [] }, `${P}.subjectEndsWith`],
    ['isSubjectCaseSensitive as a string', { isSubjectCaseSensitive: 'true' }, `${P}.isSubjectCaseSensitive`],
    [
      'enableAdvancedFilteringOnArrays as 1',
      { enableAdvancedFilteringOnArrays: 1 },
      `${P}.enableAdvancedFilteringOnArrays`,
    ],
    ['advancedFilters not an array', { advancedFilters: {} }, AF],
    [
      '26 advanced filters',
      filters(...Array.from({ length: 26 }, () => ({ operatorType: 'IsNotNull', key: 'id' }))),
      AF,
    ],
    ['filter item not an object', filters(strIn(1), 'x'), `${AF}[1]`],
    // value budget: 25 in total across all filters
    ['26 values in one filter', filters(strIn(26)), `${AF}[0].values[25]`],
    ['26 values across two filters', filters(strIn(20), strIn(6)), `${AF}[1].values[5]`],
    [
      '26th value is a single value',
      filters(strIn(25), { operatorType: 'BoolEquals', key: 'b', value: true }),
      `${AF}[1].value`,
    ],
    [
      '26th value is a zero-value op',
      filters(strIn(25), { operatorType: 'IsNullOrUndefined', key: 'b' }),
      `${AF}[1]`,
    ],
    [
      '26 range pairs',
      filters({ operatorType: 'NumberNotInRange', key: 'x', values: Array(26).fill([1, 2]) }),
      `${AF}[0].values[25]`,
    ],
    // strings
    [
      '513-character string',
      filters({ operatorType: 'StringContains', key: 'k', values: ['a', 'x'.repeat(513)] }),
      `${AF}[0].values[1]`,
    ],
    [
      'non-string in a string list',
      filters({ operatorType: 'StringIn', key: 'k', values: ['a', 5] }),
      `${AF}[0].values[1]`,
    ],
    ['empty values list', filters({ operatorType: 'StringIn', key: 'k', values: [] }), `${AF}[0].values`],
    ['values not an array', filters({ operatorType: 'NumberIn', key: 'k', values: 5 }), `${AF}[0].values`],
    // operators
    [
      'unknown operator',
      filters(strIn(1), { operatorType: 'StringLike', key: 'k', values: ['a'] }),
      `${AF}[1].operatorType`,
    ],
    ['missing operator', filters({ key: 'k', values: ['a'] }), `${AF}[0].operatorType`],
    // keys
    ['missing key', filters({ operatorType: 'IsNotNull' }), `${AF}[0].key`],
    ['empty key', filters({ operatorType: 'IsNotNull', key: '' }), `${AF}[0].key`],
    ['non-string key', filters({ operatorType: 'IsNotNull', key: 5 }), `${AF}[0].key`],
    ['513-character key', filters({ operatorType: 'IsNotNull', key: 'k'.repeat(513) }), `${AF}[0].key`],
    ['key with empty segment', filters({ operatorType: 'IsNotNull', key: 'data..x' }), `${AF}[0].key`],
    ['key with leading dot', filters({ operatorType: 'IsNotNull', key: '.data' }), `${AF}[0].key`],
    ['key with trailing dot', filters({ operatorType: 'IsNotNull', key: 'data.' }), `${AF}[0].key`],
    // wrong value field for the operator
    [
      'multi-value op given value',
      filters({ operatorType: 'StringIn', key: 'k', value: 'a' }),
      `${AF}[0].value`,
    ],
    ['multi-value op missing values', filters({ operatorType: 'NumberNotIn', key: 'k' }), `${AF}[0].values`],
    [
      'single-value op given values',
      filters({ operatorType: 'NumberGreaterThan', key: 'k', values: [1] }),
      `${AF}[0].values`,
    ],
    [
      'single-value op missing value',
      filters({ operatorType: 'NumberLessThan', key: 'k' }),
      `${AF}[0].value`,
    ],
    [
      'zero-value op given value',
      filters({ operatorType: 'IsNotNull', key: 'k', value: 1 }),
      `${AF}[0].value`,
    ],
    [
      'zero-value op given values',
      filters({ operatorType: 'IsNullOrUndefined', key: 'k', values: [] }),
      `${AF}[0].values`,
    ],
    [
      'BoolEquals with a string',
      filters({ operatorType: 'BoolEquals', key: 'k', value: 'true' }),
      `${AF}[0].value`,
    ],
    [
      'BoolEquals with values',
      filters({ operatorType: 'BoolEquals', key: 'k', values: [true] }),
      `${AF}[0].values`,
    ],
    // numbers
    ['numeric string', filters({ operatorType: 'NumberLessThan', key: 'k', value: '5' }), `${AF}[0].value`],
    ['Infinity', filters({ operatorType: 'NumberGreaterThan', key: 'k', value: Infinity }), `${AF}[0].value`],
    ['NaN', filters({ operatorType: 'NumberGreaterThanOrEquals', key: 'k', value: NaN }), `${AF}[0].value`],
    [
      '-Infinity in a list',
      filters({ operatorType: 'NumberIn', key: 'k', values: [1, -Infinity] }),
      `${AF}[0].values[1]`,
    ],
    [
      'string in a number list',
      filters({ operatorType: 'NumberNotIn', key: 'k', values: ['1'] }),
      `${AF}[0].values[0]`,
    ],
    // ranges
    [
      'range start > end',
      filters({
        operatorType: 'NumberInRange',
        key: 'k',
        values: [
          [1, 2],
          [5, 1],
        ],
      }),
      `${AF}[0].values[1]`,
    ],
    [
      'range of one number',
      filters({ operatorType: 'NumberInRange', key: 'k', values: [[1]] }),
      `${AF}[0].values[0]`,
    ],
    [
      'range of three numbers',
      filters({ operatorType: 'NumberNotInRange', key: 'k', values: [[1, 2, 3]] }),
      `${AF}[0].values[0]`,
    ],
    [
      'flat range values',
      filters({ operatorType: 'NumberInRange', key: 'k', values: [1, 2] }),
      `${AF}[0].values[0]`,
    ],
    [
      'range with a string',
      filters({ operatorType: 'NumberInRange', key: 'k', values: [[1, '2']] }),
      `${AF}[0].values[0][1]`,
    ],
    [
      'range with Infinity',
      filters({ operatorType: 'NumberInRange', key: 'k', values: [[1, Infinity]] }),
      `${AF}[0].values[0][1]`,
    ],
  ];

  it.each(cases)('%s → %s', (_label, raw, target) => {
    let err: unknown;
    try {
      validateFilter(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MlgridError);
    const m = err as MlgridError;
    expect(m.status).toBe(400);
    expect(m.target).toBe(target);
    expect(m.details[0]?.target).toBe(target);
  });

  it('uses the caller-given path prefix', () => {
    expect(() => validateFilter({ advancedFilters: [{ operatorType: 'Nope', key: 'k' }] }, 'filter')).toThrow(
      expect.objectContaining({ target: 'filter.advancedFilters[0].operatorType' }),
    );
  });

  it('explains how to subscribe to all event types instead of "All"', () => {
    expect(() => validateFilter({ includedEventTypes: ['All'] })).toThrow(/2019-02-01-preview.*null/);
  });
});
