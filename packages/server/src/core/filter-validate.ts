/**
 * Validation of an untrusted event-subscription `filter` (reference §3) into the normalised wire form
 * that `compileFilter` trusts. Every error names the exact field, e.g. `properties.filter.advancedFilters[3].values[1]`.
 * Semantics and choices: docs/filters.md.
 */
import type { AdvancedFilter, AdvancedFilterOperator, EventSubscriptionFilter } from '@mlgrid/protocol';
import {
  ADVANCED_FILTER_OPERATORS,
  FILTER_LIMITS,
  NULL_OPERATORS,
  NUMBER_LIST_OPERATORS,
  NUMBER_RANGE_OPERATORS,
  NUMBER_SINGLE_OPERATORS,
  STRING_OPERATORS,
} from '@mlgrid/protocol';
import { invalid } from './errors.js';
import { array, isObject, oneOf, optBoolean, optString, string } from './validate.js';

/** How an operator's operand travels on the wire. */
export type OperandKind = 'number' | 'numberList' | 'range' | 'bool' | 'stringList' | 'none';

function kindTable(): ReadonlyMap<AdvancedFilterOperator, OperandKind> {
  const m = new Map<AdvancedFilterOperator, OperandKind>();
  for (const op of NUMBER_SINGLE_OPERATORS) m.set(op, 'number');
  for (const op of NUMBER_LIST_OPERATORS) m.set(op, 'numberList');
  for (const op of NUMBER_RANGE_OPERATORS) m.set(op, 'range');
  for (const op of STRING_OPERATORS) m.set(op, 'stringList');
  for (const op of NULL_OPERATORS) m.set(op, 'none');
  m.set('BoolEquals', 'bool');
  return m;
}
export const OPERAND_KIND = kindTable();

const SINGLE_VALUE_KINDS: ReadonlySet<OperandKind> = new Set(['number', 'bool']);

/** The filter every subscription without one gets: matches every event. */
function defaults(): EventSubscriptionFilter {
  return {
    includedEventTypes: null,
    subjectBeginsWith: '',
    subjectEndsWith: '',
    isSubjectCaseSensitive: false,
    enableAdvancedFilteringOnArrays: false,
    advancedFilters: [],
  };
}

export function validateFilter(raw: unknown, path = 'properties.filter'): EventSubscriptionFilter {
  const out = defaults();
  if (raw === undefined || raw === null) return out;
  if (!isObject(raw)) throw invalid(path, 'must be a JSON object');
  // Unknown properties are ignored, as ARM does; only the known ones are echoed back.
  out.includedEventTypes = eventTypes(raw.includedEventTypes, `${path}.includedEventTypes`);
  out.subjectBeginsWith = optString(raw.subjectBeginsWith, `${path}.subjectBeginsWith`) ?? '';
  out.subjectEndsWith = optString(raw.subjectEndsWith, `${path}.subjectEndsWith`) ?? '';
  out.isSubjectCaseSensitive =
    optBoolean(raw.isSubjectCaseSensitive, `${path}.isSubjectCaseSensitive`) ?? false;
  out.enableAdvancedFilteringOnArrays =
    optBoolean(raw.enableAdvancedFilteringOnArrays, `${path}.enableAdvancedFilteringOnArrays`) ?? false;
  out.advancedFilters = advancedFilters(raw.advancedFilters, `${path}.advancedFilters`);
  return out;
}

function eventTypes(v: unknown, path: string): string[] | null {
  if (v === undefined || v === null) return null;
  const list = array(v, path);
  // An empty list would be ambiguous (nothing? everything?); null is the one spelling of "all types".
  if (list.length === 0)
    throw invalid(path, 'must list at least one event type; use null to receive all event types');
  return list.map((t, i) => {
    const s = string(t, `${path}[${i}]`, { min: 1 });
    if (s.toLowerCase() === 'all') {
      throw invalid(
        `${path}[${i}]`,
        "'All' is not supported since API version 2019-02-01-preview; set includedEventTypes to null to receive all event types",
      );
    }
    return s;
  });
}

/** Running count of filter values, shared across all advanced filters of one subscription. */
interface Budget {
  used: number;
}

function advancedFilters(v: unknown, path: string): AdvancedFilter[] {
  if (v === undefined || v === null) return [];
  const list = array(v, path);
  if (list.length > FILTER_LIMITS.maxAdvancedFilters) {
    throw invalid(
      path,
      `must have at most ${FILTER_LIMITS.maxAdvancedFilters} advanced filters (got ${list.length})`,
    );
  }
  const budget: Budget = { used: 0 };
  return list.map((f, i) => advancedFilter(f, `${path}[${i}]`, budget));
}

function spend(budget: Budget, path: string): void {
  budget.used += 1;
  if (budget.used > FILTER_LIMITS.maxValuesTotal) {
    throw invalid(
      path,
      `too many filter values: at most ${FILTER_LIMITS.maxValuesTotal} in total across all advanced filters`,
    );
  }
}

function advancedFilter(raw: unknown, path: string, budget: Budget): AdvancedFilter {
  if (!isObject(raw)) throw invalid(path, 'must be a JSON object');
  const operatorType = oneOf(raw.operatorType, `${path}.operatorType`, ADVANCED_FILTER_OPERATORS);
  const key = filterKey(raw.key, `${path}.key`);
  const kind = OPERAND_KIND.get(operatorType);
  if (kind === undefined) throw new Error(`no operand kind for ${operatorType}`); // unreachable: table covers the list
  const hasValue = raw.value !== undefined && raw.value !== null;
  const hasValues = raw.values !== undefined && raw.values !== null;

  if (kind === 'none') {
    if (hasValue) throw invalid(`${path}.value`, `must be absent: ${operatorType} takes no value`);
    if (hasValues) throw invalid(`${path}.values`, `must be absent: ${operatorType} takes no value`);
    spend(budget, path); // a zero-value filter still counts as one value
    return { operatorType, key } as AdvancedFilter;
  }
  if (SINGLE_VALUE_KINDS.has(kind)) {
    if (hasValues) throw invalid(`${path}.values`, `must be absent: ${operatorType} takes a single 'value'`);
    if (!hasValue) throw invalid(`${path}.value`, `is required for ${operatorType}`);
    spend(budget, `${path}.value`);
    const value =
      kind === 'bool' ? boolValue(raw.value, `${path}.value`) : finite(raw.value, `${path}.value`);
    return { operatorType, key, value } as AdvancedFilter;
  }
  if (hasValue) throw invalid(`${path}.value`, `must be absent: ${operatorType} takes a 'values' array`);
  if (!hasValues) throw invalid(`${path}.values`, `is required for ${operatorType}`);
  const list = array(raw.values, `${path}.values`);
  if (list.length === 0) throw invalid(`${path}.values`, 'must contain at least one value');
  const values = list.map((item, j) => {
    const p = `${path}.values[${j}]`;
    spend(budget, p); // checked before the item so a huge array fails fast; a range pair counts once
    if (kind === 'numberList') return finite(item, p);
    if (kind === 'range') return range(item, p);
    return string(item, p, { max: FILTER_LIMITS.maxStringLength });
  });
  return { operatorType, key, values } as AdvancedFilter;
}

function filterKey(v: unknown, path: string): string {
  const key = string(v, path, { min: 1, max: FILTER_LIMITS.maxStringLength });
  // Keys cannot escape '.', so an empty segment can never name a real field.
  if (key.split('.').some((seg) => seg === '')) throw invalid(path, `'${key}' has an empty path segment`);
  return key;
}

function finite(v: unknown, path: string): number {
  // No coercion of numeric strings: the wire type is a JSON number.
  if (typeof v !== 'number') throw invalid(path, 'must be a number');
  if (!Number.isFinite(v)) throw invalid(path, 'must be a finite number');
  return v;
}

function boolValue(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw invalid(path, 'must be true or false');
  return v;
}

function range(v: unknown, path: string): number[] {
  if (!Array.isArray(v) || v.length !== 2) throw invalid(path, 'must be a [min, max] pair of two numbers');
  const lo = finite(v[0], `${path}[0]`);
  const hi = finite(v[1], `${path}[1]`);
  if (lo > hi) throw invalid(path, `range start ${lo} is greater than its end ${hi}`);
  return [lo, hi];
}
