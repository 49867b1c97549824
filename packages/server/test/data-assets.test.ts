/** Data assets over real HTTP on both stores: registration with its summary, immutability, lists, bad input. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataAssetService } from '../src/services/data-assets.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { BASELINE, PARTS, TABLE, TARGET } from './fixtures/data/source.js';

const pgSkip = await skipWithoutPostgres('data assets');
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-d';
const FIX = fileURLToPath(new URL('./fixtures/data/', import.meta.url));
const uri = (rel: string) => pathToFileURL(join(FIX, rel)).href;
const COLUMNS = [
  { name: 'ts', type: 'timestamp' },
  { name: 'age', type: 'integer' },
  { name: 'income', type: 'number' },
  { name: 'city', type: 'string' },
  { name: 'active', type: 'boolean' },
];

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('data assets API on $backend', ({ backend, skip }) => {
  let s: TestServer;
  const tmp = tempDir('mlgrid-data-');
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend);
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    tmp.cleanup();
  });
  const put = (path: string, properties: Record<string, unknown>) =>
    s.arm('PUT', `${WS}/data/${path}`, { properties });
  const error = async (r: Response) => {
    expect(r.status).toBe(400);
    return (await r.json()).error as { code: string; message: string; target: string };
  };

  it.skipIf(skip)(
    'registers a CSV file with its summary and creates the container of the same dataType',
    async () => {
      const r = await put('baseline/versions/1', {
        dataType: 'uri_file',
        dataUri: join(FIX, 'baseline.csv'), // an absolute path, normalised to file://
        description: 'reference window',
        tags: { stage: 'baseline' },
      });
      expect(r.status).toBe(201);
      const v = await r.json();
      expect(v).toMatchObject({
        id: `${WS}/data/baseline/versions/1`,
        name: '1',
        type: 'Microsoft.MachineLearningServices/workspaces/data/versions',
        properties: {
          dataType: 'uri_file',
          dataUri: uri('baseline.csv'),
          description: 'reference window',
          tags: { stage: 'baseline' },
          properties: {},
          isAnonymous: false,
          isArchived: false,
          mlgridSummary: { fileCount: 1, rowCount: BASELINE.length, columns: COLUMNS },
        },
      });
      expect(v.properties.mlgridSummary.sizeBytes).toBeGreaterThan(0);
      const c = await (await s.arm('GET', `${WS}/data/baseline`)).json();
      expect(c).toMatchObject({
        id: `${WS}/data/baseline`,
        type: 'Microsoft.MachineLearningServices/workspaces/data',
        properties: { dataType: 'uri_file', latestVersion: '1', nextVersion: '2', isArchived: false },
      });
      expect((await s.arm('GET', `${WS}/data/baseline/versions/1`)).status).toBe(200);

      // What drift monitors do: open the registered version and read a window of it.
      const ref = { subscriptionId: 's', resourceGroup: 'rg', workspace: 'ws-d' };
      const ds = await new DataAssetService(s.store).openVersion(ref, 'Baseline', '1');
      expect(await ds.columns()).toEqual(COLUMNS);
      const start = BASELINE[2]!.ts;
      const got = await ds.readColumns(['age'], {
        where: { column: 'ts', start, end: start + 3 * 3_600_000 },
      });
      expect(got.columns.get('age')!.values).toEqual(
        Float64Array.from(BASELINE.slice(2, 5).map((r) => r.age)),
      );
    },
  );

  it.skipIf(skip)('describes Parquet files, folders of parts and MLTable folders', async () => {
    const pq = await (
      await put('target/versions/1', { dataType: 'uri_file', dataUri: uri('target.parquet') })
    ).json();
    expect(pq.properties.mlgridSummary).toMatchObject({
      fileCount: 1,
      rowCount: TARGET.length,
      columns: COLUMNS,
    });
    const folder = await (
      await put('parts/versions/1', { dataType: 'uri_folder', dataUri: uri('parts') })
    ).json();
    expect(folder.properties.mlgridSummary).toMatchObject({
      fileCount: 3,
      rowCount: PARTS.length,
      columns: COLUMNS,
    });
    const r = await put('table/versions/1', { dataType: 'mltable', dataUri: `${uri('table')}/` });
    expect(r.status).toBe(201);
    const table = await r.json();
    expect(table.properties).toMatchObject({
      dataUri: uri('table'),
      referencedUris: [uri('table/data/*.csv')],
      mlgridSummary: { fileCount: 2, rowCount: TABLE.length, columns: COLUMNS },
    });
  });

  it.skipIf(skip)('a registered version changes only its description, tags and archive flag', async () => {
    const base = { dataType: 'uri_file', dataUri: uri('baseline.csv'), tags: { stage: 'baseline' } };
    expect((await put('immutable/versions/1', base)).status).toBe(201);
    const again = await put('immutable/versions/1', { ...base, tags: { stage: 'gold' }, description: 'now' });
    expect(again.status).toBe(200);
    expect((await again.json()).properties).toMatchObject({ tags: { stage: 'gold' }, description: 'now' });
    const moved = await error(await put('immutable/versions/1', { ...base, dataUri: uri('target.parquet') }));
    expect(moved.target).toBe('properties.dataUri');
    expect(moved.message).toMatch(/cannot be changed/);
    const props = await error(await put('immutable/versions/1', { ...base, properties: { a: 'b' } }));
    expect(props.target).toBe('properties.properties');
    // A GET body PUT back (with mlgrid's read-only summary) is accepted as is.
    const got = await (await s.arm('GET', `${WS}/data/immutable/versions/1`)).json();
    expect((await s.arm('PUT', `${WS}/data/immutable/versions/1`, got)).status).toBe(200);
    const other = await error(
      await put('immutable/versions/2', { dataType: 'uri_folder', dataUri: uri('parts') }),
    );
    expect(other).toMatchObject({ target: 'properties.dataType' });
    expect(other.message).toMatch(/uri_file/);
  });

  it.skipIf(skip)('refuses bad input naming the field, and data that is missing or unreadable', async () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ['bad/versions/1', { dataUri: uri('baseline.csv') }, 'properties.dataType', /required/],
      [
        'bad/versions/1',
        { dataType: 'uri_blob', dataUri: uri('baseline.csv') },
        'properties.dataType',
        /one of/,
      ],
      ['bad/versions/1', { dataType: 'uri_file' }, 'properties.dataUri', /required/],
      [
        'bad/versions/1',
        { dataType: 'uri_file', dataUri: 'azureml://datastores/workspaceblobstore/paths/x.csv' },
        'properties.dataUri',
        /azureml:\/\/.*local/,
      ],
      [
        'bad/versions/1',
        { dataType: 'uri_file', dataUri: 'https://x.test/a.csv' },
        'properties.dataUri',
        /https/,
      ],
      ['bad/versions/1', { dataType: 'uri_file', dataUri: 'data/a.csv' }, 'properties.dataUri', /absolute/],
      [
        'bad/versions/1',
        { dataType: 'uri_file', dataUri: uri('parts/notes.txt') },
        'properties.dataUri',
        /\.csv/,
      ],
      [
        'bad/versions/1',
        { dataType: 'uri_file', dataUri: uri('nope.csv') },
        'properties.dataUri',
        /nope\.csv does not exist/,
      ],
      [
        'bad/versions/1',
        { dataType: 'uri_folder', dataUri: uri('baseline.csv') },
        'properties.dataUri',
        /not a folder/,
      ],
      [
        'bad/versions/1',
        { dataType: 'mltable', dataUri: uri('parts') },
        'properties.dataUri',
        /no MLTable file/,
      ],
      [
        'bad/versions/1',
        { dataType: 'uri_file', dataUri: uri('baseline.csv'), tags: { a: 1 } },
        'properties.tags.a',
        /string/,
      ],
      ['bad.name/versions/1', { dataType: 'uri_file', dataUri: uri('baseline.csv') }, 'name', /letters/],
    ];
    for (const [path, props, target, message] of cases) {
      const e = await error(await put(path, props));
      expect({ path, target: e.target }).toEqual({ path, target });
      expect(e.message).toMatch(message);
    }
    writeFileSync(join(tmp.dir, 'broken.csv'), 'a,b\n1,"unclosed\n');
    const broken = await error(
      await put('bad/versions/1', { dataType: 'uri_file', dataUri: join(tmp.dir, 'broken.csv') }),
    );
    expect(broken.target).toBe('properties.dataUri');
    expect(broken.message).toContain('broken.csv');
    writeFileSync(join(tmp.dir, 'junk.parquet'), 'not parquet at all');
    const junk = await error(
      await put('bad/versions/1', { dataType: 'uri_file', dataUri: join(tmp.dir, 'junk.parquet') }),
    );
    expect(junk.message).toMatch(/junk\.parquet: not a readable Parquet file/);
    expect((await s.arm('GET', `${WS}/data/bad`)).status).toBe(404); // nothing half-registered
    expect((await s.arm('PUT', `${WS}/data/c1`, { properties: {} })).status).toBe(400);
    expect((await s.arm('PATCH', `${WS}/data/baseline/versions/1`, {})).status).toBe(405);
    expect((await s.arm('PUT', `${WS}-missing/data/x/versions/1`, { properties: {} })).status).toBe(404);
  });

  it.skipIf(skip)(
    'lists hide archived data unless listViewType asks; deletes cascade; no event is raised',
    async () => {
      const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } };
      const es = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/everything`;
      expect((await s.arm('PUT', es, { properties: { destination: hook } })).status).toBe(201);
      const c = await s.arm('PUT', `${WS}/data/listed`, {
        properties: { dataType: 'uri_folder', description: 'parts' },
      });
      expect(c.status).toBe(201);
      expect((await c.json()).properties).toMatchObject({ dataType: 'uri_folder', nextVersion: '1' });
      for (const v of ['1', '2', '10']) {
        expect(
          (await put(`listed/versions/${v}`, { dataType: 'uri_folder', dataUri: uri('parts') })).status,
        ).toBe(201);
      }
      const archived = await put('listed/versions/2', {
        dataType: 'uri_folder',
        dataUri: uri('parts'),
        isArchived: true,
      });
      expect(archived.status).toBe(200);
      const names = async (q = '') =>
        (await (await s.arm('GET', `${WS}/data/listed/versions${q}`)).json()).value.map(
          (v: { name: string }) => v.name,
        );
      expect(await names()).toEqual(['1', '10']);
      expect(await names('?listViewType=All')).toEqual(['1', '2', '10']);
      expect(await names('?listViewType=ArchivedOnly')).toEqual(['2']);
      expect((await error(await s.arm('GET', `${WS}/data/listed/versions?listViewType=some`))).target).toBe(
        'listViewType',
      );
      const container = await (await s.arm('GET', `${WS}/data/listed`)).json();
      expect(container.properties).toMatchObject({ latestVersion: '10', nextVersion: '11' });
      const all = (await (await s.arm('GET', `${WS}/data`)).json()).value.map(
        (x: { name: string }) => x.name,
      );
      expect(all).toEqual(expect.arrayContaining(['baseline', 'target', 'parts', 'table', 'listed']));

      expect((await s.arm('DELETE', `${WS}/data/listed/versions/1`)).status).toBe(200);
      expect((await s.arm('DELETE', `${WS}/data/listed/versions/1`)).status).toBe(204);
      expect((await s.arm('GET', `${WS}/data/listed/versions/1`)).status).toBe(404);
      expect((await s.arm('DELETE', `${WS}/data/listed`)).status).toBe(200);
      expect((await s.arm('GET', `${WS}/data/listed/versions/10`)).status).toBe(404);
      expect((await (await s.arm('GET', `${es}/deliveries`)).json()).value).toEqual([]);

      expect((await s.arm('DELETE', WS)).status).toBe(200);
      expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
      expect((await s.arm('GET', `${WS}/data/baseline`)).status).toBe(404);
    },
  );
});
