/** Event subscription filter, exactly as Azure's `EventSubscriptionFilter` on the wire. */

export const NUMBER_SINGLE_OPERATORS = [
  'NumberLessThan',
  'NumberGreaterThan',
  'NumberLessThanOrEquals',
  'NumberGreaterThanOrEquals',
] as const;
export const NUMBER_LIST_OPERATORS = ['NumberIn', 'NumberNotIn'] as const;
export const NUMBER_RANGE_OPERATORS = ['NumberInRange', 'NumberNotInRange'] as const;
export const STRING_OPERATORS = [
  'StringIn',
  'StringNotIn',
  'StringBeginsWith',
  'StringNotBeginsWith',
  'StringEndsWith',
  'StringNotEndsWith',
  'StringContains',
  'StringNotContains',
] as const;
export const NULL_OPERATORS = ['IsNullOrUndefined', 'IsNotNull'] as const;
export const BOOL_OPERATORS = ['BoolEquals'] as const;

export const ADVANCED_FILTER_OPERATORS = [
  ...NUMBER_LIST_OPERATORS,
  ...NUMBER_SINGLE_OPERATORS,
  ...NUMBER_RANGE_OPERATORS,
  ...BOOL_OPERATORS,
  ...STRING_OPERATORS,
  ...NULL_OPERATORS,
] as const;
export type AdvancedFilterOperator = (typeof ADVANCED_FILTER_OPERATORS)[number];

export type AdvancedFilter =
  | { operatorType: (typeof NUMBER_SINGLE_OPERATORS)[number]; key: string; value: number }
  | { operatorType: (typeof NUMBER_LIST_OPERATORS)[number]; key: string; values: number[] }
  | { operatorType: (typeof NUMBER_RANGE_OPERATORS)[number]; key: string; values: number[][] }
  | { operatorType: 'BoolEquals'; key: string; value: boolean }
  | { operatorType: (typeof STRING_OPERATORS)[number]; key: string; values: string[] }
  | { operatorType: (typeof NULL_OPERATORS)[number]; key: string };

export interface EventSubscriptionFilter {
  includedEventTypes?: string[] | null;
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  isSubjectCaseSensitive?: boolean;
  enableAdvancedFilteringOnArrays?: boolean;
  advancedFilters?: AdvancedFilter[];
}

/** Service limits on one subscription's filter (Azure: 25 filters, 25 values in all, 512 chars a string). */
export const FILTER_LIMITS = { maxAdvancedFilters: 25, maxValuesTotal: 25, maxStringLength: 512 } as const;
