/**
 * A recording HTTP stand-in for the mlgrid server, for CLI tests that assert the exact requests a command
 * sends. Registers its own Vitest hooks: started once per file, requests and reply reset after each test.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}
export type Reply = { status?: number; json?: unknown; text?: string };

export interface Canned {
  readonly url: string;
  /** Reset after each test; a test may also clear it itself. */
  requests: Recorded[];
  /** How to answer; `{ json: {} }` unless a test says otherwise. */
  reply: (r: Recorded) => Reply;
}

export function useCannedServer(): Canned {
  const state = { url: '', requests: [] as Recorded[], reply: (_r: Recorded): Reply => ({ json: {} }) };
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const rec: Recorded = {
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      };
      state.requests.push(rec);
      const r = state.reply(rec);
      res.statusCode = r.status ?? 200;
      if (r.json !== undefined) res.setHeader('content-type', 'application/json');
      res.end(r.json !== undefined ? JSON.stringify(r.json) : (r.text ?? ''));
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  });
  afterEach(() => {
    state.requests = [];
    state.reply = () => ({ json: {} });
  });
  return state;
}
