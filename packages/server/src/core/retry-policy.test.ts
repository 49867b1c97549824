import { describe, expect, it } from 'vitest';
import {
  classify,
  decideAfterFailure,
  DeadLetterReason,
  nextAttemptAt,
  parseRetryAfter,
  RETRY_AFTER_CAP_MS,
  RETRY_SCHEDULE_MS,
  scheduleDelayMs,
  ttlExpired,
  type AttemptResult,
  type Classification,
  type DeliveryOutcome,
} from './retry-policy.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const NO_JITTER = () => 0.5;
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('classify', () => {
  type Row = [label: string, r: AttemptResult, expected: Partial<Classification>];
  const http = (status: number): AttemptResult => ({ kind: 'http', status });
  const retry = (outcome: DeliveryOutcome, minDelayMs = 10 * S): Classification => ({
    success: false,
    retryable: true,
    outcome,
    minDelayMs,
  });
  const final = (outcome: DeliveryOutcome, deadLetterReason: string): Partial<Classification> => ({
    success: false,
    retryable: false,
    outcome,
    deadLetterReason,
  });
  const success: Classification = { success: true, retryable: false, outcome: 'Succeeded', minDelayMs: 0 };
  const rows: Row[] = [
    ['200', http(200), success],
    ['201', http(201), success],
    ['202', http(202), success],
    ['203', http(203), success],
    ['204', http(204), success],
    ['205', http(205), retry('GenericError')],
    ['100', http(100), retry('GenericError')],
    ['301', http(301), retry('GenericError')],
    ['302', http(302), retry('GenericError')],
    ['304', http(304), retry('GenericError')],
    ['400', http(400), final('BadRequest', 'UndeliverableDueToHttpBadRequest')],
    ['401', http(401), final('Unauthorized', 'UndeliverableDueToClientError')],
    ['403', http(403), final('Forbidden', 'UndeliverableDueToClientError')],
    ['404', http(404), retry('NotFound')],
    ['408', http(408), retry('TimedOut', 2 * M)],
    ['409', http(409), retry('GenericError')],
    ['410', http(410), retry('GenericError')],
    ['413', http(413), final('PayloadTooLarge', 'UndeliverableDueToClientError')],
    ['429', http(429), retry('Busy')],
    ['500', http(500), retry('GenericError')],
    ['502', http(502), retry('GenericError')],
    ['503', http(503), retry('Busy', 30 * S)],
    ['504', http(504), retry('GenericError')],
    ['timeout', { kind: 'timeout' }, retry('TimedOut')],
    ['ECONNREFUSED', { kind: 'network', code: 'ECONNREFUSED' }, retry('SocketError')],
    ['ECONNRESET', { kind: 'network', code: 'ECONNRESET' }, retry('SocketError')],
    ['EHOSTUNREACH', { kind: 'network', code: 'EHOSTUNREACH' }, retry('SocketError')],
    ['UND_ERR_SOCKET', { kind: 'network', code: 'UND_ERR_SOCKET' }, retry('SocketError')],
    ['no code', { kind: 'network' }, retry('SocketError')],
    ['ENOTFOUND', { kind: 'network', code: 'ENOTFOUND' }, retry('ResolutionError')],
    ['EAI_AGAIN', { kind: 'network', code: 'EAI_AGAIN' }, retry('ResolutionError')],
    ['ETIMEDOUT', { kind: 'network', code: 'ETIMEDOUT' }, retry('TimedOut')],
    ['UND_ERR_HEADERS_TIMEOUT', { kind: 'network', code: 'UND_ERR_HEADERS_TIMEOUT' }, retry('TimedOut')],
    ['UND_ERR_ABORTED', { kind: 'network', code: 'UND_ERR_ABORTED' }, retry('Aborted')],
    [
      'EGRESS_DENIED',
      { kind: 'network', code: 'EGRESS_DENIED' },
      final('Forbidden', DeadLetterReason.EgressPolicy),
    ],
    [
      'refused',
      { kind: 'refused', reason: 'metadata' },
      final('Forbidden', 'UndeliverableDueToEgressPolicy'),
    ],
    ['handler ok', { kind: 'handler', ok: true, retryable: false, message: '' }, success],
    [
      'handler retryable',
      { kind: 'handler', ok: false, retryable: true, message: 'x' },
      retry('GenericError'),
    ],
    [
      'handler final',
      { kind: 'handler', ok: false, retryable: false, message: 'x' },
      final('GenericError', 'UndeliverableDueToHandlerError'),
    ],
  ];
  it.each(rows)('%s', (_label, r, expected) => {
    const c = classify(r);
    expect(c).toMatchObject(expected);
    // deadLetterReason is present exactly when the failure is final.
    expect(c.deadLetterReason !== undefined).toBe(!c.success && !c.retryable);
  });
});

describe('schedule', () => {
  it('follows 10s, 30s, 1m, 5m, 10m, 30m, 1h, 3h, 6h, then 12h', () => {
    const expected = [10 * S, 30 * S, M, 5 * M, 10 * M, 30 * M, H, 3 * H, 6 * H, 12 * H, 12 * H, 12 * H];
    expect(Array.from({ length: 12 }, (_, i) => scheduleDelayMs(i + 1))).toEqual(expected);
    expect(RETRY_SCHEDULE_MS).toEqual(expected.slice(0, 10));
  });

  it('gives the exact next attempt times with jitter disabled (random = 0.5)', () => {
    const c = classify({ kind: 'http', status: 500 });
    for (let n = 1; n <= 12; n++) {
      const at = nextAttemptAt({
        attemptsMade: n,
        classification: c,
        now: NOW,
        timeScale: 1,
        random: NO_JITTER,
      });
      expect(at - NOW).toBe(scheduleDelayMs(n));
    }
  });

  it('rejects attemptsMade < 1', () => {
    expect(() => scheduleDelayMs(0)).toThrow(RangeError);
    expect(() => scheduleDelayMs(1.5)).toThrow(RangeError);
  });
});

describe('nextAttemptAt', () => {
  const generic = classify({ kind: 'http', status: 500 });
  const at = (o: Partial<Parameters<typeof nextAttemptAt>[0]>) =>
    nextAttemptAt({
      attemptsMade: 1,
      classification: generic,
      now: NOW,
      timeScale: 1,
      random: NO_JITTER,
      ...o,
    }) - NOW;

  it('jitters within ±10 %', () => {
    expect(at({ attemptsMade: 4, random: () => 0 })).toBe(270_000);
    expect(at({ attemptsMade: 4, random: () => 0.999999 })).toBeCloseTo(330_000, -1);
    for (const r of [0, 0.1, 0.3, 0.7, 0.9, 0.999]) {
      const d = at({ attemptsMade: 7, random: () => r });
      expect(d).toBeGreaterThanOrEqual(0.9 * H);
      expect(d).toBeLessThan(1.1 * H);
    }
  });

  it('scales time', () => {
    expect(at({ attemptsMade: 1, timeScale: 0.001 })).toBe(10);
    expect(at({ attemptsMade: 10, timeScale: 0.001 })).toBe(43_200);
    expect(at({ attemptsMade: 1, timeScale: 0 })).toBe(0);
  });

  it('applies the classification floor and never jitters below it', () => {
    const c408 = classify({ kind: 'http', status: 408 });
    expect(at({ classification: c408 })).toBe(2 * M);
    expect(at({ classification: c408, random: () => 0 })).toBe(2 * M);
    expect(at({ classification: c408, random: () => 0.99 })).toBeGreaterThan(2 * M);
    expect(at({ classification: c408, attemptsMade: 4 })).toBe(5 * M); // schedule beats floor
    const c503 = classify({ kind: 'http', status: 503 });
    expect(at({ classification: c503 })).toBe(30 * S);
    expect(at({ classification: c503, attemptsMade: 2, random: () => 0 })).toBe(30 * S);
  });

  it('honours Retry-After on 429 and 503 only', () => {
    const c429 = classify({ kind: 'http', status: 429 });
    const c503 = classify({ kind: 'http', status: 503 });
    expect(at({ classification: c429, retryAfterMs: 120 * S })).toBe(120 * S);
    expect(at({ classification: c503, retryAfterMs: 120 * S, random: () => 0 })).toBe(120 * S);
    expect(at({ classification: c429, retryAfterMs: 1 * S })).toBe(10 * S); // schedule beats Retry-After
    expect(at({ classification: generic, retryAfterMs: 120 * S })).toBe(10 * S);
    expect(at({ classification: c429, retryAfterMs: 120 * S, timeScale: 0.001 })).toBe(120);
  });

  it('is never before now', () => {
    expect(at({ random: () => 0, timeScale: 1e-9 })).toBeGreaterThanOrEqual(0);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date(NOW);
  it.each<[string | undefined, number | undefined]>([
    ['0', 0],
    ['1', 1000],
    [' 120 ', 120_000],
    ['3600', RETRY_AFTER_CAP_MS],
    ['86400', RETRY_AFTER_CAP_MS],
    ['99999999999999999999999', RETRY_AFTER_CAP_MS],
    ['Thu, 01 Jan 2026 12:02:00 GMT', 120_000],
    ['thu, 01 jan 2026 12:00:30 gmt', 30_000],
    ['Thursday, 01-Jan-26 12:01:00 GMT', 60_000],
    ['Thu Jan  1 12:00:10 2026', 10_000],
    ['Thu, 01 Jan 2026 11:00:00 GMT', 0], // in the past
    ['Fri, 02 Jan 2026 12:00:00 GMT', RETRY_AFTER_CAP_MS],
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['1e3', undefined],
    ['2026-01-01T12:01:00Z', undefined],
    ['Thu, 31 Feb 2026 12:00:00 GMT', undefined],
    ['Thu, 01 Foo 2026 12:00:00 GMT', undefined],
    ['Thu, 01 Jan 2026 25:00:00 GMT', undefined],
  ])('%j → %j', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe('decideAfterFailure', () => {
  const base = { now: NOW, timeScale: 1, random: NO_JITTER, ttlMinutes: 1440, publishedAt: NOW };
  const c500 = classify({ kind: 'http', status: 500 });

  it('dead-letters non-retryable failures with their reason, even on the first attempt', () => {
    for (const [status, reason] of [
      [400, 'UndeliverableDueToHttpBadRequest'],
      [401, 'UndeliverableDueToClientError'],
      [403, 'UndeliverableDueToClientError'],
      [413, 'UndeliverableDueToClientError'],
    ] as const) {
      const classification = classify({ kind: 'http', status });
      expect(
        decideAfterFailure({ ...base, classification, attemptsMade: 1, maxDeliveryAttempts: 30 }),
      ).toEqual({
        action: 'deadletter',
        reason,
      });
    }
    const refused = classify({ kind: 'refused', reason: 'x' });
    expect(
      decideAfterFailure({ ...base, classification: refused, attemptsMade: 1, maxDeliveryAttempts: 30 }),
    ).toEqual({ action: 'deadletter', reason: 'UndeliverableDueToEgressPolicy' });
  });

  it.each([
    [1, 1, 'deadletter'],
    [30, 29, 'retry'],
    [30, 30, 'deadletter'],
    [30, 31, 'deadletter'],
  ] as const)('maxDeliveryAttempts %i after %i attempts → %s', (max, made, action) => {
    const d = decideAfterFailure({
      ...base,
      classification: c500,
      attemptsMade: made,
      maxDeliveryAttempts: max,
    });
    expect(d.action).toBe(action);
    if (d.action === 'deadletter') expect(d.reason).toBe('MaxDeliveryAttemptsExceeded');
    else expect(d.at).toBe(NOW + 12 * H);
  });

  it('schedules retries with the classification and Retry-After', () => {
    const c429 = classify({ kind: 'http', status: 429 });
    expect(
      decideAfterFailure({
        ...base,
        classification: c429,
        attemptsMade: 1,
        maxDeliveryAttempts: 30,
        retryAfterMs: M,
      }),
    ).toEqual({ action: 'retry', at: NOW + M });
  });

  it('does not check TTL: a retry after expiry is still scheduled', () => {
    const d = decideAfterFailure({
      ...base,
      ttlMinutes: 1,
      publishedAt: NOW - 10 * M,
      classification: c500,
      attemptsMade: 3,
      maxDeliveryAttempts: 30,
    });
    expect(d).toEqual({ action: 'retry', at: NOW + M });
  });

  it('refuses a successful classification', () => {
    const ok = classify({ kind: 'http', status: 200 });
    expect(() =>
      decideAfterFailure({ ...base, classification: ok, attemptsMade: 1, maxDeliveryAttempts: 30 }),
    ).toThrow();
  });
});

describe('ttlExpired', () => {
  it.each([
    [1, 1, 59_999, false],
    [1, 1, 60_000, true],
    [1440, 1, 1440 * M - 1, false],
    [1440, 1, 1440 * M, true],
    [30, 0.001, 1799, false],
    [30, 0.001, 1800, true],
  ])('ttl %i min, scale %f, age %i ms → %s', (ttlMinutes, timeScale, age, expired) => {
    expect(ttlExpired({ publishedAt: NOW, ttlMinutes, timeScale, now: NOW + age })).toBe(expired);
  });

  it('matches the documented example: TTL 30 min allows 6 attempts', () => {
    let t = NOW;
    let attempts = 0;
    while (!ttlExpired({ publishedAt: NOW, ttlMinutes: 30, now: t, timeScale: 1 })) {
      attempts++;
      t = nextAttemptAt({
        attemptsMade: attempts,
        classification: classify({ kind: 'timeout' }),
        now: t,
        timeScale: 1,
        random: NO_JITTER,
      });
    }
    expect(attempts).toBe(6);
  });
});
