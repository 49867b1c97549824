/**
 * Command jobs over real HTTP on both stores: real child processes, logs, statuses, cancel, the concurrency
 * bound, and the Run events a subscribed webhook receives (parsed with the Azure SDK).
 */
import { EventGridDeserializer, isSystemEvent, type EventGridEvent } from '@azure/eventgrid';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('jobs');
const WS =
  '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-jobs';
const RUN_COMPLETED = 'Microsoft.MachineLearningServices.RunCompleted';
const RUN_STATUS_CHANGED = 'Microsoft.MachineLearningServices.RunStatusChanged';

const command = (cmd: string, extra: Record<string, unknown> = {}) => ({
  properties: { jobType: 'Command', command: cmd, environmentId: 'azureml:local-env:1', ...extra },
});

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('Command jobs on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let r: Receiver;
  const tmp = tempDir('mlgrid-jobs-');
  beforeAll(async () => {
    if (skip) return;
    r = await startReceiver();
    s = await startTestServer(backend, { delivery: { timeScale: 0.001, pollMs: 20 } });
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
    const es = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/runs`;
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: `${r.url}/runs` } };
    expect((await s.arm('PUT', es, { properties: { destination: hook } })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await r?.close();
    tmp.cleanup();
  });

  const job = async (name: string) => (await s.arm('GET', `${WS}/jobs/${name}`)).json();
  const finished = (name: string) =>
    until(
      () => job(name),
      (j) => ['Completed', 'Failed', 'Canceled'].includes(j.properties.status),
    );
  const statuses = (j: { properties: { mlgridRun: { statusHistory: { status: string }[] } } }) =>
    j.properties.mlgridRun.statusHistory.map((h) => h.status);
  const received = async (): Promise<EventGridEvent<Record<string, unknown>>[]> => {
    const des = new EventGridDeserializer();
    const all = await Promise.all(r.notifications().map((n) => des.deserializeEventGridEvents(n.body)));
    return all.flat() as EventGridEvent<Record<string, unknown>>[];
  };
  const eventsOf = async (runId: string) => (await received()).filter((e) => e.data.runId === runId);

  it.skipIf(skip)('runs a job to completion: statuses, log, RunCompleted', async () => {
    const put = await s.arm(
      'PUT',
      `${WS}/jobs/hello-1`,
      command('echo hello; echo "var=$MY_VAR"', {
        environmentVariables: { MY_VAR: 'from-env' },
        experimentName: 'exp-a',
        tags: { team: 'ml' },
        properties: { kind: 'demo' },
      }),
    );
    expect(put.status).toBe(201);
    expect((await put.json()).properties).toMatchObject({ status: 'Queued', experimentName: 'exp-a' });
    const done = await finished('hello-1');
    expect(statuses(done)).toEqual([
      'NotStarted',
      'Queued',
      'Starting',
      'Running',
      'Finalizing',
      'Completed',
    ]);
    expect(done.properties.mlgridRun).toMatchObject({ exitCode: 0, startedAt: expect.any(String) });
    const log = await (await s.arm('GET', `${WS}/jobs/hello-1/logs`)).text();
    expect(log).toBe('hello\nvar=from-env\n');
    expect(await (await s.arm('GET', `${WS}/jobs/hello-1/logs?tail=1`)).text()).toBe('var=from-env\n');

    await r.waitFor(() => r.notifications().length > 0);
    const [ev, ...more] = await until(
      () => eventsOf('hello-1'),
      (l) => l.length > 0,
    );
    expect(more).toEqual([]);
    expect(isSystemEvent(RUN_COMPLETED, ev!)).toBe(true);
    const experimentId = done.properties.mlgridRun.experimentId;
    expect(ev).toMatchObject({
      topic: WS,
      subject: `experiments/${experimentId}/runs/hello-1`,
      eventType: RUN_COMPLETED,
      dataVersion: '2',
      data: {
        experimentId,
        experimentName: 'exp-a',
        runId: 'hello-1',
        runType: 'command',
        runTags: { team: 'ml' },
        runProperties: { kind: 'demo' },
        sequencer: '00000000000000000006',
      },
    });
  });

  it.skipIf(skip)(
    'a failing job is Failed with its reason and raises RunStatusChanged, not RunCompleted',
    async () => {
      expect((await s.arm('PUT', `${WS}/jobs/fails-1`, command('echo oops >&2; exit 3'))).status).toBe(201);
      const done = await finished('fails-1');
      expect(statuses(done)).toEqual(['NotStarted', 'Queued', 'Starting', 'Running', 'Failed']);
      expect(done.properties.mlgridRun).toMatchObject({ exitCode: 3, failureReason: 'exit code 3' });
      expect(await (await s.arm('GET', `${WS}/jobs/fails-1/logs`)).text()).toBe('oops\n');
      const evs = await until(
        () => eventsOf('fails-1'),
        (l) => l.length > 0,
      );
      await new Promise((x) => setTimeout(x, 200)); // a wrong RunCompleted would have arrived by now
      expect((await eventsOf('fails-1')).map((e) => e.eventType)).toEqual([RUN_STATUS_CHANGED]);
      expect(isSystemEvent(RUN_STATUS_CHANGED, evs[0]!)).toBe(true);
      expect(evs[0]!.data).toMatchObject({ runStatus: 'Failed', runId: 'fails-1', runType: 'command' });
    },
  );

  it.skipIf(skip)(
    'cancels a running job; RunStatusChanged(Canceled) only once the workspace asks for it',
    async () => {
      const cancelRunning = async (name: string) => {
        expect((await s.arm('PUT', `${WS}/jobs/${name}`, command('sleep 30'))).status).toBe(201);
        await until(
          () => job(name),
          (j) => j.properties.status === 'Running',
        );
        const started = Date.now();
        const c = await s.arm('POST', `${WS}/jobs/${name}/cancel`);
        expect([200, 202]).toContain(c.status);
        const done = await finished(name);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(statuses(done).slice(-2)).toEqual(['CancelRequested', 'Canceled']);
        const poll = await s.arm(
          'GET',
          new URL(c.headers.get('location') ?? `${s.url}${WS}/jobs/${name}`).pathname,
        );
        expect(poll.status).toBe(200);
      };
      await cancelRunning('sleepy-1');
      await new Promise((x) => setTimeout(x, 300));
      expect(await eventsOf('sleepy-1')).toEqual([]);

      const patch = await s.arm('PATCH', WS, {
        properties: { mlgridSettings: { runStatusChangedStatuses: ['Failed', 'Canceled'] } },
      });
      expect(patch.status).toBe(200);
      await cancelRunning('sleepy-2');
      const evs = await until(
        () => eventsOf('sleepy-2'),
        (l) => l.length > 0,
      );
      expect(evs.map((e) => [e.eventType, e.data.runStatus])).toEqual([[RUN_STATUS_CHANGED, 'Canceled']]);
      // Cancelling a finished job changes nothing.
      expect((await s.arm('POST', `${WS}/jobs/sleepy-2/cancel`)).status).toBe(200);
    },
  );

  it.skipIf(skip)(
    'runs in the code folder with inputs and outputs as paths, placeholders and variables',
    async () => {
      const code = join(tmp.dir, 'code');
      mkdirSync(code, { recursive: true });
      const data = join(tmp.dir, 'data.csv');
      writeFileSync(data, 'a,b\n1,2\n');
      const put = await s.arm(
        'PUT',
        `${WS}/jobs/io-1`,
        command('pwd; cp ${{inputs.data}} "$AZURE_ML_OUTPUT_model/copy.csv"; echo "lr=$AZURE_ML_INPUT_lr"', {
          codeId: pathToFileURL(code).href,
          inputs: {
            data: { jobInputType: 'uri_file', uri: pathToFileURL(data).href },
            lr: { jobInputType: 'literal', value: '0.1' },
          },
          outputs: { model: { jobOutputType: 'uri_folder' } },
        }),
      );
      expect(put.status).toBe(201);
      const done = await finished('io-1');
      expect(done.properties.status).toBe('Completed');
      expect(await (await s.arm('GET', `${WS}/jobs/io-1/logs`)).text()).toBe(`${code}\nlr=0.1\n`);
      const out = fileURLToPath(done.properties.outputs.model.uri);
      expect(readFileSync(join(out, 'copy.csv'), 'utf8')).toBe('a,b\n1,2\n');

      const missing = await s.arm(
        'PUT',
        `${WS}/jobs/io-2`,
        command('true', { codeId: join(tmp.dir, 'nope') }),
      );
      expect(missing.status).toBe(400);
      expect((await missing.json()).error.target).toBe('properties.codeId');
    },
  );

  it.skipIf(skip)('updates only tags and descriptions, lists, refuses other job types, deletes', async () => {
    const sweep = await s.arm('PUT', `${WS}/jobs/sw`, { properties: { jobType: 'Sweep' } });
    expect(sweep.status).toBe(400);
    expect((await sweep.json()).error.message).toContain('Sweep jobs are not supported yet');
    const again = await s.arm('PUT', `${WS}/jobs/hello-1`, {
      properties: { ...command('echo hello; echo "var=$MY_VAR"').properties, tags: { team: 'new' } },
    });
    expect(again.status).toBe(400); // environmentVariables and experimentName differ from the original
    const same = command('echo hello; echo "var=$MY_VAR"', {
      environmentVariables: { MY_VAR: 'from-env' },
      experimentName: 'exp-a',
      properties: { kind: 'demo' },
      tags: { team: 'new' },
      description: 'retagged',
    });
    const ok = await s.arm('PUT', `${WS}/jobs/hello-1`, same);
    expect(ok.status).toBe(200);
    expect((await ok.json()).properties).toMatchObject({ tags: { team: 'new' }, description: 'retagged' });
    const list = (await (await s.arm('GET', `${WS}/jobs`)).json()).value.map((j: { name: string }) => j.name);
    expect(list).toEqual(expect.arrayContaining(['hello-1', 'fails-1', 'sleepy-1']));

    expect((await s.arm('PUT', `${WS}/jobs/doomed`, command('sleep 30'))).status).toBe(201);
    await until(
      () => job('doomed'),
      (j) => j.properties.status === 'Running',
    );
    expect((await s.arm('DELETE', `${WS}/jobs/doomed`)).status).toBe(200);
    expect((await s.arm('GET', `${WS}/jobs/doomed`)).status).toBe(404);
    expect((await s.arm('DELETE', `${WS}/jobs/doomed`)).status).toBe(204);
    expect((await s.arm('GET', `${WS}/jobs/doomed/logs`)).status).toBe(404);
  });

  it.skipIf(skip)('never runs more jobs at once than the configured concurrency', async () => {
    const one = await startTestServer(backend, { jobs: { concurrency: 1 } });
    try {
      expect((await one.arm('PUT', WS, { location: 'local' })).status).toBe(201);
      const stamp = 'echo "start $(date +%s%N)"; sleep 0.3; echo "end $(date +%s%N)"';
      for (const n of ['c1', 'c2', 'c3']) {
        expect((await one.arm('PUT', `${WS}/jobs/${n}`, command(stamp))).status).toBe(201);
      }
      const spans: [bigint, bigint][] = [];
      for (const n of ['c1', 'c2', 'c3']) {
        const done = await until(
          async () => (await one.arm('GET', `${WS}/jobs/${n}`)).json(),
          (j) => j.properties.status === 'Completed',
        );
        expect(done.properties.status).toBe('Completed');
        const log = await (await one.arm('GET', `${WS}/jobs/${n}/logs`)).text();
        const [, start, end] = /start (\d+)\nend (\d+)/.exec(log)!;
        spans.push([BigInt(start!), BigInt(end!)]);
      }
      spans.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0] >= spans[i - 1]![1]).toBe(true);
    } finally {
      await one.stop();
    }
  });

  it.skipIf(skip)('kills running jobs with their workspace', async () => {
    const other = `${WS}-gone`;
    expect((await s.arm('PUT', other, { location: 'local' })).status).toBe(201);
    const marker = join(tmp.dir, 'still-running');
    expect((await s.arm('PUT', `${other}/jobs/j`, command(`sleep 1; touch ${marker}`))).status).toBe(201);
    await until(
      async () => (await s.arm('GET', `${other}/jobs/j`)).json(),
      (j) => j.properties.status === 'Running',
    );
    expect((await s.arm('DELETE', other)).status).toBe(200);
    await new Promise((x) => setTimeout(x, 1500));
    expect(existsSync(marker)).toBe(false);
  });
});
