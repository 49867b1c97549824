/** The `mlgrid` CLI as a user runs it (a real process, through bash), against a running server. */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/cli-topic`;

describe('mlgrid CLI end to end', () => {
  let s: TestServer;
  const bin = tempDir('mlgrid-bin-');
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    // A `mlgrid` on PATH, as `npm install` links it, running the sources.
    writeFileSync(
      `${bin.dir}/mlgrid`,
      `#!/bin/sh\nexec "${process.execPath}" --conditions=mlgrid-source --import tsx "${MAIN}" "$@"\n`,
    );
    chmodSync(`${bin.dir}/mlgrid`, 0o755);
  });
  afterAll(async () => {
    await s?.stop();
    bin.cleanup();
  });

  async function sh(
    script: string,
    key = ADMIN_KEY,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)('bash', ['-c', script], {
        env: {
          ...process.env,
          PATH: `${bin.dir}:${process.env.PATH}`,
          MLGRID_SERVER: s.url,
          MLGRID_KEY: key,
        },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it("runs the seed document's example command as written (az → mlgrid)", async () => {
    // Verbatim from the seed, placeholders filled in; note the ` \` inside the quoted resource id.
    const ws = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
    expect((await s.arm('PUT', ws, { location: 'local' })).status).toBe(201); // the source must exist
    const r = await sh(`mlgrid eventgrid event-subscription create \\
  --name model-registered \\
  --source-resource-id "/subscriptions/${SUB}/resourceGroups/rg1/ \\providers/Microsoft.MachineLearningServices/workspaces/ws1" \\
  --endpoint https://hooks.example.test/ml \\
  --included-event-types Microsoft.MachineLearningServices.ModelRegistered \\
  --subject-begins-with "models/mymodelname"`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    const out = JSON.parse(r.stdout);
    expect(out.id).toBe(`${ws}/providers/Microsoft.EventGrid/eventSubscriptions/model-registered`);
    const got = await (
      await s.arm('GET', `${ws}/providers/Microsoft.EventGrid/eventSubscriptions/model-registered`)
    ).json();
    expect(got.properties.filter).toMatchObject({
      includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'],
      subjectBeginsWith: 'models/mymodelname',
    });
  });

  it('creates a topic and a filtered subscription; publishing queues exactly the matching events', async () => {
    const created = await sh(
      'mlgrid eventgrid topic create --name cli-topic --resource-group rg1 --location local',
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      id: TOPIC,
      properties: { endpoint: `${s.url}/topics/cli-topic/api/events` },
    });
    const keys = JSON.parse(
      (await sh('mlgrid eventgrid topic key list --name cli-topic --resource-group rg1')).stdout,
    );
    expect(keys.key1).toBeTypeOf('string');

    const sub =
      await sh(`mlgrid eventgrid event-subscription create --name drift-high --source-resource-id ${TOPIC} \\
      --endpoint "https://hooks.example.test/drift?code=secret1" \\
      --included-event-types Microsoft.MachineLearningServices.DatasetDriftDetected \\
      --advanced-filter data.driftCoefficient NumberGreaterThan 0.5 \\
      --advanced-filter data.runType StringIn automl pipelinerun \\
      --advanced-filter data.band NumberInRange 1,5 10,20 \\
      --max-delivery-attempts 10 --event-ttl 60 --labels team-a nightly`);
    expect(sub.stderr).toBe('');
    expect(sub.code).toBe(0);
    expect(sub.stdout).not.toContain('secret1');

    const ev = (id: string, data: object) => ({
      id,
      eventType: 'Microsoft.MachineLearningServices.DatasetDriftDetected',
      subject: `datadrift/d1/run/${id}`,
      eventTime: '2026-01-01T00:00:00Z',
      data,
    });
    const res = await fetch(`${s.url}/topics/cli-topic/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': keys.key1 },
      body: JSON.stringify([
        ev('yes', { driftCoefficient: 0.7, runType: 'AutoML', band: 12 }),
        ev('low', { driftCoefficient: 0.2, runType: 'automl', band: 12 }),
        ev('type', { driftCoefficient: 0.9, runType: 'manual', band: 3 }),
        ev('band', { driftCoefficient: 0.9, runType: 'pipelinerun', band: 7 }),
      ]),
    });
    expect(res.status).toBe(200);
    const queued = await (
      await s.arm('GET', `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/drift-high/deliveries`)
    ).json();
    expect(queued.value.map((d: { event: { id: string } }) => d.event.id)).toEqual(['yes']);

    const full = await sh(
      `mlgrid eventgrid event-subscription show --name drift-high --source-resource-id ${TOPIC} --include-full-endpoint-url`,
    );
    expect(JSON.parse(full.stdout).properties.destination.properties.endpointUrl).toBe(
      'https://hooks.example.test/drift?code=secret1',
    );
    const table = await sh(`mlgrid eventgrid event-subscription list --source-resource-id ${TOPIC} -o table`);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('drift-high');
    expect(table.stdout).not.toContain('{');

    const upd = await sh(
      `mlgrid eventgrid event-subscription update --name drift-high --source-resource-id ${TOPIC} --subject-begins-with datadrift/d2`,
    );
    expect(upd.code).toBe(0);
    expect(JSON.parse(upd.stdout).properties.filter.subjectBeginsWith).toBe('datadrift/d2');
    expect(JSON.parse(upd.stdout).properties.filter.advancedFilters).toHaveLength(3);

    expect(
      (await sh(`mlgrid eventgrid event-subscription delete --name drift-high --source-resource-id ${TOPIC}`))
        .code,
    ).toBe(0);
    expect((await sh('mlgrid eventgrid topic delete --name cli-topic --resource-group rg1')).code).toBe(0);
  });

  it('reports server errors and bad credentials with exit code 1, never echoing the key', async () => {
    const bad = await sh(
      `mlgrid eventgrid event-subscription create --name sub-x --source-resource-id ${TOPIC}-missing --endpoint https://h.test/`,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ResourceNotFound/);
    const limits = await sh(
      `mlgrid eventgrid event-subscription create --name sub-x2 --source-resource-id /subscriptions/${SUB}/resourceGroups/rg1 --endpoint https://h.test/ --max-delivery-attempts 99`,
    );
    expect(limits.code).toBe(1);
    expect(limits.stderr).toContain('--max-delivery-attempts');
    const unauth = await sh('mlgrid eventgrid topic list', 'not-the-key-123');
    expect(unauth.code).toBe(1);
    expect(unauth.stderr).toContain('Unauthorized');
    expect(unauth.stderr + unauth.stdout).not.toContain('not-the-key-123');
  });
});
