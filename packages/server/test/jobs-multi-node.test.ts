/**
 * Command jobs with several nodes on one PostgreSQL database: a job runs on exactly one node, a cancel made
 * through another node reaches the process, and the jobs of a node that stopped renewing its lease are ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobPut } from '../src/core/job.js';
import { STOPPED_REASON } from '../src/engine/job-runner.js';
import { dropSchema, skipWithoutPostgres, uniqueSchema } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const skip = await skipWithoutPostgres('jobs multi-node');
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/shared';
const command = (cmd: string) => ({
  properties: { jobType: 'Command', command: cmd, environmentId: 'azureml:env:1' },
});

describe.skipIf(skip)('jobs on two PostgreSQL nodes', () => {
  const schema = uniqueSchema('jmn');
  let runner: TestServer;
  let api: TestServer;
  beforeAll(async () => {
    runner = await startTestServer('postgres', { schema, jobs: { pollMs: 100 } });
    // A node that serves the API but runs no jobs: everything it accepts runs on `runner`.
    api = await startTestServer('postgres', { schema, jobs: { enabled: false, pollMs: 100 } });
    expect((await api.arm('PUT', WS, { location: 'local' })).status).toBe(201);
  });
  afterAll(async () => {
    await runner?.stop();
    await api?.stop();
    await dropSchema(schema);
  });

  const status = async (node: TestServer, name: string) =>
    (await node.arm('GET', `${WS}/jobs/${name}`)).json();
  async function until(node: TestServer, name: string, ok: (s: string) => boolean) {
    for (let i = 0; i < 300; i++) {
      const j = await status(node, name);
      if (ok(j.properties.status)) return j;
      await new Promise((x) => setTimeout(x, 50));
    }
    throw new Error(`job ${name} never got there`);
  }
  const history = (j: { properties: { mlgridRun: { statusHistory: { status: string }[] } } }) =>
    j.properties.mlgridRun.statusHistory.map((h) => h.status);

  it('runs a job accepted by another node, and cancels through that node', async () => {
    expect((await api.arm('PUT', `${WS}/jobs/remote-1`, command('echo hi'))).status).toBe(201);
    const done = await until(api, 'remote-1', (s) => s === 'Completed');
    expect(history(done)).toEqual(['NotStarted', 'Queued', 'Starting', 'Running', 'Finalizing', 'Completed']);

    expect((await api.arm('PUT', `${WS}/jobs/remote-long`, command('sleep 30'))).status).toBe(201);
    await until(api, 'remote-long', (s) => s === 'Running');
    const started = Date.now();
    expect((await api.arm('POST', `${WS}/jobs/remote-long/cancel`)).status).toBe(202);
    const canceled = await until(api, 'remote-long', (s) => s === 'Canceled');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(history(canceled).slice(-2)).toEqual(['CancelRequested', 'Canceled']);
  });

  it('never runs a job twice when several nodes take from the queue', async () => {
    const second = await startTestServer('postgres', { schema, jobs: { pollMs: 50 } });
    try {
      const names = Array.from({ length: 6 }, (_, i) => `twice-${i}`);
      for (const n of names)
        expect((await api.arm('PUT', `${WS}/jobs/${n}`, command('true'))).status).toBe(201);
      for (const n of names) {
        const j = await until(api, n, (s) => s === 'Completed');
        expect(history(j).filter((s: string) => s === 'Starting')).toHaveLength(1);
      }
    } finally {
      await second.stop();
    }
  });

  it('ends the jobs of a node whose lease lapsed, not those of a live one', async () => {
    const ws = (await runner.store.getWorkspace(WS.toLowerCase()))!;
    const forge = async (name: string, leaseUntil: number) => {
      const key = `${ws.key}/jobs/${name}`;
      const at = new Date().toISOString();
      await runner.store.createJob(
        {
          key,
          workspaceKey: ws.key,
          name,
          spec: parseJobPut(command('sleep 30'), { name }),
          status: 'NotStarted',
          statusHistory: [{ status: 'NotStarted', time: at }],
          createdAt: at,
          updatedAt: at,
        },
        () => [],
        Date.now(),
      );
      const step = (status: string, from: string, extra = {}) =>
        runner.store.updateJobStatus(key, { status, from: [from], time: at, ...extra }, () => [], Date.now());
      await step('Queued', 'NotStarted');
      await step('Starting', 'Queued', { setRunner: { runnerId: 'elsewhere/4242/dead', leaseUntil } });
      await step('Running', 'Starting');
    };
    await forge('orphan', Date.now() - 1000);
    await forge('owned', Date.now() + 60_000);
    const ended = await until(api, 'orphan', (s) => s === 'Failed');
    expect(ended.properties.mlgridRun.failureReason).toBe(STOPPED_REASON);
    expect((await status(api, 'owned')).properties.status).toBe('Running');
  });
});
