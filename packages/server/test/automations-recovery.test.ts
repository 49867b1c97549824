/**
 * Automation runs survive their server: a run stopped mid-step resumes on the next start (completed steps
 * skipped, the interrupted step sent again with the same idempotency key), after a graceful stop on SQLite and
 * PostgreSQL and after `kill -9` of a real `mlgrid serve`; on PostgreSQL, two nodes share the runs, each executed
 * by exactly one of them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { event, finished, fixture, scriptedReceiver, type Json, type Scripted } from './automations-kit.js';
import { dropSchema, skipWithoutPostgres, uniqueSchema } from './helpers/postgres.js';
import { runMlgrid, type MlgridProcess } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('automation recovery');
const delivery = { timeScale: 0.001, pollMs: 20, validateWebhooks: false };

const steps = (rx: Scripted) => [
  { name: 'first', type: 'httpRequest', url: `${rx.url}/first/{{data.dataDriftId}}` },
  { name: 'second', type: 'httpRequest', url: `${rx.url}/second/{{data.dataDriftId}}` },
];

/** The run's story as the receiver saw it: hits per step and the idempotency keys of the second. */
function story(rx: Scripted, tag: string) {
  const first = rx.hits.filter((h) => h.url === `/first/${tag}`);
  const second = rx.hits.filter((h) => h.url === `/second/${tag}`);
  return { first: first.length, second: second.map((h) => h.headers['idempotency-key']) };
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('automation runs across a restart on $backend', ({ backend, skip }) => {
  it.skipIf(skip)('resume at the interrupted step, with the same idempotency key', async () => {
    const rx = await scriptedReceiver();
    rx.reply = (h) => (h.url.startsWith('/second/') ? 'hold' : { status: 200 });
    const data = tempDir();
    const schema = uniqueSchema();
    const opts = { delivery, automations: { pollMs: 50, leaseMs: 1000 }, dataDir: data.dir, schema };
    let s: TestServer | undefined = await startTestServer(backend, opts);
    try {
      // The fixture talks to whichever server is up.
      const live = {
        arm: (...a: Parameters<TestServer['arm']>) => s!.arm(...a),
        get url() {
          return s!.url;
        },
      };
      const f = await fixture(live as TestServer, `restart-${backend}`);
      await f.put('resume', { steps: steps(rx) });
      await f.publish([event({ dataDriftId: 'r1' })]);
      await until(
        async () => rx.hits.length,
        (n) => n >= 2,
      );
      expect(story(rx, 'r1')).toMatchObject({ first: 1 });
      await s.close(); // the run is cut off inside `second`
      s = undefined;
      rx.reply = () => ({ status: 200 });
      s = await startTestServer(backend, opts);
      const runs = await f.runsUntil('resume', (r) => r.length === 1 && finished(r[0]!));
      const run = (await (await s.arm('GET', `${f.auto('resume')}/runs/${runs[0]!.name}`)).json()) as Json;
      expect(run.properties.status).toBe('Succeeded');
      expect(run.properties.steps.map((x: Json) => [x.name, x.status, x.attempts])).toEqual([
        ['first', 'Succeeded', 1],
        ['second', 'Succeeded', 1],
      ]);
      const seen = story(rx, 'r1');
      expect(seen.first).toBe(1);
      expect(seen.second).toEqual([`${runs[0]!.name}-second`, `${runs[0]!.name}-second`]);
    } finally {
      await s?.close();
      await rx.close();
      if (backend === 'postgres' && !pgSkip) await dropSchema(schema);
      data.cleanup();
    }
  });
});

describe('automation runs after kill -9', () => {
  const procs: MlgridProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.child.kill('SIGKILL');
  });
  const KEY = 'kill-test-admin-key-0123456789';
  const serve = async (dir: string) => {
    const p = runMlgrid(
      [
        'serve',
        '--port',
        '0',
        '--data-dir',
        dir,
        '--log-level',
        'warn',
        '--retry-time-scale',
        '0.001',
        '--webhook-validation',
        'off',
      ],
      { MLGRID_ADMIN_KEY: KEY },
    );
    procs.push(p);
    return { p, url: (await p.waitFor(/mlgrid listening on (\S+)/))[1]! };
  };

  it('a run cut off by a crash resumes on the next start (SQLite)', async () => {
    const rx = await scriptedReceiver();
    rx.reply = (h) => (h.url.startsWith('/second/') ? 'hold' : { status: 200 });
    const data = tempDir();
    try {
      let srv = await serve(data.dir);
      const arm = (url: string, method: string, path: string, body?: unknown) =>
        fetch(`${url}${path}?api-version=2022-10-01`, {
          method,
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      const f = await fixture(
        { arm: (m: string, p: string, b?: unknown) => arm(srv.url, m, p, b), url: srv.url } as TestServer,
        'kill',
      );
      await f.put('crash', { steps: steps(rx) });
      await f.publish([event({ dataDriftId: 'k1' })]);
      await until(
        async () => rx.hits.length,
        (n) => n >= 2,
        30_000,
      );
      srv.p.child.kill('SIGKILL');
      await srv.p.exited;
      rx.reply = () => ({ status: 200 });
      srv = await serve(data.dir);
      const runs = async () =>
        ((await (await arm(srv.url, 'GET', `${f.auto('crash')}/runs`)).json()) as Json).value as Json[];
      const done = await until(runs, (r) => r.length === 1 && finished(r[0]!), 30_000);
      expect(done[0]!.properties.status).toBe('Succeeded');
      const seen = story(rx, 'k1');
      expect(seen.first).toBe(1);
      expect(seen.second).toEqual([`${done[0]!.name}-second`, `${done[0]!.name}-second`]);
      srv.p.child.kill('SIGTERM');
      await srv.p.exited;
    } finally {
      await rx.close();
      data.cleanup();
    }
  }, 90_000);
});

describe.skipIf(pgSkip)('two nodes on one PostgreSQL', () => {
  it('execute every run exactly once between them', async () => {
    const schema = uniqueSchema();
    const rx = await scriptedReceiver();
    const opts = { delivery, automations: { pollMs: 30, leaseMs: 2000 }, schema };
    const a = await startTestServer('postgres', opts);
    const b = await startTestServer('postgres', opts);
    try {
      const f = await fixture(a, 'pair');
      await f.put('shared', { steps: steps(rx), stormControl: { key: '{{data.dataDriftId}}' } });
      // Events published to both nodes; each node's dispatcher delivers what it published.
      const fb = {
        ...f,
        publish: async (events: object[]) => {
          const r = await fetch(`${b.url}/topics/${f.topicName}/api/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'aeg-sas-key': f.key },
            body: JSON.stringify(events),
          });
          expect(r.status).toBe(200);
        },
      };
      for (let i = 0; i < 12; i++) await (i % 2 ? fb : f).publish([event({ dataDriftId: `p${i}` })]);
      const runs = await f.runsUntil('shared', (r) => r.length === 12 && r.every(finished), 30_000);
      expect(runs.every((r) => r.properties.status === 'Succeeded')).toBe(true);
      for (let i = 0; i < 12; i++) {
        const seen = story(rx, `p${i}`);
        expect({ i, ...seen, second: seen.second.length }).toEqual({ i, first: 1, second: 1 });
      }
    } finally {
      await a.close();
      await b.close();
      await rx.close();
      await dropSchema(schema);
    }
  }, 60_000);
});
