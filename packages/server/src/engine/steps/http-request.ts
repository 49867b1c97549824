/**
 * The `httpRequest` step (docs/automations.md#httprequest): one HTTP request with templated URL, headers and
 * body, under the server's egress policy (no redirects followed). 5xx, 408, 429, network errors and timeouts
 * are retryable; other statuses outside `expectedStatus` fail the run. The step's idempotency key travels as
 * `Idempotency-Key`, so a receiver can recognise a request repeated after a retry or a restart. Records name the
 * URL's origin only: a path or query may hold a secret (a Slack webhook's path is its key).
 */
import { Agent, request } from 'undici';
import type { EgressGuard } from '../../core/egress.js';
import { StepError, type StepContext, type StepKind } from '../../core/automation-step.js';
import { invalid } from '../../core/errors.js';
import { array, integer, isObject, object, oneOf, string, type Json } from '../../core/validate.js';
import { errorCode } from '../../handlers/webhook.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SECRET_HEADER_RE = /authorization|cookie|token|secret|password|api-?key|signature|x-functions-key/i;
const BODY_KEEP_BYTES = 64 * 1024;

export interface HttpRequestStep {
  method: (typeof METHODS)[number];
  url: string;
  headers: Record<string, string>;
  /** A template string, or a JSON value whose strings are templates (sent as JSON). */
  body?: unknown;
  /** Statuses that count as success; default any 2xx. */
  expectedStatus?: number[];
}

export function httpRequestStep(deps: {
  guard?: EgressGuard;
}): StepKind<HttpRequestStep> & { close(): Promise<void> } {
  const agent = new Agent({
    connections: 32,
    keepAliveTimeout: 10_000,
    ...(deps.guard ? { connect: { lookup: deps.guard.lookup } } : {}),
  });
  return {
    type: 'httpRequest',
    defaultTimeoutSeconds: 60,
    parse: parseHttpRequest,
    execute: (step, ctx) => send(agent, deps.guard, step, ctx),
    redact: redactHttpRequest,
    close: () => agent.close(),
  };
}

export function parseHttpRequest(raw: Json, path: string): HttpRequestStep {
  const method = raw.method === undefined ? 'POST' : oneOf(raw.method, `${path}.method`, METHODS);
  const url = string(raw.url, `${path}.url`, { min: 1, max: 8192 });
  if (!url.includes('{{')) checkUrl(url, `${path}.url`);
  const headers: Record<string, string> = {};
  if (raw.headers !== undefined && raw.headers !== null) {
    for (const [k, v] of Object.entries(object(raw.headers, `${path}.headers`))) {
      if (!HEADER_NAME_RE.test(k)) throw invalid(`${path}.headers.${k}`, 'is not a valid HTTP header name');
      headers[k] = string(v, `${path}.headers.${k}`, { max: 8192 });
    }
  }
  let expectedStatus: number[] | undefined;
  const es = raw.expectedStatus;
  if (es !== undefined && es !== null) {
    const list = typeof es === 'number' ? [es] : array(es, `${path}.expectedStatus`);
    expectedStatus = list.map((s, i) =>
      integer(s, `${path}.expectedStatus${typeof es === 'number' ? '' : `[${i}]`}`, 100, 599),
    );
  }
  if (raw.body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw invalid(`${path}.body`, `a ${method} request has no body`);
  }
  return {
    method,
    url,
    headers,
    ...(raw.body !== undefined ? { body: raw.body } : {}),
    ...(expectedStatus ? { expectedStatus } : {}),
  };
}

function checkUrl(url: string, path: string): URL {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
    throw invalid(path, 'must be an absolute http(s) URL');
  return u;
}

/** Secret-looking header values, the URL's password and its query values are not shown back. */
export function redactHttpRequest(raw: Json): Json {
  const out = { ...raw };
  if (isObject(raw.headers)) {
    out.headers = Object.fromEntries(
      Object.entries(raw.headers).map(([k, v]) => [k, SECRET_HEADER_RE.test(k) ? '***' : v]),
    );
  }
  if (typeof raw.url === 'string' && URL.canParse(raw.url) && !raw.url.includes('{{')) {
    const u = new URL(raw.url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '***');
    out.url = u.toString().replace(/%2A%2A%2A/g, '***');
  }
  return out;
}

async function send(agent: Agent, guard: EgressGuard | undefined, step: HttpRequestStep, ctx: StepContext) {
  const rendered = ctx.render(step.url);
  let url: URL;
  try {
    url = checkUrl(rendered, 'url');
  } catch {
    throw new StepError(`url '${rendered}' is not an absolute http(s) URL`, false);
  }
  const verdict = guard?.checkHost(url.hostname);
  if (verdict && !verdict.ok) throw new StepError(verdict.reason, false);
  const headers: Record<string, string> = {
    'user-agent': 'mlgrid-automation',
    'idempotency-key': ctx.idempotencyKey,
    'mlgrid-correlation-id': ctx.lineage.correlationId,
    'mlgrid-causation-id': ctx.lineage.causationId,
  };
  let body: string | undefined;
  if (step.body !== undefined) {
    if (typeof step.body === 'string') {
      body = ctx.render(step.body);
      headers['content-type'] = 'text/plain; charset=utf-8';
    } else {
      body = JSON.stringify(ctx.renderValue ? ctx.renderValue(step.body) : step.body);
      headers['content-type'] = 'application/json';
    }
  }
  for (const [k, v] of Object.entries(step.headers)) {
    const value = ctx.render(v);
    if (/[\r\n\0]/.test(value))
      throw new StepError(`header ${k}: the rendered value has a line break`, false);
    headers[k.toLowerCase()] = value;
  }
  const started = performance.now();
  let res;
  try {
    res = await request(url, { method: step.method, headers, body, dispatcher: agent, signal: ctx.signal });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const code = errorCode(err);
    const denied = code === 'EGRESS_DENIED';
    throw new StepError(`${step.method} ${url.origin}: ${(err as Error).message}`, !denied, { cause: err });
  }
  const text = await readLimited(res.body, BODY_KEEP_BYTES);
  const status = res.statusCode;
  const ok = step.expectedStatus ? step.expectedStatus.includes(status) : status >= 200 && status < 300;
  if (!ok) {
    const retryable = status >= 500 || status === 408 || status === 429;
    throw new StepError(`${step.method} ${url.origin} answered ${status}: ${text.slice(0, 200)}`, retryable);
  }
  const type = String(res.headers['content-type'] ?? '');
  let parsed: unknown = text;
  if (/json/i.test(type)) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return {
    output: {
      status,
      ...(type ? { contentType: type } : {}),
      body: typeof parsed === 'string' ? parsed.slice(0, 4096) : parsed,
      durationMs: Math.round(performance.now() - started),
    },
    summary: `${step.method} ${url.origin} → ${status}`,
  };
}

async function readLimited(
  body: AsyncIterable<Buffer> & { dump?: () => Promise<void> },
  limit: number,
): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length > limit) {
      parts.push(chunk.subarray(0, limit - size));
      await body.dump?.().catch(() => {});
      break;
    }
    parts.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(parts).toString('utf8');
}
