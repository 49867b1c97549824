/**
 * kill -9 loses nothing: the server is SIGKILLed repeatedly while events are published and delivered, then
 * restarted on the same data directory; every event that got a 200 must reach every matching subscriber at
 * least once. Duplicates are allowed (attempts in flight at a crash are repeated).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runMlgrid, type MlgridProcess } from './helpers/process.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

const KEY = 'durability-admin-key';
const TOPIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/crashy';
const LISTEN = /mlgrid listening on (\S+)/;

describe('durability across SIGKILL', () => {
  const data = tempDir('mlgrid-crash-');
  let proc: MlgridProcess | undefined;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    proc?.child.kill('SIGKILL');
    await Promise.all(receivers.map((r) => r.close()));
    data.cleanup();
  });

  async function start(): Promise<string> {
    proc = runMlgrid(
      ['serve', '--port', '0', '--data-dir', data.dir, '--log-level', 'error', '--retry-time-scale', '0.001'],
      {
        MLGRID_ADMIN_KEY: KEY,
      },
    );
    return (await proc.waitFor(LISTEN))[1]!;
  }
  const arm = (url: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}?api-version=2022-06-15`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('delivers every accepted event to every matching subscriber at least once', async () => {
    // One receiver fails 1 request in 5, so retries are pending when the crashes come.
    let n = 0;
    const all = await startReceiver(() => ({ status: ++n % 5 === 0 ? 500 : 200 }));
    const odd = await startReceiver();
    receivers.push(all, odd);

    let url = await start();
    expect((await arm(url, 'PUT', TOPIC, { location: 'local' })).status).toBe(201);
    const key = (await (await arm(url, 'POST', `${TOPIC}/listKeys`)).json()).key1;
    const hook = (u: string) => ({ endpointType: 'WebHook', properties: { endpointUrl: u } });
    const put = (name: string, props: object) =>
      arm(url, 'PUT', `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${name}`, {
        properties: props,
      });
    expect((await put('all', { destination: hook(all.url) })).status).toBe(201);
    expect(
      (
        await put('odd', {
          destination: hook(odd.url),
          filter: { advancedFilters: [{ operatorType: 'NumberIn', key: 'data.parity', values: [1] }] },
        })
      ).status,
    ).toBe(201);

    const accepted: number[] = [];
    let next = 0;
    for (let round = 0; round < 4; round++) {
      if (round > 0) url = await start();
      const stopAt = Date.now() + 700;
      const publisher = async () => {
        while (Date.now() < stopAt) {
          const ids = Array.from({ length: 10 }, () => next++);
          const body = ids.map((i) => ({
            id: `e${i}`,
            eventType: 'T',
            subject: `s/${i}`,
            eventTime: new Date().toISOString(),
            dataVersion: '1',
            data: { parity: i % 2 },
          }));
          try {
            const r = await fetch(`${url}/topics/crashy/api/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
              body: JSON.stringify(body),
            });
            if (r.status === 200) accepted.push(...ids);
          } catch {
            return; // the server died under us: not accepted
          }
        }
      };
      const pubs = [publisher(), publisher(), publisher()];
      await new Promise((r) => setTimeout(r, 250 + round * 100));
      proc!.child.kill('SIGKILL'); // mid-publish, mid-delivery
      await proc!.exited;
      await Promise.all(pubs);
    }
    url = await start();
    const want = (pred: (i: number) => boolean) => accepted.filter(pred).map((i) => `e${i}`);
    const missing = (r: Receiver, ids: string[]) => {
      const got = new Set(r.eventIds());
      return ids.filter((id) => !got.has(id));
    };
    const wantAll = want(() => true);
    const wantOdd = want((i) => i % 2 === 1);
    expect(wantAll.length).toBeGreaterThan(50);
    await all.waitFor(() => missing(all, wantAll).length === 0, 30_000).catch(() => {});
    await odd.waitFor(() => missing(odd, wantOdd).length === 0, 30_000).catch(() => {});
    expect(missing(all, wantAll)).toEqual([]);
    expect(missing(odd, wantOdd)).toEqual([]);
    // The filter held through the crashes: no even event reached `odd`.
    expect(odd.eventIds().filter((id) => Number(id.slice(1)) % 2 === 0)).toEqual([]);
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited).toBe(0);
  }, 120_000);
});
