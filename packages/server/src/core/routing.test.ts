import type { AdvancedFilter, EventSubscriptionFilter } from '@mlgrid/protocol';
import { describe, expect, it } from 'vitest';
import { compileFilter, validateFilter, type FilterableEvent } from './filter.js';
import { RoutingIndex, scopeChain } from './routing.js';

/** Small seeded PRNG (mulberry32): the same cases on every run. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['ML.RunCompleted', 'ML.ModelRegistered', 'ml.modelregistered', 'ML.DatasetDriftDetected'];
const SUBJECTS = [
  'models/churn:3',
  'Models/Churn:4',
  'experiments/e1/runs/r1',
  'datadrift/d1/run/x',
  '',
  'models/x😀:1',
];
const PREFIXES = ['', '', 'models/', 'Models/c', 'experiments/e1', 'datadrift/', 'models/x😀', 'zzz'];
const SUFFIXES = ['', '', ':3', ':4', '/r1', 'X', '😀:1'];
const T = '/subscriptions/s/resourcegroups/rg/providers/microsoft.eventgrid/topics/t';
const SCOPES = [T, '/subscriptions/s/resourcegroups/rg', '/subscriptions/s', '/subscriptions/other'];

function randomFilter(r: () => number): EventSubscriptionFilter {
  const pick = <V>(xs: V[]) => xs[Math.floor(r() * xs.length)]!;
  const adv: AdvancedFilter[] = [];
  if (r() < 0.4)
    adv.push({ operatorType: 'StringIn', key: 'data.stage', values: [pick(['prod', 'DEV', 'test'])] });
  if (r() < 0.2)
    adv.push({ operatorType: 'NumberGreaterThan', key: 'data.score', value: pick([0.2, 0.5, 0.8]) });
  return validateFilter({
    includedEventTypes: r() < 0.5 ? [pick(TYPES), ...(r() < 0.3 ? [pick(TYPES)] : [])] : null,
    subjectBeginsWith: pick(PREFIXES),
    subjectEndsWith: pick(SUFFIXES),
    isSubjectCaseSensitive: r() < 0.3,
    advancedFilters: adv,
  });
}

describe('RoutingIndex', () => {
  it('finds exactly the subscriptions a full scan of their filters finds', () => {
    const r = prng(42);
    const subs = Array.from({ length: 400 }, (_, i) => ({
      key: `sub-${i}`,
      scopeKey: SCOPES[Math.floor(r() * SCOPES.length)]!,
      filter: randomFilter(r),
    }));
    const index = new RoutingIndex(subs);
    // Churn: remove some and re-add others with new filters, as PUT/PATCH/DELETE do.
    for (let i = 0; i < 100; i++) index.remove(`sub-${i}`);
    for (let i = 100; i < 150; i++)
      index.upsert({ ...subs[i]!, filter: (subs[i]!.filter = randomFilter(r)) });
    const live = subs.slice(100).map((s) => ({ ...s, matcher: compileFilter(s.filter) }));
    expect(index.size).toBe(300);
    const buckets = index.bucketsFor(T);
    let matched = 0;
    for (let i = 0; i < 2000; i++) {
      const subject = SUBJECTS[Math.floor(r() * SUBJECTS.length)]!;
      const eventType = TYPES[Math.floor(r() * TYPES.length)]!;
      const envelope = {
        id: `e${i}`,
        subject,
        eventType,
        data: { stage: ['prod', 'Dev', 'x'][i % 3], score: (i % 10) / 10 },
      };
      const e: FilterableEvent = { schema: 'EventGridSchema', eventType, subject, envelope };
      const viaIndex = index.match(buckets, e).sort();
      const viaScan = live
        .filter((s) => scopeChain(T).includes(s.scopeKey) && s.matcher(e))
        .map((s) => s.key)
        .sort();
      expect(viaIndex).toEqual(viaScan);
      matched += viaIndex.length;
    }
    expect(matched).toBeGreaterThan(2000); // the cases are not vacuous
  });

  it('walks the scope chain from a resource to its group and Azure subscription', () => {
    expect(scopeChain(T)).toEqual([T, '/subscriptions/s/resourcegroups/rg', '/subscriptions/s']);
    expect(scopeChain('/subscriptions/s')).toEqual(['/subscriptions/s']);
  });
});
