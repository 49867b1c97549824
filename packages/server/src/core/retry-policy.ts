/**
 * Delivery retry policy (spec §4.2, §4.3, §4.7): how one attempt's result is classified, when the next attempt
 * happens, and when an event is dead-lettered instead. Pure: the clock (`now`) and randomness (`random`) are
 * parameters, and `timeScale` shrinks every delay so tests can run the real schedule in milliseconds.
 */

/** Delay before attempt n+1, indexed by n-1 (§4.3); the last entry repeats ("then every 12 h"). */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  10_000, // 10 s
  30_000, // 30 s
  60_000, // 1 min
  300_000, // 5 min
  600_000, // 10 min
  1_800_000, // 30 min
  3_600_000, // 1 h
  10_800_000, // 3 h
  21_600_000, // 6 h
  43_200_000, // 12 h, repeated
];

/** Retry-After values beyond this are clamped: a misbehaving endpoint must not park an event for days. */
export const RETRY_AFTER_CAP_MS = 3_600_000;

/** Jitter is ±JITTER_RATIO of the delay (§4.3 "small randomization"); random() = 0.5 gives none. */
export const JITTER_RATIO = 0.1;

/**
 * Azure's `lastDeliveryOutcome` values (§4.7) plus two of ours: `Succeeded` (the attempt worked; never written to
 * a dead-letter record) and `GenericError` (a failure none of Azure's names fits: 5xx other than 503, 3xx, 205…,
 * a failed non-HTTP handler). Value and type share the name so callers can write `DeliveryOutcome.Busy`.
 */
export const DeliveryOutcome = {
  Succeeded: 'Succeeded',
  NotFound: 'NotFound',
  Disabled: 'Disabled',
  Full: 'Full',
  Unauthorized: 'Unauthorized',
  BadRequest: 'BadRequest',
  TimedOut: 'TimedOut',
  Busy: 'Busy',
  PayloadTooLarge: 'PayloadTooLarge',
  Probation: 'Probation',
  Canceled: 'Canceled',
  Aborted: 'Aborted',
  SocketError: 'SocketError',
  ResolutionError: 'ResolutionError',
  Delivering: 'Delivering',
  SessionQueueNotSupported: 'SessionQueueNotSupported',
  Forbidden: 'Forbidden',
  InvalidAzureFunctionDestination: 'InvalidAzureFunctionDestination',
  GenericError: 'GenericError',
} as const;
export type DeliveryOutcome = (typeof DeliveryOutcome)[keyof typeof DeliveryOutcome];

/**
 * `deadLetterReason` strings. Only `UndeliverableDueToHttpBadRequest` and `MaxDeliveryAttemptsExceeded` have been
 * observed on Azure (§4.7); the rest are UNCONFIRMED names of ours in the same style.
 */
export const DeadLetterReason = {
  HttpBadRequest: 'UndeliverableDueToHttpBadRequest',
  /** 401, 403, 413 from a webhook. UNCONFIRMED. */
  ClientError: 'UndeliverableDueToClientError',
  /** The egress policy forbids the destination address. Ours (Azure has no such policy). */
  EgressPolicy: 'UndeliverableDueToEgressPolicy',
  /** A non-HTTP handler reported a permanent failure. Ours. */
  HandlerError: 'UndeliverableDueToHandlerError',
  MaxDeliveryAttemptsExceeded: 'MaxDeliveryAttemptsExceeded',
  /** UNCONFIRMED (§11 lists TTL-expiry reasons as an open question). */
  TimeToLiveExceeded: 'TimeToLiveExceeded',
} as const;

export type AttemptResult =
  | { kind: 'http'; status: number; retryAfter?: string }
  | { kind: 'timeout' }
  /** code: ECONNREFUSED, ECONNRESET, ENOTFOUND, EAI_AGAIN, UND_ERR_*, EGRESS_DENIED … */
  | { kind: 'network'; code?: string }
  /** The egress policy refused the destination before any connection was made. */
  | { kind: 'refused'; reason: string }
  /** Non-HTTP destinations (later). */
  | { kind: 'handler'; ok: boolean; retryable: boolean; message: string };

export interface Classification {
  success: boolean;
  retryable: boolean;
  outcome: DeliveryOutcome;
  /** Floor for the next delay (§4.2 table), before time scaling; 0 on success and when not retryable. */
  minDelayMs: number;
  /** Set exactly when the failure is not retryable. */
  deadLetterReason?: string;
}

const SEC = 1000;
const MIN = 60 * SEC;

const ok = (): Classification => ({ success: true, retryable: false, outcome: 'Succeeded', minDelayMs: 0 });
const retry = (outcome: DeliveryOutcome, minDelayMs = 10 * SEC): Classification => ({
  success: false,
  retryable: true,
  outcome,
  minDelayMs,
});
const final = (outcome: DeliveryOutcome, deadLetterReason: string): Classification => ({
  success: false,
  retryable: false,
  outcome,
  minDelayMs: 0,
  deadLetterReason,
});

// Resolver failures: the name can't be turned into an address (§4.4 ResolutionError).
const RESOLUTION_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'ENODATA',
]);
// Connect/header/body timeouts surface as network errors from undici but are timeouts to the subscriber.
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const ABORT_CODES = new Set(['ABORT_ERR', 'UND_ERR_ABORTED']);

/** Webhook semantics of §4.2. */
export function classify(r: AttemptResult): Classification {
  switch (r.kind) {
    case 'http':
      return classifyStatus(r.status);
    case 'timeout':
      return retry('TimedOut');
    case 'network': {
      const code = r.code ?? '';
      // egress.ts's lookup fails with this code when DNS leads to a denied address: a policy refusal, not a fault.
      if (code === 'EGRESS_DENIED') return final('Forbidden', DeadLetterReason.EgressPolicy);
      if (RESOLUTION_CODES.has(code)) return retry('ResolutionError');
      if (TIMEOUT_CODES.has(code)) return retry('TimedOut');
      if (ABORT_CODES.has(code)) return retry('Aborted');
      // ECONNREFUSED, ECONNRESET, EPIPE, EHOSTUNREACH, TLS errors, unknown: the transport failed.
      return retry('SocketError');
    }
    case 'refused':
      // Retrying can't help until an operator changes the policy. Forbidden is the nearest Azure outcome.
      return final('Forbidden', DeadLetterReason.EgressPolicy);
    case 'handler':
      if (r.ok) return ok();
      return r.retryable ? retry('GenericError') : final('GenericError', DeadLetterReason.HandlerError);
  }
}

function classifyStatus(status: number): Classification {
  if (status >= 200 && status <= 204) return ok();
  switch (status) {
    case 400:
      return final('BadRequest', DeadLetterReason.HttpBadRequest);
    case 401:
      return final('Unauthorized', DeadLetterReason.ClientError);
    case 403:
      return final('Forbidden', DeadLetterReason.ClientError);
    case 413:
      return final('PayloadTooLarge', DeadLetterReason.ClientError);
    case 404:
      // The ≥5 min floor applies to Azure-resource endpoints; a webhook 404 (often a deploy in progress) follows
      // the normal schedule. Endpoint probation still backs off a persistently missing endpoint for 5 min.
      return retry('NotFound');
    case 408:
      return retry('TimedOut', 2 * MIN);
    case 429:
      return retry('Busy');
    case 503:
      // "Service unavailable" is the server saying it is overloaded: Busy (10 s probation) rather than GenericError.
      return retry('Busy', 30 * SEC);
    default:
      // 205–299, 1xx, 3xx (redirects are not followed), other 4xx, 5xx.
      return retry('GenericError');
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 and asctime forms; all GMT.
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC850 = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/**
 * `Retry-After` (delta-seconds or HTTP-date) → ms from `now`, clamped to [0, RETRY_AFTER_CAP_MS].
 * Anything else → undefined. Date.parse isn't used: it accepts garbage such as "1" or "soon 2020".
 */
export function parseRetryAfter(header: string | undefined, now: Date): number | undefined {
  const h = header?.trim();
  if (!h) return undefined;
  if (/^\d+$/.test(h)) return Math.min(Number(h) * SEC, RETRY_AFTER_CAP_MS);
  let m: RegExpExecArray | null;
  let parts: [day: string, mon: string, year: number, hh: string, mm: string, ss: string] | undefined;
  if ((m = IMF_FIXDATE.exec(h))) parts = [m[1]!, m[2]!, Number(m[3]), m[4]!, m[5]!, m[6]!];
  else if ((m = RFC850.exec(h))) {
    // Two-digit year: RFC 9110 says more than 50 years ahead means the past century; 19xx/20xx is close enough.
    const yy = Number(m[3]);
    parts = [m[1]!, m[2]!, yy < 70 ? 2000 + yy : 1900 + yy, m[4]!, m[5]!, m[6]!];
  } else if ((m = ASCTIME.exec(h))) parts = [m[2]!.trim(), m[1]!, Number(m[6]), m[3]!, m[4]!, m[5]!];
  if (!parts) return undefined;
  const [day, mon, year, hh, mm, ss] = parts;
  const month = MONTHS.indexOf(mon.toLowerCase());
  const [d, H, M, S] = [Number(day), Number(hh), Number(mm), Number(ss)];
  if (month < 0 || d < 1 || d > 31 || H > 23 || M > 59 || S > 60) return undefined;
  const at = Date.UTC(year, month, d, H, M, S);
  if (new Date(at).getUTCDate() !== d) return undefined; // 31 Feb and the like
  return Math.min(Math.max(0, at - now.getTime()), RETRY_AFTER_CAP_MS);
}

/** The scheduled delay after `attemptsMade` (≥ 1) attempts: 10 s after the first, …, 12 h from the tenth on. */
export function scheduleDelayMs(attemptsMade: number): number {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer ≥ 1, got ${attemptsMade}`);
  }
  return RETRY_SCHEDULE_MS[Math.min(attemptsMade, RETRY_SCHEDULE_MS.length) - 1]!;
}

export interface NextAttemptInput {
  attemptsMade: number;
  classification: Classification;
  /**
   * From parseRetryAfter; honoured only when the outcome is Busy, i.e. on 429 and 503 (beyond Azure, which
   * documents no Retry-After support), ignored otherwise.
   */
  retryAfterMs?: number;
  /** Epoch ms. */
  now: number;
  /** Multiplies every delay, e.g. 0.001 in tests. */
  timeScale: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/**
 * Epoch ms of the next attempt: max(schedule, classification floor, Retry-After) × timeScale, jittered by ±10 %.
 * The jittered value never drops below the floors (§4.2 says "≥ 2 min", "≥ 30 s"; Retry-After is a request), so
 * jitter only ever lengthens a delay that a floor dominates.
 */
export function nextAttemptAt(a: NextAttemptInput): number {
  const retryAfter = a.classification.outcome === 'Busy' ? (a.retryAfterMs ?? 0) : 0;
  const floor = Math.max(a.classification.minDelayMs, retryAfter);
  const delay = Math.max(scheduleDelayMs(a.attemptsMade), floor);
  const jitter = 1 + JITTER_RATIO * 2 * (a.random() - 0.5);
  const scaled = Math.max(delay * jitter, floor) * a.timeScale;
  return a.now + Math.max(0, Math.round(scaled));
}

export type Decision = { action: 'retry'; at: number } | { action: 'deadletter'; reason: string };

export interface FailureInput extends NextAttemptInput {
  maxDeliveryAttempts: number;
  /** Accepted for call-site symmetry but not used: Azure checks TTL only at attempt time (see ttlExpired). */
  ttlMinutes?: number;
  /** See ttlMinutes. */
  publishedAt?: number;
}

/**
 * After a failed attempt: dead-letter (or drop, if no dead-letter destination — the caller's business) when the
 * failure is final or attempts are exhausted, else retry. "Dead-letter" here means "stop delivering"; TTL is not
 * checked here: the retry is scheduled even if it falls after expiry, and ttlExpired() ends it then (§4.3).
 */
export function decideAfterFailure(a: FailureInput): Decision {
  const c = a.classification;
  if (c.success) throw new Error('decideAfterFailure called with a successful classification');
  if (!c.retryable)
    return { action: 'deadletter', reason: c.deadLetterReason ?? DeadLetterReason.ClientError };
  if (a.attemptsMade >= a.maxDeliveryAttempts) {
    return { action: 'deadletter', reason: DeadLetterReason.MaxDeliveryAttemptsExceeded };
  }
  return { action: 'retry', at: nextAttemptAt(a) };
}

/**
 * Call just before an attempt (including the first, for events that sat in a backlog). True once the event has
 * lived `ttlMinutes` (scaled): at exactly publishedAt + TTL it is expired. Dead-letter reason: TimeToLiveExceeded.
 */
export function ttlExpired(a: {
  publishedAt: number;
  ttlMinutes: number;
  now: number;
  timeScale: number;
}): boolean {
  return a.now - a.publishedAt >= a.ttlMinutes * MIN * a.timeScale;
}
