/**
 * `mlgrid ml online-endpoint|online-deployment ...` end to end: the real CLI (child processes) against a real
 * server that runs the deployment's scoring script. Workspace and group come from `mlgrid configure --defaults`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const WS =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ep/providers/Microsoft.MachineLearningServices/workspaces/ws-ep';

// Each CLI run is a fresh Node process compiling TypeScript through tsx: seconds on a busy machine.
describe('mlgrid ml online-endpoint / online-deployment CLI end to end', { timeout: 180_000 }, () => {
  let s: TestServer;
  const tmp = tempDir('mlgrid-cli-ep-');
  const project = join(tmp.dir, 'project');

  const mlgrid = (...args: string[]) =>
    runCli(args, {
      MLGRID_SERVER: s.url,
      MLGRID_KEY: ADMIN_KEY,
      MLGRID_SUBSCRIPTION: undefined,
      MLGRID_CONFIG_DIR: join(tmp.dir, 'config'),
    });
  const json = async (...args: string[]) => {
    const r = await mlgrid(...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    mkdirSync(join(project, 'model'), { recursive: true });
    writeFileSync(join(project, 'model', 'model.json'), JSON.stringify({ factor: 3 }));
    mkdirSync(join(project, 'scoring'));
    writeFileSync(
      join(project, 'scoring', 'score.mjs'),
      `import { readFileSync } from 'node:fs';
let factor;
export function init() {
  factor = JSON.parse(readFileSync(process.env.AZUREML_MODEL_DIR + '/model.json', 'utf8')).factor;
  console.log('init: factor', factor, 'greeting', process.env.GREETING);
}
export function run(raw) {
  return { y: JSON.parse(raw).data.map((x) => x * factor) };
}
`,
    );
    writeFileSync(
      join(project, 'scoring', 'broken.mjs'),
      'export function init() {\n  throw new Error("no model here");\n}\nexport function run() {}\n',
    );
    writeFileSync(
      join(project, 'endpoint.yml'),
      `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
name: ep-cli
auth_mode: key
description: scales numbers
tags: {team: ml}
`,
    );
    const deployment = (name: string, script: string) =>
      `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: ${name}
endpoint_name: ep-cli
model: azureml:scaler@latest
code_configuration:
  code: ./scoring
  scoring_script: ${script}
environment: azureml:node-env:1
environment_variables: {GREETING: hello}
instance_type: Standard_DS3_v2
instance_count: 1
request_settings: {request_timeout_ms: 10000}
`;
    writeFileSync(join(project, 'blue.yml'), deployment('blue', 'score.mjs'));
    writeFileSync(join(project, 'red.yml'), deployment('red', 'broken.mjs'));
  });
  afterAll(async () => {
    await s?.stop();
    tmp.cleanup();
  });

  it('creates the workspace, a model and an endpoint from its YAML', async () => {
    expect((await mlgrid('configure', '--defaults', 'group=rg-ep', 'workspace=ws-ep')).code).toBe(0);
    expect((await mlgrid('ml', 'workspace', 'create', '-o', 'none')).code).toBe(0);
    expect(
      (await mlgrid('ml', 'model', 'create', '-n', 'scaler', '-p', join(project, 'model'), '-o', 'none'))
        .code,
    ).toBe(0);
    const ep = await json('ml', 'online-endpoint', 'create', '-f', join(project, 'endpoint.yml'));
    expect(ep).toMatchObject({
      id: `${WS}/onlineEndpoints/ep-cli`,
      name: 'ep-cli',
      tags: { team: 'ml' },
      properties: { authMode: 'Key', description: 'scales numbers', provisioningState: 'Succeeded' },
    });
  });

  it('deploys from the YAML (model@latest resolved), waits for it, then takes all traffic', async () => {
    const d = await json(
      'ml',
      'online-deployment',
      'create',
      '-f',
      join(project, 'blue.yml'),
      '--all-traffic',
    );
    expect(d).toMatchObject({
      name: 'blue',
      sku: { capacity: 1 },
      properties: {
        provisioningState: 'Succeeded',
        model: `${WS}/models/scaler/versions/1`,
        codeConfiguration: { scoringScript: 'score.mjs' },
        environmentId: 'azureml:node-env:1',
        instanceType: 'Standard_DS3_v2',
      },
    });
    const ep = await json('ml', 'online-endpoint', 'show', '-n', 'ep-cli');
    expect(ep.properties.traffic).toEqual({ blue: 100 });
    const keys = await json('ml', 'online-endpoint', 'get-credentials', '-n', 'ep-cli');
    expect(keys).toEqual({ primaryKey: expect.any(String), secondaryKey: expect.any(String) });
    const scored = await fetch(ep.properties.scoringUri, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.primaryKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: [1, 2] }),
    });
    expect(scored.status).toBe(200);
    expect(await scored.json()).toEqual({ y: [3, 6] });
  });

  it('lists as tables and prints the deployment log', async () => {
    const deps = await mlgrid('ml', 'online-deployment', 'list', '-e', 'ep-cli', '-o', 'table');
    expect(deps.stdout.split('\n')[0]).toMatch(
      /^Name\s+Endpoint\s+Model\s+InstanceType\s+InstanceCount\s+ProvisioningState$/,
    );
    expect(deps.stdout.split('\n')[2]).toMatch(
      /^blue\s+ep-cli\s+scaler\/versions\/1\s+Standard_DS3_v2\s+1\s+Succeeded$/,
    );
    const eps = await mlgrid('ml', 'online-endpoint', 'list', '-o', 'table');
    expect(eps.stdout.split('\n')[2]).toMatch(
      /^ep-cli\s+Key\s+Succeeded\s+http\S+\/endpoints\/ep-cli\/score\s+blue=100$/,
    );
    const logs = await mlgrid(
      'ml',
      'online-deployment',
      'get-logs',
      '-n',
      'blue',
      '-e',
      'ep-cli',
      '--lines',
      '50',
    );
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('init: factor 3 greeting hello\n');
  });

  it('a deployment whose script fails ends the command with the cause; exit 1', async () => {
    const r = await mlgrid('ml', 'online-deployment', 'create', '-f', join(project, 'red.yml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ERROR: deployment red: provisioning Failed: .*no model here/s);
  });

  it('update --traffic, then delete the deployments and the endpoint', async () => {
    const ep = await json('ml', 'online-endpoint', 'update', '-n', 'ep-cli', '--traffic', 'blue=0');
    expect(ep.properties.traffic).toEqual({ blue: 0 });
    expect(await mlgrid('ml', 'online-deployment', 'delete', '-n', 'red', '-e', 'ep-cli', '--yes')).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect((await s.arm('GET', `${WS}/onlineEndpoints/ep-cli/deployments/red`)).status).toBe(404);
    expect((await mlgrid('ml', 'online-endpoint', 'delete', '-n', 'ep-cli', '-y')).code).toBe(0);
    // Read at once, in process: the command returned only once the endpoint was gone.
    expect((await s.arm('GET', `${WS}/onlineEndpoints/ep-cli`)).status).toBe(404);
  });

  it('a YAML error names the file and key; nothing is created', async () => {
    writeFileSync(join(project, 'bad.yml'), 'name: ep-bad\nauth_mode: password\n');
    const r = await mlgrid('ml', 'online-endpoint', 'create', '-f', join(project, 'bad.yml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `ERROR: ${join(project, 'bad.yml')}: auth_mode: must be one of key, aml_token, aad_token\n`,
    );
    expect((await s.arm('GET', `${WS}/onlineEndpoints/ep-bad`)).status).toBe(404);
  });
});
