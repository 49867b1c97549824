/** Data assets driven by the real `@azure/arm-machinelearning` client over HTTPS (dataContainers, dataVersions). */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

describe('@azure/arm-machinelearning: data containers and versions', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { tls: true });
  });
  afterAll(async () => s?.stop());

  it('creates, reads back, refuses a changed version, archives, lists and deletes', async () => {
    const script = fileURLToPath(new URL('./fixtures/arm-ml-data-scenario.ts', import.meta.url));
    const fixtures = fileURLToPath(new URL('./fixtures/data', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=mlgrid-source', '--import', 'tsx', script, s.url, ADMIN_KEY, fixtures],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: s.generatedCertPath }, timeout: 60_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    const wsId =
      '/subscriptions/data-sub/resourceGroups/data-rg/providers/Microsoft.MachineLearningServices/workspaces/ws-data';
    expect(out.wsId).toBe(wsId);
    expect(out.container).toEqual({
      id: `${wsId}/data/churn-data`,
      name: 'churn-data',
      dataType: 'uri_file',
      description: 'churn snapshots',
      tags: { team: 'ml' },
      properties: {},
      isArchived: false,
      nextVersion: '1',
    });
    const v1 = {
      id: `${wsId}/data/churn-data/versions/1`,
      name: '1',
      type: 'Microsoft.MachineLearningServices/workspaces/data/versions',
      dataType: 'uri_file',
      dataUri: `file://${fixtures}/baseline.csv`,
      description: 'baseline',
      tags: { window: 'baseline' },
      isArchived: false,
      isAnonymous: false,
    };
    expect(out.v1).toEqual(v1);
    expect(out.got).toEqual(v1);
    expect(out.v2).toMatchObject({ name: '2', dataUri: `file://${fixtures}/target.parquet` });
    // MLTableData: the SDK's polymorphic type carries referencedUris, filled in from the MLTable's paths.
    expect(out.table).toMatchObject({
      dataType: 'mltable',
      dataUri: `file://${fixtures}/table`,
      referencedUris: [`file://${fixtures}/table/data/*.csv`],
    });
    expect(out.gotContainer).toMatchObject({ dataType: 'uri_file', latestVersion: '2', nextVersion: '3' });
    expect(out.refused).toMatchObject({ status: 400, code: 'InvalidRequestContent' });
    expect(out.refused.message).toMatch(/properties\.dataUri: cannot be changed/);
    expect(out.active).toEqual(['1']);
    expect(out.all).toEqual(['1', '2']);
    expect(out.containers).toEqual(['churn-data', 'churn-table']);
    expect(out.afterDelete).toBe(404);
    expect(out.remaining).toEqual(['churn-data']);
  });
});
