/**
 * Store contract for Command jobs, on both adapters (kept apart from store.contract.test.ts for size): a job's
 * creation and each status change commit with their events (outbox), guarded by compare-and-set.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventToStore, JobRecord, JobStatusPatch, Store } from '../src/store/types.js';
import { storeBackends } from './helpers/stores.js';

const backends = await storeBackends('store jobs contract');
const WS =
  '/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1';
const WS_KEY = WS.toLowerCase();

const ws = (key = WS_KEY) => ({
  key,
  id: WS,
  subscriptionId: 'sub1',
  resourceGroup: 'rg1',
  name: 'ws1',
  workspaceGuid: 'g-1',
  spec: { location: 'local' },
  createdAt: 'c',
  updatedAt: 'u',
});

function job(name: string, createdAt: string, workspaceKey = WS_KEY): Omit<JobRecord, 'sequencer'> {
  return {
    key: `${workspaceKey}/jobs/${name.toLowerCase()}`,
    workspaceKey,
    name,
    spec: { command: `echo ${name}` },
    status: 'NotStarted',
    statusHistory: [{ status: 'NotStarted', time: createdAt }],
    createdAt,
    updatedAt: createdAt,
  };
}

const event = (id: string, body: unknown): EventToStore => ({
  eventId: id,
  sourceKey: WS_KEY,
  eventType: 'Microsoft.MachineLearningServices.RunStatusChanged',
  subject: 'experiments/e/runs/r',
  schema: 'EventGridSchema',
  body: JSON.stringify(body),
  subscriptionKeys: ['sub-key'],
});

const to = (status: string, from: string[], extra: Partial<JobStatusPatch> = {}): JobStatusPatch => ({
  status,
  from,
  time: `t-${status}`,
  ...extra,
});

describe.each(backends)('Store contract (jobs) on $name', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async (ctx) => {
    if (backend.skip) return ctx.skip();
    ({ store, cleanup } = await backend.open());
    await store.putWorkspace(ws());
  });
  afterEach(async () => {
    await cleanup?.();
  });
  const queued = async () =>
    (await store.listDeliveries('sub-key', { limit: 100 })).map((d) => JSON.parse(d.event.body));

  it('creates a job once, with its events, at sequencer 1', async () => {
    const a = await store.createJob(
      job('J1', '2026-01-01'),
      (seq, j) => [event('e1', { seq, s: j.status })],
      5,
    );
    expect(a.created).toBe(true);
    expect(a.job).toMatchObject({ sequencer: 1, status: 'NotStarted', name: 'J1' });
    const again = await store.createJob(
      { ...job('J1', '2026-01-02'), spec: { other: true } },
      () => [event('e2', {})],
      6,
    );
    expect(again.created).toBe(false);
    expect(again.job.spec).toEqual({ command: 'echo J1' });
    expect(await queued()).toEqual([{ seq: 1, s: 'NotStarted' }]);
    expect(await store.getJob(job('J1', '').key)).toEqual(a.job);
  });

  it('changes status by compare-and-set, one sequencer per change, events in the same transaction', async () => {
    const { job: j } = await store.createJob(job('j', '2026-01-01'), () => [], 1);
    const ev = (seq: number, after: JobRecord) => [event(`e${seq}`, { seq, status: after.status })];
    const q = await store.updateJobStatus(j.key, to('Queued', ['NotStarted']), ev, 2);
    expect(q).toMatchObject({
      updated: true,
      job: { status: 'Queued', sequencer: 2, updatedAt: 't-Queued' },
    });
    // The guard refuses a move from a status the job is not in; nothing is written, no event.
    const refused = await store.updateJobStatus(j.key, to('Running', ['Starting']), ev, 3);
    expect(refused).toEqual({ updated: false, job: q.job });
    const s = await store.updateJobStatus(
      j.key,
      to('Starting', ['Queued'], { setRunner: { runnerId: 'r1', leaseUntil: 100 } }),
      ev,
      3,
    );
    expect(s.job).toMatchObject({ runnerId: 'r1', leaseUntil: 100, sequencer: 3 });
    const proc = { host: 'h', pid: 42, startTicks: '7' };
    const running = await store.updateJobStatus(
      j.key,
      to('Running', ['Starting'], { runnerId: 'r1', process: proc, startedAt: 's' }),
      ev,
      4,
    );
    expect(running.job).toMatchObject({ status: 'Running', process: proc, startedAt: 's' });
    // Another runner's claim does not hold.
    expect(
      (await store.updateJobStatus(j.key, to('Failed', ['Running'], { runnerId: 'r2' }), ev, 5)).updated,
    ).toBe(false);
    const failed = await store.updateJobStatus(
      j.key,
      to('Failed', ['Running'], {
        runnerId: 'r1',
        setRunner: null,
        exitCode: 3,
        failureReason: 'exit code 3',
        endedAt: 'e',
      }),
      ev,
      5,
    );
    const done = await store.getJob(j.key);
    expect(done).toEqual(failed.job);
    expect(done).toMatchObject({
      status: 'Failed',
      sequencer: 5,
      exitCode: 3,
      failureReason: 'exit code 3',
      endedAt: 'e',
    });
    expect(done?.runnerId).toBeUndefined();
    expect(done?.leaseUntil).toBeUndefined();
    expect(done?.statusHistory.map((h) => h.status)).toEqual([
      'NotStarted',
      'Queued',
      'Starting',
      'Running',
      'Failed',
    ]);
    expect(done?.statusHistory[1]).toEqual({ status: 'Queued', time: 't-Queued' });
    expect(await queued()).toEqual([
      { seq: 2, status: 'Queued' },
      { seq: 3, status: 'Starting' },
      { seq: 4, status: 'Running' },
      { seq: 5, status: 'Failed' },
    ]);
    expect(await store.updateJobStatus('missing', to('Queued', ['NotStarted']), ev, 6)).toEqual({
      updated: false,
    });
  });

  it('an event that cannot be stored takes the status change down with it', async () => {
    const { job: j } = await store.createJob(job('j', '2026-01-01'), () => [], 1);
    await expect(
      store.updateJobStatus(
        j.key,
        to('Queued', ['NotStarted']),
        () => [{ ...event('x', {}), eventId: null as never }],
        2,
      ),
    ).rejects.toThrow();
    expect(await store.getJob(j.key)).toEqual(j);
    await expect(
      store.createJob(job('k', '2026-01-01'), () => [{ ...event('y', {}), eventId: null as never }], 1),
    ).rejects.toThrow();
    expect(await store.getJob(job('k', '').key)).toBeUndefined();
  });

  it('takes over a job only once its lease lapsed, and renews the leases a runner holds', async () => {
    const { job: j } = await store.createJob(job('j', '2026-01-01'), () => [], 1);
    await store.updateJobStatus(j.key, to('Queued', ['NotStarted']), () => [], 2);
    await store.updateJobStatus(
      j.key,
      to('Starting', ['Queued'], { setRunner: { runnerId: 'r1', leaseUntil: 100 } }),
      () => [],
      3,
    );
    expect(await store.renewJobLeases('r1', 200)).toBe(1);
    expect(await store.renewJobLeases('r2', 999)).toBe(0);
    const takeOver = (at: number) =>
      store.updateJobStatus(j.key, to('Failed', ['Starting'], { leaseExpiredAt: at }), () => [], 4);
    expect((await takeOver(150)).updated).toBe(false);
    expect((await takeOver(201)).updated).toBe(true);
  });

  it('lists by workspace and by status (oldest first), edits the spec, deletes with the workspace', async () => {
    const other = `${WS_KEY}x`;
    await store.putWorkspace({ ...ws(other), id: `${WS}x` });
    await store.createJob(job('b', '2026-01-02'), () => [], 1);
    await store.createJob(job('a', '2026-01-03'), () => [], 1);
    await store.createJob(job('c', '2026-01-01', other), () => [], 1);
    await store.updateJobStatus(job('a', '').key, to('Queued', ['NotStarted']), () => [], 2);
    expect((await store.listJobs(WS_KEY)).map((j) => j.name)).toEqual(['b', 'a']);
    expect((await store.listJobsByStatus(['NotStarted', 'Queued'])).map((j) => j.name)).toEqual([
      'c',
      'b',
      'a',
    ]);
    expect((await store.listJobsByStatus(['Queued'])).map((j) => j.name)).toEqual(['a']);
    expect((await store.listJobsByStatus(['NotStarted', 'Queued'], 2)).map((j) => j.name)).toEqual([
      'c',
      'b',
    ]);
    expect(await store.updateJobSpec(job('b', '').key, { tags: { t: '1' } }, 'later')).toBe(true);
    expect(await store.getJob(job('b', '').key)).toMatchObject({
      spec: { tags: { t: '1' } },
      updatedAt: 'later',
      sequencer: 1,
    });
    expect(await store.deleteJob(job('b', '').key)).toBe(true);
    expect(await store.deleteJob(job('b', '').key)).toBe(false);
    expect(await store.deleteWorkspace(WS_KEY)).toBe(true);
    expect(await store.listJobs(WS_KEY)).toEqual([]);
    expect((await store.listJobs(other)).map((j) => j.name)).toEqual(['c']);
  });
});
