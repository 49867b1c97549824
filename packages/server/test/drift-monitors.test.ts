/**
 * Data-drift monitors over real HTTP on SQLite and PostgreSQL, on CSV and Parquet data written here from a
 * seeded generator: a shifted target period raises DatasetDriftDetected (checked with the Azure SDK's
 * deserializer), an identical one does not; reruns replace; backfills; Azure's column typing; failures; the
 * scheduler with an injected clock, two schedulers racing for one period.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoutingIndex } from '../src/core/routing.js';
import { DriftScheduler } from '../src/engine/drift-scheduler.js';
import { Publisher } from '../src/engine/publisher.js';
import { DataAssetService } from '../src/services/data-assets.js';
import { DriftMonitorService } from '../src/services/drift-monitors.js';
import { driftFixtures } from './fixtures/drift-data.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const pgSkip = await skipWithoutPostgres('data-drift monitors');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('data-drift monitors on $backend', ({ backend, skip }) => {
  let s: TestServer;
  const f = driftFixtures();
  const WS = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/dd-${backend}`;
  const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/all`;
  const DD = `${WS}/dataDriftDetectors`;
  const monitor = (extra: Json = {}) => ({
    properties: {
      baselineData: { name: 'base', version: '1' },
      targetData: 'target:1',
      timestampColumn: 'ts',
      frequency: 'Day',
      ...extra,
    },
  });
  const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as Json });
  const events = async () =>
    ((await (await s.arm('GET', `${ES}/deliveries?top=1000`)).json()) as Json).value.map(
      (d: Json) => d.event,
    ) as Json[];

  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend);
    const ws = await s.arm('PUT', WS, {
      location: 'local',
      properties: { mlgridSettings: { failureEvents: true } },
    });
    expect(ws.status).toBe(201);
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } };
    expect((await s.arm('PUT', ES, { properties: { destination: hook } })).status).toBe(201);
    for (const [name, file] of [
      ['base', 'baseline.csv'],
      ['target', 'target.csv'],
      ['targetpq', 'target.parquet'],
      ['tiny', 'tiny.csv'],
    ]) {
      const uri = pathToFileURL(join(f.dir, file!)).href;
      const r = await s.arm('PUT', `${WS}/data/${name}/versions/1`, {
        properties: { dataType: 'uri_file', dataUri: uri },
      });
      expect(r.status, file).toBe(201);
    }
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    f.cleanup();
  });

  it.skipIf(skip)('creates, shows and lists monitors; refuses bad bodies by field', async () => {
    const put = await json(
      await s.arm('PUT', `${DD}/shift`, monitor({ features: ['age', 'income', 'city', 'sparse', 'userid'] })),
    );
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      id: `${DD}/shift`,
      name: 'shift',
      type: 'Microsoft.MachineLearningServices/workspaces/dataDriftDetectors',
      properties: {
        frequency: 'Day',
        threshold: 0.2,
        latencyHours: 0,
        scheduleEnabled: false,
        baseDatasetId: `${WS}/data/base/versions/1`,
        targetDatasetId: `${WS}/data/target/versions/1`,
      },
    });
    expect(put.body.properties.dataDriftId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await s.arm('PUT', `${DD}/same`, monitor())).status).toBe(201);
    expect(
      (await s.arm('PUT', `${DD}/pq`, monitor({ targetData: { name: 'targetpq', version: 1 } }))).status,
    ).toBe(201);
    const list = await json(await s.arm('GET', DD));
    expect(list.body.value.map((m: Json) => m.name)).toEqual(['shift', 'same', 'pq']);

    const bad = async (body: unknown, target: string) => {
      const r = await json(await s.arm('PUT', `${DD}/bad`, body));
      expect(r.status, target).toBe(400);
      expect(r.body.error.target).toBe(target);
    };
    await bad({ properties: { ...monitor().properties, frequency: 'Hour' } }, 'properties.frequency');
    await bad(monitor({ threshold: 1.5 }), 'properties.threshold');
    await bad(monitor({ timestampColumn: 'age' }), 'properties.timestampColumn');
    await bad(monitor({ timestampColumn: 'nope' }), 'properties.timestampColumn');
    await bad(monitor({ baselineData: 'base:9' }), 'properties.baselineData');
    await bad(monitor({ features: Array.from({ length: 201 }, (_, i) => `c${i}`) }), 'properties.features');
    const change = await json(await s.arm('PUT', `${DD}/shift`, monitor({ frequency: 'Week' })));
    expect(change.body.error.target).toBe('properties.frequency');
  });

  it.skipIf(skip)('a shifted period raises DatasetDriftDetected; an identical one does not', async () => {
    const drift = await json(await s.arm('POST', `${DD}/shift/run`, { targetDate: '2025-01-02' }));
    expect(drift.status).toBe(200);
    const p = drift.body.properties;
    expect(p).toMatchObject({
      status: 'Succeeded',
      startTime: '2025-01-02T00:00:00.000Z',
      endTime: '2025-01-03T00:00:00.000Z',
      hasDrift: true,
    });
    expect(p.driftCoefficient).toBeGreaterThan(0.2);
    expect(p.auc).toBeGreaterThan(0.7);
    expect(p.rows).toMatchObject({ baseline: 1200, target: 400 });
    const income = p.features.find((x: Json) => x.name === 'income');
    expect(income).toMatchObject({ kind: 'numeric', inCoefficient: true });
    expect(income.metrics.ks.pValue).toBeLessThan(1e-6);
    expect(income.contribution).toBeGreaterThan(0.2);
    // Azure's typing: a 4-value string is categorical; 30 % missing numbers are profiled but not in the coefficient;
    // a string with a value per row is dropped.
    expect(p.features.find((x: Json) => x.name === 'city')).toMatchObject({
      kind: 'categorical',
      inCoefficient: true,
    });
    expect(p.features.find((x: Json) => x.name === 'city').metrics.euclidean).toBeGreaterThan(0.3);
    expect(p.features.find((x: Json) => x.name === 'sparse')).toMatchObject({
      inCoefficient: false,
      contribution: 0,
    });
    // Evidently-compatible verdicts (> 1000 baseline rows: normed Wasserstein / Jensen–Shannon at ≥ 0.1).
    const verdict = Object.fromEntries(
      p.evidently.columns.map((c: Json) => [c.column, [c.stattest, c.drifted]]),
    );
    expect(verdict.income).toEqual(['wasserstein', true]);
    expect(verdict.city).toEqual(['jensenshannon', true]);
    const reasons = Object.fromEntries(p.skipped.map((x: Json) => [x.name, x.reason]));
    expect(reasons).toEqual({ sparse: 'tooManyNulls', userid: 'highCardinality' });

    const quiet = await json(await s.arm('POST', `${DD}/same/run`, { targetDate: '2025-01-01T13:00:00Z' }));
    expect(quiet.body.properties).toMatchObject({
      status: 'Succeeded',
      hasDrift: false,
      startTime: '2025-01-01T00:00:00.000Z',
    });
    expect(quiet.body.properties.driftCoefficient).toBeLessThanOrEqual(0.2);
    // Default features: every common column but the timestamp.
    expect(quiet.body.properties.features.map((x: Json) => x.name).sort()).toEqual([
      'age',
      'city',
      'income',
      'sparse',
    ]);

    const all = await events();
    const detected = all.filter(
      (e) => e.eventType === 'Microsoft.MachineLearningServices.DatasetDriftDetected',
    );
    expect(detected).toHaveLength(1);
    const [event] = await new EventGridDeserializer().deserializeEventGridEvents(JSON.stringify(detected));
    expect(isSystemEvent('Microsoft.MachineLearningServices.DatasetDriftDetected', event!)).toBe(true);
    expect(event!.subject).toBe(
      `datadrift/${(await json(await s.arm('GET', `${DD}/shift`))).body.properties.dataDriftId}/run/${p.runId}`,
    );
    expect(event!.topic).toBe(WS);
    expect(event!.data).toEqual({
      dataDriftId: expect.any(String),
      dataDriftName: 'shift',
      runId: p.runId,
      baseDatasetId: `${WS}/data/base/versions/1`,
      targetDatasetId: `${WS}/data/target/versions/1`,
      driftCoefficient: p.driftCoefficient,
      startTime: '2025-01-02T00:00:00.000Z',
      endTime: '2025-01-03T00:00:00.000Z',
    });
  });

  it.skipIf(skip)('reads a Parquet target the same way', async () => {
    const hit = await json(await s.arm('POST', `${DD}/pq/run`, { targetDate: '2025-01-02' }));
    expect(hit.body.properties).toMatchObject({ status: 'Succeeded', hasDrift: true, rows: { target: 400 } });
    const miss = await json(
      await s.arm('POST', `${DD}/pq/run`, { startTime: '2025-01-03', endTime: '2025-01-04' }),
    );
    expect(miss.body.properties).toMatchObject({
      status: 'Succeeded',
      hasDrift: false,
      rows: { target: 400 },
    });
  });

  it.skipIf(skip)('a rerun replaces the period’s result; results filter by time', async () => {
    const before = await json(await s.arm('GET', `${DD}/shift/results`));
    const first = before.body.value.find((r: Json) => r.properties.startTime === '2025-01-02T00:00:00.000Z');
    const again = await json(await s.arm('POST', `${DD}/shift/run`, { targetDate: '2025-01-02' }));
    const after = await json(await s.arm('GET', `${DD}/shift/results`));
    const same = after.body.value.filter((r: Json) => r.properties.startTime === '2025-01-02T00:00:00.000Z');
    expect(same).toHaveLength(1);
    expect(same[0].properties.runId).toBe(again.body.properties.runId);
    expect(same[0].properties.runId).not.toBe(first.properties.runId);
    expect(same[0].properties.mlgridRevision).toBe(first.properties.mlgridRevision + 1);
    // Deterministic classifier: same data, same coefficient.
    expect(same[0].properties.driftCoefficient).toBe(first.properties.driftCoefficient);
    const none = await json(await s.arm('GET', `${DD}/shift/results?startTime=2025-02-01T00:00:00Z`));
    expect(none.body.value).toEqual([]);
  });

  it.skipIf(skip)('backfills 3 days into 3 results; more than 31 intervals is a 400', async () => {
    const r = await s.arm('POST', `${DD}/same/backfill`, { startDate: '2025-01-01', endDate: '2025-01-03' });
    expect(r.status).toBe(202);
    const location = r.headers.get('location')!;
    expect(location).toContain(`${DD}/same/backfills/`);
    let op = (await r.json()) as Json;
    expect(op.properties).toMatchObject({ total: 3 });
    while (op.properties.status === 'Running') {
      await new Promise((res) => setTimeout(res, 50));
      op = await (
        await fetch(location, { headers: { authorization: `Bearer test-admin-key-0123456789` } })
      ).json();
    }
    expect(op.properties).toMatchObject({ status: 'Succeeded', completed: 3 });
    expect(op.properties.results.map((x: Json) => x.hasDrift)).toEqual([false, true, false]);
    const results = await json(await s.arm('GET', `${DD}/same/results`));
    expect(results.body.value.map((x: Json) => x.properties.startTime)).toEqual([
      '2025-01-01T00:00:00.000Z',
      '2025-01-02T00:00:00.000Z',
      '2025-01-03T00:00:00.000Z',
    ]);
    expect(results.body.value.map((x: Json) => x.properties.trigger)).toEqual([
      'Backfill',
      'Backfill',
      'Backfill',
    ]);

    const tooMany = await json(
      await s.arm('POST', `${DD}/same/backfill`, { startDate: '2025-01-01', endDate: '2025-02-01' }),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.target).toBe('endDate');
    const ok31 = await s.arm('POST', `${DD}/same/backfill`, {
      startDate: '2025-01-01',
      endDate: '2025-01-31T23:00:00Z',
    });
    expect(ok31.status).toBe(202);
    const badRun = await json(
      await s.arm('POST', `${DD}/same/run`, { startTime: '2025-01-02', endTime: '2025-01-01' }),
    );
    expect(badRun.body.error.target).toBe('endTime');
    expect((await s.arm('POST', `${DD}/nope/run`, { targetDate: '2025-01-01' })).status).toBe(404);
  });

  it.skipIf(skip)(
    'a period with too few rows fails, stored, with DatasetDriftDetectionFailed (opted in)',
    async () => {
      const r = await json(await s.arm('POST', `${DD}/shift/run`, { targetDate: '2025-03-01' }));
      expect(r.status).toBe(200);
      expect(r.body.properties).toMatchObject({ status: 'Failed', error: { code: 'TooFewRows' } });
      expect(r.body.properties.error.message).toContain('target has 0 rows');
      const failed = (await events()).filter(
        (e) => e.eventType === 'MLGrid.MachineLearningServices.DatasetDriftDetectionFailed',
      );
      expect(failed.map((e) => e.data.runId)).toContain(r.body.properties.runId);
      expect(failed.find((e) => e.data.runId === r.body.properties.runId)!.data.errorCode).toBe('TooFewRows');
      // A baseline under 50 rows fails the same way.
      expect((await s.arm('PUT', `${DD}/tinybase`, monitor({ baselineData: 'tiny:1' }))).status).toBe(201);
      const tiny = await json(await s.arm('POST', `${DD}/tinybase/run`, { targetDate: '2025-01-01' }));
      expect(tiny.body.properties.error.message).toContain('baseline has 30 rows');
    },
  );

  it.skipIf(skip)('the scheduler runs a due period once, even with two schedulers racing', async () => {
    const put = await s.arm(
      'PUT',
      `${DD}/sched`,
      monitor({ scheduleEnabled: true, startTime: '2031-03-03', latencyHours: 6 }),
    );
    expect(put.status).toBe(201);
    let clock = new Date('2031-03-04T05:59:00Z');
    const node = () => {
      const svc = new DriftMonitorService(
        s.store,
        new Publisher(s.store, new RoutingIndex()),
        new DataAssetService(s.store),
        pino({ level: 'silent' }),
        () => clock,
      );
      return new DriftScheduler(
        svc,
        pino({ level: 'silent' }),
        { intervalMs: 3_600_000, maxCatchUp: 31 },
        () => clock,
      );
    };
    const [a, b] = [node(), node()];
    expect(await a.tick()).toBe(0); // 2031-03-03 ends at 03-04T00:00, + 6 h latency: not yet
    clock = new Date('2031-03-04T06:00:00Z');
    const ran = await Promise.all([a.tick(), b.tick()]);
    expect(ran[0] + ran[1]).toBe(1);
    let results = (await json(await s.arm('GET', `${DD}/sched/results`))).body.value;
    expect(
      results.map((r: Json) => [r.properties.startTime, r.properties.trigger, r.properties.mlgridRevision]),
    ).toEqual([['2031-03-03T00:00:00.000Z', 'Schedule', 1]]);
    expect(results[0].properties.hasDrift).toBe(false);
    expect(await a.tick()).toBe(0);
    clock = new Date('2031-03-05T07:00:00Z');
    const ran2 = await Promise.all([b.tick(), a.tick()]);
    expect(ran2[0] + ran2[1]).toBe(1);
    results = (await json(await s.arm('GET', `${DD}/sched/results`))).body.value;
    expect(results.map((r: Json) => [r.properties.startTime, r.properties.hasDrift])).toEqual([
      ['2031-03-03T00:00:00.000Z', false],
      ['2031-03-04T00:00:00.000Z', true],
    ]);
    expect((await json(await s.arm('GET', `${DD}/sched`))).body.properties.lastScheduledPeriod).toBe(
      '2031-03-04T00:00:00.000Z',
    );
    await Promise.all([a.stop(), b.stop()]);
  });

  it.skipIf(skip)('caches the prepared baseline per monitor until the monitor changes', async () => {
    const svc = new DriftMonitorService(
      s.store,
      new Publisher(s.store, new RoutingIndex()),
      new DataAssetService(s.store),
      pino({ level: 'silent' }),
    );
    const ref = { subscriptionId: 's', resourceGroup: 'rg', workspace: `dd-${backend}` };
    const one = await svc.run(ref, 'shift', { targetDate: '2025-01-01' });
    const two = await svc.run(ref, 'shift', { targetDate: '2025-01-03' });
    expect([one.properties.status, two.properties.status]).toEqual(['Succeeded', 'Succeeded']);
    expect(svc.stats.baselineReads).toBe(1);
    const put = await s.arm('PUT', `${DD}/shift`, monitor({ threshold: 0.3, features: ['age', 'income'] }));
    expect(put.status).toBe(200);
    const three = await svc.run(ref, 'shift', { targetDate: '2025-01-02' });
    expect(svc.stats.baselineReads).toBe(2);
    expect(three.properties.features!.map((f) => f.name)).toEqual(['age', 'income']);
    expect(three.properties.threshold).toBe(0.3);
  });

  it.skipIf(skip)('deletes a monitor with its results', async () => {
    expect((await s.arm('DELETE', `${DD}/tinybase`)).status).toBe(200);
    expect((await s.arm('GET', `${DD}/tinybase`)).status).toBe(404);
    expect((await s.arm('GET', `${DD}/tinybase/results`)).status).toBe(404);
    expect((await s.arm('DELETE', `${DD}/tinybase`)).status).toBe(204);
  });
});
