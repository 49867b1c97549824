/**
 * The dispatcher's shape: a per-endpoint limit on requests in flight (shared by the subscriptions of one origin),
 * batches that fill to maxEventsPerBatch from what is queued, and the fresh hand-off (deliveries leased at
 * publish) surviving a SIGKILL: a delivery in flight when the process dies is delivered again after the restart.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { runMlgrid, type MlgridProcess } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const pgSkip = await skipWithoutPostgres('delivery engine');
const TOPIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/engine';
const sub = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;

/**
 * A webhook receiver whose notifications wait for `release` (a test decides when each answers). Handshakes are
 * answered at once. Records the event ids of every notification and the most requests it ever held at once.
 */
async function holdingReceiver() {
  const held: ServerResponse[] = [];
  const batches: string[][] = [];
  let maxHeld = 0;
  let onChange = () => {};
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8') || 'null');
      if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ validationResponse: body[0].data.validationCode }));
        return;
      }
      batches.push((Array.isArray(body) ? body : [body]).map((e: { id: string }) => e.id));
      held.push(res);
      maxHeld = Math.max(maxHeld, held.length);
      onChange();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    batches,
    get held() {
      return held.length;
    },
    get maxHeld() {
      return maxHeld;
    },
    ids: () => batches.flat(),
    /** Answer every held request with `status`. */
    release(status = 200) {
      for (const res of held.splice(0)) res.writeHead(status).end();
    },
    until(pred: () => boolean, timeoutMs = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver: not met (${batches.length} requests)`)),
          timeoutMs,
        );
        const check = () => {
          if (!pred()) return;
          clearTimeout(timer);
          onChange = () => {};
          resolve();
        };
        onChange = check;
        check();
      });
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
type Holding = Awaited<ReturnType<typeof holdingReceiver>>;

function events(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `e${from + i}`,
    eventType: 'T',
    subject: `s/${from + i}`,
    eventTime: '2026-01-01T00:00:00.000Z',
    dataVersion: '1',
    data: { n: from + i },
  }));
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('dispatcher on $backend', ({ backend, skip }) => {
  let s: TestServer | undefined;
  const receivers: Holding[] = [];
  afterAll(async () => {
    // Answer whatever is still held while the server stops (it waits for the attempts in flight).
    const drain = setInterval(() => receivers.forEach((r) => r.release()), 10);
    await s?.stop();
    clearInterval(drain);
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function publish(body: unknown): Promise<void> {
    const key = (await (await s!.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
    const r = await fetch(`${s!.url}/topics/engine/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(200);
  }

  it.skipIf(skip)('never has more requests in flight to one endpoint than perEndpoint', async () => {
    s = await startTestServer(backend, {
      delivery: { enabled: true, perEndpoint: 3, concurrency: 64, pollMs: 20, validateWebhooks: true },
    });
    await s.arm('PUT', TOPIC, { location: 'local' });
    const r = await holdingReceiver();
    receivers.push(r);
    // Two subscriptions, one origin: the limit is the endpoint's, not each subscription's.
    for (const [name, path] of [
      ['one', '/a'],
      ['two', '/b'],
    ]) {
      const res = await s.arm('PUT', sub(name!), {
        properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: r.url + path } } },
      });
      expect(res.status).toBe(201);
    }
    await publish(events(0, 20));
    // Answer whenever the dispatcher has filled its 3 slots (or sent the last ones), until all 40 arrived.
    while (r.ids().length < 40) {
      await r.until(() => r.held >= 3 || r.ids().length >= 40);
      r.release();
    }
    expect(r.maxHeld).toBe(3);
    expect(new Set(r.ids()).size).toBe(20);
    expect(r.ids().length).toBe(40);
  });

  it.skipIf(skip)('fills batches up to maxEventsPerBatch from what is queued', async () => {
    const r = await holdingReceiver();
    receivers.push(r);
    const res = await s!.arm('PUT', sub('batched'), {
      properties: {
        destination: {
          endpointType: 'WebHook',
          properties: { endpointUrl: r.url, maxEventsPerBatch: 100, preferredBatchSizeInKilobytes: 1024 },
        },
      },
    });
    expect(res.status).toBe(201);
    // One publish of 250 events: queued at once, sent as 100 + 100 + 50 (never waiting for more).
    const others = receivers.slice(0, -1);
    const drain = setInterval(() => others.forEach((o) => o.release()), 10);
    try {
      await publish(events(100, 250));
      await r.until(() => r.ids().length >= 250);
    } finally {
      clearInterval(drain);
    }
    r.release();
    expect(r.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(r.ids()).toEqual(events(100, 250).map((e) => e.id));
  });
});

describe('fresh hand-off across SIGKILL', () => {
  const data = tempDir('mlgrid-fresh-');
  let proc: MlgridProcess | undefined;
  let r: Holding | undefined;
  afterAll(async () => {
    proc?.child.kill('SIGKILL');
    r?.release();
    await r?.close();
    data.cleanup();
  });
  const KEY = 'fresh-admin-key';
  async function start(): Promise<string> {
    proc = runMlgrid(['serve', '--port', '0', '--data-dir', data.dir, '--log-level', 'error'], {
      MLGRID_ADMIN_KEY: KEY,
    });
    return (await proc.waitFor(/mlgrid listening on (\S+)/))[1]!;
  }
  const arm = (url: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}?api-version=2022-06-15`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('delivers again an event whose first attempt was in flight when the process died', async () => {
    r = await holdingReceiver();
    let url = await start();
    expect((await arm(url, 'PUT', TOPIC, { location: 'local' })).status).toBe(201);
    const key = (await (await arm(url, 'POST', `${TOPIC}/listKeys`)).json()).key1;
    const put = await arm(url, 'PUT', sub('crash'), {
      properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: r.url } } },
    });
    expect(put.status).toBe(201);
    const pub = await fetch(`${url}/topics/engine/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify(events(7, 1)),
    });
    expect(pub.status).toBe(200);
    await r.until(() => r!.ids().length === 1); // sent straight from the publish commit, never answered
    proc!.child.kill('SIGKILL');
    await proc!.exited;
    r.release(); // the connection is gone with the process: this answer reaches nobody
    url = await start();
    await r.until(() => r!.ids().length === 2 && r!.held === 1);
    r.release();
    expect(r.ids()).toEqual(['e7', 'e7']);
    // The second attempt's answer settles the row (its first attempt never did).
    let rows: { status: string; attempts: number }[] = [];
    for (let i = 0; i < 250; i++) {
      rows = (await (await arm(url, 'GET', `${sub('crash')}/deliveries`)).json()).value;
      if (rows[0]?.status === 'delivered') break;
      await new Promise((x) => setTimeout(x, 20));
    }
    expect(rows).toMatchObject([{ status: 'delivered', attempts: 1 }]);
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited).toBe(0);
  }, 60_000);
});
