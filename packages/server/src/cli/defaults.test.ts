import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  groupOption,
  loadDefaults,
  locationOption,
  mergeDefaults,
  parseDefaultsArgs,
  resolveDefaults,
  saveDefaults,
  workspaceOption,
} from './defaults.js';
import { runCli } from './program.js';

describe('parseDefaultsArgs', () => {
  it('reads key=value pairs; an empty value unsets', () => {
    expect(parseDefaultsArgs(['group=rg1', 'Workspace=ws1', 'location='])).toEqual({
      group: 'rg1',
      workspace: 'ws1',
      location: undefined,
    });
  });
  it('refuses unknown keys and items without =', () => {
    expect(() => parseDefaultsArgs(['grp=rg'])).toThrow(/unknown key 'grp'.*group, workspace/);
    expect(() => parseDefaultsArgs(['group'])).toThrow(/'group' is not key=value/);
  });
  it('mergeDefaults sets and unsets', () => {
    expect(mergeDefaults({ group: 'a', workspace: 'w' }, { group: 'b', workspace: undefined })).toEqual({
      group: 'b',
    });
  });
});

describe('the config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlgrid-defaults-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves and loads the defaults, keeping other sections', () => {
    const file = join(dir, 'sub', 'config.json');
    expect(loadDefaults(file)).toEqual({}); // no file yet
    saveDefaults({ group: 'rg1', workspace: 'ws1' }, file, join(dir, 'sub'));
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...raw, other: { keep: true } }));
    saveDefaults({ group: 'rg2' }, file, join(dir, 'sub'));
    expect(loadDefaults(file)).toEqual({ group: 'rg2' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      defaults: { group: 'rg2' },
      other: { keep: true },
    });
  });
  it('a broken file is an error naming it', () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, '{not json');
    expect(() => loadDefaults(file)).toThrow(`${file} is not a JSON object`);
  });
});

describe('resolveDefaults', () => {
  const command = () =>
    new Command('x')
      .addOption(groupOption())
      .addOption(workspaceOption())
      .addOption(locationOption())
      .option('--subscription <id>');
  const resolve = (argv: string[], defaults: object, envSubscription?: string) => {
    const cmd = command();
    cmd.parse(argv, { from: 'user' });
    const flags = cmd.opts();
    resolveDefaults(cmd, flags, { load: () => defaults, envSubscription });
    return flags;
  };

  it('fills what the command line left out; an explicit flag wins', () => {
    expect(resolve(['-g', 'explicit'], { group: 'rg', workspace: 'ws', subscription: 'sub' })).toEqual({
      resourceGroup: 'explicit',
      workspaceName: 'ws',
      location: 'local', // built-in fallback
      subscription: 'sub',
    });
    expect(
      resolve(['--subscription', 's1'], { group: 'rg', workspace: 'ws', location: 'west' }),
    ).toMatchObject({
      location: 'west',
      subscription: 's1',
    });
  });
  it('MLGRID_SUBSCRIPTION wins over the configured subscription', () => {
    expect(
      resolve([], { group: 'rg', workspace: 'ws', subscription: 'file' }, 'env').subscription,
    ).toBeUndefined();
  });
  it('a missing value names the flag and the configure command', () => {
    expect(() => resolve(['-g', 'rg'], {})).toThrow(
      '-w/--workspace-name is required: give it, or set a default with `mlgrid configure --defaults workspace=<value>`',
    );
  });
});

describe('mlgrid configure and the ml commands', () => {
  let dir: string;
  const saved = process.env.MLGRID_CONFIG_DIR;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlgrid-configure-'));
    process.env.MLGRID_CONFIG_DIR = join(dir, 'cfg');
  });
  afterEach(() => {
    process.env.MLGRID_CONFIG_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const run = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { code, stdout, stderr };
  };

  it('sets, lists and unsets defaults', async () => {
    expect(await run('configure', '--defaults', 'group=rg1', 'workspace=ws1')).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    const file = join(dir, 'cfg', 'config.json');
    expect(JSON.parse((await run('configure', '--list-defaults')).stdout)).toEqual([
      { name: 'group', source: file, value: 'rg1' },
      { name: 'workspace', source: file, value: 'ws1' },
    ]);
    await run('configure', '--defaults', 'workspace=');
    expect((await run('configure', '-l', '-o', 'tsv')).stdout).toBe(`group\t${file}\trg1\n`);
    expect(await run('configure', '--defaults', 'colour=blue')).toMatchObject({
      code: 1,
      stderr:
        "ERROR: --defaults: unknown key 'colour'; the keys are group, workspace, subscription, location\n",
    });
    expect((await run('configure')).code).toBe(1);
  });

  it('an ml command without -g and without a default fails before any request', async () => {
    // Port 1 is closed: reaching the network would give a "cannot reach" error instead.
    const r = await run('ml', 'model', 'list', '-w', 'ws1', '--server', 'http://127.0.0.1:1');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'ERROR: -g/--resource-group is required: give it, or set a default with `mlgrid configure --defaults group=<value>`\n',
    );
    const ws = await run('ml', 'workspace', 'show', '-g', 'rg1', '--server', 'http://127.0.0.1:1');
    expect(ws.stderr).toMatch(/^ERROR: -n\/--name is required: .*--defaults workspace=<value>/);
    await run('configure', '--defaults', 'group=rg1', 'workspace=ws1');
    const reached = await run('ml', 'model', 'list', '--server', 'http://127.0.0.1:1');
    expect(reached.stderr).toMatch(/cannot reach the mlgrid server/); // the defaults completed the flags
  });
});
