/**
 * The examples' own subscriber: a webhook on 127.0.0.1 that answers Event Grid's validation handshake, keeps
 * every event it is sent and prints one line per event. It is subscribed to the workspace like any webhook, so
 * what it shows is what any subscriber would receive.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MlgridClient } from '@mlgrid/client';
import type { Reporter } from './report.js';
import { ExampleError } from './wait.js';

export interface GridEvent {
  id: string;
  eventType: string;
  subject: string;
  topic: string;
  eventTime: string;
  data: Record<string, unknown>;
}

export interface Watcher {
  url: string;
  events: GridEvent[];
  /** Events of a type (the `Microsoft.MachineLearningServices.` prefix may be left out). */
  ofType(type: string): GridEvent[];
  /** Resolves with the first event (old or new) that satisfies `pred`; throws a clear error after `timeoutMs`. */
  waitFor(what: string, pred: (e: GridEvent) => boolean, timeoutMs: number): Promise<GridEvent>;
  /** Subscribes the webhook to `scope` (a workspace id) for these event types. */
  subscribe(client: MlgridClient, scope: string, name: string, eventTypes: string[]): Promise<void>;
  close(): Promise<void>;
}

export const ML = 'Microsoft.MachineLearningServices.';
export const fullType = (t: string) => (t.includes('.') ? t : `${ML}${t}`);

/** One line of detail per event type, for the printed stream. */
export function describeEvent(e: GridEvent): string {
  const d = e.data ?? {};
  switch (e.eventType.replace(ML, '')) {
    case 'RunCompleted':
      return `job ${d.runId} completed`;
    case 'RunStatusChanged':
      return `job ${d.runId} → ${d.runStatus}`;
    case 'ModelRegistered':
      return `model ${d.modelName}:${d.modelVersion} tags ${JSON.stringify(d.modelTags ?? {})}`;
    case 'ModelDeployed':
      return `${d.modelIds} live on ${d.serviceName}/${d.deploymentName}`;
    case 'DatasetDriftDetected':
      return `monitor ${d.dataDriftName}: drift coefficient ${Number(d.driftCoefficient).toFixed(2)}`;
    default:
      return '';
  }
}

export async function startWatcher(out: Reporter, opts: { print?: boolean } = {}): Promise<Watcher> {
  const events: GridEvent[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || 'null');
      } catch {
        res.writeHead(400).end();
        return;
      }
      const list = (Array.isArray(body) ? body : [body]) as GridEvent[];
      if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
        const code = (list[0]?.data as { validationCode?: string } | undefined)?.validationCode;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ validationResponse: code }));
        return;
      }
      for (const e of list) {
        if (events.some((x) => x.id === e.id)) continue; // a redelivery: shown once
        events.push(e);
        if (opts.print !== false) out.event(e.eventType, e.subject, describeEvent(e));
      }
      res.writeHead(200).end();
      for (const w of [...waiters]) w();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return {
    url,
    events,
    ofType: (type) => events.filter((e) => e.eventType === fullType(type)),
    waitFor(what, pred, timeoutMs) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.find(pred);
          if (!e) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new ExampleError(`no ${what} within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async subscribe(client, scope, name, eventTypes) {
      await client.eventSubscriptions.create(scope, name, {
        properties: {
          destination: { endpointType: 'WebHook', properties: { endpointUrl: url } },
          filter: { includedEventTypes: eventTypes.map(fullType) },
        },
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
