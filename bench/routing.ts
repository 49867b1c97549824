/**
 * Routing benchmark: events routed per second by `RoutingIndex.match` with 10, 100 and 1,000 event
 * subscriptions on ONE topic scope, against a baseline in the same run: a linear scan calling every
 * subscription's compiled matcher (`compileFilter`). Single thread, pure CPU, no I/O.
 *
 *   node --conditions=mlgrid-source --import tsx bench/routing.ts [--json out.json]
 *        [--workloads typical,broad] [--sizes 10,100,1000] [--only index|scan]
 *
 * Two subscription mixes (same vocabulary as the events, bench/lib/ml-events.ts):
 *  - `typical`: mostly per-entity subscriptions (a model's, an experiment's, a dataset's) plus a few broad ones.
 *    The goal (≥ 200,000 events/s at 1,000 subscriptions) is judged on this one.
 *  - `broad`:   a third of the subscriptions can't be narrowed by event type + subject prefix (type-only,
 *    tag-only, suffix-only, match-all): a stress case for an index keyed on type and prefix.
 * The mix has the same composition at every size.
 *
 * Before timing, every sampled event is routed both ways and the subscription sets are compared; any
 * difference (or a key returned twice by the index) is printed and the process exits with code 1.
 */
import { performance } from 'node:perf_hooks';
import type { EventSubscriptionFilter } from '@mlgrid/protocol';
import {
  compileFilter,
  validateFilter,
  type EventMatcher,
  type FilterableEvent,
} from '../packages/server/src/core/filter.js';
import { RoutingIndex } from '../packages/server/src/core/routing.js';
import {
  DATASETS,
  EVENT_TYPES,
  EXPERIMENTS,
  int,
  mlEvent,
  MODELS,
  pick,
  prng,
  stamped,
  TAGS,
  TOPIC_ID,
  T_DATASET_DRIFT,
  T_MODEL_DEPLOYED,
  T_MODEL_REGISTERED,
  T_RUN_COMPLETED,
  T_RUN_STATUS_CHANGED,
  weighted,
  type Rng,
} from './lib/ml-events.js';
import { arg, fmt, fmt2, median, QUICK, table, writeJsonIfAsked } from './lib/util.js';

const list = (name: string, dflt: string[]): string[] => {
  const v = arg(name);
  return typeof v === 'string' ? v.split(',') : dflt;
};
const SIZES = list('sizes', ['10', '100', '1000']).map(Number);
const ONLY = arg('only'); // `--only index` or `--only scan`: time one side (for profiling)
const EVENT_POOL = 10_000; // distinct sampled events, cycled
const BATCH = 100; // events per publish request: bucketsFor() once per batch, as engine/publisher.ts does
const REPS = 5;
const MIN_RUN_MS = QUICK ? 100 : 1000;
const WARMUP_MS = QUICK ? 50 : 500;
const GOAL_EVENTS_PER_SEC = 200_000;
const SCOPE_KEY = TOPIC_ID.toLowerCase();

type Kind =
  | 'model-watch' // 1-2 model event types + subjectBeginsWith models/model-<k>[/]
  | 'model-deploy-tag' // ModelDeployed + models/model-<k>/ + StringIn data.tag
  | 'experiment-watch' // 1-2 run event types + experiments/<k>/
  | 'high-score' // RunCompleted + experiments/[<k>/] + NumberGreaterThan data.score
  | 'dataset-watch' // DatasetDriftDetected + subjectEndsWith .parquet|.csv [+ datasets/ds-<k>/]
  | 'prefix-only' // subjectBeginsWith an entity, any type
  | 'type+tag' // 1-2 types + StringIn data.tag (broad)
  | 'type-only' // includedEventTypes only (broad)
  | 'advanced-only' // StringIn data.tag + NumberGreaterThan data.score, any type and subject (broad)
  | 'ends-only'; // subjectEndsWith only (broad)

/** Shares of each kind; on top, every 100th subscription (the first one included) is match-all. */
const WORKLOADS: Record<string, (readonly [Kind, number])[]> = {
  typical: [
    ['model-watch', 28],
    ['experiment-watch', 22],
    ['dataset-watch', 10],
    ['high-score', 8],
    ['model-deploy-tag', 8],
    ['prefix-only', 7],
    ['type+tag', 6],
    ['type-only', 4],
    ['advanced-only', 2],
    ['ends-only', 2],
  ],
  broad: [
    ['model-watch', 20],
    ['experiment-watch', 15],
    ['dataset-watch', 10],
    ['high-score', 10],
    ['prefix-only', 10],
    ['type+tag', 15],
    ['type-only', 10],
    ['advanced-only', 5],
    ['ends-only', 5],
  ],
};
const WORKLOAD_NAMES = list('workloads', Object.keys(WORKLOADS));

/** Azure matches types and subjects case-insensitively: some subscriptions are written with other casing. */
function casing(rng: Rng, s: string): string {
  const r = rng();
  if (r < 0.08) return s.replace(/^[a-z]/, (c) => c.toUpperCase());
  if (r < 0.12) return s.toLowerCase();
  return s;
}

function makeFilter(
  rng: Rng,
  i: number,
  mix: (readonly [Kind, number])[],
): { kind: Kind | 'match-all'; filter: EventSubscriptionFilter } {
  if (i % 100 === 0) return { kind: 'match-all', filter: validateFilter({}) }; // archive / audit
  const kind = weighted(rng, mix);
  const f: Record<string, unknown> = {};
  const types = (...ts: string[]) => (f.includedEventTypes = ts.map((t) => casing(rng, t)));
  const tagIn = () => {
    const a = pick(rng, TAGS);
    const values =
      rng() < 0.5
        ? [a]
        : [
            a,
            pick(
              rng,
              TAGS.filter((t) => t !== a),
            ),
          ];
    return { operatorType: 'StringIn', key: 'data.tag', values: values.map((v) => casing(rng, v)) };
  };
  switch (kind) {
    case 'model-watch':
      if (rng() < 0.5) types(T_MODEL_REGISTERED);
      else types(T_MODEL_REGISTERED, T_MODEL_DEPLOYED);
      f.subjectBeginsWith = casing(rng, `models/model-${int(rng, MODELS)}${rng() < 0.5 ? '/' : ''}`);
      break;
    case 'model-deploy-tag':
      types(T_MODEL_DEPLOYED);
      f.subjectBeginsWith = `models/model-${int(rng, MODELS)}/`;
      f.advancedFilters = [tagIn()];
      break;
    case 'experiment-watch':
      if (rng() < 0.5) types(T_RUN_COMPLETED);
      else types(T_RUN_COMPLETED, T_RUN_STATUS_CHANGED);
      f.subjectBeginsWith = casing(rng, `experiments/${int(rng, EXPERIMENTS)}/`);
      if (rng() < 0.1) f.isSubjectCaseSensitive = true;
      break;
    case 'high-score':
      types(T_RUN_COMPLETED);
      f.subjectBeginsWith = rng() < 0.3 ? 'experiments/' : `experiments/${int(rng, EXPERIMENTS)}/`;
      f.advancedFilters = [
        { operatorType: 'NumberGreaterThan', key: 'data.score', value: pick(rng, [0.5, 0.8, 0.9, 0.95]) },
      ];
      break;
    case 'dataset-watch':
      types(T_DATASET_DRIFT);
      f.subjectEndsWith = pick(rng, ['.parquet', '.csv']);
      if (rng() < 0.7) f.subjectBeginsWith = `datasets/ds-${int(rng, DATASETS)}/`;
      break;
    case 'prefix-only':
      f.subjectBeginsWith = pick(rng, [
        `models/model-${int(rng, MODELS)}`,
        `experiments/${int(rng, EXPERIMENTS)}/`,
        `datasets/ds-${int(rng, DATASETS)}/`,
      ]);
      break;
    case 'type+tag':
      if (rng() < 0.6) types(pick(rng, EVENT_TYPES));
      else types(T_MODEL_REGISTERED, T_MODEL_DEPLOYED);
      f.advancedFilters = [tagIn()];
      break;
    case 'type-only':
      types(pick(rng, EVENT_TYPES));
      break;
    case 'advanced-only':
      f.advancedFilters = [
        { operatorType: 'StringIn', key: 'data.tag', values: [pick(rng, TAGS)] },
        { operatorType: 'NumberGreaterThan', key: 'data.score', value: pick(rng, [0.5, 0.9]) },
      ];
      break;
    case 'ends-only':
      f.subjectEndsWith = pick(rng, ['/versions/1', '.jsonl', '/runs/run-7']);
      break;
  }
  // Validated like the API does on PUT: the benchmark only uses filters mlgrid accepts.
  return { kind, filter: validateFilter(f) };
}

interface Sub {
  key: string;
  filter: EventSubscriptionFilter;
  kind: string;
}

function makeSubs(workload: string, n: number): Sub[] {
  const rng = prng(0x5eed + n);
  const mix = WORKLOADS[workload]!;
  return Array.from({ length: n }, (_, i) => {
    const { kind, filter } = makeFilter(rng, i, mix);
    return { key: `${SCOPE_KEY}/providers/microsoft.eventgrid/eventsubscriptions/sub-${i}`, filter, kind };
  });
}

function makeEvents(): FilterableEvent[] {
  const rng = prng(0xe4e47);
  return Array.from({ length: EVENT_POOL }, (_, i) => {
    // The envelope the publish path builds (core/publish.ts): the stamped Event Grid event.
    const envelope = stamped(mlEvent(rng, i));
    return {
      schema: 'EventGridSchema' as const,
      eventType: envelope.eventType as string,
      subject: envelope.subject as string,
      envelope,
    };
  });
}

/** Routes events[from, to) (one publish batch) and returns the number of deliveries owed. */
type Router = (events: readonly FilterableEvent[], from: number, to: number) => number;

function indexRouter(subs: Sub[]): { index: RoutingIndex; route: Router } {
  const index = new RoutingIndex(subs.map((s) => ({ key: s.key, scopeKey: SCOPE_KEY, filter: s.filter })));
  if (index.size !== subs.length)
    throw new Error(`index holds ${index.size} subscriptions, expected ${subs.length}`);
  return {
    index,
    // Exactly what Publisher.publish does per request: bucketsFor once, match (fresh array) per event.
    route(events, from, to) {
      let n = 0;
      const buckets = index.bucketsFor(SCOPE_KEY);
      for (let i = from; i < to; i++) n += index.match(buckets, events[i]!).length;
      return n;
    },
  };
}

/** The baseline: every subscription on the scope, every event, its compiled matcher. */
function scanRouter(subs: Sub[]): { matchOne: (e: FilterableEvent) => string[]; route: Router } {
  const keys = subs.map((s) => s.key);
  const matchers: EventMatcher[] = subs.map((s) => compileFilter(s.filter));
  const n = matchers.length;
  const matchOne = (e: FilterableEvent): string[] => {
    const out: string[] = [];
    for (let j = 0; j < n; j++) if (matchers[j]!(e)) out.push(keys[j]!);
    return out;
  };
  return {
    matchOne,
    route(events, from, to) {
      let m = 0;
      for (let i = from; i < to; i++) m += matchOne(events[i]!).length;
      return m;
    },
  };
}

let sink = 0; // keeps results observable so nothing is optimised away

interface Run {
  events: number;
  ms: number;
  /** CPU time of the process (user + system) over the run: below `ms` when other processes took the core. */
  cpuMs: number;
}

/** Route batches of BATCH events, cycling the pool, for at least `minMs` of wall-clock time. */
function timeRun(route: Router, events: readonly FilterableEvent[], minMs: number): Run {
  let n = 0;
  let b = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let ms = 0;
  do {
    for (let k = 0; k < 20; k++) {
      sink += route(events, b, b + BATCH);
      n += BATCH;
      b += BATCH;
      if (b >= events.length) b = 0;
    }
    ms = performance.now() - t0;
  } while (ms < minMs);
  const c = process.cpuUsage(c0);
  return { events: n, ms, cpuMs: (c.user + c.system) / 1000 };
}

interface Measured {
  /** Median over the runs of events / wall-clock second. */
  eventsPerSec: number;
  nsPerEvent: number;
  /** Median of events / CPU-second of the process: close to eventsPerSec on an idle machine. */
  eventsPerCpuSec: number;
  /** Median CPU time ÷ wall time: well below 1 means another process shared the core. */
  cpuShare: number;
  /** events/s (wall) of each run, in run order. */
  runs: number[];
}

function summarize(runs: Run[]): Measured {
  if (runs.length === 0)
    return { eventsPerSec: NaN, nsPerEvent: NaN, eventsPerCpuSec: NaN, cpuShare: NaN, runs: [] };
  const wall = runs.map((r) => (r.events / r.ms) * 1000);
  const eps = median(wall);
  return {
    eventsPerSec: Math.round(eps),
    nsPerEvent: Math.round(1e9 / eps),
    eventsPerCpuSec: Math.round(median(runs.map((r) => (r.events / r.cpuMs) * 1000))),
    cpuShare: Number(median(runs.map((r) => r.cpuMs / r.ms)).toFixed(2)),
    runs: wall.map(Math.round),
  };
}

/**
 * Subscriptions the index selects for an event (see core/routing.ts): the event type is listed (or none), and
 * the prefix fits; or, without a prefix, the suffix fits; or, with neither, the first StringIn's value fits.
 * Those the index proves entirely cost no matcher call, so this is an upper bound on matcher calls.
 */
function candidates(subs: readonly Sub[], e: FilterableEvent, byKind: Record<string, number>): number {
  const type = e.eventType.toLowerCase();
  const subject = e.subject.toLowerCase();
  let n = 0;
  for (const s of subs) {
    const f = s.filter;
    const types = f.includedEventTypes;
    if (types && types.length > 0 && !types.some((t) => t.toLowerCase() === type)) continue;
    const begins = (f.subjectBeginsWith ?? '').toLowerCase();
    const ends = (f.subjectEndsWith ?? '').toLowerCase();
    const stringIn = f.enableAdvancedFilteringOnArrays
      ? undefined
      : (f.advancedFilters ?? []).find((a) => a.operatorType === 'StringIn');
    let selected: boolean;
    if (begins !== '') selected = subject.startsWith(begins);
    else if (ends !== '') selected = subject.endsWith(ends);
    else if (stringIn && 'values' in stringIn) {
      const v = stringIn.key
        .split('.')
        .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], e.envelope);
      selected =
        typeof v === 'string' &&
        (stringIn.values as string[]).some((x) => x.toLowerCase() === v.toLowerCase());
    } else selected = true;
    if (selected) {
      n++;
      byKind[s.kind] = (byKind[s.kind] ?? 0) + 1;
    }
  }
  return n;
}

interface Verified {
  matchesPerEvent: number;
  candidatesPerEvent: number;
  eventsWithAMatch: number;
  /** Per filter kind: matchers the index calls per event, and how many of those match. */
  perKind: Record<string, { candidatesPerEvent: number; matchesPerEvent: number }>;
  errors: string[];
}

function verify(
  subs: readonly Sub[],
  events: readonly FilterableEvent[],
  index: RoutingIndex,
  matchOne: (e: FilterableEvent) => string[],
): Verified {
  const errors: string[] = [];
  const buckets = index.bucketsFor(SCOPE_KEY);
  const kindOf = new Map(subs.map((s) => [s.key, s.kind]));
  const candByKind: Record<string, number> = {};
  const matchByKind: Record<string, number> = {};
  let matches = 0;
  let cands = 0;
  let withMatch = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    cands += candidates(subs, e, candByKind);
    const got = [...index.match(buckets, e)].sort();
    const want = [...matchOne(e)].sort();
    matches += want.length;
    for (const k of want) matchByKind[kindOf.get(k)!] = (matchByKind[kindOf.get(k)!] ?? 0) + 1;
    if (want.length > 0) withMatch++;
    if (new Set(got).size !== got.length) {
      errors.push(`event #${i} (${e.eventType} ${e.subject}): the index returned a key twice`);
    } else if (got.length !== want.length || got.some((k, j) => k !== want[j])) {
      const short = (k: string) => k.slice(k.lastIndexOf('/') + 1);
      const missing = want.filter((k) => !got.includes(k)).map(short);
      const extra = got.filter((k) => !want.includes(k)).map(short);
      errors.push(`event #${i} (${e.eventType} ${e.subject}): index missed [${missing}], extra [${extra}]`);
    }
  }
  const per = (x: number) => Number((x / events.length).toFixed(3));
  const perKind = Object.fromEntries(
    Object.entries(candByKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, c]) => [k, { candidatesPerEvent: per(c), matchesPerEvent: per(matchByKind[k] ?? 0) }]),
  );
  return {
    matchesPerEvent: matches / events.length,
    candidatesPerEvent: cands / events.length,
    eventsWithAMatch: withMatch / events.length,
    perKind,
    errors,
  };
}

export interface RoutingCase {
  subscriptions: number;
  filterKinds: Record<string, number>;
  /** Deliveries owed per event (fan-out). */
  matchesPerEvent: number;
  /** Matchers the index calls per event (type and prefix fit); the scan calls one per subscription. */
  indexCandidatesPerEvent: number;
  /** The same two figures per filter kind: where the index's wasted matcher calls come from. */
  perKind: Record<string, { candidatesPerEvent: number; matchesPerEvent: number }>;
  shareOfEventsMatchingAny: number;
  index: Measured;
  scan: Measured;
  speedup: number;
}

export interface RoutingWorkload {
  workload: string;
  mix: Record<string, number>;
  cases: RoutingCase[];
  /** ns per event at the largest size ÷ at the smallest. */
  costGrowth: { fromSubs: number; toSubs: number; index: number; scan: number };
}

export interface RoutingResult {
  name: 'routing';
  config: {
    eventPool: number;
    batch: number;
    reps: number;
    minRunMs: number;
    warmupMs: number;
    seeds: string;
    quick: boolean;
  };
  verified: { routings: number; mismatches: number };
  workloads: RoutingWorkload[];
  goal: { workload: string; subscriptions: number; eventsPerSec: number; measured: number; met: boolean };
}

function runCase(workload: string, n: number, events: FilterableEvent[]): RoutingCase {
  const subs = makeSubs(workload, n);
  const idx = indexRouter(subs);
  const scan = scanRouter(subs);
  const v = verify(subs, events, idx.index, scan.matchOne);
  if (v.errors.length > 0) {
    // Fail before timing: figures for a router that routes wrongly mean nothing.
    console.error(
      `FAIL (${workload}, ${n} subscriptions): index and scan disagree on ${v.errors.length} events:`,
    );
    for (const e of v.errors.slice(0, 20)) console.error(`  ${e}`);
    process.exit(1);
  }
  if (ONLY !== 'scan') timeRun(idx.route, events, WARMUP_MS);
  if (ONLY !== 'index') timeRun(scan.route, events, WARMUP_MS);
  const idxRuns: Run[] = [];
  const scanRuns: Run[] = [];
  for (let r = 0; r < REPS; r++) {
    // Interleaved, so drift in machine load hits both sides alike.
    if (ONLY !== 'scan') idxRuns.push(timeRun(idx.route, events, MIN_RUN_MS));
    if (ONLY !== 'index') scanRuns.push(timeRun(scan.route, events, MIN_RUN_MS));
  }
  const kinds: Record<string, number> = {};
  for (const s of subs) kinds[s.kind] = (kinds[s.kind] ?? 0) + 1;
  const index = summarize(idxRuns);
  const scanM = summarize(scanRuns);
  return {
    subscriptions: n,
    filterKinds: kinds,
    matchesPerEvent: Number(v.matchesPerEvent.toFixed(3)),
    indexCandidatesPerEvent: Number(v.candidatesPerEvent.toFixed(3)),
    perKind: v.perKind,
    shareOfEventsMatchingAny: Number(v.eventsWithAMatch.toFixed(3)),
    index,
    scan: scanM,
    speedup: Number((index.eventsPerSec / scanM.eventsPerSec).toFixed(2)),
  };
}

function main(): void {
  const events = makeEvents();
  const workloads: RoutingWorkload[] = [];
  console.log(
    `routing: ${fmt(EVENT_POOL)} sampled events, batches of ${BATCH}, median of ${REPS} runs ≥ ${MIN_RUN_MS} ms` +
      `${QUICK ? ' (BENCH_QUICK: figures not meaningful)' : ''}`,
  );
  for (const w of WORKLOAD_NAMES) {
    if (!WORKLOADS[w]) throw new Error(`unknown workload '${w}' (have ${Object.keys(WORKLOADS).join(', ')})`);
    const cases = SIZES.map((n) => runCase(w, n, events));
    const first = cases[0]!;
    const last = cases[cases.length - 1]!;
    const wl: RoutingWorkload = {
      workload: w,
      mix: Object.fromEntries([['match-all', 1], ...WORKLOADS[w]!]),
      cases,
      costGrowth: {
        fromSubs: first.subscriptions,
        toSubs: last.subscriptions,
        index: Number((last.index.nsPerEvent / first.index.nsPerEvent).toFixed(2)),
        scan: Number((last.scan.nsPerEvent / first.scan.nsPerEvent).toFixed(2)),
      },
    };
    workloads.push(wl);
    console.log(`\nworkload '${w}'`);
    console.log(
      table(
        [
          'subs',
          'matches/ev',
          'candidates/ev',
          'index ev/s',
          'ns/ev',
          'scan ev/s',
          'ns/ev',
          'speed-up',
          'cpu',
        ],
        cases.map((c) => [
          c.subscriptions,
          fmt2(c.matchesPerEvent),
          fmt2(c.indexCandidatesPerEvent),
          fmt(c.index.eventsPerSec),
          fmt(c.index.nsPerEvent),
          fmt(c.scan.eventsPerSec),
          fmt(c.scan.nsPerEvent),
          `${fmt2(c.speedup)}x`,
          fmt2(Math.min(c.index.cpuShare, c.scan.cpuShare)),
        ]),
      ),
    );
    const g = wl.costGrowth;
    console.log(
      `cost growth ${g.fromSubs} → ${g.toSubs} subs (${g.toSubs / g.fromSubs}x): index ${fmt2(g.index)}x, scan ${fmt2(g.scan)}x`,
    );
  }

  const goalCase = workloads
    .find((w) => w.workload === 'typical')
    ?.cases.find((c) => c.subscriptions === 1000);
  const result: RoutingResult = {
    name: 'routing',
    config: {
      eventPool: EVENT_POOL,
      batch: BATCH,
      reps: REPS,
      minRunMs: MIN_RUN_MS,
      warmupMs: WARMUP_MS,
      seeds: 'events 0xe4e47, subscriptions 0x5eed + size',
      quick: QUICK,
    },
    verified: { routings: EVENT_POOL * SIZES.length * workloads.length, mismatches: 0 },
    workloads,
    goal: {
      workload: 'typical',
      subscriptions: 1000,
      eventsPerSec: GOAL_EVENTS_PER_SEC,
      measured: goalCase?.index.eventsPerSec ?? NaN,
      met: (goalCase?.index.eventsPerSec ?? 0) >= GOAL_EVENTS_PER_SEC,
    },
  };
  if (goalCase) {
    console.log(
      `\ngoal ≥ ${fmt(GOAL_EVENTS_PER_SEC)} events/s at 1,000 subs ('typical'): ` +
        `${result.goal.met ? 'met' : 'MISSED'} (${fmt(goalCase.index.eventsPerSec)})`,
    );
  }
  console.log(
    `verified: index and scan return the same subscription sets (${fmt(result.verified.routings)} routings)`,
  );
  if (sink === -1) console.log(sink); // never true; keeps the routed counts observable
  writeJsonIfAsked(result);
}

main();
