/** The transport every resource shares: URL building, the Bearer key, JSON bodies, ApiError on failure. */
import { ApiError } from './errors.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Azure's api-versions mlgrid mirrors (it accepts any, these are what the Azure SDKs send). */
export const API_VERSIONS = { eventGrid: '2022-06-15', ml: '2022-10-01', publish: '2018-01-01' } as const;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  apiVersion?: string;
  query?: Query;
  body?: unknown;
  /** Sent as is instead of JSON (an artifact file); a stream is sent without buffering. */
  rawBody?: Uint8Array | Blob | ReadableStream<Uint8Array> | string;
  headers?: Record<string, string>;
  /** Send the admin key as `Authorization: Bearer` (default true). */
  bearer?: boolean;
}

export class Transport {
  constructor(
    readonly baseUrl: string,
    private readonly key: string | undefined,
    private readonly fetchImpl: FetchLike,
  ) {}

  /** Absolute URL for a path (`/subscriptions/...`) or an absolute URL, with `api-version` and the query. */
  url(pathOrUrl: string, apiVersion: string | undefined, query: Query = {}): string {
    const u = new URL(/^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : this.baseUrl + pathOrUrl);
    if (apiVersion !== undefined && !u.searchParams.has('api-version')) {
      u.searchParams.set('api-version', apiVersion);
    }
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async send(method: string, pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(pathOrUrl, opts.apiVersion, opts.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.bearer !== false && this.key !== undefined) headers.authorization = `Bearer ${this.key}`;
    let body: RequestOptions['rawBody'];
    if (opts.rawBody !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = opts.rawBody;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    Object.assign(headers, opts.headers);
    const init = { method, headers, ...(body !== undefined ? { body: body as RequestInit['body'] } : {}) };
    // fetch streams a ReadableStream body only in half-duplex mode.
    if (body instanceof ReadableStream) Object.assign(init, { duplex: 'half' });
    const res = await this.fetchImpl(url, init);
    if (!res.ok) throw await ApiError.fromResponse(res, method, url);
    return res;
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    return (await this.send(method, path, opts)).text();
  }

  /** DELETE: true when something was deleted (200), false when it did not exist (204). */
  async delete(path: string, apiVersion: string): Promise<boolean> {
    const res = await this.send('DELETE', path, { apiVersion });
    await res.body?.cancel();
    return res.status !== 204;
  }
}

/** One path segment, encoded. */
export const seg = (s: string): string => encodeURIComponent(s);
