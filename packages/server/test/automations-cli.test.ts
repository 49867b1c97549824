/**
 * `mlgrid automation` end to end: create from a YAML file (steps and storm control as YAML), show, list, trigger,
 * `run list` / `run show` in process against a real server, `run list -o table` once as the real `mlgrid`
 * process, and delete; a bad definition fails naming the field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { scriptedReceiver, type Json, type Scripted } from './automations-kit.js';
import { runCli as runCliProcess } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const WS = ['-w', 'ws-auto', '-g', 'rg1'];

describe('mlgrid automation CLI end to end', () => {
  let s: TestServer;
  let rx: Scripted;
  const dir = tempDir('mlgrid-auto-cli-');
  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false },
      automations: { pollMs: 50 },
    });
    rx = await scriptedReceiver();
    process.env.MLGRID_CONFIG_DIR = dir.dir; // no user defaults
  });
  afterAll(async () => {
    await rx?.close();
    await s?.stop();
    dir.cleanup();
  });
  const cli = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: (x: string) => (stdout += x), stderr: (x: string) => (stderr += x) };
    const code = await runCli([...args, '--server', s.url, '--key', ADMIN_KEY], io);
    return { code, stdout, stderr };
  };
  const ok = async (args: string[]) => {
    const r = await cli(args);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };

  it('creates from YAML, triggers, lists and shows runs, deletes', async () => {
    await ok(['ml', 'workspace', 'create', '-n', 'ws-auto', '-g', 'rg1', '--location', 'local']);
    const file = join(dir.dir, 'notify.yml');
    writeFileSync(
      file,
      [
        '# notify a hook when drift is detected',
        'description: tell the on-call hook',
        'trigger:',
        '  includedEventTypes: [Microsoft.MachineLearningServices.DatasetDriftDetected]',
        'stormControl:',
        "  key: '{{data.dataDriftId}}'",
        'steps:',
        '  - name: hook',
        '    type: httpRequest',
        `    url: ${rx.url}/drift/{{data.dataDriftId}}`,
        '    body:',
        "      text: 'drift on {{data.dataDriftId}} ({{eventType}})'",
        '    retry: { maxAttempts: 2, delaySeconds: 1 }',
        '',
      ].join('\n'),
    );
    const created = JSON.parse(
      (await ok(['automation', 'create', ...WS, '-n', 'notify', '-f', file])).stdout,
    ) as Json;
    expect(created.properties).toMatchObject({
      description: 'tell the on-call hook',
      stormControl: { key: '{{data.dataDriftId}}' },
      steps: [{ name: 'hook', type: 'httpRequest', retry: { maxAttempts: 2, delaySeconds: 1 } }],
    });
    expect(created.properties.trigger.source).toMatch(/\/workspaces\/ws-auto$/);
    const shown = JSON.parse((await ok(['automation', 'show', ...WS, '-n', 'notify'])).stdout) as Json;
    expect(shown.id).toBe(created.id);
    expect((await ok(['automation', 'list', ...WS, '-o', 'tsv'])).stdout).toMatch(
      /^notify\ttrue\tws-auto\tDatasetDriftDetected\thook:httpRequest\t/m,
    );

    const t = JSON.parse(
      (
        await ok([
          'automation',
          'trigger',
          ...WS,
          '-n',
          'notify',
          '--event-type',
          'Microsoft.MachineLearningServices.DatasetDriftDetected',
          '--subject',
          'datadrift/d1/run/r1',
          '--data',
          '{"dataDriftId":"d1"}',
          '--id',
          'cli-1',
        ])
      ).stdout,
    ) as Json;
    expect(t).toMatchObject({ eventId: 'cli-1', status: 'queued' });
    const runs = await until(
      async () =>
        JSON.parse((await ok(['automation', 'run', 'list', ...WS, '-n', 'notify'])).stdout) as Json[],
      (r) => r.length === 1 && r[0]!.properties.status === 'Succeeded',
    );
    expect(runs[0]!.name).toBe(t.runId);
    expect(JSON.parse(rx.hits[0]!.body)).toEqual({
      text: 'drift on d1 (Microsoft.MachineLearningServices.DatasetDriftDetected)',
    });
    const run = JSON.parse(
      (await ok(['automation', 'run', 'show', ...WS, '-n', 'notify', '--run-id', t.runId])).stdout,
    ) as Json;
    expect(run.properties.triggerEvents[0]).toMatchObject({ id: 'cli-1', data: { dataDriftId: 'd1' } });

    // The real process: `run list` as a table.
    const p = await runCliProcess(['automation', 'run', 'list', ...WS, '-n', 'notify', '-o', 'table'], {
      MLGRID_SERVER: s.url,
      MLGRID_KEY: ADMIN_KEY,
      MLGRID_CONFIG_DIR: dir.dir,
    });
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/RunId\s+Status\s+Key/i);
    expect(p.stdout).toContain(t.runId);
    expect(p.stdout).toMatch(/Succeeded\s+d1\s+1/);

    await ok(['automation', 'delete', ...WS, '-n', 'notify']);
    expect((await cli(['automation', 'show', ...WS, '-n', 'notify'])).code).toBe(1);
  });

  it('fails on a bad definition naming the field, and on an unreadable file', async () => {
    const file = join(dir.dir, 'bad.yml');
    writeFileSync(file, 'steps:\n  - name: x\n    type: httpRequest\n    url: "{{nope}}"\n');
    const r = await cli(['automation', 'create', ...WS, '-n', 'bad', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('properties.steps[0].url');
    const missing = await cli(['automation', 'create', ...WS, '-n', 'bad', '-f', join(dir.dir, 'none.yml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');
  });
});
