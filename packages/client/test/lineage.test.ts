/** The SDK's lineage calls and `Run.registerModel` against the real app in process (SQLite). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, LINEAGE_PROPERTIES, MlgridClient, Run } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';

const RG = 'rg-lineage';
const WS = 'ws-lineage';
const C = LINEAGE_PROPERTIES.correlationId;
const K = LINEAGE_PROPERTIES.causationId;

describe('lineage in the SDK', () => {
  let s: TestServer;
  let client: MlgridClient;
  let jobId = '';
  beforeAll(async () => {
    s = await startTestServer('sqlite', { jobs: { enabled: false } });
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    await client.workspaces.create(RG, WS, { location: 'local' });
    jobId = `${client.workspaceId(RG, WS)}/jobs/retrain`;
    await client.jobs.create(RG, WS, 'retrain', {
      properties: {
        jobType: 'Command',
        command: 'python train.py',
        environmentId: 'azureml:env:1',
        properties: { 'mlgrid.runner': 'external', [C]: 'drift-7', [K]: 'drift-7' },
      },
    });
  });
  afterAll(async () => s?.stop());

  it('Run.registerModel names the job and passes the chain on, with the job as the cause', async () => {
    const run = Run.fromEnv({
      MLGRID_SERVER: s.url,
      MLGRID_JOB_ID: jobId,
      MLGRID_KEY: ADMIN_KEY,
      MLGRID_CORRELATION_ID: 'drift-7',
      MLGRID_CAUSATION_ID: 'drift-7', // what submitJob sets in the job's own environment
    });
    expect(run.lineage).toEqual({ correlationId: 'drift-7', causationId: 'drift-7' });
    const mv = (await run.registerModel('churn', '1', {
      properties: { modelUri: 'file:///tmp/model', properties: { owner: 'ds' } },
    })) as unknown as { properties: { jobName: string; properties: Record<string, string> } };
    expect(mv.properties.jobName).toBe('retrain');
    expect(mv.properties.properties).toEqual({ owner: 'ds', [C]: 'drift-7', [K]: jobId });
  });

  it('without the variables, the server inherits from the job the version names', async () => {
    const run = Run.fromEnv({ MLGRID_SERVER: s.url, MLGRID_JOB_ID: jobId, MLGRID_KEY: ADMIN_KEY });
    expect(run.lineage).toBeUndefined();
    const mv = (await run.registerModel('churn', '2', {
      properties: { modelUri: 'file:///tmp/model' },
    })) as unknown as {
      properties: { properties: Record<string, string> };
    };
    expect(mv.properties.properties).toEqual({ [C]: 'drift-7', [K]: jobId });
  });

  it('client.lineage gets a chain by id and from an object', async () => {
    const chain = await client.lineage.get(RG, WS, 'drift-7');
    expect(chain.correlationId).toBe('drift-7');
    expect(chain.objects.map((o) => [o.kind, o.name, o.version])).toEqual([
      ['job', 'retrain', undefined],
      ['modelVersion', 'churn', '1'],
      ['modelVersion', 'churn', '2'],
    ]);
    expect(chain.events.map((e) => [e.type, e.subject, e.causationId])).toEqual([
      ['Microsoft.MachineLearningServices.ModelRegistered', 'models/churn:1', jobId],
      ['Microsoft.MachineLearningServices.ModelRegistered', 'models/churn:2', jobId],
    ]);
    const model = `${client.workspaceId(RG, WS)}/models/churn/versions/2`;
    expect(await client.lineage.of(RG, WS, model)).toEqual(chain);
    const odd = await client.lineage.get(RG, WS, 'a/b').catch((e: unknown) => e);
    expect(odd).toBeInstanceOf(ApiError);
    expect((odd as ApiError).status).toBe(404);
  });
});
