/**
 * Routing index: which event subscriptions an event owes a delivery to, without scanning them all.
 * Subscriptions are bucketed by scope (the source resource id or one of its ancestors), then by event type,
 * then placed in a character trie: by lower-cased `subjectBeginsWith`, or, when a filter has no prefix but a
 * `subjectEndsWith`, in a trie of the reversed suffix; a filter with neither but a `StringIn` advanced filter is
 * found by its key's value. Candidates found this way are confirmed by a matcher compiled from what the index
 * did not already prove; a filter the index proves entirely costs no call.
 */
import type { EventSubscriptionFilter } from '@mlgrid/protocol';
import { compileFilter, type EventMatcher, type FilterableEvent } from './filter.js';
import { resolve } from './filter-eval.js';

export interface RoutableSubscription {
  key: string;
  scopeKey: string;
  filter: EventSubscriptionFilter;
}

interface Entry {
  key: string;
  /** What remains to check once the index has matched; undefined when nothing does. */
  matcher?: EventMatcher;
}

class TrieNode {
  entries: Entry[] = [];
  children = new Map<string, TrieNode>();
}

/** Entries found by the value at one key (`StringIn`): folded value → entries. */
interface ValueIndex {
  segs: string[];
  lows: string[];
  values: Map<string, Entry[]>;
}

/** The subscriptions of one scope and one event type (or of any type). */
class TypeBucket {
  readonly byPrefix = new TrieNode();
  readonly bySuffix = new TrieNode();
  readonly byValue = new Map<string, ValueIndex>();
}

class ScopeBucket {
  readonly byType = new Map<string, TypeBucket>();
  readonly anyType = new TypeBucket();
  size = 0;
}

interface Placement {
  sub: RoutableSubscription;
  trie: 'byPrefix' | 'bySuffix' | 'byValue';
  path: string; // lower-cased prefix, reversed lower-cased suffix, or the StringIn key
  values?: string[]; // byValue: the folded StringIn values
  types: string[] | undefined; // lower-cased, deduplicated; undefined = any type
}

export class RoutingIndex {
  private readonly scopes = new Map<string, ScopeBucket>();
  private readonly placed = new Map<string, Placement>();

  constructor(subs: Iterable<RoutableSubscription> = []) {
    for (const s of subs) this.upsert(s);
  }

  get size(): number {
    return this.placed.size;
  }

  upsert(sub: RoutableSubscription): void {
    this.remove(sub.key);
    const f = sub.filter;
    const caseSensitive = f.isSubjectCaseSensitive ?? false;
    const begins = f.subjectBeginsWith ?? '';
    const ends = f.subjectEndsWith ?? '';
    const advanced = f.advancedFilters ?? [];
    const bySuffix = begins === '' && ends !== '';
    // A positive StringIn on a scalar key can place a filter that has no subject condition to index.
    const valueAt =
      begins === '' && ends === '' && !f.enableAdvancedFilteringOnArrays
        ? advanced.findIndex((a) => a.operatorType === 'StringIn')
        : -1;
    const types = f.includedEventTypes?.length
      ? [...new Set(f.includedEventTypes.map((t) => t.toLowerCase()))]
      : undefined;
    const placement: Placement =
      valueAt >= 0
        ? {
            sub,
            trie: 'byValue',
            path: advanced[valueAt]!.key,
            values: [
              ...new Set((advanced[valueAt] as { values: string[] }).values.map((v) => v.toLowerCase())),
            ],
            types,
          }
        : {
            sub,
            trie: bySuffix ? 'bySuffix' : 'byPrefix',
            // UTF-16 units, as the walks read subjects
            path: bySuffix ? ends.toLowerCase().split('').reverse().join('') : begins.toLowerCase(),
            types,
          };
    // The index proves the event type (case-insensitively, as the filter compares it), for case-insensitive
    // filters the prefix or suffix it was placed by, and the StringIn it was placed by; the rest is residual.
    const residual: EventSubscriptionFilter = {
      ...f,
      includedEventTypes: null,
      subjectBeginsWith: caseSensitive || bySuffix ? begins : '',
      subjectEndsWith: caseSensitive || !bySuffix ? ends : '',
      advancedFilters: valueAt >= 0 ? advanced.filter((_, i) => i !== valueAt) : advanced,
    };
    const entry: Entry = {
      key: sub.key,
      ...(isTrivial(residual) ? {} : { matcher: compileFilter(residual) }),
    };
    let scope = this.scopes.get(sub.scopeKey);
    if (!scope) this.scopes.set(sub.scopeKey, (scope = new ScopeBucket()));
    for (const bucket of typeBuckets(scope, placement.types, true)) place(bucket, placement, entry);
    scope.size++;
    this.placed.set(sub.key, placement);
  }

  remove(key: string): void {
    const p = this.placed.get(key);
    if (!p) return;
    this.placed.delete(key);
    const scope = this.scopes.get(p.sub.scopeKey)!;
    for (const bucket of typeBuckets(scope, p.types, false)) unplace(bucket, p, key);
    if (--scope.size === 0) this.scopes.delete(p.sub.scopeKey);
  }

  /** The buckets an event from `sourceKey` can match: its own scope and its ancestors'. Compute once per batch. */
  bucketsFor(sourceKey: string): ScopeBucket[] {
    const out: ScopeBucket[] = [];
    for (const scope of scopeChain(sourceKey)) {
      const b = this.scopes.get(scope);
      if (b) out.push(b);
    }
    return out;
  }

  /** Keys of the subscriptions the event matches. */
  match(buckets: ScopeBucket[], e: FilterableEvent, out: string[] = []): string[] {
    if (buckets.length === 0) return out;
    const subject = e.subject.toLowerCase();
    const type = e.eventType.toLowerCase();
    for (const b of buckets) {
      collectBucket(b.anyType, subject, e, out);
      const t = b.byType.get(type);
      if (t) collectBucket(t, subject, e, out);
    }
    return out;
  }
}

function isTrivial(f: EventSubscriptionFilter): boolean {
  return !f.subjectBeginsWith && !f.subjectEndsWith && (f.advancedFilters ?? []).length === 0;
}

function* typeBuckets(
  scope: ScopeBucket,
  types: string[] | undefined,
  create: boolean,
): Generator<TypeBucket> {
  if (!types) {
    yield scope.anyType;
    return;
  }
  for (const t of types) {
    let b = scope.byType.get(t);
    if (!b && create) scope.byType.set(t, (b = new TypeBucket()));
    if (b) yield b;
  }
}

function place(b: TypeBucket, p: Placement, entry: Entry): void {
  if (p.trie !== 'byValue') return insert(b[p.trie], p.path, entry);
  let vi = b.byValue.get(p.path);
  if (!vi) {
    const segs = p.path.split('.');
    b.byValue.set(p.path, (vi = { segs, lows: segs.map((x) => x.toLowerCase()), values: new Map() }));
  }
  for (const v of p.values!) {
    const list = vi.values.get(v);
    if (list) list.push(entry);
    else vi.values.set(v, [entry]);
  }
}

function unplace(b: TypeBucket, p: Placement, key: string): void {
  if (p.trie !== 'byValue') return removeFrom(b[p.trie], p.path, key);
  const vi = b.byValue.get(p.path);
  if (!vi) return;
  for (const v of p.values!) {
    const left = (vi.values.get(v) ?? []).filter((x) => x.key !== key);
    if (left.length > 0) vi.values.set(v, left);
    else vi.values.delete(v);
  }
  if (vi.values.size === 0) b.byValue.delete(p.path);
}

function insert(root: TrieNode, path: string, entry: Entry): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!; // UTF-16 units, as the walks below read subjects
    let next = node.children.get(ch);
    if (!next) node.children.set(ch, (next = new TrieNode()));
    node = next;
  }
  node.entries.push(entry);
}

function removeFrom(root: TrieNode, path: string, key: string): void {
  let node: TrieNode | undefined = root;
  for (let i = 0; i < path.length && node; i++) node = node.children.get(path[i]!);
  if (node) node.entries = node.entries.filter((x) => x.key !== key);
}

function take(entries: Entry[], e: FilterableEvent, out: string[]): void {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.matcher === undefined || entry.matcher(e)) out.push(entry.key);
  }
}

function collectBucket(b: TypeBucket, subject: string, e: FilterableEvent, out: string[]): void {
  // Prefix trie: the root holds filters with no subject condition at all.
  let node: TrieNode | undefined = b.byPrefix;
  for (let i = 0; node;) {
    if (node.entries.length > 0) take(node.entries, e, out);
    if (i >= subject.length) break;
    node = node.children.get(subject[i++]!);
  }
  // Value index: one lookup per distinct key, whatever the number of subscriptions on it.
  for (const vi of b.byValue.values()) {
    const v = resolve(e.envelope, vi.segs, vi.lows);
    if (typeof v !== 'string') continue; // StringIn: anything but a string does not match
    const hit = vi.values.get(v.toLowerCase());
    if (hit) take(hit, e, out);
  }
  // Suffix trie, walked from the end of the subject; its root is always empty.
  node = b.bySuffix.children.size > 0 ? b.bySuffix : undefined;
  for (let i = subject.length - 1; node;) {
    if (node.entries.length > 0) take(node.entries, e, out);
    if (i < 0) break;
    node = node.children.get(subject[i--]!);
  }
}

/**
 * `/subscriptions/s/resourcegroups/rg/providers/ns/type/name` → itself, `/subscriptions/s/resourcegroups/rg`,
 * `/subscriptions/s`: subscriptions on a resource group or an Azure subscription see its resources' events.
 */
export function scopeChain(sourceKey: string): string[] {
  const parts = sourceKey.split('/');
  const out = [sourceKey];
  if (parts[1] === 'subscriptions' && parts.length > 3) {
    if (parts[3] === 'resourcegroups' && parts.length > 5) out.push(parts.slice(0, 5).join('/'));
    out.push(parts.slice(0, 3).join('/'));
  }
  return out;
}
