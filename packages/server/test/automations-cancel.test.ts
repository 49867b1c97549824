/**
 * Cancelling automation runs (docs/automations.md#cancelling-a-run): a running run stops inside the step it is
 * in (the steps after it never run) and frees its storm-control slot for the next run of its key; a waiting run is
 * canceled before it starts; cancelling again returns the canceled run, an ended run is a 409, an unknown one a
 * 404. On SQLite and PostgreSQL; on PostgreSQL also a cancel through a node that is not the one running the run,
 * and the CLI.
 */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { event, finished, fixture, scriptedReceiver, status, type Json } from './automations-kit.js';
import { dropSchema, skipWithoutPostgres, uniqueSchema } from './helpers/postgres.js';
import { MAIN } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('automation run cancellation');
const delivery = { timeScale: 0.001, pollMs: 20, validateWebhooks: false };
const automations = { pollMs: 30, leaseMs: 1500 };

const steps = (url: string) => [
  { name: 'slow', type: 'httpRequest', url: `${url}/slow/{{data.dataDriftId}}` },
  { name: 'after', type: 'httpRequest', url: `${url}/after/{{data.dataDriftId}}` },
];
/** One key for every event: one run at a time, the others wait in the queue. */
const definition = (url: string) => ({ steps: steps(url), stormControl: { key: 'one' } });

async function cancel(s: TestServer, run: string): Promise<{ status: number; body: Json }> {
  const r = await s.arm('POST', `${run}/cancel`);
  return { status: r.status, body: (await r.json()) as Json };
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('cancelling automation runs on $backend', ({ backend, skip }) => {
  it.skipIf(skip)(
    'stops a running run, drops a waiting one, and frees the slot',
    async () => {
      const rx = await scriptedReceiver();
      rx.reply = (h) => (h.url === '/slow/c1' ? 'hold' : { status: 200 });
      const schema = uniqueSchema();
      const s = await startTestServer(backend, { delivery, automations, schema });
      try {
        const f = await fixture(s, `cancel-${backend}`);
        await f.put('c', definition(rx.url));
        const runId = (r: Json) => `${f.auto('c')}/runs/${r.name}`;
        await f.publish([event({ dataDriftId: 'c1' })]);
        await until(
          async () => rx.hits.map((h) => h.url),
          (u) => u.includes('/slow/c1'),
        );
        await f.publish([event({ dataDriftId: 'c2' })]);
        const [waiting, running] = await f.runsUntil(
          'c',
          (r) => r.length === 2 && status(r[0]!) === 'Queued',
        );

        // The waiting run: canceled before it starts, with the events it held.
        const q = await cancel(s, runId(waiting!));
        expect(q.status).toBe(200);
        expect(q.body.properties).toMatchObject({ status: 'Canceled', steps: [], eventCount: 1 });
        expect(q.body.properties.events[0].subject).toMatch(/^datadrift\/c2\//);

        // The running one, held inside `slow`: canceled at once; `after` never runs.
        await f.publish([event({ dataDriftId: 'c3' })]); // waits behind it
        const c = await cancel(s, runId(running!));
        expect(c.status).toBe(200);
        expect(c.body.properties.status).toBe('Canceled');
        expect(c.body.properties.steps.map((x: Json) => [x.name, x.status])).toEqual([
          ['slow', 'Canceled'],
          ['after', 'Skipped'],
        ]);
        expect((await cancel(s, runId(running!))).body.properties.status).toBe('Canceled'); // again: as it is

        // Its slot frees: the run for c3 starts and succeeds; nothing of c1 after `slow`, nothing of c2 at all.
        const runs = await f.runsUntil('c', (r) => r.length === 3 && r.every(finished));
        expect(runs.map((r) => status(r))).toEqual(['Succeeded', 'Canceled', 'Canceled']);
        const urls = rx.hits.map((h) => h.url);
        expect(urls).toEqual(['/slow/c1', '/slow/c3', '/after/c3']);
        expect(status((await (await s.arm('GET', runId(running!))).json()) as Json)).toBe('Canceled');

        const ended = await cancel(s, runId(runs[0]!));
        expect(ended.status).toBe(409);
        expect(ended.body.error.code).toBe('Conflict');
        expect((await cancel(s, `${f.auto('c')}/runs/no-such-run`)).status).toBe(404);
        expect((await s.arm('GET', `${f.auto('c')}/runs?status=Canceled`)).status).toBe(200);
        const canceled = ((await (await s.arm('GET', `${f.auto('c')}/runs?status=Canceled`)).json()) as Json)
          .value;
        expect(canceled).toHaveLength(2);
      } finally {
        await s.close();
        await rx.close();
        if (backend === 'postgres' && !pgSkip) await dropSchema(schema);
      }
    },
    60_000,
  );
});

describe.skipIf(pgSkip)('cancelling through another node (PostgreSQL)', () => {
  it('stops the run on the node executing it, and the CLI cancels too', async () => {
    const rx = await scriptedReceiver();
    rx.reply = (h) => (h.url.startsWith('/slow/') ? 'hold' : { status: 200 });
    const schema = uniqueSchema();
    const a = await startTestServer('postgres', { delivery, automations, schema });
    let b: TestServer | undefined;
    const bin = tempDir('mlgrid-bin-');
    try {
      const f = await fixture(a, 'cancel-pair');
      await f.put('c', definition(rx.url));
      await f.publish([event({ dataDriftId: 'n1' })]);
      await until(
        async () => rx.hits.length,
        (n) => n >= 1,
      );
      // Node A runs it; node B starts only now, so the cancel goes through a node that does not run it.
      b = await startTestServer('postgres', { delivery, automations, schema });
      const [running] = await f.runs('c');
      const c = await cancel(b, `${f.auto('c')}/runs/${running!.name}`);
      expect(c.body.properties.status).toBe('Canceled');
      // A notices at its next claim renewal (leaseMs / 3) and frees the slot: the next run starts there or on B.
      await f.publish([event({ dataDriftId: 'n2' })]);
      await until(
        async () => rx.hits.map((h) => h.url),
        (u) => u.includes('/slow/n2'),
        10_000,
      );
      expect(rx.hits.map((h) => h.url)).not.toContain('/after/n1');

      // The CLI cancels the second run (held in `slow` too).
      writeFileSync(
        `${bin.dir}/mlgrid`,
        `#!/bin/sh\nexec "${process.execPath}" --conditions=mlgrid-source --import tsx "${MAIN}" "$@"\n`,
      );
      chmodSync(`${bin.dir}/mlgrid`, 0o755);
      const runs = await f.runs('c');
      const second = runs.find((r) => status(r) === 'Running')!;
      const ws = f.ws.split('/').pop()!;
      const { stdout } = await promisify(execFile)(
        `${bin.dir}/mlgrid`,
        ['automation', 'run', 'cancel', '-w', ws, '-g', 'rg1', '-n', 'c', '--run-id', second.name],
        {
          env: { ...process.env, MLGRID_SERVER: b.url, MLGRID_KEY: ADMIN_KEY, MLGRID_SUBSCRIPTION: 's1' },
          timeout: 60_000,
        },
      );
      expect(JSON.parse(stdout).properties.status).toBe('Canceled');
      const all = await f.runsUntil('c', (r) => r.length === 2 && r.every(finished));
      expect(all.map((r) => status(r))).toEqual(['Canceled', 'Canceled']);
      expect(rx.hits.map((h) => h.url).filter((u) => u.startsWith('/after/'))).toEqual([]);
    } finally {
      await a.close();
      await b?.close();
      await rx.close();
      bin.cleanup();
      await dropSchema(schema);
    }
  }, 90_000);
});
