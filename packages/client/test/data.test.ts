/** `client.data` against the real app in process (SQLite) on the server's committed CSV/Parquet fixtures. */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { BASELINE, TABLE, TARGET } from '../../server/test/fixtures/data/source.js';

const RG = 'rg-data';
const WS = 'ws-data';
const FIX = fileURLToPath(new URL('../../server/test/fixtures/data/', import.meta.url));
const uri = (rel: string) => pathToFileURL(join(FIX, rel)).href;

describe('MlgridClient data assets', () => {
  let s: TestServer;
  let client: MlgridClient;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    await client.workspaces.create(RG, WS, { location: 'local' });
  });
  afterAll(async () => s?.stop());

  it('registers versions with their summary, numbered by registerNext', async () => {
    const c = await client.data.createContainer(RG, WS, 'churn', {
      properties: { dataType: 'uri_file', description: 'snapshots' },
    });
    expect(c.properties).toMatchObject({ dataType: 'uri_file', nextVersion: '1' });
    const v1 = await client.data.registerNext(RG, WS, 'churn', {
      properties: { dataType: 'uri_file', dataUri: uri('baseline.csv'), tags: { window: 'baseline' } },
    });
    const v2 = await client.data.registerNext(RG, WS, 'churn', {
      properties: { dataType: 'uri_file', dataUri: join(FIX, 'target.parquet') },
    });
    expect([v1.name, v2.name]).toEqual(['1', '2']);
    expect(v1.properties.mlgridSummary).toMatchObject({ fileCount: 1, rowCount: BASELINE.length });
    expect(v2.properties).toMatchObject({
      dataUri: uri('target.parquet'),
      mlgridSummary: { rowCount: TARGET.length },
    });
    expect(v2.properties.mlgridSummary.columns.map((col) => col.type)).toEqual([
      'timestamp',
      'integer',
      'number',
      'string',
      'boolean',
    ]);
    expect((await client.data.getVersion(RG, WS, 'churn', '1')).properties.tags).toEqual({
      window: 'baseline',
    });
    expect((await client.data.getContainer(RG, WS, 'churn')).properties.latestVersion).toBe('2');

    const fresh = await client.data.registerNext(RG, WS, 'table', {
      properties: { dataType: 'mltable', dataUri: uri('table') },
    });
    expect(fresh).toMatchObject({
      name: '1',
      properties: { referencedUris: [uri('table/data/*.csv')], mlgridSummary: { rowCount: TABLE.length } },
    });
  });

  it('archives, lists by view, and deletes', async () => {
    await client.data.archiveVersion(RG, WS, 'churn', '1');
    expect((await client.data.listVersions(RG, WS, 'churn')).map((v) => v.name)).toEqual(['2']);
    const all = await client.data.listVersions(RG, WS, 'churn', { listViewType: 'All' });
    expect(all.map((v) => [v.name, v.properties.isArchived])).toEqual([
      ['1', true],
      ['2', false],
    ]);
    await client.data.archiveVersion(RG, WS, 'churn', '1', false);
    expect((await client.data.listVersions(RG, WS, 'churn')).map((v) => v.name)).toEqual(['1', '2']);
    expect((await client.data.listContainers(RG, WS)).map((c) => c.name)).toEqual(['churn', 'table']);
    expect(await client.data.deleteVersion(RG, WS, 'churn', '2')).toBe(true);
    expect(await client.data.deleteVersion(RG, WS, 'churn', '2')).toBe(false);
    expect(await client.data.deleteContainer(RG, WS, 'table')).toBe(true);
    expect((await client.data.listContainers(RG, WS)).map((c) => c.name)).toEqual(['churn']);
  });

  it('throws ApiError naming the field for data that is not there', async () => {
    const err = await client.data
      .register(RG, WS, 'bad', '1', { properties: { dataType: 'uri_file', dataUri: '/no/such/file.csv' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, target: 'properties.dataUri' });
    expect((err as ApiError).message).toMatch(/properties\.dataUri.*does not exist/);
  });
});
