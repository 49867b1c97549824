/** Shared by the automation suites: a scripted HTTP receiver, and a workspace + source topic to trigger from. */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers `reply(hit, n)` (n counts requests, 1-based); `'hold'` keeps the request open until `releaseAll`. */
export interface Scripted {
  url: string;
  hits: Hit[];
  /** Requests answered or held right now. */
  inFlight: number;
  maxInFlight: number;
  reply: (h: Hit, n: number) => { status: number; body?: string } | 'hold';
  releaseAll(status?: number): void;
  close(): Promise<void>;
}

export async function scriptedReceiver(): Promise<Scripted> {
  const held: ServerResponse[] = [];
  const r: Scripted = {
    url: '',
    hits: [],
    inFlight: 0,
    maxInFlight: 0,
    reply: () => ({ status: 200, body: '{"ok":true}' }),
    releaseAll(status = 200) {
      for (const res of held.splice(0)) if (!res.writableEnded) res.writeHead(status).end('{}');
    },
    close: () =>
      new Promise((resolve) => {
        r.releaseAll();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const hit = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      r.hits.push(hit);
      r.inFlight++;
      r.maxInFlight = Math.max(r.maxInFlight, r.inFlight);
      res.on('close', () => r.inFlight--);
      const out = r.reply(hit, r.hits.length);
      if (out === 'hold') return void held.push(res);
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return r;
}

export const WS_PREFIX =
  '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces';

/** A workspace and a custom topic (Event Grid schema) in it; `publish` posts events to the topic. */
export async function fixture(s: TestServer, tag: string) {
  const ws = `${WS_PREFIX}/ws-${tag}`;
  const topicName = `src-${tag}`;
  const topic = `/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/${topicName}`;
  expect((await s.arm('PUT', ws, { location: 'local' })).status).toBe(201);
  expect((await s.arm('PUT', topic, { location: 'local' })).status).toBe(201);
  const key = ((await (await s.arm('POST', `${topic}/listKeys`)).json()) as Json).key1 as string;
  const publish = async (events: object[], name = topicName, k = key) => {
    const r = await fetch(`${s.url}/topics/${name}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': k },
      body: JSON.stringify(events),
    });
    expect(r.status, await r.text()).toBe(200);
  };
  const auto = (name: string) => `${ws}/automations/${name}`;
  const put = async (name: string, properties: Json) => {
    const r = await s.arm('PUT', auto(name), { properties: { trigger: { source: topic }, ...properties } });
    const body = (await r.json()) as Json;
    expect([200, 201], JSON.stringify(body)).toContain(r.status);
    return body;
  };
  const runs = async (name: string, query = ''): Promise<Json[]> => {
    const r = await s.arm('GET', `${auto(name)}/runs${query}`);
    expect(r.status).toBe(200);
    return ((await r.json()) as Json).value;
  };
  /** Polls until `ok(runs)` holds; returns the runs. */
  const runsUntil = (name: string, ok: (runs: Json[]) => boolean, ms = 20_000) =>
    until(() => runs(name), ok, ms);
  return { ws, topic, topicName, key, publish, auto, put, runs, runsUntil };
}

let n = 0;
export function event(data: Json = {}, extra: Json = {}) {
  n++;
  return {
    id: `ev-${Date.now()}-${n}`,
    eventType: 'Microsoft.MachineLearningServices.DatasetDriftDetected',
    subject: `datadrift/${String(data.dataDriftId ?? 'm')}/run/${n}`,
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    data,
    ...extra,
  };
}

export const status = (r: Json) => r.properties.status as string;
export const finished = (r: Json) => ['Succeeded', 'Failed', 'Skipped', 'Canceled'].includes(status(r));
