/** The scenario with the CLI: workspace, a tag-filtered subscription, model registrations, the event. */
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

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
});
