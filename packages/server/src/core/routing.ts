/**
 * Routing index: which event subscriptions an event owes a delivery to, without scanning them all.
 * Subscriptions are bucketed by scope (the source resource id or one of its ancestors), then by event
 * type, then by a character trie over the lower-cased `subjectBeginsWith`. Candidates found this way
 * are confirmed by the subscription's compiled matcher, which checks the whole filter.
 */
import type { EventSubscriptionFilter } from '@mlgrid/protocol';
import { compileFilter, type EventMatcher, type FilterableEvent } from './filter.js';

export interface RoutableSubscription {
  key: string;
  scopeKey: string;
  filter: EventSubscriptionFilter;
}

interface Entry {
  key: string;
  matcher: EventMatcher;
}

class TrieNode {
  entries: Entry[] = [];
  children = new Map<string, TrieNode>();
}

class ScopeBucket {
  readonly byType = new Map<string, TrieNode>();
  readonly anyType = new TrieNode();
  size = 0;
}

export class RoutingIndex {
  private readonly scopes = new Map<string, ScopeBucket>();
  private readonly placed = new Map<string, RoutableSubscription>();

  constructor(subs: Iterable<RoutableSubscription> = []) {
    for (const s of subs) this.upsert(s);
  }

  get size(): number {
    return this.placed.size;
  }

  upsert(sub: RoutableSubscription): void {
    this.remove(sub.key);
    const entry: Entry = { key: sub.key, matcher: compileFilter(sub.filter) };
    let bucket = this.scopes.get(sub.scopeKey);
    if (!bucket) this.scopes.set(sub.scopeKey, (bucket = new ScopeBucket()));
    const prefix = (sub.filter.subjectBeginsWith ?? '').toLowerCase();
    const types = sub.filter.includedEventTypes;
    if (!types || types.length === 0) {
      insert(bucket.anyType, prefix, entry);
    } else {
      for (const t of new Set(types.map((x) => x.toLowerCase()))) {
        let root = bucket.byType.get(t);
        if (!root) bucket.byType.set(t, (root = new TrieNode()));
        insert(root, prefix, entry);
      }
    }
    bucket.size++;
    this.placed.set(sub.key, sub);
  }

  remove(key: string): void {
    const sub = this.placed.get(key);
    if (!sub) return;
    this.placed.delete(key);
    const bucket = this.scopes.get(sub.scopeKey)!;
    const prefix = (sub.filter.subjectBeginsWith ?? '').toLowerCase();
    const types = sub.filter.includedEventTypes;
    if (!types || types.length === 0) removeFrom(bucket.anyType, prefix, key);
    else
      for (const t of new Set(types.map((x) => x.toLowerCase())))
        removeFrom(bucket.byType.get(t)!, prefix, key);
    if (--bucket.size === 0) this.scopes.delete(sub.scopeKey);
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
      collect(b.anyType, subject, e, out);
      const t = b.byType.get(type);
      if (t) collect(t, subject, e, out);
    }
    return out;
  }
}

function insert(root: TrieNode, prefix: string, entry: Entry): void {
  let node = root;
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i]!; // UTF-16 units, as collect() walks subjects
    let next = node.children.get(ch);
    if (!next) node.children.set(ch, (next = new TrieNode()));
    node = next;
  }
  node.entries.push(entry);
}

function removeFrom(root: TrieNode, prefix: string, key: string): void {
  let node: TrieNode | undefined = root;
  for (let i = 0; i < prefix.length && node; i++) node = node.children.get(prefix[i]!);
  if (node) node.entries = node.entries.filter((x) => x.key !== key);
}

function collect(root: TrieNode, subject: string, e: FilterableEvent, out: string[]): void {
  let node: TrieNode | undefined = root;
  let i = 0;
  while (node) {
    for (const entry of node.entries) if (entry.matcher(e)) out.push(entry.key);
    if (i >= subject.length) break;
    node = node.children.get(subject[i++]!);
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
