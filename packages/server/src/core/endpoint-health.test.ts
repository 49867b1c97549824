import { describe, expect, it } from 'vitest';
import { EndpointHealth } from './endpoint-health.js';
import type { DeliveryOutcome } from './retry-policy.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const KEY = 'https://hook.example:443';
const T0 = 1_000_000;

function fail(h: EndpointHealth, n: number, outcome: DeliveryOutcome, now: number, key = KEY): void {
  for (let i = 0; i < n; i++) h.recordFailure(key, outcome, now);
}

describe('EndpointHealth', () => {
  it('starts probation after exactly `threshold` consecutive failures', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 9, 'SocketError', T0);
    expect(h.probationUntil(KEY, T0)).toBeUndefined();
    expect(h.failures(KEY)).toBe(9);
    h.recordFailure(KEY, 'SocketError', T0);
    expect(h.probationUntil(KEY, T0)).toBe(T0 + 30 * S);
    expect(h.probationUntil('https://other.example:443', T0)).toBeUndefined();
  });

  it('honours a custom threshold', () => {
    const h = new EndpointHealth({ threshold: 3, timeScale: 1 });
    fail(h, 2, 'Busy', T0);
    expect(h.probationUntil(KEY, T0)).toBeUndefined();
    h.recordFailure(KEY, 'Busy', T0);
    expect(h.probationUntil(KEY, T0)).toBe(T0 + 10 * S);
  });

  it.each<[DeliveryOutcome, number]>([
    ['Busy', 10 * S],
    ['NotFound', 5 * M],
    ['SocketError', 30 * S],
    ['ResolutionError', 5 * M],
    ['TimedOut', 10 * S],
    ['Unauthorized', 5 * M],
    ['Forbidden', 5 * M],
    ['Disabled', 5 * M],
    ['Full', 5 * M],
    ['InvalidAzureFunctionDestination', 10 * M],
    ['GenericError', 30 * S],
    ['Aborted', 30 * S],
  ])('probation for %s lasts %i ms (× timeScale)', (outcome, ms) => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 10, outcome, T0);
    expect(h.probationUntil(KEY, T0)).toBe(T0 + ms);
    const scaled = new EndpointHealth({ timeScale: 0.001 });
    fail(scaled, 10, outcome, T0);
    expect(scaled.probationUntil(KEY, T0)).toBe(T0 + ms / 1000);
  });

  it('uses the outcome of the failure that triggers probation', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 9, 'Busy', T0);
    h.recordFailure(KEY, 'NotFound', T0);
    expect(h.probationUntil(KEY, T0)).toBe(T0 + 5 * M);
  });

  it('ends probation at probationUntil', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 10, 'TimedOut', T0);
    expect(h.probationUntil(KEY, T0 + 10 * S - 1)).toBe(T0 + 10 * S);
    expect(h.probationUntil(KEY, T0 + 10 * S)).toBeUndefined();
  });

  it('doubles probation while trial attempts keep failing, up to the cap', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 10, 'SocketError', T0);
    let t = T0;
    const durations: number[] = [];
    for (let i = 0; i < 10; i++) {
      const until = h.probationUntil(KEY, t)!;
      durations.push(until - t);
      t = until;
      expect(h.probationUntil(KEY, t)).toBeUndefined();
      h.recordFailure(KEY, 'SocketError', t); // the trial attempt fails
    }
    expect(durations).toEqual([30 * S, 60 * S, 2 * M, 4 * M, 8 * M, 16 * M, 32 * M, H, H, H]);
  });

  it('caps with timeScale and a custom maxProbationMs', () => {
    const h = new EndpointHealth({ timeScale: 0.001, maxProbationMs: 2 * M });
    fail(h, 10, 'NotFound', T0);
    expect(h.probationUntil(KEY, T0)).toBe(T0 + 120); // 5 min capped at 2 min, × 0.001
  });

  it('does not extend probation for failures of attempts already in flight', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 10, 'SocketError', T0);
    fail(h, 5, 'SocketError', T0 + S);
    expect(h.probationUntil(KEY, T0 + S)).toBe(T0 + 30 * S);
    h.recordFailure(KEY, 'SocketError', T0 + 30 * S);
    expect(h.probationUntil(KEY, T0 + 30 * S)).toBe(T0 + 30 * S + 60 * S); // level 1, not 6
  });

  it('resets on success', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 10, 'SocketError', T0);
    fail(h, 1, 'SocketError', T0 + 30 * S); // level 1
    h.recordSuccess(KEY, T0 + 2 * M);
    expect(h.probationUntil(KEY, T0 + 2 * M)).toBeUndefined();
    expect(h.failures(KEY)).toBe(0);
    expect(h.size).toBe(0);
    fail(h, 9, 'SocketError', T0 + 3 * M);
    expect(h.probationUntil(KEY, T0 + 3 * M)).toBeUndefined();
    h.recordFailure(KEY, 'SocketError', T0 + 3 * M);
    expect(h.probationUntil(KEY, T0 + 3 * M)).toBe(T0 + 3 * M + 30 * S); // back to the base duration
  });

  it('a Succeeded outcome passed to recordFailure counts as success', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 5, 'SocketError', T0);
    h.recordFailure(KEY, 'Succeeded', T0);
    expect(h.failures(KEY)).toBe(0);
  });

  it('ignores event-specific failures (400, 413): neither counted nor resetting', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    fail(h, 5, 'SocketError', T0);
    fail(h, 20, 'BadRequest', T0);
    fail(h, 20, 'PayloadTooLarge', T0);
    expect(h.failures(KEY)).toBe(5);
    expect(h.probationUntil(KEY, T0)).toBeUndefined();
  });

  it('keeps at most maxEntries endpoints, evicting the least recently failed', () => {
    const h = new EndpointHealth({ timeScale: 1, threshold: 1, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) h.recordFailure(k, 'SocketError', T0);
    h.recordFailure('a', 'SocketError', T0); // a is now most recent
    h.recordFailure('d', 'SocketError', T0);
    expect(h.size).toBe(3);
    expect(h.failures('b')).toBe(0);
    expect(h.failures('a')).toBe(2);
    expect(h.failures('c')).toBe(1);
    expect(h.failures('d')).toBe(1);
  });

  it('bounds memory at the default 10,000 entries', () => {
    const h = new EndpointHealth({ timeScale: 1 });
    for (let i = 0; i < 10_500; i++) h.recordFailure(`https://h${i}:443`, 'SocketError', T0);
    expect(h.size).toBe(10_000);
    expect(h.failures('https://h0:443')).toBe(0);
    expect(h.failures('https://h10499:443')).toBe(1);
  });

  it('forgets endpoints idle for longer than idleMs (× timeScale)', () => {
    const h = new EndpointHealth({ timeScale: 0.001 }); // idle 24 h → 86.4 s
    fail(h, 3, 'SocketError', T0, 'old');
    fail(h, 3, 'SocketError', T0 + 80 * S, 'recent');
    h.recordFailure('new', 'SocketError', T0 + 86.4 * S);
    expect(h.failures('old')).toBe(0);
    expect(h.failures('recent')).toBe(3);
    expect(h.size).toBe(2);
    expect(h.probationUntil('recent', T0 + 80 * S + 86.4 * S)).toBeUndefined();
    expect(h.size).toBe(1);
  });

  it('validates options', () => {
    expect(() => new EndpointHealth({ timeScale: 0 })).toThrow(RangeError);
    expect(() => new EndpointHealth({ timeScale: 1, threshold: 0 })).toThrow(RangeError);
    expect(() => new EndpointHealth({ timeScale: 1, maxEntries: 0 })).toThrow(RangeError);
  });
});
