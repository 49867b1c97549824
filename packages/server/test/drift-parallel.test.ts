/**
 * Drift runs with the classifier on two threads (MLGRID_DRIFT_THREADS): the drift worker starts a classifier
 * worker of its own (nested worker threads), the result is bit-identical to the serial run, the classifier
 * worker really runs folds, and closing the server ends every thread it started (counted by the OS).
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { driftThreads } from '../src/config.js';
import { MlgridError } from '../src/core/errors.js';
import type { ClassifierTable } from '../src/core/drift/classifier.js';
import { scenarioTables, type Scenario } from '../src/core/drift/classifier-scenarios.js';
import { computeDrift, prepareBaseline, type ReadColumn, type ReadSide } from '../src/core/drift-run.js';
import { DriftWorker } from '../src/services/drift-compute.js';
import { driftFixtures } from './fixtures/drift-data.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A seeded scenario as the reader would hand it over: numbers, categories as strings, some values missing. */
function readSide(t: ClassifierTable): ReadSide {
  const columns = new Map<string, ReadColumn>();
  for (const c of t.columns) {
    if (c.kind === 'numeric') {
      const values = Float64Array.from(c.values);
      if (c.name === 'x2') for (let i = 0; i < values.length; i += 13) values[i] = NaN;
      columns.set(c.name, { name: c.name, kind: 'number', values });
    } else columns.set(c.name, { name: c.name, kind: 'string', values: Array.from(c.codes, (k) => `k${k}`) });
  }
  return { rowCount: t.rows, columns };
}

const scenario: Scenario = {
  name: 'parallel',
  seed: 2024,
  rows: 4000,
  numeric: 4,
  categories: { baseline: [0.5, 0.3, 0.2], target: [0.4, 0.3, 0.3] },
  shift: { kind: 'mean', feature: 1, amount: 0.6 },
};

describe('DriftWorker with two classifier threads', () => {
  const [a, b] = scenarioTables(scenario);
  const baseline = prepareBaseline(readSide(a), { skipped: [] });
  const target = readSide(b);
  let serial: ReturnType<typeof computeDrift>;
  beforeAll(() => {
    serial = computeDrift(baseline, target);
  });

  it('gives exactly the serial result, and the classifier worker ran folds', async () => {
    // The scenario is not degenerate: a shift the classifier sees, contributions spread over features.
    expect(serial.driftCoefficient).toBeGreaterThan(0.2);
    expect(serial.features.filter((f) => f.contribution > 0).length).toBeGreaterThan(1);
    const w = new DriftWorker({ threads: 2 });
    try {
      // The classifier worker starts with the first run and may miss its folds; the second run finds it warm.
      for (const run of [1, 2]) {
        const r = await w.compute(baseline, target);
        expect(r.driftCoefficient, `run ${run}`).toBe(serial.driftCoefficient);
        expect(r.auc, `run ${run}`).toBe(serial.auc);
        expect(r.mcc, `run ${run}`).toBe(serial.mcc);
        expect(r.features.map((f) => [f.name, f.contribution])).toEqual(
          serial.features.map((f) => [f.name, f.contribution]),
        );
        expect(r).toStrictEqual(serial);
      }
      expect(w.lastRun?.threads).toBe(2);
      expect(w.lastRun?.workerFolds).toBeGreaterThan(0);
      expect(w.lastRun?.workerFolds).toBeLessThanOrEqual(5);
    } finally {
      await w.close();
    }
  });

  it('with one thread runs serially in the drift worker, same result', async () => {
    const w = new DriftWorker({ threads: 1 });
    try {
      expect(await w.compute(baseline, target)).toStrictEqual(serial);
      expect(w.lastRun).toEqual({ threads: 1, workerFolds: 0 });
    } finally {
      await w.close();
    }
  });
});

describe('MLGRID_DRIFT_THREADS', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('defaults to min(2, cores); takes 1 to 64; refuses anything else, naming the variable', () => {
    vi.stubEnv('MLGRID_DRIFT_THREADS', '');
    expect(driftThreads()).toBe(Math.min(2, availableParallelism()));
    vi.stubEnv('MLGRID_DRIFT_THREADS', '1');
    expect(driftThreads()).toBe(1);
    expect(driftThreads('64')).toBe(64);
    for (const bad of ['0', '65', '1.5', 'two', '-2']) {
      expect(() => driftThreads(bad), bad).toThrow(MlgridError);
      expect(() => driftThreads(bad), bad).toThrow(
        /MLGRID_DRIFT_THREADS: must be a whole number from 1 to 64/,
      );
    }
  });
});

/** OS threads of this process (Linux). */
const threadCount = () => readdirSync('/proc/self/task').length;

describe.skipIf(process.platform !== 'linux')('monitor runs on servers with 1 and 2 drift threads', () => {
  const f = driftFixtures();
  const servers: TestServer[] = [];
  const WS = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-parallel`;
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    f.cleanup();
  });

  async function serverWithMonitor(threads: number): Promise<TestServer> {
    const s = await startTestServer('sqlite', { drift: { threads } });
    servers.push(s);
    expect((await s.arm('PUT', WS, { location: 'local', properties: {} })).status).toBe(201);
    for (const name of ['baseline', 'target']) {
      const uri = pathToFileURL(join(f.dir, `${name}.csv`)).href;
      const r = await s.arm('PUT', `${WS}/data/${name}/versions/1`, {
        properties: { dataType: 'uri_file', dataUri: uri },
      });
      expect(r.status).toBe(201);
    }
    const body = {
      properties: {
        baselineData: 'baseline:1',
        targetData: 'target:1',
        timestampColumn: 'ts',
        frequency: 'Day',
      },
    };
    expect((await s.arm('PUT', `${WS}/dataDriftDetectors/shift`, body)).status).toBe(201);
    return s;
  }

  const run = async (s: TestServer) => {
    const r = await s.arm('POST', `${WS}/dataDriftDetectors/shift/run`, { targetDate: '2025-01-02' });
    expect(r.status).toBe(200);
    const p = (await r.json()).properties as Json;
    // The statistics only (not ids and clock times).
    const { status, driftCoefficient, mcc, auc, rows, features, skipped, evidently } = p;
    return { status, driftCoefficient, mcc, auc, rows, features, skipped, evidently };
  };

  it('the 2-thread server starts a classifier worker, matches the serial server bit for bit, and leaks no thread', async () => {
    const serial = await serverWithMonitor(1);
    const parallel = await serverWithMonitor(2);
    await readFile(fileURLToPath(import.meta.url)); // libuv's thread pool is up before counting
    const before = threadCount();
    const p = await run(parallel);
    const afterParallel = threadCount();
    const s = await run(serial);
    const afterSerial = threadCount();
    expect(p.status).toBe('Succeeded');
    expect(p.driftCoefficient).toBeGreaterThan(0.2);
    // JSON numbers round-trip exactly: equal JSON is the same doubles.
    expect(JSON.stringify(p)).toBe(JSON.stringify(s));
    // The serial server added its drift worker; the 2-thread one the drift worker and a classifier worker,
    // each as many OS threads (one per worker, plus its loader-hooks thread when running from source).
    const one = afterSerial - afterParallel;
    expect(one).toBeGreaterThanOrEqual(1);
    expect(afterParallel - before).toBe(2 * one);

    // Stopping a server also ends its store's claim reader thread (started before `before` was counted),
    // so the counts may fall below these bounds; none may stay above them.
    await parallel.stop();
    servers.splice(servers.indexOf(parallel), 1);
    expect(
      await until(
        async () => threadCount(),
        (n) => n <= before + one,
      ),
    ).toBeLessThanOrEqual(before + one);
    await serial.stop();
    servers.splice(servers.indexOf(serial), 1);
    expect(
      await until(
        async () => threadCount(),
        (n) => n <= before,
      ),
    ).toBeLessThanOrEqual(before);
  });
});
