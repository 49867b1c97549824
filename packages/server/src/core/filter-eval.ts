/**
 * Hot-path helpers of the filter engine: case folding, key resolution and per-value comparison.
 * Everything here runs per event per subscription, so it allocates nothing in the common case.
 */

/**
 * Case folding = `String.prototype.toLowerCase` (locale-independent). A tiny shared memo, because the router
 * evaluates many subscriptions against the same event: the same eventType / subject / data strings are folded
 * over and over, and `toLowerCase` allocates whenever a string has an upper-case letter.
 */
const FOLD_SLOTS = 8;
const foldIn: string[] = new Array<string>(FOLD_SLOTS).fill('');
const foldOut: string[] = new Array<string>(FOLD_SLOTS).fill('');
let foldNext = 0;

export function fold(s: string): string {
  for (let i = 0; i < FOLD_SLOTS; i++) {
    // Same string instance → pointer compare; different strings mostly differ in length or first chars.
    if (foldIn[i] === s) return foldOut[i] as string;
  }
  const f = s.toLowerCase();
  foldIn[foldNext] = s;
  foldOut[foldNext] = f;
  foldNext = (foldNext + 1) % FOLD_SLOTS;
  return f;
}

/** Does object key `k` fold to `low` (already folded)? ASCII fast path, no allocation unless non-ASCII. */
export function keyMatchesFolded(k: string, low: string): boolean {
  const n = low.length;
  // toLowerCase never shortens a string and only U+0130 (İ) lengthens one.
  if (k.length !== n) return k.length < n && k.includes('\u0130') && k.toLowerCase() === low;
  for (let i = 0; i < n; i++) {
    const c = k.charCodeAt(i);
    const d = low.charCodeAt(i);
    if (c === d) continue;
    if (c >= 65 && c <= 90) {
      if (c + 32 === d) continue;
      return false;
    }
    if (c < 128) return false;
    return k.toLowerCase() === low; // non-ASCII (e.g. the Kelvin sign folds to 'k'): full mapping
  }
  return true;
}

/** Resolution result for a path that crosses an array: filtering on arrays of objects is unsupported. */
export const UNSUPPORTED: unique symbol = Symbol('unsupported');

/** Own property `seg`, else the first own property whose name folds to `low`; undefined when absent. */
function prop(obj: Record<string, unknown>, seg: string, low: string): unknown {
  const v = obj[seg];
  // hasOwn keeps `constructor`, `toString`… of Object.prototype from resolving as event fields.
  if (v !== undefined && Object.hasOwn(obj, seg)) return v;
  for (const k in obj) {
    if (keyMatchesFolded(k, low) && Object.hasOwn(obj, k)) return obj[k];
  }
  return undefined;
}

/** Walk `segs` from the envelope: undefined = missing (incl. walking into a scalar), UNSUPPORTED = via an array. */
export function resolve(
  env: Record<string, unknown>,
  segs: readonly string[],
  lows: readonly string[],
): unknown {
  let cur: unknown = env;
  for (let i = 0; i < segs.length; i++) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    if (Array.isArray(cur)) return UNSUPPORTED;
    cur = prop(cur as Record<string, unknown>, segs[i] as string, lows[i] as string);
  }
  return cur;
}

// Comparison kinds; a negated operator uses its positive twin's kind and flips the outcome.
export const T_NUM_IN = 0;
export const T_NUM_LT = 1;
export const T_NUM_GT = 2;
export const T_NUM_LE = 3;
export const T_NUM_GE = 4;
export const T_RANGE = 5;
export const T_BOOL = 6;
export const T_STR_IN = 7;
export const T_STR_BEGINS = 8;
export const T_STR_ENDS = 9;
export const T_STR_CONTAINS = 10;
export const T_IS_NULL = 11;
export const T_NOT_NULL = 12;

/** One compiled advanced filter. Every node has every field so all share one hidden class. */
export interface Node {
  readonly segs: readonly string[];
  readonly lows: readonly string[];
  readonly kind: number;
  readonly negated: boolean;
  /** Outcome when the key has no comparable value (missing, null, wrong type, no usable array element). */
  readonly onMissing: boolean;
  readonly arrays: boolean;
  readonly num: number;
  readonly bool: boolean;
  readonly numSet: ReadonlySet<number>;
  /** [lo0, hi0, lo1, hi1, ...], inclusive. */
  readonly ranges: Float64Array;
  /** StringIn: values as written (exact hit skips folding) and folded. */
  readonly strExact: ReadonlySet<string>;
  readonly strFolded: ReadonlySet<string>;
  /** Begins/Ends/Contains: folded operands. */
  readonly strList: readonly string[];
}

const MATCH = 1;
const NO_MATCH = 0;
const INCOMPARABLE = -1;

/** Positive predicate of `node` on one scalar; INCOMPARABLE when the scalar's type is not the operator's. */
function compare(node: Node, v: unknown): number {
  switch (node.kind) {
    case T_NUM_IN:
      return typeof v === 'number' ? (node.numSet.has(v) ? MATCH : NO_MATCH) : INCOMPARABLE;
    case T_NUM_LT:
      return typeof v === 'number' ? (v < node.num ? MATCH : NO_MATCH) : INCOMPARABLE;
    case T_NUM_GT:
      return typeof v === 'number' ? (v > node.num ? MATCH : NO_MATCH) : INCOMPARABLE;
    case T_NUM_LE:
      return typeof v === 'number' ? (v <= node.num ? MATCH : NO_MATCH) : INCOMPARABLE;
    case T_NUM_GE:
      return typeof v === 'number' ? (v >= node.num ? MATCH : NO_MATCH) : INCOMPARABLE;
    case T_RANGE: {
      if (typeof v !== 'number') return INCOMPARABLE;
      const r = node.ranges;
      for (let i = 0; i < r.length; i += 2)
        if (v >= (r[i] as number) && v <= (r[i + 1] as number)) return MATCH;
      return NO_MATCH;
    }
    case T_BOOL:
      return typeof v === 'boolean' ? (v === node.bool ? MATCH : NO_MATCH) : INCOMPARABLE;
    case T_STR_IN:
      if (typeof v !== 'string') return INCOMPARABLE;
      return node.strExact.has(v) || node.strFolded.has(fold(v)) ? MATCH : NO_MATCH;
    case T_STR_BEGINS: {
      if (typeof v !== 'string') return INCOMPARABLE;
      const f = fold(v);
      const l = node.strList;
      for (let i = 0; i < l.length; i++) if (f.startsWith(l[i] as string)) return MATCH;
      return NO_MATCH;
    }
    case T_STR_ENDS: {
      if (typeof v !== 'string') return INCOMPARABLE;
      const f = fold(v);
      const l = node.strList;
      for (let i = 0; i < l.length; i++) if (f.endsWith(l[i] as string)) return MATCH;
      return NO_MATCH;
    }
    case T_STR_CONTAINS: {
      if (typeof v !== 'string') return INCOMPARABLE;
      const f = fold(v);
      const l = node.strList;
      for (let i = 0; i < l.length; i++) if (f.includes(l[i] as string)) return MATCH;
      return NO_MATCH;
    }
    default:
      return INCOMPARABLE;
  }
}

/** Array value with enableAdvancedFilteringOnArrays: positive ops need ANY element, negated ops NO element. */
function evaluateArray(node: Node, arr: readonly unknown[]): boolean {
  let seen = false;
  let hit = false;
  for (let i = 0; i < arr.length; i++) {
    const el = arr[i];
    if (el === null || el === undefined) continue;
    if (typeof el === 'object') return false; // arrays of objects/arrays are unsupported: never match
    const r = compare(node, el);
    if (r === INCOMPARABLE) continue;
    seen = true;
    if (r === MATCH) {
      if (node.negated) return false; // FAIL_MATCH as soon as one element matches a negated operator
      hit = true; // keep scanning: a later object element still makes the array unsupported
    }
  }
  return seen ? hit !== node.negated : node.onMissing;
}

export function evaluate(node: Node, env: Record<string, unknown>): boolean {
  const v = resolve(env, node.segs, node.lows);
  if (v === undefined || v === null) return node.onMissing;
  if (node.kind === T_IS_NULL) return false;
  if (node.kind === T_NOT_NULL) return v !== UNSUPPORTED;
  if (v === UNSUPPORTED) return false;
  if (typeof v === 'object') {
    // Objects are never filterable; arrays only with the flag (without it Azure expects a singular value).
    return node.arrays && Array.isArray(v) ? evaluateArray(node, v) : false;
  }
  const r = compare(node, v);
  return r === INCOMPARABLE ? node.onMissing : (r === MATCH) !== node.negated;
}
