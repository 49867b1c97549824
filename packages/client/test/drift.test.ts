/** `client.dataDrift` against a real server (SQLite) on seeded CSV data: create, run, backfill, results. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient, type DataDriftBackfillOut } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { driftFixtures } from '../../server/test/fixtures/drift-data.js';

const RG = 'rg-drift';
const WS = 'ws-drift';

describe('MlgridClient data-drift monitors', () => {
  let s: TestServer;
  let client: MlgridClient;
  const f = driftFixtures();
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    await client.workspaces.create(RG, WS, { location: 'local' });
    for (const [name, file] of [
      ['base', 'baseline.csv'],
      ['target', 'target.csv'],
    ] as const) {
      const dataUri = pathToFileURL(join(f.dir, file)).href;
      await client.data.register(RG, WS, name, '1', { properties: { dataType: 'uri_file', dataUri } });
    }
  });
  afterAll(async () => {
    await s?.stop();
    f.cleanup();
  });

  it('creates a monitor, runs a shifted day, backfills with progress and reads the results', async () => {
    const m = await client.dataDrift.create(RG, WS, 'churn', {
      properties: {
        baselineData: { name: 'base', version: '1' },
        targetData: 'target:1',
        timestampColumn: 'ts',
        frequency: 'Day',
        features: ['age', 'income', 'city'],
      },
    });
    expect(m.properties).toMatchObject({ threshold: 0.2, features: ['age', 'income', 'city'] });
    expect((await client.dataDrift.list(RG, WS)).map((x) => x.name)).toEqual(['churn']);

    const r = await client.dataDrift.run(RG, WS, 'churn', { targetDate: '2025-01-02' });
    expect(r.properties.hasDrift).toBe(true);
    expect(r.properties.driftCoefficient).toBeGreaterThan(0.2);

    const seen: DataDriftBackfillOut[] = [];
    const op = await client.dataDrift.backfillAndWait(
      RG,
      WS,
      'churn',
      { startDate: '2025-01-01', endDate: '2025-01-03' },
      { pollMs: 20, onProgress: (o) => seen.push(o) },
    );
    expect(op.properties).toMatchObject({ status: 'Succeeded', total: 3, completed: 3 });
    expect(seen[0]!.properties.status).toBe('Running');
    const results = await client.dataDrift.results(RG, WS, 'churn');
    expect(results.map((x) => [x.name, x.properties.hasDrift])).toEqual([
      ['20250101T000000Z', false],
      ['20250102T000000Z', true],
      ['20250103T000000Z', false],
    ]);
    expect(results[1]!.properties.mlgridRevision).toBe(2); // the backfill replaced the ad-hoc run's result
    const window = await client.dataDrift.results(RG, WS, 'churn', {
      startTime: '2025-01-02T00:00:00Z',
      endTime: '2025-01-03T00:00:00Z',
    });
    expect(window.map((x) => x.name)).toEqual(['20250102T000000Z']);

    const err = await client.dataDrift
      .backfill(RG, WS, 'churn', { startDate: '2025-01-01', endDate: '2025-03-01' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect(await client.dataDrift.delete(RG, WS, 'churn')).toBe(true);
    expect(await client.dataDrift.delete(RG, WS, 'churn')).toBe(false);
  });
});
