/**
 * Jobs run elsewhere and metrics over real HTTP on both stores: an external job is never run here, its reported
 * statuses walk the runner's state machine and raise the same Run events (committed with the change, so the
 * subscription's delivery records show them at once); metrics round trip; a local job's process logs a metric
 * with the variables mlgrid gives it.
 */
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('jobs-external');
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-ext';
const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/runs`;
const RUN_COMPLETED = 'Microsoft.MachineLearningServices.RunCompleted';
const RUN_STATUS_CHANGED = 'Microsoft.MachineLearningServices.RunStatusChanged';

const job = (cmd: string, props: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
  properties: {
    jobType: 'Command',
    command: cmd,
    environmentId: 'azureml:local-env:1',
    properties: props,
    ...extra,
  },
});
const external = (cmd = 'python train.py', extra: Record<string, unknown> = {}) =>
  job(cmd, { 'mlgrid.runner': 'external' }, extra);

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('jobs run elsewhere on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let r: Receiver;
  const tmp = tempDir('mlgrid-ext-');
  beforeAll(async () => {
    if (skip) return;
    r = await startReceiver();
    s = await startTestServer(backend, {
      delivery: { timeScale: 0.001, pollMs: 20 },
      jobs: { concurrency: 1, pollMs: 50 },
    });
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: `${r.url}/runs` } };
    expect((await s.arm('PUT', ES, { properties: { destination: hook } })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await r?.close();
    tmp.cleanup();
  });

  const get = async (name: string) => (await s.arm('GET', `${WS}/jobs/${name}`)).json();
  const history = (j: { properties: { mlgridRun: { statusHistory: { status: string }[] } } }) =>
    j.properties.mlgridRun.statusHistory.map((h) => h.status);
  const report = (name: string, body: unknown) => s.arm('POST', `${WS}/jobs/${name}/reportStatus`, body);
  /** The Run events committed for a job: the subscription's delivery records, written with each change. */
  const committed = async (name: string) => {
    const page = await (await s.arm('GET', `${ES}/deliveries?top=1000`)).json();
    return (page.value as { event: { eventType: string; data: Record<string, unknown> } }[])
      .map((d) => d.event)
      .filter((e) => e.data.runId === name);
  };

  it.skipIf(skip)('the local runner never runs an external job, however many wait', async () => {
    // More external jobs than the runner's queue window (concurrency 1 + 8), all older than the local one.
    for (let i = 0; i < 12; i++) {
      const put = await s.arm('PUT', `${WS}/jobs/ext-wait-${i}`, external('exit 7'));
      expect(put.status).toBe(201);
      expect((await put.json()).properties.status).toBe('Queued');
    }
    expect((await s.arm('PUT', `${WS}/jobs/local-after`, job('echo local'))).status).toBe(201);
    const local = await until(
      () => get('local-after'),
      (j) => j.properties.status === 'Completed',
    );
    expect(local.properties.status).toBe('Completed');
    for (let i = 0; i < 12; i++) {
      const ext = await get(`ext-wait-${i}`);
      expect(history(ext)).toEqual(['NotStarted', 'Queued']);
      expect(await (await s.arm('GET', `${WS}/jobs/ext-wait-${i}/logs`)).text()).toBe('');
    }
  });

  it.skipIf(skip)('Running → Completed walks the state machine and raises RunCompleted', async () => {
    const put = await s.arm(
      'PUT',
      `${WS}/jobs/ext-ok`,
      external('python train.py', { tags: { site: 'hpc' } }),
    );
    expect(put.status).toBe(201);
    const running = await report('ext-ok', { status: 'Running' });
    expect(running.status).toBe(200);
    expect(await running.json()).toMatchObject({ name: 'ext-ok', status: 'Running', changed: true });
    const again = await report('ext-ok', { status: 'running' }); // a retried report changes nothing
    expect(await again.json()).toMatchObject({ status: 'Running', changed: false });
    expect((await report('ext-ok', { status: 'Completed', exitCode: 0 })).status).toBe(200);

    const done = await get('ext-ok');
    expect(history(done)).toEqual(['NotStarted', 'Queued', 'Starting', 'Running', 'Finalizing', 'Completed']);
    expect(done.properties.mlgridRun).toMatchObject({
      exitCode: 0,
      startedAt: expect.any(String),
      endedAt: expect.any(String),
    });
    const events = await committed('ext-ok');
    expect(events.map((e) => e.eventType)).toEqual([RUN_COMPLETED]);
    expect(events[0]!.data).toMatchObject({
      runId: 'ext-ok',
      runType: 'command',
      runTags: { site: 'hpc' },
      runProperties: { 'mlgrid.runner': 'external' },
      sequencer: '00000000000000000006', // one per change, as for a local job
    });
    // And on the wire, as the Azure SDK reads it.
    const des = new EventGridDeserializer();
    const got = await until(
      async () =>
        (await Promise.all(r.notifications().map((n) => des.deserializeEventGridEvents(n.body))))
          .flat()
          .filter((e) => (e.data as { runId?: string }).runId === 'ext-ok'),
      (l) => l.length > 0,
    );
    expect(isSystemEvent(RUN_COMPLETED, got[0]!)).toBe(true);
  });

  it.skipIf(skip)('→ Failed raises RunStatusChanged (the workspace default) with the reason', async () => {
    expect((await s.arm('PUT', `${WS}/jobs/ext-fail`, external())).status).toBe(201);
    expect((await report('ext-fail', { status: 'Starting' })).status).toBe(200);
    const res = await report('ext-fail', { status: 'Failed', exitCode: 137, failureReason: 'OOM killed' });
    expect(res.status).toBe(200);
    const j = await get('ext-fail');
    expect(history(j)).toEqual(['NotStarted', 'Queued', 'Starting', 'Failed']);
    expect(j.properties.mlgridRun).toMatchObject({ exitCode: 137, failureReason: 'OOM killed' });
    const events = await committed('ext-fail');
    expect(events.map((e) => e.eventType)).toEqual([RUN_STATUS_CHANGED]);
    expect(events[0]!.data).toMatchObject({ runStatus: 'Failed', runId: 'ext-fail' });
  });

  it.skipIf(skip)('illegal moves are a 409 with the envelope and change nothing', async () => {
    const after = async (name: string, body: unknown) => {
      const res = await report(name, body);
      return { status: res.status, error: (await res.json()).error };
    };
    expect(await after('ext-ok', { status: 'Running' })).toMatchObject({
      status: 409,
      error: { code: 'Conflict', target: 'status', message: expect.stringContaining('Completed') },
    });
    expect((await s.arm('PUT', `${WS}/jobs/ext-back`, external())).status).toBe(201);
    expect((await report('ext-back', { status: 'Running' })).status).toBe(200);
    expect((await after('ext-back', { status: 'Queued' })).status).toBe(409);
    expect(history(await get('ext-back'))).toEqual(['NotStarted', 'Queued', 'Starting', 'Running']);
    // mlgrid's own jobs follow their process.
    expect((await after('local-after', { status: 'Failed' })).status).toBe(409);
    // Bad bodies are 400s naming the field.
    expect(await after('ext-back', { status: 'Done' })).toMatchObject({
      status: 400,
      error: { target: 'status' },
    });
    expect(await after('ext-back', { status: 'Running', exitCode: 1 })).toMatchObject({
      status: 400,
      error: { target: 'exitCode' },
    });
    expect((await report('nope', { status: 'Running' })).status).toBe(404);
    // Another spelling of the action reaches the same code through the ARM dispatch.
    const viaArm = await s.arm('POST', `${WS}/jobs/ext-back/REPORTSTATUS`, { status: 'Running' });
    expect(await viaArm.json()).toMatchObject({ status: 'Running', changed: false });
    expect((await s.arm('PUT', `${WS}/jobs/ext-back/Metrics`, {})).status).toBe(405);
  });

  it.skipIf(skip)('a cancel ends an external job at once; its reporter then gets a 409', async () => {
    expect((await s.arm('PUT', `${WS}/jobs/ext-cancel`, external())).status).toBe(201);
    expect((await report('ext-cancel', { status: 'Running' })).status).toBe(200);
    expect((await s.arm('POST', `${WS}/jobs/ext-cancel/cancel`)).status).toBe(200);
    expect(history(await get('ext-cancel'))).toEqual([
      'NotStarted',
      'Queued',
      'Starting',
      'Running',
      'CancelRequested',
      'Canceled',
    ]);
    expect((await report('ext-cancel', { status: 'Completed' })).status).toBe(409);
  });

  it.skipIf(skip)('a bad mlgrid.runner value is a 400 naming it', async () => {
    const res = await s.arm('PUT', `${WS}/jobs/bad-runner`, job('true', { 'mlgrid.runner': 'cluster' }));
    expect(res.status).toBe(400);
    expect((await res.json()).error.target).toBe('properties.properties.mlgrid.runner');
  });

  it.skipIf(skip)('metrics round trip: batches, default steps, series by name, validation', async () => {
    const path = `${WS}/jobs/ext-back/metrics`;
    const post = (body: unknown) => s.arm('POST', path, body);
    const ok = await post({
      metrics: [
        { name: 'loss', value: 0.9 },
        { name: 'loss', value: 0.5 },
        { name: 'Loss', value: 7 },
        { name: 'acc', value: 0.7, step: 10, time: '2026-01-02T03:04:05Z' },
      ],
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ logged: 4 });
    expect((await post({ metrics: [{ name: 'loss', value: 0.25 }] })).status).toBe(200);

    const all = (await (await s.arm('GET', path)).json()).value as { name: string; points: unknown[] }[];
    expect(all.map((m) => m.name).sort()).toEqual(['Loss', 'acc', 'loss']);
    const loss = await (await s.arm('GET', `${path}?name=loss`)).json();
    expect(loss.value).toHaveLength(1);
    expect(loss.value[0].points.map((p: { step: number; value: number }) => [p.step, p.value])).toEqual([
      [0, 0.9],
      [1, 0.5],
      [2, 0.25],
    ]);
    expect(loss.value[0].last).toMatchObject({ step: 2, value: 0.25 });
    const acc = await (await s.arm('GET', `${path}?name=acc`)).json();
    expect(acc.value[0].points).toEqual([{ step: 10, value: 0.7, time: '2026-01-02T03:04:05.000Z' }]);
    expect((await (await s.arm('GET', `${path}?name=none`)).json()).value).toEqual([]);

    for (const [body, target] of [
      [{}, 'metrics'],
      [{ metrics: [] }, 'metrics'],
      [{ metrics: [{ name: 'x', value: 'high' }] }, 'metrics[0].value'],
      [
        {
          metrics: [
            { name: 'x', value: 1 },
            { name: '', value: 1 },
          ],
        },
        'metrics[1].name',
      ],
      [{ metrics: [{ name: 'x', value: 1, step: -1 }] }, 'metrics[0].step'],
      [{ metrics: [{ name: 'x', value: 1, time: 'yesterday' }] }, 'metrics[0].time'],
      [{ metrics: Array.from({ length: 1001 }, () => ({ name: 'x', value: 1 })) }, 'metrics'],
    ] as const) {
      const res = await post(body);
      expect(res.status, target).toBe(400);
      expect((await res.json()).error.target).toBe(target);
    }
    // Deleting the job deletes its series: a new job of that name starts empty.
    expect((await s.arm('DELETE', `${WS}/jobs/ext-back`)).status).toBe(200);
    expect((await s.arm('PUT', `${WS}/jobs/ext-back`, external())).status).toBe(201);
    expect((await (await s.arm('GET', path)).json()).value).toEqual([]);
  });

  it.skipIf(skip)(
    "a local job's process logs a metric with its own token, good for its job only",
    async () => {
      const script = join(tmp.dir, 'log-metric.mjs');
      writeFileSync(
        script,
        `const base = process.env.MLGRID_SERVER + process.env.MLGRID_JOB_ID;
const headers = { authorization: 'Bearer ' + process.env.MLGRID_JOB_TOKEN, 'content-type': 'application/json' };
const body = JSON.stringify({ metrics: [{ name: 'loss', value: 0.125, step: 3 }] });
const own = await fetch(base + '/metrics', { method: 'POST', headers, body });
console.log('own', own.status);
const other = await fetch(base.replace(/[^/]+$/, 'ext-ok') + '/metrics', { method: 'POST', headers, body });
console.log('other', other.status);
const status = await fetch(base + '/reportStatus', { method: 'POST', headers, body: '{"status":"Failed"}' });
console.log('status', status.status);
process.exit(own.status === 200 ? 0 : 3);
`,
      );
      const put = await s.arm('PUT', `${WS}/jobs/local-metric`, job(`"${process.execPath}" "${script}"`));
      expect(put.status).toBe(201);
      const done = await until(
        () => get('local-metric'),
        (j) => ['Completed', 'Failed', 'Canceled'].includes(j.properties.status),
      );
      const log = await (await s.arm('GET', `${WS}/jobs/local-metric/logs`)).text();
      expect(done.properties.status, log).toBe('Completed');
      expect(log).toBe('own 200\nother 401\nstatus 409\n');
      const m = await (await s.arm('GET', `${WS}/jobs/local-metric/metrics`)).json();
      expect(m.value).toEqual([
        {
          name: 'loss',
          last: expect.objectContaining({ step: 3, value: 0.125 }),
          points: [expect.objectContaining({ step: 3, value: 0.125 })],
        },
      ]);
      expect((await (await s.arm('GET', `${WS}/jobs/ext-ok/metrics`)).json()).value).toEqual([]);
    },
  );
});
