import { describe, expect, it } from 'vitest';
import { mulberry32 } from './drift/prng.js';
import {
  admit,
  claimDue,
  emptyState,
  finish,
  MAX_RUN_EVENTS,
  nextWake,
  release,
  renew,
  RING_SIZE,
  takeOver,
  type AutomationState,
  type StormConfig,
} from './automation-storm.js';

const BASE: StormConfig = {
  debounceMs: 0,
  coalesce: true,
  maxConcurrent: 1,
  cooldownMs: 0,
  whenBusy: 'queue',
};
const cfg = (c: Partial<StormConfig> = {}): StormConfig => ({ ...BASE, ...c });

let ids = 0;
const runId = () => `run-${++ids}`;
const lease = (now: number, capacity = 100) => ({ now, owner: 'n1', leaseUntil: now + 1000, capacity });

function push(s: AutomationState, c: StormConfig, eventId: string, key: string, now: number) {
  return admit(s, c, { eventId, key, now, newRunId: runId() });
}

describe('admit', () => {
  it('queues a first event, recognises it again, and leaves the state unchanged then', () => {
    const c = cfg();
    const a = push(emptyState(), c, 'e1', 'k', 10);
    expect(a.admission).toMatchObject({ kind: 'queued' });
    expect(a.state.queue).toEqual([
      { runId: a.admission.runId, key: 'k', eventIds: ['e1'], queuedAt: 10, firstEventAt: 10, notBefore: 10 },
    ]);
    const again = push(a.state, c, 'e1', 'k', 11);
    expect(again.admission).toEqual({ kind: 'duplicate', runId: a.admission.runId });
    expect(again.state).toBe(a.state);
  });

  it('coalesces events of a key into its waiting run; other keys get their own', () => {
    const c = cfg();
    let s = emptyState();
    const first = push(s, c, 'e1', 'm1', 0);
    s = first.state;
    const second = push(s, c, 'e2', 'm1', 1);
    expect(second.admission).toEqual({ kind: 'joined', runId: first.admission.runId });
    const other = push(second.state, c, 'e3', 'm2', 2);
    expect(other.admission.kind).toBe('queued');
    expect(other.state.queue.map((q) => [q.key, q.eventIds])).toEqual([
      ['m1', ['e1', 'e2']],
      ['m2', ['e3']],
    ]);
  });

  it('without coalesce, queues a run per event', () => {
    const c = cfg({ coalesce: false });
    let s = push(emptyState(), c, 'e1', 'k', 0).state;
    s = push(s, c, 'e2', 'k', 0).state;
    expect(s.queue.map((q) => q.eventIds)).toEqual([['e1'], ['e2']]);
  });

  it('debounces: each event pushes the start back, up to maxWait after the first', () => {
    const c = cfg({ debounceMs: 30, maxWaitMs: 100 });
    let s = push(emptyState(), c, 'e0', 'k', 0).state;
    expect(s.queue[0]!.notBefore).toBe(30);
    s = push(s, c, 'e1', 'k', 20).state;
    expect(s.queue[0]!.notBefore).toBe(50);
    s = push(s, c, 'e2', 'k', 90).state;
    expect(s.queue[0]!.notBefore).toBe(100); // capped: 0 + maxWait
  });

  it('opens a new run when the waiting one is full', () => {
    const c = cfg();
    let s = emptyState();
    for (let i = 0; i < MAX_RUN_EVENTS + 1; i++) s = push(s, c, `e${i}`, 'k', i).state;
    expect(s.queue.map((q) => q.eventIds.length)).toEqual([MAX_RUN_EVENTS, 1]);
  });

  it('keeps the last RING_SIZE admissions', () => {
    const c = cfg({ coalesce: false });
    let s = emptyState();
    for (let i = 0; i < RING_SIZE + 10; i++) s = push(s, c, `e${i}`, `k${i}`, i).state;
    expect(s.recent.length).toBe(RING_SIZE);
    expect(s.recent[0]!.e).toBe('e10');
    expect(push(s, c, 'e9', 'k9', 999).admission.kind).toBe('queued'); // forgotten: admitted again
  });

  it("drops events while the key is busy or cooling down, with whenBusy 'drop'", () => {
    const c = cfg({ whenBusy: 'drop', cooldownMs: 50 });
    let s = push(emptyState(), c, 'e1', 'k', 0).state;
    s = claimDue(s, c, lease(0)).state;
    const busy = push(s, c, 'e2', 'k', 5);
    expect(busy.admission).toMatchObject({ kind: 'dropped', reason: 'busy' });
    expect(busy.state.queue).toEqual([]);
    expect(push(busy.state, c, 'e2', 'k', 6).admission).toMatchObject({ kind: 'duplicate', dropped: 'busy' });
    s = finish(busy.state, c, s.running[0]!.runId, 10);
    expect(push(s, c, 'e3', 'k', 59).admission).toMatchObject({ kind: 'dropped', reason: 'cooldown' });
    expect(push(s, c, 'e4', 'k', 60).admission.kind).toBe('queued');
    expect(push(s, c, 'e5', 'other', 20).admission.kind).toBe('queued');
  });
});

describe('claimDue', () => {
  it('starts a run when due, one per key at a time, the next when the first ends', () => {
    const c = cfg({ coalesce: false });
    let s = push(emptyState(), c, 'e1', 'k', 0).state;
    s = push(s, c, 'e2', 'k', 0).state;
    const first = claimDue(s, c, lease(0));
    expect(first.started.map((r) => r.eventIds)).toEqual([['e1']]);
    expect(first.started[0]).toMatchObject({ owner: 'n1', leaseUntil: 1000, startedAt: 0 });
    expect(claimDue(first.state, c, lease(1)).started).toEqual([]);
    s = finish(first.state, c, first.started[0]!.runId, 5);
    expect(claimDue(s, c, lease(5)).started.map((r) => r.eventIds)).toEqual([['e2']]);
  });

  it('waits for the debounce and the cooldown', () => {
    const c = cfg({ debounceMs: 30, cooldownMs: 100 });
    let s = push(emptyState(), c, 'e1', 'k', 0).state;
    expect(claimDue(s, c, lease(29)).started).toEqual([]);
    const r = claimDue(s, c, lease(30));
    expect(r.started.length).toBe(1);
    s = finish(r.state, c, r.started[0]!.runId, 40);
    s = push(s, c, 'e2', 'k', 50).state; // notBefore 80, cooldown until 140
    expect(claimDue(s, c, lease(139)).started).toEqual([]);
    expect(claimDue(s, c, lease(140)).started.map((x) => x.eventIds)).toEqual([['e2']]);
  });

  it('honours maxConcurrent per key, FIFO within a key, and the node capacity', () => {
    const c = cfg({ coalesce: false, maxConcurrent: 2 });
    let s = emptyState();
    for (const [e, k] of [
      ['a1', 'a'],
      ['a2', 'a'],
      ['a3', 'a'],
      ['b1', 'b'],
    ])
      s = push(s, c, e!, k!, 0).state;
    const r = claimDue(s, c, lease(0));
    expect(r.started.map((x) => x.eventIds[0])).toEqual(['a1', 'a2', 'b1']);
    expect(r.state.queue.map((q) => q.eventIds[0])).toEqual(['a3']);
    const limited = claimDue(s, c, lease(0, 1));
    expect(limited.started.map((x) => x.eventIds[0])).toEqual(['a1']);
  });

  it('returns the same state object when nothing starts', () => {
    const s = push(emptyState(), cfg({ debounceMs: 10 }), 'e', 'k', 0).state;
    expect(claimDue(s, cfg({ debounceMs: 10 }), lease(5)).state).toBe(s);
  });
});

describe('claims', () => {
  const running = (): AutomationState => {
    const c = cfg({ coalesce: false, maxConcurrent: 5 });
    let s = emptyState();
    for (const e of ['x', 'y', 'z']) s = push(s, c, e, 'k', 0).state;
    return claimDue(s, c, lease(0)).state; // leases until 1000, owner n1
  };

  it('takes over lapsed runs only (or all, or none of those skipped)', () => {
    const s = running();
    expect(takeOver(s, { now: 1000, owner: 'n2', leaseUntil: 5000, capacity: 10 }).taken).toEqual([]);
    const t = takeOver(s, { now: 1001, owner: 'n2', leaseUntil: 5000, capacity: 2 });
    expect(t.taken.map((r) => [r.eventIds[0], r.owner, r.leaseUntil])).toEqual([
      ['x', 'n2', 5000],
      ['y', 'n2', 5000],
    ]);
    expect(t.state.running.map((r) => r.owner)).toEqual(['n2', 'n2', 'n1']);
    const all = takeOver(s, {
      now: 0,
      owner: 'n3',
      leaseUntil: 9,
      capacity: 9,
      all: true,
      skip: new Set([s.running[0]!.runId]),
    });
    expect(all.taken.map((r) => r.eventIds[0])).toEqual(['y', 'z']);
  });

  it('renews only for the owner, and releases a node’s claims', () => {
    const s = running();
    const id = s.running[0]!.runId;
    expect(renew(s, id, 'n2', 9999)).toBeUndefined();
    expect(renew(s, 'nope', 'n1', 9999)).toBeUndefined();
    expect(renew(s, id, 'n1', 9999)!.running[0]!.leaseUntil).toBe(9999);
    const r = release(s, 'n1', id);
    expect(r.running.map((x) => x.leaseUntil)).toEqual([0, 1000, 1000]);
    expect(release(s, 'n2')).toBe(s);
    expect(release(s, 'n1').running.every((x) => x.leaseUntil === 0)).toBe(true);
  });

  it('finish frees the slot, records the end for the cooldown and forgets expired ones', () => {
    const c = cfg({ coalesce: false, maxConcurrent: 5, cooldownMs: 10 });
    const s = running();
    expect(finish(s, c, 'unknown', 5)).toBe(s);
    const f = finish(s, c, s.running[0]!.runId, 5);
    expect(f.running.length).toBe(2);
    expect(f.ended).toEqual({ k: 5 });
    const later = finish({ ...f, ended: { k: 5, old: 1 } }, c, f.running[0]!.runId, 30);
    expect(later.ended).toEqual({ k: 30 });
    expect(finish(s, cfg(), s.running[0]!.runId, 5).ended).toEqual({});
  });
});

describe('nextWake', () => {
  it('is the earliest start a waiting run may have, or a lapse to take over', () => {
    const c = cfg({ debounceMs: 30, cooldownMs: 100 });
    let s = push(emptyState(), c, 'e1', 'k', 0).state;
    expect(nextWake(s, c, 0)).toBe(30);
    const r = claimDue(s, c, lease(30));
    expect(nextWake(r.state, c, 30)).toBe(1031); // the claim lapses after 1030
    expect(nextWake(r.state, c, 30, new Set([r.started[0]!.runId]))).toBeUndefined();
    s = finish(r.state, c, r.started[0]!.runId, 40);
    s = push(s, c, 'e2', 'k', 50).state;
    expect(nextWake(s, c, 60)).toBe(140);
    expect(nextWake(emptyState(), c, 0)).toBeUndefined();
  });

  it('does not wake for a key whose slots are all taken', () => {
    const c = cfg({ coalesce: false });
    let s = push(emptyState(), c, 'e1', 'k', 0).state;
    s = claimDue(s, c, lease(0)).state;
    s = push(s, c, 'e2', 'k', 1).state;
    expect(nextWake(s, c, 1, new Set([s.running[0]!.runId]))).toBeUndefined();
  });
});

describe('a burst of 20 events for one key', () => {
  it('debounced: exactly one run holding all 20', () => {
    const c = cfg({ debounceMs: 60_000 });
    let s = emptyState();
    const started = [];
    for (let i = 0; i < 20; i++) {
      s = push(s, c, `drift-${i}`, 'monitor-1', i * 1000).state;
      const r = claimDue(s, c, lease(i * 1000));
      s = r.state;
      started.push(...r.started);
    }
    const r = claimDue(s, c, lease(19_000 + 60_000));
    started.push(...r.started);
    expect(started.length).toBe(1);
    expect(started[0]!.eventIds.length).toBe(20);
  });

  it("not debounced, whenBusy 'drop' with a cooldown: one run, the rest dropped", () => {
    const c = cfg({ whenBusy: 'drop', cooldownMs: 3_600_000 });
    let s = emptyState();
    const started = [];
    let dropped = 0;
    for (let i = 0; i < 20; i++) {
      const a = push(s, c, `drift-${i}`, 'monitor-1', i * 1000);
      if (a.admission.kind === 'dropped') dropped++;
      s = a.state;
      const r = claimDue(s, c, lease(i * 1000));
      s = r.state;
      started.push(...r.started);
      if (i === 5) s = finish(s, c, started[0]!.runId, i * 1000);
    }
    expect(started.length).toBe(1);
    expect(dropped).toBe(19);
  });
});

describe('invariants over random schedules', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i', (seed) => {
    const rng = mulberry32(seed);
    const c = cfg({
      debounceMs: rng.int(3) * 10,
      coalesce: rng.int(2) === 0,
      maxConcurrent: 1 + rng.int(2),
      cooldownMs: rng.int(3) * 15,
      whenBusy: rng.int(2) === 0 ? 'queue' : 'drop',
      ...(rng.int(2) === 0 ? { maxWaitMs: 25 } : {}),
    });
    let s = emptyState();
    let now = 0;
    const placed = new Map<string, string>(); // event → run (or 'dropped')
    const startedAt = new Map<string, { key: string; at: number; queuedAt: number }>();
    const endedAt: Record<string, number[]> = {};
    for (let step = 0; step < 400; step++) {
      now += rng.int(7);
      const op = rng.int(10);
      if (op < 5) {
        const e = `e${rng.int(150)}`;
        const a = admit(s, c, { eventId: e, key: `k${rng.int(3)}`, now, newRunId: `r${step}` });
        s = a.state;
        if (a.admission.kind === 'duplicate') expect(placed.has(e)).toBe(true);
        else placed.set(e, a.admission.kind === 'dropped' ? 'dropped' : a.admission.runId);
      } else if (op < 8) {
        const r = claimDue(s, c, { now, owner: 'n', leaseUntil: now + 100, capacity: 1 + rng.int(3) });
        s = r.state;
        for (const run of r.started) {
          const ends = endedAt[run.key] ?? [];
          if (ends.length) expect(now).toBeGreaterThanOrEqual(ends.at(-1)! + c.cooldownMs);
          startedAt.set(run.runId, { key: run.key, at: now, queuedAt: run.queuedAt });
        }
      } else if (s.running.length > 0) {
        const run = s.running[rng.int(s.running.length)]!;
        s = finish(s, c, run.runId, now);
        (endedAt[run.key] ??= []).push(now);
      }
      // Slots per key never exceeded; every admitted event is in exactly one live or started run.
      for (const k of ['k0', 'k1', 'k2']) {
        expect(s.running.filter((r) => r.key === k).length).toBeLessThanOrEqual(c.maxConcurrent);
      }
      const live = [...s.queue, ...s.running].flatMap((r) => r.eventIds);
      expect(new Set(live).size).toBe(live.length);
      for (const q of s.queue) for (const e of q.eventIds) expect(placed.get(e)).toBe(q.runId);
    }
    // Runs of one key started in the order they were queued.
    const byKey = new Map<string, number[]>();
    for (const v of [...startedAt.values()].sort((a, b) => a.at - b.at)) {
      byKey.set(v.key, [...(byKey.get(v.key) ?? []), v.queuedAt]);
    }
    for (const order of byKey.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});
