/** HTTP(S) webhook sender: pooled keep-alive connections, a hard timeout, no redirects, egress policy on connect. */
import { Agent, request } from 'undici';
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

export class WebhookSender {
  private readonly agent: Agent;

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

  private readonly timeoutMs: number;
  private readonly guard?: EgressGuard;

  async send(url: string, req: OutgoingRequest, method: 'POST' | 'OPTIONS' = 'POST'): Promise<SendResult> {
    const started = performance.now();
    // Node skips `lookup` for IP-literal hosts, so those are checked here (once per URL: the policy is fixed).
    const verdict = this.guard ? this.hostVerdict(url, this.guard) : undefined;
    if (verdict && !verdict.ok)
      return { result: { kind: 'refused', reason: verdict.reason }, durationMs: 0, excerpt: verdict.reason };
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await request(url, {
        method,
        headers: req.headers,
        body: method === 'POST' ? req.body : undefined,
        dispatcher: this.agent,
        signal,
      });
      const text = await readLimited(res.body, BODY_KEEP_BYTES);
      const retryAfter = res.headers['retry-after'];
      return {
        result: {
          kind: 'http',
          status: res.statusCode,
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        },
        durationMs: Math.round(performance.now() - started),
        excerpt: text.text.slice(0, EXCERPT_BYTES),
        ...(text.complete ? { body: text.text } : {}),
        headers: res.headers,
      };
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      const code = errorCode(err);
      if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        return { result: { kind: 'timeout' }, durationMs };
      }
      if (code === 'EGRESS_DENIED') {
        return {
          result: { kind: 'refused', reason: (err as Error).message },
          durationMs,
          excerpt: (err as Error).message,
        };
      }
      return {
        result: { kind: 'network', ...(code ? { code } : {}) },
        durationMs,
        excerpt: String((err as Error).message),
      };
    }
  }

  private readonly verdicts = new Map<string, ReturnType<EgressGuard['checkHost']>>();
  private hostVerdict(url: string, guard: EgressGuard): ReturnType<EgressGuard['checkHost']> {
    let v = this.verdicts.get(url);
    if (v === undefined) {
      v = guard.checkHost(new URL(url).hostname);
      if (this.verdicts.size >= 10_000) this.verdicts.clear();
      this.verdicts.set(url, v);
    }
    return v;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function errorCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Reads at most `limit` bytes, then discards the rest (the connection stays reusable). */
async function readLimited(body: AsyncIterable<Buffer> & { dump?: () => Promise<void> }, limit: number) {
  const parts: Buffer[] = [];
  let size = 0;
  let complete = true;
  for await (const chunk of body) {
    if (size + chunk.length > limit) {
      complete = false;
      parts.push(chunk.subarray(0, limit - size));
      size = limit;
      break;
    }
    parts.push(chunk);
    size += chunk.length;
  }
  if (!complete) await body.dump?.().catch(() => {});
  return { text: Buffer.concat(parts).toString('utf8'), complete };
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
