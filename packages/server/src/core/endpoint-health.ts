/**
 * Endpoint probation (spec §4.4): after enough consecutive failures an endpoint is presumed down and left alone
 * for a while, instead of being hammered by every event's retries and new deliveries.
 */
import type { DeliveryOutcome } from './retry-policy.js';

const SEC = 1000;
const MIN = 60 * SEC;

/** Base probation per last outcome (§4.4); anything not listed gets DEFAULT_PROBATION_MS. Unscaled. */
export const PROBATION_BASE_MS: Partial<Record<DeliveryOutcome, number>> = {
  Busy: 10 * SEC,
  NotFound: 5 * MIN,
  SocketError: 30 * SEC,
  ResolutionError: 5 * MIN,
  Disabled: 5 * MIN,
  Full: 5 * MIN,
  TimedOut: 10 * SEC,
  Unauthorized: 5 * MIN,
  Forbidden: 5 * MIN,
  InvalidAzureFunctionDestination: 10 * MIN,
};
export const DEFAULT_PROBATION_MS = 30 * SEC;

/**
 * Outcomes about one event, not the endpoint: a healthy endpoint that rejects a malformed or oversized event
 * must not be put on probation (and those failures aren't retried, so they can't hammer anything).
 */
const EVENT_SPECIFIC: ReadonlySet<DeliveryOutcome> = new Set(['BadRequest', 'PayloadTooLarge']);

export interface EndpointHealthOptions {
  /** Consecutive failures that start probation; default 10 (Azure's example, §4.4). */
  threshold?: number;
  /** Multiplies every duration (probation, cap, idle expiry), e.g. 0.001 in tests. */
  timeScale: number;
  /** Longest probation, unscaled; default 1 h. */
  maxProbationMs?: number;
  /** Entries untouched for this long (unscaled) are forgotten; default 24 h. Must exceed maxProbationMs. */
  idleMs?: number;
  /** LRU bound on tracked endpoints; default 10,000. */
  maxEntries?: number;
}

interface Entry {
  failures: number;
  /** Probations since the last success; each doubles the next duration. */
  level: number;
  until: number;
  lastSeen: number;
}

/**
 * Per-endpoint consecutive-failure counter with probation. Keys are endpoint origins (`https://host:port`), so
 * every subscription pointing at a dead host shares its fate.
 *
 * Contract with the dispatcher:
 * - after each attempt call recordSuccess or recordFailure with the attempt's outcome;
 * - before an attempt (new delivery or retry) ask probationUntil(); if it returns a time, do not attempt: postpone
 *   that delivery to the returned time without counting an attempt. A dead endpoint thus sees one trial request
 *   per probation window, and deliveries to healthy endpoints never wait behind it.
 *
 * The `threshold`-th consecutive failure starts probation for the outcome's base duration (×timeScale). When
 * probation is over, the next attempt is a trial: if it fails too, probation restarts at twice the previous
 * length (capped at maxProbationMs); a success anywhere resets everything. Failures recorded while on probation
 * (attempts already in flight when it began) count but don't extend it. Only failing endpoints take memory.
 */
export class EndpointHealth {
  private readonly threshold: number;
  private readonly timeScale: number;
  private readonly maxProbation: number;
  private readonly idle: number;
  private readonly maxEntries: number;
  // Map iteration order = least recently touched first; touching re-inserts at the end.
  private readonly entries = new Map<string, Entry>();

  constructor(opts: EndpointHealthOptions) {
    this.threshold = opts.threshold ?? 10;
    this.timeScale = opts.timeScale;
    this.maxProbation = (opts.maxProbationMs ?? 60 * MIN) * opts.timeScale;
    this.idle = Math.max(opts.idleMs ?? 24 * 60 * MIN, opts.maxProbationMs ?? 60 * MIN) * opts.timeScale;
    this.maxEntries = opts.maxEntries ?? 10_000;
    if (!Number.isInteger(this.threshold) || this.threshold < 1)
      throw new RangeError('threshold must be ≥ 1');
    if (!(this.timeScale > 0)) throw new RangeError('timeScale must be > 0');
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new RangeError('maxEntries must be ≥ 1');
  }

  /** Number of endpoints currently tracked (failing, not yet forgotten). */
  get size(): number {
    return this.entries.size;
  }

  recordSuccess(key: string, now: number): void {
    this.entries.delete(key);
    this.sweep(now);
  }

  recordFailure(key: string, outcome: DeliveryOutcome, now: number): void {
    if (outcome === 'Succeeded') return this.recordSuccess(key, now);
    if (EVENT_SPECIFIC.has(outcome)) return;
    let e = this.entries.get(key);
    if (e) this.entries.delete(key);
    else e = { failures: 0, level: 0, until: 0, lastSeen: now };
    e.failures++;
    e.lastSeen = now;
    this.entries.set(key, e);
    if (e.failures >= this.threshold && now >= e.until) {
      const base = (PROBATION_BASE_MS[outcome] ?? DEFAULT_PROBATION_MS) * this.timeScale;
      // 2^level overflows to Infinity past ~1000; the cap keeps the result finite either way.
      const duration = Math.min(base * 2 ** Math.min(e.level, 52), this.maxProbation);
      e.until = now + Math.round(duration);
      e.level++;
    }
    this.sweep(now);
  }

  /** Epoch ms until which deliveries to `key` must wait, or undefined when it may be tried now. */
  probationUntil(key: string, now: number): number | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now - e.lastSeen >= this.idle) {
      this.entries.delete(key);
      return undefined;
    }
    return e.until > now ? e.until : undefined;
  }

  /** Consecutive failures recorded for `key` (0 when healthy or forgotten); for metrics and tests. */
  failures(key: string): number {
    return this.entries.get(key)?.failures ?? 0;
  }

  // Oldest entries sit at the front: drop those idle too long, then any beyond the LRU bound. Amortised O(1).
  private sweep(now: number): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size > this.maxEntries || now - e.lastSeen >= this.idle) this.entries.delete(key);
      else break;
    }
  }
}
