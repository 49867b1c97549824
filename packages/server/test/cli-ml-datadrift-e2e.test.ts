/**
 * `mlgrid ml datadrift` end to end against a real server on seeded CSV data: the CLI program in process (real
 * HTTP; stderr as a terminal for the backfill progress bar), and once as the real `mlgrid` process.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { driftFixtures } from './fixtures/drift-data.js';
import { runMlgrid } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const WS = ['-w', 'ws-dd', '-g', 'rg1'];

describe('mlgrid ml datadrift CLI end to end', () => {
  let s: TestServer;
  const data = driftFixtures();
  const cfg = tempDir('mlgrid-dd-cli-');
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    process.env.MLGRID_CONFIG_DIR = cfg.dir; // no user defaults
  });
  afterAll(async () => {
    await s?.stop();
    data.cleanup();
    cfg.cleanup();
  });
  const cli = async (args: string[], tty = false) => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (x: string) => (stdout += x),
      stderr: (x: string) => (stderr += x),
      stderrIsTTY: tty,
    };
    const code = await runCli([...args, '--server', s.url, '--key', ADMIN_KEY], io);
    return { code, stdout, stderr };
  };
  const ok = async (args: string[], tty = false) => {
    const r = await cli(args, tty);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };

  it('creates a monitor, runs a day, backfills with a progress bar and shows the results as a table', async () => {
    await ok(['ml', 'workspace', 'create', '-n', 'ws-dd', '-g', 'rg1', '--location', 'local']);
    for (const [name, file] of [
      ['base', 'baseline.csv'],
      ['target', 'target.csv'],
    ]) {
      await ok([
        'ml',
        'data',
        'create',
        ...WS,
        '-n',
        name!,
        '-v',
        '1',
        '-t',
        'uri_file',
        '-p',
        join(data.dir, file!),
      ]);
    }
    const created = JSON.parse(
      (
        await ok([
          'ml',
          'datadrift',
          'create',
          ...WS,
          '--name',
          'churn',
          '--baseline-data',
          'base:1',
          '--target-data',
          'azureml:target:1',
          '--timestamp-column',
          'ts',
          '--frequency',
          'Day',
          '--features',
          'age',
          'income',
          'city',
          '--threshold',
          '0.25',
          '--latency',
          '2',
          '--no-schedule',
        ])
      ).stdout,
    );
    expect(created.properties).toMatchObject({
      features: ['age', 'income', 'city'],
      threshold: 0.25,
      latencyHours: 2,
      scheduleEnabled: false,
    });
    const bad = await cli([
      'ml',
      'datadrift',
      'create',
      ...WS,
      '--name',
      'x',
      '--baseline-data',
      'base',
      '--target-data',
      'target:1',
      '--timestamp-column',
      'ts',
      '--frequency',
      'Day',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--baseline-data');
    const badFreq = await cli([
      'ml',
      'datadrift',
      'create',
      ...WS,
      '--name',
      'x',
      '--baseline-data',
      'base:1',
      '--target-data',
      'target:1',
      '--timestamp-column',
      'ts',
      '--frequency',
      'Hourly',
    ]);
    expect(badFreq.code).toBe(1);
    expect(badFreq.stderr).toContain('properties.frequency');

    const run = JSON.parse(
      (await ok(['ml', 'datadrift', 'run', ...WS, '-n', 'churn', '--date', '2025-01-02'])).stdout,
    );
    expect(run.properties).toMatchObject({ status: 'Succeeded', hasDrift: true });

    const back = await ok(
      [
        'ml',
        'datadrift',
        'backfill',
        ...WS,
        '-n',
        'churn',
        '--start-date',
        '2025-01-01',
        '--end-date',
        '2025-01-03',
      ],
      true,
    );
    expect(JSON.parse(back.stdout).properties).toMatchObject({ status: 'Succeeded', completed: 3 });
    expect(back.stderr).toContain('backfill [####################] 3/3 intervals');
    const quiet = await ok([
      'ml',
      'datadrift',
      'backfill',
      ...WS,
      '-n',
      'churn',
      '--start-date',
      '2025-01-01',
      '--end-date',
      '2025-01-01',
    ]);
    expect(quiet.stderr).toBe(''); // no bar when stderr is not a terminal
    const tooMany = await cli([
      'ml',
      'datadrift',
      'backfill',
      ...WS,
      '-n',
      'churn',
      '--start-date',
      '2025-01-01',
      '--end-date',
      '2025-03-01',
    ]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toContain('endDate');

    const table = (await ok(['ml', 'datadrift', 'results', ...WS, '-n', 'churn', '-o', 'table'])).stdout;
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/StartTime\s+EndTime\s+Status\s+DriftCoefficient\s+HasDrift/i);
    const body = lines.filter((l) => /^2025-/.test(l));
    expect(body).toHaveLength(3);
    expect(body.map((l) => /\b(true|false)\b/.exec(l)![1])).toEqual(['false', 'true', 'false']);

    const list = (await ok(['ml', 'datadrift', 'list', ...WS, '-o', 'table'])).stdout;
    expect(list).toContain('churn');
    expect(list).toContain('base:1');
  });

  it('the real mlgrid process shows and deletes a monitor', async () => {
    const env = { MLGRID_SERVER: s.url, MLGRID_KEY: ADMIN_KEY, MLGRID_CONFIG_DIR: cfg.dir };
    const show = runMlgrid(['ml', 'datadrift', 'show', ...WS, '-n', 'churn'], env);
    expect(await show.exited).toBe(0);
    expect(JSON.parse(show.output()).name).toBe('churn');
    const del = runMlgrid(['ml', 'datadrift', 'delete', ...WS, '-n', 'churn'], env);
    expect(await del.exited).toBe(0);
    const gone = runMlgrid(['ml', 'datadrift', 'show', ...WS, '-n', 'churn'], env);
    expect(await gone.exited).toBe(1);
    expect(gone.output()).toMatch(/not found/i);
  });
});
