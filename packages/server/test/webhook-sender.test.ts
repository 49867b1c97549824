/**
 * WebhookSender against real HTTP servers on 127.0.0.1:0: answers, the hard timeout (also for a request still
 * waiting for a connection), oversized answers, refused connections and the egress policy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEgressGuard } from '../src/core/egress.js';
import { WebhookSender } from '../src/handlers/webhook.js';

const servers: Server[] = [];
const senders: WebhookSender[] = [];

async function serve(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function sender(opts: ConstructorParameters<typeof WebhookSender>[0]) {
  const s = new WebhookSender(opts);
  senders.push(s);
  return s;
}

const REQ = {
  body: '[{"id":"e1"}]',
  headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
};

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  for (const s of senders.splice(0)) await s.close();
});

describe('WebhookSender', () => {
  it('posts the body and headers, and reports status, body, excerpt and headers', async () => {
    let seen: { method?: string; url?: string; body?: string; type?: string } = {};
    const url = await serve((req, body, res) => {
      seen = { method: req.method, url: req.url, body, type: req.headers['aeg-event-type'] as string };
      res.writeHead(503, { 'retry-after': '7', 'x-a': 'b' });
      res.end('busy now');
    });
    const r = await sender({ timeoutMs: 5000 }).send(`${url}/hook?x=1`, REQ);
    expect(seen).toEqual({ method: 'POST', url: '/hook?x=1', body: REQ.body, type: 'Notification' });
    expect(r.result).toEqual({ kind: 'http', status: 503, retryAfter: '7' });
    expect(r).toMatchObject({ excerpt: 'busy now', body: 'busy now', headers: { 'x-a': 'b' } });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends OPTIONS without a body and returns the answer headers (CloudEvents handshake)', async () => {
    let seen: { method?: string; body?: string; origin?: string } = {};
    const url = await serve((req, body, res) => {
      seen = { method: req.method, body, origin: req.headers['webhook-request-origin'] as string };
      res.writeHead(200, { 'webhook-allowed-origin': 'eventgrid.azure.net' });
      res.end();
    });
    const r = await sender({ timeoutMs: 5000 }).send(
      url,
      { body: '', headers: { 'webhook-request-origin': 'eventgrid.azure.net' } },
      'OPTIONS',
    );
    expect(seen).toEqual({ method: 'OPTIONS', body: '', origin: 'eventgrid.azure.net' });
    expect(r.result).toEqual({ kind: 'http', status: 200 });
    expect(r.headers?.['webhook-allowed-origin']).toBe('eventgrid.azure.net');
    expect(r.excerpt).toBe('');
  });

  it('times out on its own deadline, also for a request still waiting for a connection', async () => {
    const url = await serve(() => {}); // never answers
    const s = sender({ timeoutMs: 300, connections: 1 });
    const t0 = performance.now();
    const [a, b] = await Promise.all([s.send(url, REQ), s.send(url, REQ)]);
    const elapsed = performance.now() - t0;
    expect(a.result).toEqual({ kind: 'timeout' });
    expect(b.result).toEqual({ kind: 'timeout' });
    expect(a.durationMs).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    // The sender still works afterwards.
    const ok = await serve((_req, _body, res) => res.end('ok'));
    expect((await s.send(ok, REQ)).result).toEqual({ kind: 'http', status: 200 });
  });

  it('keeps 64 KB of a long answer and stops reading it', async () => {
    const url = await serve((_req, _body, res) => {
      res.writeHead(200);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 100 && res.write(chunk)) sent++; // 6.4 MB unless the sender stops reading
        if (sent < 100) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => {});
      more();
    });
    const r = await sender({ timeoutMs: 5000 }).send(url, REQ);
    expect(r.result).toEqual({ kind: 'http', status: 200 });
    expect(r.excerpt).toHaveLength(512);
    expect(r.body).toBeUndefined();
  });

  it('reports refused connections and the egress policy as results, never throws', async () => {
    const closed = await serve(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    const r = await sender({ timeoutMs: 2000 }).send(closed, REQ);
    expect(r.result).toEqual({ kind: 'network', code: 'ECONNREFUSED' });

    const guarded = sender({
      timeoutMs: 2000,
      guard: createEgressGuard({ deny: ['127.0.0.0/8'], allow: [] }),
    });
    const refused = await guarded.send('http://127.0.0.1:9/hook', REQ);
    expect(refused.result.kind).toBe('refused');
    expect((await guarded.send('not a url', REQ)).result.kind).toBe('network');
  });
});
