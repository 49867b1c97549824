/** A real webhook receiver on 127.0.0.1:0 that answers handshakes and records every request. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Reply = { status: number; body?: string; headers?: Record<string, string> };
/** Decides the reply to a notification; `n` counts notifications so far (1-based). */
export type Behaviour = (req: Received, n: number) => Reply;

export interface Receiver {
  url: string;
  requests: Received[];
  /** Notifications (aeg-event-type: Notification), in arrival order. */
  notifications(): Received[];
  /** Ids of the events delivered in notifications. */
  eventIds(): string[];
  behaviour: Behaviour;
  /** How to answer the SubscriptionValidationEvent: echo the code (default), 200 without it, or a status. */
  handshake: 'echo' | 'manual' | number;
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(behaviour: Behaviour = () => ({ status: 200 })): Promise<Receiver> {
  const requests: Received[] = [];
  let notes = 0;
  const waiters = new Set<() => void>();
  const r: Receiver = {
    url: '',
    requests,
    behaviour,
    handshake: 'echo',
    notifications: () => requests.filter((q) => q.headers['aeg-event-type'] === 'Notification'),
    eventIds: () =>
      r.notifications().flatMap((q) => {
        const b = JSON.parse(q.body);
        return (Array.isArray(b) ? b : [b]).map((e: { id: string }) => e.id);
      }),
    waitFor(pred, timeoutMs = 10_000) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred()) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: condition not met in ${timeoutMs} ms (${requests.length} requests)`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec: Received = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(rec);
      let reply: Reply;
      if (req.method === 'OPTIONS') {
        reply = {
          status: 200,
          headers: { 'webhook-allowed-origin': String(req.headers['webhook-request-origin'] ?? '') },
        };
      } else if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
        const code = JSON.parse(rec.body)[0].data.validationCode;
        reply =
          r.handshake === 'echo'
            ? { status: 200, body: JSON.stringify({ validationResponse: code }) }
            : r.handshake === 'manual'
              ? { status: 200, body: '' }
              : { status: r.handshake };
      } else if (req.headers['aeg-event-type'] === 'Notification') {
        reply = r.behaviour(rec, ++notes);
      } else reply = { status: 200 };
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body ?? '');
      for (const w of [...waiters]) w();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return r;
}
