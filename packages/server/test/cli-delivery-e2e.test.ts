/** Dead letters, the delivery log, redrive and replay through the real `mlgrid` CLI against a delivering server. */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN } from './helpers/process.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/dl-topic`;
const ES = `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/flaky`;
/** The scope flags every command below takes. */
const SCOPE = '--name flaky --topic-name dl-topic -g rg1';

const sleep = (ms: number) => new Promise((x) => setTimeout(x, ms));

// Each CLI run starts node + tsx (1-3 s), several per test.
describe('mlgrid delivery commands end to end', { timeout: 90_000 }, () => {
  let s: TestServer;
  let r: Receiver;
  let healthy = false;
  /** Event ids the receiver accepted (answered 200). */
  const accepted: string[] = [];
  const bin = tempDir('mlgrid-bin-');

  beforeAll(async () => {
    s = await startTestServer('sqlite', { delivery: { timeScale: 0.001, pollMs: 20 } });
    r = await startReceiver((req) => {
      if (!healthy) return { status: 400, body: '{"error":"bad payload"}' };
      const body = JSON.parse(req.body) as { id: string } | { id: string }[];
      accepted.push(...(Array.isArray(body) ? body : [body]).map((e) => e.id));
      return { status: 200 };
    });
    writeFileSync(
      `${bin.dir}/mlgrid`,
      `#!/bin/sh\nexec "${process.execPath}" --conditions=mlgrid-source --import tsx "${MAIN}" "$@"\n`,
    );
    chmodSync(`${bin.dir}/mlgrid`, 0o755);

    expect((await s.arm('PUT', TOPIC, { location: 'local' })).status).toBe(201);
    const key = (await (await s.arm('POST', `${TOPIC}/listKeys`)).json()).key1 as string;
    const created = await s.arm('PUT', ES, {
      properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: `${r.url}/hook` } } },
    });
    expect(created.status).toBe(201);
    expect((await created.json()).properties.provisioningState).toBe('Succeeded'); // handshake answered
    const ev = (id: string) => ({
      id,
      eventType: 'Microsoft.MachineLearningServices.RunCompleted',
      subject: `experiments/e/runs/${id}`,
      eventTime: '2026-01-01T00:00:00.000Z',
      dataVersion: '1',
      data: { run: id },
    });
    const published = await fetch(`${s.url}/topics/dl-topic/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify([ev('ev-a'), ev('ev-b')]),
    });
    expect(published.status).toBe(200);
    // A 400 is not retried: both are dead-lettered after one attempt each.
    let dead: unknown[] = [];
    for (let i = 0; i < 250 && dead.length < 2; i++) {
      dead = (await (await s.arm('GET', `${ES}/deadLetters`)).json()).value;
      if (dead.length < 2) await sleep(20);
    }
    expect(dead).toHaveLength(2);
  });

  afterAll(async () => {
    await s?.stop();
    await r?.close();
    bin.cleanup();
  });

  async function mlgrid(args: string): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)(
        'bash',
        ['-c', `mlgrid eventgrid event-subscription ${args}`],
        {
          env: {
            ...process.env,
            PATH: `${bin.dir}:${process.env.PATH}`,
            MLGRID_SERVER: s.url,
            MLGRID_KEY: ADMIN_KEY,
          },
          timeout: 60_000,
        },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('dead-letter list shows both events with the 400 reason', async () => {
    const t = await mlgrid(`dead-letter list ${SCOPE} -o table`);
    expect(t).toMatchObject({ code: 0, stderr: '' });
    const lines = t.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Id\s+Reason\s+Attempts\s+LastOutcome\s+LastStatus\s+PublishTime\s+EventId$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/).slice(1, 5).concat(l.split(/\s+/).at(-1)!))).toEqual(
      expect.arrayContaining([
        ['UndeliverableDueToHttpBadRequest', '1', 'BadRequest', '400', 'ev-a'],
        ['UndeliverableDueToHttpBadRequest', '1', 'BadRequest', '400', 'ev-b'],
      ]),
    );
    expect(lines).toHaveLength(4);

    const json = JSON.parse((await mlgrid(`dead-letter list ${SCOPE} --all`)).stdout);
    expect(json.map((d: { record: { id: string } }) => d.record.id).sort()).toEqual(['ev-a', 'ev-b']);
    expect(json[0].record).toMatchObject({ deadLetterReason: 'UndeliverableDueToHttpBadRequest' });
  });

  it('delivery list --outcome failed shows the 400 attempts', async () => {
    const t = await mlgrid(`delivery list ${SCOPE} --outcome failed -o tsv`);
    expect(t).toMatchObject({ code: 0, stderr: '' });
    const rows = t.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.slice(1, 3)).toEqual(['BadRequest', '400']);
    expect(rows.map((row) => row[5]).sort()).toEqual(['ev-a', 'ev-b']);
    const ok = await mlgrid(`delivery list ${SCOPE} --outcome Succeeded --since 2000-01-01`);
    expect(JSON.parse(ok.stdout)).toEqual([]);
  });

  it('dead-letter redrive --all delivers both once the receiver is healthy', async () => {
    healthy = true;
    const red = await mlgrid(`dead-letter redrive ${SCOPE} --all`);
    expect(red).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(red.stdout)).toEqual({ redriven: 2 });
    await r.waitFor(() => accepted.length >= 2);
    expect([...accepted].sort()).toEqual(['ev-a', 'ev-b']);
    expect(JSON.parse((await mlgrid(`dead-letter list ${SCOPE}`)).stdout)).toEqual([]);
    // Settlement follows the 200 asynchronously.
    let delivered = 0;
    for (let i = 0; i < 250 && delivered < 2; i++) {
      delivered = (await (await s.arm('GET', `${ES}/deliveries?status=delivered`)).json()).value.length;
      if (delivered < 2) await sleep(20);
    }
    const p = await mlgrid(`delivery pending ${SCOPE} --status delivered -o table`);
    expect(p.stdout).toMatch(/^Id\s+Status\s+Attempts\s+NextAttempt\s+EventId\s+EventType\n/);
    expect(
      p.stdout.match(/ delivered .* ev-[ab] +Microsoft\.MachineLearningServices\.RunCompleted\n/g),
    ).toHaveLength(2);
  });

  it('replay --from a date delivers the retained events again', async () => {
    const rep = await mlgrid(`replay ${SCOPE} --from 2000-01-01`);
    expect(rep).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(rep.stdout)).toEqual({ enqueued: 2, from: '2000-01-01T00:00:00.000Z' });
    await r.waitFor(() => accepted.length >= 4);
    expect(accepted.slice(2).sort()).toEqual(['ev-a', 'ev-b']);
    const bad = await mlgrid(`replay ${SCOPE} --from yesterday`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^ERROR: --from: 'yesterday' is not an ISO 8601 date/);
  });
});
