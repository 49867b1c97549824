/**
 * Jobs across a crash of the real `mlgrid serve`: a job running when the server is SIGKILLed is Failed at the
 * next start (never left Running), its orphaned process is killed, RunStatusChanged(Failed) is delivered once,
 * and a job still queued at the crash runs after the restart. A graceful stop fails running jobs the same way.
 */
import { EventGridDeserializer } from '@azure/eventgrid';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STOPPED_REASON } from '../src/engine/job-runner.js';
import { runMlgrid, type MlgridProcess } from './helpers/process.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

const KEY = 'jobs-process-admin-key';
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/crashy';
const LISTEN = /mlgrid listening on (\S+)/;

/** Alive and not a zombie (an orphan's zombie lingers where nothing reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('jobs across a server crash', () => {
  const data = tempDir('mlgrid-jobs-crash-');
  let proc: MlgridProcess | undefined;
  let r: Receiver | undefined;
  afterAll(async () => {
    proc?.child.kill('SIGKILL');
    await r?.close();
    data.cleanup();
  });

  async function start(): Promise<string> {
    proc = runMlgrid(
      [
        ...['serve', '--port', '0', '--data-dir', data.dir, '--log-level', 'error'],
        ...['--retry-time-scale', '0.001', '--job-concurrency', '1'],
      ],
      { MLGRID_ADMIN_KEY: KEY },
    );
    return (await proc.waitFor(LISTEN))[1]!;
  }
  const arm = (url: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}?api-version=2022-10-01`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const job = async (url: string, name: string) => (await arm(url, 'GET', `${WS}/jobs/${name}`)).json();
  async function until(url: string, name: string, ok: (status: string) => boolean) {
    for (let i = 0; i < 300; i++) {
      const j = await job(url, name);
      if (ok(j.properties.status)) return j;
      await new Promise((x) => setTimeout(x, 50));
    }
    throw new Error(`job ${name} never got there`);
  }
  const command = (cmd: string) => ({
    properties: { jobType: 'Command', command: cmd, environmentId: 'azureml:env:1' },
  });
  const runEvents = async () => {
    const des = new EventGridDeserializer();
    const all = await Promise.all(r!.notifications().map((n) => des.deserializeEventGridEvents(n.body)));
    return all.flat().map((e) => ({ type: e.eventType, data: e.data as Record<string, string> }));
  };

  it('fails the running job once after SIGKILL, kills its orphan, then runs the queued one', async () => {
    r = await startReceiver();
    let url = await start();
    expect((await arm(url, 'PUT', WS, { location: 'local' })).status).toBe(201);
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: r.url } };
    const es = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/runs`;
    expect((await arm(url, 'PUT', es, { properties: { destination: hook } })).status).toBe(201);

    const pidFile = join(data.dir, 'job.pid');
    expect((await arm(url, 'PUT', `${WS}/jobs/long`, command(`echo $$ > ${pidFile}; sleep 60`))).status).toBe(
      201,
    );
    expect((await arm(url, 'PUT', `${WS}/jobs/next`, command('echo after the crash'))).status).toBe(201);
    await until(url, 'long', (s) => s === 'Running');
    expect((await job(url, 'next')).properties.status).toBe('Queued'); // concurrency 1
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);

    proc!.child.kill('SIGKILL');
    await proc!.exited;
    expect(alive(pid)).toBe(true); // the job outlives its server...

    url = await start();
    const failed = await job(url, 'long'); // ...until the next start ends it, before serving requests
    expect(failed.properties.status).toBe('Failed');
    expect(failed.properties.mlgridRun.failureReason).toBe(STOPPED_REASON);
    expect(failed.properties.mlgridRun.statusHistory.map((h: { status: string }) => h.status)).toEqual([
      'NotStarted',
      'Queued',
      'Starting',
      'Running',
      'Failed',
    ]);
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((x) => setTimeout(x, 50));
    expect(alive(pid)).toBe(false);

    const next = await until(url, 'next', (s) => s === 'Completed');
    expect(next.properties.status).toBe('Completed');
    expect(await (await arm(url, 'GET', `${WS}/jobs/next/logs`)).text()).toBe('after the crash\n');

    await r.waitFor(() => r!.notifications().length >= 2);
    await new Promise((x) => setTimeout(x, 300)); // a duplicate would have arrived by now
    const events = await runEvents();
    expect(events.filter((e) => e.data.runId === 'long')).toEqual([
      {
        type: 'Microsoft.MachineLearningServices.RunStatusChanged',
        data: expect.objectContaining({ runStatus: 'Failed', runId: 'long' }),
      },
    ]);
    expect(events.filter((e) => e.data.runId === 'next').map((e) => e.type)).toEqual([
      'Microsoft.MachineLearningServices.RunCompleted',
    ]);

    // A graceful stop ends a running job the same way, at once.
    expect((await arm(url, 'PUT', `${WS}/jobs/stopped`, command('sleep 60'))).status).toBe(201);
    await until(url, 'stopped', (s) => s === 'Running');
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited).toBe(0);
    url = await start();
    const stopped = await job(url, 'stopped');
    expect(stopped.properties.status).toBe('Failed');
    expect(stopped.properties.mlgridRun.failureReason).toBe(STOPPED_REASON);
    await r.waitFor(() => r!.notifications().length >= 3);
    expect((await runEvents()).filter((e) => e.data.runId === 'stopped')).toHaveLength(1);
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited).toBe(0);
  }, 120_000);
});
