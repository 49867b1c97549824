/**
 * Azure Event Grid subscription filters (reference §3): validation (`validateFilter`) and a compiled matcher
 * (`compileFilter`). Pure code, no I/O. Semantics and every choice the Azure docs leave open: docs/filters.md.
 */
import type { AdvancedFilter, AdvancedFilterOperator, EventSubscriptionFilter } from '@mlgrid/protocol';
import {
  evaluate,
  fold,
  T_BOOL,
  T_IS_NULL,
  T_NOT_NULL,
  T_NUM_GE,
  T_NUM_GT,
  T_NUM_IN,
  T_NUM_LE,
  T_NUM_LT,
  T_RANGE,
  T_STR_BEGINS,
  T_STR_CONTAINS,
  T_STR_ENDS,
  T_STR_IN,
  type Node,
} from './filter-eval.js';

export { validateFilter } from './filter-validate.js';

export interface FilterableEvent {
  schema: 'EventGridSchema' | 'CloudEventSchemaV1_0' | 'CustomInputSchema';
  eventType: string; // EG `eventType` / CloudEvents `type`
  subject: string; // '' when the event has none
  /** EG schema: the full Event Grid event object. CustomInputSchema: the mapped Event Grid envelope whose `data` is the original custom event. CloudEvents: the full CloudEvent object (attributes + extensions + data). */
  envelope: Record<string, unknown>;
}

export type EventMatcher = (e: FilterableEvent) => boolean;

/** Operator → comparison kind and whether the outcome is negated (NotIn = NOT In, per value). */
const OPS: Record<AdvancedFilterOperator, { kind: number; negated: boolean }> = {
  NumberIn: { kind: T_NUM_IN, negated: false },
  NumberNotIn: { kind: T_NUM_IN, negated: true },
  NumberLessThan: { kind: T_NUM_LT, negated: false },
  NumberGreaterThan: { kind: T_NUM_GT, negated: false },
  NumberLessThanOrEquals: { kind: T_NUM_LE, negated: false },
  NumberGreaterThanOrEquals: { kind: T_NUM_GE, negated: false },
  NumberInRange: { kind: T_RANGE, negated: false },
  NumberNotInRange: { kind: T_RANGE, negated: true },
  BoolEquals: { kind: T_BOOL, negated: false },
  StringIn: { kind: T_STR_IN, negated: false },
  StringNotIn: { kind: T_STR_IN, negated: true },
  StringBeginsWith: { kind: T_STR_BEGINS, negated: false },
  StringNotBeginsWith: { kind: T_STR_BEGINS, negated: true },
  StringEndsWith: { kind: T_STR_ENDS, negated: false },
  StringNotEndsWith: { kind: T_STR_ENDS, negated: true },
  StringContains: { kind: T_STR_CONTAINS, negated: false },
  StringNotContains: { kind: T_STR_CONTAINS, negated: true },
  IsNullOrUndefined: { kind: T_IS_NULL, negated: false },
  IsNotNull: { kind: T_NOT_NULL, negated: false },
};

/**
 * Operators that match when the key has no comparable value (missing, null, wrong type). Azure documents
 * NumberNotIn and StringNotIn; NumberNotInRange follows them (NOT of NumberInRange); IsNullOrUndefined by definition.
 */
const MATCH_WHEN_MISSING: ReadonlySet<AdvancedFilterOperator> = new Set<AdvancedFilterOperator>([
  'NumberNotIn',
  'StringNotIn',
  'NumberNotInRange',
  'IsNullOrUndefined',
]);

const NO_NUMBERS: ReadonlySet<number> = new Set();
const NO_STRINGS: ReadonlySet<string> = new Set();
const NO_RANGES = new Float64Array(0);

function compileAdvanced(f: AdvancedFilter, arrays: boolean): Node {
  const op = OPS[f.operatorType];
  if (op === undefined) throw new Error(`unknown advanced filter operator '${String(f.operatorType)}'`);
  let num = 0;
  let bool = false;
  let numSet = NO_NUMBERS;
  let ranges = NO_RANGES;
  let strExact = NO_STRINGS;
  let strFolded = NO_STRINGS;
  let strList: readonly string[] = [];
  if ('value' in f) {
    if (typeof f.value === 'boolean') bool = f.value;
    else num = f.value;
  } else if ('values' in f) {
    if (op.kind === T_NUM_IN) numSet = new Set(f.values as number[]);
    else if (op.kind === T_RANGE)
      ranges = Float64Array.from((f.values as number[][]).flatMap((p) => [p[0]!, p[1]!]));
    else if (op.kind === T_STR_IN) {
      strExact = new Set(f.values as string[]);
      strFolded = new Set((f.values as string[]).map((s) => s.toLowerCase()));
    } else strList = (f.values as string[]).map((s) => s.toLowerCase());
  }
  const segs = f.key.split('.');
  return {
    segs,
    lows: segs.map((s) => s.toLowerCase()),
    kind: op.kind,
    negated: op.negated,
    onMissing: MATCH_WHEN_MISSING.has(f.operatorType),
    arrays,
    num,
    bool,
    numSet,
    ranges,
    strExact,
    strFolded,
    strList,
  };
}

const MATCH_ALL: EventMatcher = () => true;

/**
 * Compile a filter validated by `validateFilter` into a matcher. Everything (folded operands, split keys, sets)
 * is computed here once; the returned function allocates nothing per call apart from folding event strings
 * that contain upper-case letters (memoised across calls).
 */
export function compileFilter(filter: EventSubscriptionFilter): EventMatcher {
  const types = filter.includedEventTypes ?? null;
  const typesExact: ReadonlySet<string> = new Set(types ?? []);
  const typesFolded: ReadonlySet<string> = new Set((types ?? []).map((t) => t.toLowerCase()));
  const checkTypes = types !== null;

  const caseSensitive = filter.isSubjectCaseSensitive ?? false;
  const begins = filter.subjectBeginsWith ?? '';
  const ends = filter.subjectEndsWith ?? '';
  const beginsFolded = caseSensitive ? begins : begins.toLowerCase();
  const endsFolded = caseSensitive ? ends : ends.toLowerCase();
  const checkBegins = begins !== '';
  const checkEnds = ends !== '';

  const arrays = filter.enableAdvancedFilteringOnArrays ?? false;
  const nodes = (filter.advancedFilters ?? []).map((f) => compileAdvanced(f, arrays));
  const n = nodes.length;

  if (!checkTypes && !checkBegins && !checkEnds && n === 0) return MATCH_ALL;

  return (e: FilterableEvent): boolean => {
    if (checkTypes) {
      const t = e.eventType;
      // Exact spelling is the common case and needs no folding.
      if (!typesExact.has(t) && !typesFolded.has(fold(t))) return false;
    }
    if (checkBegins || checkEnds) {
      const s = e.subject;
      if (caseSensitive) {
        if (checkBegins && !s.startsWith(begins)) return false;
        if (checkEnds && !s.endsWith(ends)) return false;
      } else {
        if (checkBegins && !s.startsWith(begins) && !fold(s).startsWith(beginsFolded)) return false;
        if (checkEnds && !s.endsWith(ends) && !fold(s).endsWith(endsFolded)) return false;
      }
    }
    const env = e.envelope;
    for (let i = 0; i < n; i++) if (!evaluate(nodes[i] as Node, env)) return false;
    return true;
  };
}
