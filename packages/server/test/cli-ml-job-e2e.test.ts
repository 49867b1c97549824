/**
 * `mlgrid configure --defaults` and `mlgrid ml job ...` end to end: the real CLI (child processes) against a
 * real server running real Command jobs. The workspace and group come from the configured defaults.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const WS =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-jobs/providers/Microsoft.MachineLearningServices/workspaces/ws-cli';

// Each CLI run is a fresh Node process compiling TypeScript through tsx: seconds on a busy machine.
describe('mlgrid ml job CLI end to end', { timeout: 180_000 }, () => {
  let s: TestServer;
  const tmp = tempDir('mlgrid-cli-jobs-');
  const project = join(tmp.dir, 'project');

  const mlgrid = (...args: string[]) =>
    runCli(args, {
      MLGRID_SERVER: s.url,
      MLGRID_KEY: ADMIN_KEY,
      MLGRID_SUBSCRIPTION: undefined,
      MLGRID_CONFIG_DIR: join(tmp.dir, 'config'),
    });
  const show = async (name: string) => JSON.parse((await mlgrid('ml', 'job', 'show', '-n', name)).stdout);

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'src', 'train.sh'), 'echo "cwd=$(basename "$PWD")"\necho "lr=$1"\n');
    writeFileSync(join(project, 'data.txt'), 'a line of data\n');
    writeFileSync(
      join(project, 'job.yml'),
      `$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
name: hello-job
display_name: Hello
experiment_name: cli-e2e
command: >-
  echo "line one" && sh train.sh \${{inputs.lr}} && cat \${{inputs.data}} && echo "var=$MY_VAR"
code: ./src
environment: azureml:local-env:1
environment_variables:
  MY_VAR: from-yaml
inputs:
  lr: 0.01
  data:
    type: uri_file
    path: ./data.txt
outputs:
  model:
    type: uri_folder
tags: {team: ml}
`,
    );
    writeFileSync(
      join(project, 'fail.yml'),
      'command: echo before-failing; exit 3\nenvironment: azureml:e:1\n',
    );
    writeFileSync(join(project, 'sleep.yml'), 'command: echo sleeping; sleep 30\nenvironment: azureml:e:1\n');
    writeFileSync(join(project, 'bad.yml'), 'command: echo x\nenvironment: azureml:e:1\ncolour: blue\n');
  });
  afterAll(async () => {
    await s?.stop();
    tmp.cleanup();
  });

  it('configure --defaults gives every ml command its workspace and group', async () => {
    expect(await mlgrid('configure', '--defaults', 'group=rg-jobs', 'workspace=ws-cli')).toMatchObject({
      code: 0,
    });
    const listed = await mlgrid('configure', '--list-defaults', '-o', 'tsv');
    expect(listed.stdout).toContain('group\t');
    expect(listed.stdout).toContain('\tws-cli\n');
    const created = await mlgrid('ml', 'workspace', 'create', '-o', 'json'); // -n and -g from the defaults
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).id).toBe(WS);
  });

  it('create --stream follows a job that succeeds: its log lines, then the summary; exit 0', async () => {
    const r = await mlgrid(
      'ml',
      'job',
      'create',
      '--file',
      join(project, 'job.yml'),
      '--stream',
      '-o',
      'none',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const log = ['line one', 'cwd=src', 'lr=0.01', 'a line of data', 'var=from-yaml'].join('\n');
    expect(r.stdout).toContain(`=====\n${log}\n\nExecution Summary`);
    expect(r.stdout).toMatch(/^RunId: hello-job\n/);
    expect(r.stdout).toContain('Status: Completed\n');
    const job = await show('hello-job');
    expect(job.properties).toMatchObject({
      status: 'Completed',
      displayName: 'Hello',
      experimentName: 'cli-e2e',
      codeId: join(project, 'src'),
      environmentId: 'azureml:local-env:1',
      tags: { team: 'ml' },
      inputs: {
        lr: { jobInputType: 'literal', value: '0.01' },
        data: { jobInputType: 'uri_file', uri: join(project, 'data.txt') },
      },
    });
  });

  it('create --stream of a failing job exits 1 and reports Failed; --set and a generated name', async () => {
    const r = await mlgrid(
      'ml',
      'job',
      'create',
      '-f',
      join(project, 'fail.yml'),
      '--set',
      'display_name=doomed',
      '--stream',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('before-failing\n');
    expect(r.stdout).toContain('Status: Failed (exit code 3)\n');
    const name = /^RunId: (\S+)$/m.exec(r.stdout)![1]!;
    expect(name).toMatch(/^[a-z]+_[a-z]+_[a-z0-9]{10}$/);
    expect(r.stderr).toBe(`ERROR: job ${name} ended Failed: exit code 3\n`);
    expect((await show(name)).properties).toMatchObject({ status: 'Failed', displayName: 'doomed' });
  });

  it('list -o table shows one row per job', async () => {
    const r = await mlgrid('ml', 'job', 'list', '-o', 'table');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Name\s+DisplayName\s+Status\s+Experiment\s+Created$/);
    expect(lines[2]).toMatch(/^hello-job\s+Hello\s+Completed\s+cli-e2e\s+\d{4}-/);
    expect(lines[3]).toMatch(/^\S+\s+doomed\s+Failed\s+Default\s+\d{4}-/);
    expect(lines).toHaveLength(4);
  });

  it('cancel waits until a running job is Canceled', async () => {
    const created = await mlgrid(
      'ml',
      'job',
      'create',
      '-f',
      join(project, 'sleep.yml'),
      '-n',
      'sleeper',
      '-o',
      'none',
    );
    expect(created.code).toBe(0);
    let status = '';
    for (let i = 0; i < 200 && status !== 'Running'; i++) {
      status = (await (await s.arm('GET', `${WS}/jobs/sleeper`)).json()).properties.status;
      if (status !== 'Running') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('Running');
    expect(await mlgrid('ml', 'job', 'cancel', '-n', 'sleeper')).toEqual({ code: 0, stdout: '', stderr: '' });
    // Read at once, in process: the command returned only once the job was final.
    expect((await (await s.arm('GET', `${WS}/jobs/sleeper`)).json()).properties.status).toBe('Canceled');
  });

  it('a YAML error names the file and key, and creates nothing', async () => {
    const r = await mlgrid('ml', 'job', 'create', '-f', join(project, 'bad.yml'), '-n', 'bad-job');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ERROR: ${join(project, 'bad.yml')}: colour: unknown key (known: `);
    expect((await s.arm('GET', `${WS}/jobs/bad-job`)).status).toBe(404);
  });

  it('an explicit flag wins over the defaults', async () => {
    const r = await mlgrid('ml', 'job', 'show', '-n', 'hello-job', '-w', 'elsewhere');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ERROR: ResourceNotFound: .*workspaces\/elsewhere/);
  });

  it("the log route's offset returns the bytes from there on", async () => {
    const full = await (await s.arm('GET', `${WS}/jobs/hello-job/logs`)).text();
    expect(full.length).toBeGreaterThan(10);
    const rest = await s.arm('GET', `${WS}/jobs/hello-job/logs?offset=5`);
    expect(rest.status).toBe(200);
    expect(await rest.text()).toBe(full.slice(5));
    expect(await (await s.arm('GET', `${WS}/jobs/hello-job/logs?offset=100000`)).text()).toBe('');
    const bad = await s.arm('GET', `${WS}/jobs/hello-job/logs?offset=-1`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'InvalidRequestContent', target: 'offset' });
  });
});
