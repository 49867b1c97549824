/** The scenario with the CLI: workspace, a tag-filtered subscription, model registrations, the event. */
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const WS = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1`;

describe('mlgrid ml CLI end to end', () => {
  let s: TestServer;
  const bin = tempDir('mlgrid-bin-');
  beforeAll(async () => {
    s = await startTestServer('sqlite', { delivery: { timeScale: 0.001, pollMs: 20 } });
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
  const sh = async (script: string) => {
    const { stdout } = await promisify(execFile)('bash', ['-c', `set -e\n${script}`], {
      env: {
        ...process.env,
        PATH: `${bin.dir}:${process.env.PATH}`,
        MLGRID_SERVER: s.url,
        MLGRID_KEY: ADMIN_KEY,
      },
      timeout: 90_000,
    });
    return stdout;
  };

  it('delivers ModelRegistered for the tagged model only', async () => {
    const out = await sh(`
      mlgrid ml workspace create --name ws1 --resource-group rg1 --description demo -o none
      mlgrid eventgrid event-subscription create --name tagged-models --source-resource-id "${WS}" \\
        --endpoint ${s.url}/inbox/tagged --included-event-types Microsoft.MachineLearningServices.ModelRegistered \\
        --advanced-filter data.ModelTags.key1 StringIn value1 -o none
      mlgrid ml model create --name churn --workspace-name ws1 --resource-group rg1 --path /tmp/model.pkl --tags key1=value1 -o none
      mlgrid ml model create --name churn --workspace-name ws1 --resource-group rg1 --path /tmp/model.pkl --tags key1=other -o none
      mlgrid ml model list --name churn --workspace-name ws1 --resource-group rg1 -o tsv`);
    expect(out.trim().split('\n')).toHaveLength(2); // versions 1 and 2, numbered by the CLI
    let got: { body: unknown }[] = [];
    for (let i = 0; i < 250 && got.length === 0; i++) {
      got = (await (await s.arm('GET', '/inbox/tagged')).json()).value;
      if (got.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200)); // version 2 would have arrived by now if it matched
    got = (await (await s.arm('GET', '/inbox/tagged')).json()).value;
    expect(got).toHaveLength(1);
    const [event] = await new EventGridDeserializer().deserializeEventGridEvents(
      got[0]!.body as Record<string, unknown>,
    );
    expect(isSystemEvent('Microsoft.MachineLearningServices.ModelRegistered', event!)).toBe(true);
    expect(event).toMatchObject({
      topic: WS,
      subject: 'models/churn:1',
      data: { modelName: 'churn', modelVersion: '1', modelTags: { key1: 'value1' } },
    });
  });
  it('shows a chain with ml lineage show, as JSON and as a timeline', async () => {
    const ws = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/wsl`;
    await sh('mlgrid ml workspace create --name wsl --resource-group rg1 -o none');
    // A model version registered with lineage: the chain "chain-1" holds it and the ModelRegistered it raised.
    const version = `${ws}/models/churn/versions/7`;
    const put = await s.arm('PUT', version, {
      properties: {
        modelUri: 'file:///tmp/model.pkl',
        properties: { 'mlgrid.correlationId': 'chain-1', 'mlgrid.causationId': 'cause-0' },
      },
    });
    expect(put.status, await put.clone().text()).toBe(201);
    const flags = '--workspace-name wsl --resource-group rg1';
    const chain = await until(
      async () => JSON.parse(await sh(`mlgrid ml lineage show --correlation-id chain-1 ${flags}`)),
      (c) => c.events.length > 0,
    );
    expect(chain.correlationId).toBe('chain-1');
    expect(chain.objects).toEqual([expect.objectContaining({ kind: 'modelVersion', id: version })]);
    expect(chain.events).toEqual([
      expect.objectContaining({ type: 'Microsoft.MachineLearningServices.ModelRegistered', source: version }),
    ]);
    // From the object, as a table: the version, then the event it raised, in causal order.
    const table = await sh(`mlgrid ml lineage show --resource-id "${version}" ${flags} -o tsv`);
    const rows = table
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(rows.map((r) => r.slice(1, 3))).toEqual([
      ['object', 'modelVersion'],
      ['event', 'ModelRegistered'],
    ]);
    expect(rows[0]![7]).toBe('cause-0'); // what caused the version
    // Exactly one of the two ids; an unknown chain is the server's 404.
    await expect(sh(`mlgrid ml lineage show ${flags}`)).rejects.toThrow(
      /give one of --correlation-id and --resource-id/,
    );
    await expect(sh(`mlgrid ml lineage show --correlation-id nope ${flags}`)).rejects.toThrow(
      /ResourceNotFound|not found/i,
    );
  });
});
