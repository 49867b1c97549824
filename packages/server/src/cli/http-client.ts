/** A small Azure-Resource-Manager-shaped client over global `fetch`, for the mlgrid CLI. */
import type { ArmErrorDetail } from '@mlgrid/protocol';

export const API_VERSION = '2022-06-15';
const PROVIDER = 'providers/Microsoft.EventGrid';

/** The server answered with an error (ideally Azure's `{"error":{code,message,details}}` envelope). */
export class ArmRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ArmErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ArmRequestError';
  }
}

/** No HTTP answer at all: refused, DNS, TLS, timeout. The message names the server URL. */
export class ServerUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerUnreachableError';
  }
}

export interface ArmClientOptions {
  server: string;
  key?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Encodes each segment of an ARM path but keeps the separating slashes (scopes are whole ids). */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

export function topicsPath(subscription: string, resourceGroup?: string): string {
  const rg = resourceGroup === undefined ? '' : `/resourceGroups/${resourceGroup}`;
  return `/subscriptions/${subscription}${rg}/${PROVIDER}/topics`;
}

export function topicPath(subscription: string, resourceGroup: string, name: string): string {
  return `${topicsPath(subscription, resourceGroup)}/${name}`;
}

export function eventSubscriptionsPath(scope: string): string {
  return `${scope.replace(/\/+$/, '')}/${PROVIDER}/eventSubscriptions`;
}

export function eventSubscriptionPath(scope: string, name: string): string {
  return `${eventSubscriptionsPath(scope)}/${name}`;
}

type Query = Record<string, string | undefined>;

export class ArmClient {
  readonly baseUrl: string;
  readonly #key: string | undefined; // private so it never shows up when the client is logged or inspected
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: ArmClientOptions) {
    const url = URL.canParse(opts.server) ? new URL(opts.server) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new Error(`'${opts.server}' is not an http(s) URL (set --server or MLGRID_SERVER)`);
    }
    url.search = '';
    url.hash = '';
    this.baseUrl = url.toString().replace(/\/+$/, '');
    // Checked here because undici's own header error would quote the value, i.e. print the key.
    if (opts.key !== undefined && !/^[\x21-\x7e]+$/.test(opts.key)) {
      throw new Error('the key must be non-empty printable ASCII without spaces (--key or MLGRID_KEY)');
    }
    this.#key = opts.key;
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = opts.timeoutMs ?? 100_000;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  delete(path: string): Promise<unknown> {
    return this.request<unknown>('DELETE', path);
  }

  /** `path` is an unencoded ARM path; each segment is percent-encoded here. Empty 2xx bodies give undefined. */
  async request<T>(method: string, path: string, body?: unknown, query: Query = {}): Promise<T> {
    const res = await this.#send(method, path, body, query, 'application/json');
    const text = await res.text();
    if (!res.ok) throw toRequestError(res, text);
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ArmRequestError(
        res.status,
        'InvalidResponse',
        `the server at ${this.baseUrl} sent a non-JSON body`,
      );
    }
  }

  /**
   * A PUT of raw bytes, streamed (an artifact file): the JSON answer. No timeout, since large files take long;
   * the path's segments are encoded as everywhere else.
   */
  async putRaw<T>(
    path: string,
    body: ReadableStream<Uint8Array>,
    headers: Record<string, string>,
  ): Promise<T> {
    const url = `${this.baseUrl}${encodePath(path.startsWith('/') ? path : `/${path}`)}?api-version=${API_VERSION}`;
    const h: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/octet-stream',
    };
    if (this.#key !== undefined) h.authorization = `Bearer ${this.#key}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: 'PUT',
        headers: { ...h, ...headers },
        body,
        duplex: 'half',
      } as RequestInit);
    } catch (err) {
      throw new ServerUnreachableError(
        `cannot reach the mlgrid server at ${this.baseUrl}: ${describeFailure(err)}`,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    if (!res.ok) throw toRequestError(res, text);
    return JSON.parse(text) as T;
  }

  /** A GET of a non-JSON resource (mlgrid's job log): the body's bytes, undecoded. */
  async getBytes(path: string, query: Query = {}): Promise<Uint8Array> {
    const res = await this.#send('GET', path, undefined, query, '*/*');
    if (!res.ok) throw toRequestError(res, await res.text());
    return new Uint8Array(await res.arrayBuffer());
  }

  async #send(method: string, path: string, body: unknown, query: Query, accept: string): Promise<Response> {
    const params = new URLSearchParams({ 'api-version': API_VERSION });
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const url = `${this.baseUrl}${encodePath(path.startsWith('/') ? path : `/${path}`)}?${params}`;
    const headers: Record<string, string> = { accept };
    if (this.#key !== undefined) headers.authorization = `Bearer ${this.#key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new ServerUnreachableError(
        `cannot reach the mlgrid server at ${this.baseUrl}: ${describeFailure(err)}`,
        {
          cause: err,
        },
      );
    }
    return res;
  }
}

function toRequestError(res: Response, text: string): ArmRequestError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
    ?.error;
  if (error && typeof error.code === 'string') {
    const details = Array.isArray(error.details) ? (error.details as ArmErrorDetail[]) : [];
    return new ArmRequestError(res.status, error.code, String(error.message ?? ''), details);
  }
  // Not an ARM envelope (a proxy, or not an mlgrid server): still say what came back.
  const snippet = text.trim().slice(0, 200);
  const message = `HTTP ${res.status} ${res.statusText}`.trim() + (snippet ? ` ${snippet}` : '');
  return new ArmRequestError(res.status, `Http${res.status}`, message);
}

/** undici hides the useful part (ECONNREFUSED, certificate errors) in `cause`. */
function describeFailure(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return 'request timed out';
  const cause =
    err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code ?? '';
  const detail = cause?.message ?? (err instanceof Error ? err.message : String(err));
  const hint =
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code) || /certificate/i.test(detail)
      ? ' (for a self-signed mlgrid certificate, point NODE_EXTRA_CA_CERTS at it)'
      : ' (is `mlgrid serve` running? set --server or MLGRID_SERVER)';
  return `${detail}${hint}`;
}
