/**
 * HTTP(S) webhook sender: pooled keep-alive connections, a hard timeout, no redirects, egress policy on connect.
 * It drives undici's dispatcher directly (a handler, no response stream, no AbortSignal per request): at tens of
 * thousands of deliveries a second the `request()` wrapper and a timer per request were a large share of the CPU.
 */
import { Agent, type Dispatcher } from 'undici';
import type { EgressGuard } from '../core/egress.js';
import type { AttemptResult } from '../core/retry-policy.js';
import type { OutgoingRequest } from '../core/delivery-format.js';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import type { DeliveryTarget, DestinationHandler } from './destination.js';

export interface SendResult {
  result: AttemptResult;
  durationMs: number;
  /** The first bytes of the response body, for the delivery log. */
  excerpt?: string;
  /** The whole body when small (handshake replies); undefined otherwise. */
  body?: string;
  headers?: Record<string, string | string[] | undefined>;
}

const EXCERPT_BYTES = 512;
const BODY_KEEP_BYTES = 64 * 1024;
/** A longer answer is read this much further (keeping the connection), then the connection is dropped. */
const BODY_DISCARD_BYTES = 128 * 1024;

/** Where a URL goes, parsed once. */
interface UrlTarget {
  origin: string;
  path: string;
  verdict?: ReturnType<EgressGuard['checkHost']>;
}

export class WebhookSender {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly guard?: EgressGuard;
  private readonly deadlines = new Deadlines();
  private readonly urls = new Map<string, UrlTarget>();

  constructor(opts: { timeoutMs: number; guard?: EgressGuard; connections?: number }) {
    this.timeoutMs = opts.timeoutMs;
    this.guard = opts.guard;
    this.agent = new Agent({
      connections: opts.connections ?? 64,
      keepAliveTimeout: 30_000,
      connect: { timeout: opts.timeoutMs, ...(opts.guard ? { lookup: opts.guard.lookup } : {}) },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  send(url: string, req: OutgoingRequest, method: 'POST' | 'OPTIONS' = 'POST'): Promise<SendResult> {
    const started = performance.now();
    let target: UrlTarget;
    try {
      target = this.target(url);
    } catch (err) {
      return Promise.resolve({
        result: { kind: 'network' },
        durationMs: 0,
        excerpt: String((err as Error).message),
      });
    }
    // Node skips `lookup` for IP-literal hosts, so those are checked here (once per URL: the policy is fixed).
    const verdict = target.verdict;
    if (verdict && !verdict.ok)
      return Promise.resolve({
        result: { kind: 'refused', reason: verdict.reason },
        durationMs: 0,
        excerpt: verdict.reason,
      });
    return new Promise<SendResult>((resolve) => {
      const x = new Exchange(started, started + this.timeoutMs, resolve);
      this.deadlines.add(x);
      const opts: Dispatcher.DispatchOptions = {
        origin: target.origin,
        path: target.path,
        method,
        headers: req.headers,
        ...(method === 'POST' ? { body: req.bytes ?? req.body } : {}),
      };
      try {
        this.agent.dispatch(opts, x);
      } catch (err) {
        x.onResponseError(undefined, err as Error);
      }
    });
  }

  private target(url: string): UrlTarget {
    let t = this.urls.get(url);
    if (t === undefined) {
      const u = new URL(url);
      t = { origin: u.origin, path: `${u.pathname}${u.search}` };
      if (this.guard) t.verdict = this.guard.checkHost(u.hostname);
      if (this.urls.size >= 10_000) this.urls.clear();
      this.urls.set(url, t);
    }
    return t;
  }

  async close(): Promise<void> {
    await this.agent.close(); // lets requests in flight finish (or time out)
    this.deadlines.clear();
  }
}

/** One request in flight: undici's handler, and a node of the deadline list. */
class Exchange implements Dispatcher.DispatchHandler {
  prev?: Exchange;
  next?: Exchange;
  private controller?: Dispatcher.DispatchController;
  private status = 0;
  private headers?: Record<string, string | string[] | undefined>;
  private chunks?: Buffer[];
  private size = 0;
  private truncated = false;
  private done = false;
  /** The deadline passed before the request reached a connection: abort it when it does. */
  private expired = false;

  constructor(
    private readonly started: number,
    readonly deadline: number,
    private readonly resolve: (r: SendResult) => void,
  ) {}

  /** The deadline list holding this request until its result is in. */
  list?: Deadlines;

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.expired) controller.abort(new TimeoutError());
  }

  onResponseStart(
    _c: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const room = BODY_KEEP_BYTES - this.size;
    if (room > 0) (this.chunks ??= []).push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    if (chunk.length > room) this.truncated = true;
    this.size += chunk.length;
    if (this.size > BODY_KEEP_BYTES + BODY_DISCARD_BYTES) {
      // Enough read: answer with what was kept and drop the connection instead of reading on.
      this.answer();
      controller.abort(new Error('response body discarded'));
    }
  }

  onResponseEnd(): void {
    this.answer();
  }

  onResponseError(_c: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.done) return;
    const durationMs = Math.round(performance.now() - this.started);
    const code = errorCode(err);
    if (
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT' ||
      err instanceof TimeoutError
    ) {
      return this.finish({ result: { kind: 'timeout' }, durationMs });
    }
    if (code === 'EGRESS_DENIED') {
      return this.finish({
        result: { kind: 'refused', reason: err.message },
        durationMs,
        excerpt: err.message,
      });
    }
    this.finish({
      result: { kind: 'network', ...(code ? { code } : {}) },
      durationMs,
      excerpt: String(err.message),
    });
  }

  /** The deadline passed: a timeout now, whatever undici does later. */
  expire(): void {
    if (this.done) return;
    this.finish({ result: { kind: 'timeout' }, durationMs: Math.round(performance.now() - this.started) });
    if (this.controller) this.controller.abort(new TimeoutError());
    else this.expired = true;
  }

  private answer(): void {
    if (this.done) return;
    const text = this.chunks === undefined ? '' : Buffer.concat(this.chunks).toString('utf8');
    const retryAfter = this.headers?.['retry-after'];
    this.finish({
      result: {
        kind: 'http',
        status: this.status,
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      },
      durationMs: Math.round(performance.now() - this.started),
      excerpt: text.length > EXCERPT_BYTES ? text.slice(0, EXCERPT_BYTES) : text,
      ...(this.truncated ? {} : { body: text }),
      headers: this.headers ?? {},
    });
  }

  private finish(r: SendResult): void {
    this.done = true;
    this.chunks = undefined;
    this.list?.remove(this);
    this.resolve(r);
  }
}

class TimeoutError extends Error {
  constructor() {
    super('delivery attempt timed out');
  }
}

/**
 * The requests in flight, oldest first, with one timer for the oldest deadline. Every request of a sender has
 * the same timeout, so start order is deadline order: adding and finishing are O(1) (a linked list).
 */
class Deadlines {
  private head?: Exchange;
  private tail?: Exchange;
  private timer?: NodeJS.Timeout;
  private armedFor = Infinity;

  add(x: Exchange): void {
    x.list = this;
    x.prev = this.tail;
    if (this.tail) this.tail.next = x;
    else this.head = x;
    this.tail = x;
    if (this.timer === undefined) this.arm();
  }

  remove(x: Exchange): void {
    x.list = undefined;
    if (x.prev) x.prev.next = x.next;
    else if (this.head === x) this.head = x.next;
    if (x.next) x.next.prev = x.prev;
    else if (this.tail === x) this.tail = x.prev;
    x.prev = x.next = undefined;
  }

  /** One timer, for the oldest request (a finished one's timer just re-arms for the next). */
  private arm(): void {
    const head = this.head;
    if (head === undefined) {
      this.armedFor = Infinity;
      return;
    }
    if (this.timer !== undefined && this.armedFor <= head.deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = head.deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, head.deadline - performance.now()) + 1);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head !== undefined && this.head.deadline <= now) this.head.expire(); // expire() unlinks it
    this.arm();
  }

  clear(): void {
    while (this.head !== undefined) this.head.expire();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The first `code` along an error's cause chain (undici and broker clients wrap socket errors). */
export function errorCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++) {
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** WebHook destinations: the endpoint URL's origin is the unit of concurrency and probation. */
export class WebhookHandler implements DestinationHandler {
  readonly endpointTypes = ['WebHook'] as const;
  private readonly targets = new Map<string, DeliveryTarget>();

  constructor(private readonly sender: WebhookSender) {}

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const url = dest.properties.endpointUrl;
    if (!url) return undefined;
    let t = this.targets.get(url);
    if (t === undefined) {
      const origin = URL.canParse(url) ? new URL(url).origin : url;
      t = { origin, send: (req) => this.sender.send(url, req) };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(url, t);
    }
    return t;
  }
}
