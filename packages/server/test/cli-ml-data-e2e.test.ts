/**
 * `mlgrid ml data` end to end against a real server on the committed CSV/Parquet fixtures: the CLI program in
 * process (`runCli`, real HTTP), and once as the real `mlgrid` process (relative paths, exit code, stderr).
 */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASELINE, PARTS, TARGET } from './fixtures/data/source.js';
import { runCli } from '../src/cli/program.js';
import { MAIN } from './helpers/process.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const FIX = fileURLToPath(new URL('./fixtures/data/', import.meta.url));
const WS = '-w ws-data -g rg1';

describe('mlgrid ml data CLI end to end', () => {
  let s: TestServer;
  const bin = tempDir('mlgrid-bin-');
  const work = tempDir('mlgrid-data-cli-');
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    writeFileSync(
      `${bin.dir}/mlgrid`,
      `#!/bin/sh\nexec "${process.execPath}" --conditions=mlgrid-source --import tsx "${MAIN}" "$@"\n`,
    );
    chmodSync(`${bin.dir}/mlgrid`, 0o755);
    process.env.MLGRID_CONFIG_DIR = work.dir; // no user defaults
  });
  afterAll(async () => {
    await s?.stop();
    bin.cleanup();
    work.cleanup();
  });
  /** The CLI in process; `script` is one command a line, words split on spaces. */
  const cli = async (script: string) => {
    let stdout = '';
    let stderr = '';
    let code = 0;
    for (const line of script
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)) {
      if (line === 'echo ---') {
        stdout += '---\n';
        continue;
      }
      const args = [...line.split(/\s+/).slice(1), '--server', s.url, '--key', ADMIN_KEY];
      const io = { stdout: (x: string) => (stdout += x), stderr: (x: string) => (stderr += x) };
      code = await runCli(args, io);
      if (code !== 0) break;
    }
    return { code, stdout, stderr };
  };
  const sh = async (script: string): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)('bash', ['-c', `set -e\n${script}`], {
        cwd: FIX, // relative --path values are resolved from here
        env: {
          ...process.env,
          PATH: `${bin.dir}:${process.env.PATH}`,
          MLGRID_SERVER: s.url,
          MLGRID_KEY: ADMIN_KEY,
          MLGRID_CONFIG_DIR: work.dir, // no user defaults
        },
        timeout: 120_000,
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it('registers CSV, Parquet and a folder (flags and az data YAML), shows, lists, archives and deletes', async () => {
    writeFileSync(
      join(work.dir, 'parts.yml'),
      `$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: parts\nversion: 7\n` +
        `type: uri_folder\npath: ${join(FIX, 'parts')}\ndescription: partitioned\ntags:\n  source: yaml\n`,
    );
    const created = await cli(`
      mlgrid ml workspace create --name ws-data --resource-group rg1 -o none
      mlgrid ml data create --name churn --path ${FIX}baseline.csv --type uri_file --tags stage=baseline ${WS} -o none
      mlgrid ml data create --name churn --path ${FIX}target.parquet --type uri_file -d target ${WS} -o none
      mlgrid ml data create --file ${join(work.dir, 'parts.yml')} --tags extra=flag ${WS}`);
    expect(created).toMatchObject({ code: 0 });
    const parts = JSON.parse(created.stdout);
    expect(parts).toMatchObject({
      name: '7',
      properties: {
        dataType: 'uri_folder',
        dataUri: pathToFileURL(join(FIX, 'parts')).href,
        description: 'partitioned',
        tags: { source: 'yaml', extra: 'flag' },
        mlgridSummary: { fileCount: 3, rowCount: PARTS.length },
      },
    });

    const latest = JSON.parse((await cli(`mlgrid ml data show --name churn --label latest ${WS}`)).stdout);
    expect(latest).toMatchObject({
      name: '2',
      properties: {
        dataUri: pathToFileURL(join(FIX, 'target.parquet')).href,
        description: 'target',
        mlgridSummary: { rowCount: TARGET.length },
      },
    });
    const v1 = JSON.parse((await cli(`mlgrid ml data show --name churn --version 1 ${WS}`)).stdout);
    expect(v1.properties).toMatchObject({
      tags: { stage: 'baseline' },
      mlgridSummary: { rowCount: BASELINE.length },
    });

    const listed = await cli(`
      mlgrid ml data archive --name churn --version 1 ${WS} -o none
      mlgrid ml data list --name churn ${WS} -o tsv
      echo ---
      mlgrid ml data list --name churn --include-archived ${WS} -o tsv
      echo ---
      mlgrid ml data list ${WS} -o tsv`);
    expect(listed.code).toBe(0);
    const [active, all, assets] = listed.stdout.split('---\n').map((b) => b.trim().split('\n'));
    expect(active!.map((l) => l.split('\t')[0])).toEqual(['2']);
    expect(all!.map((l) => l.split('\t')[0])).toEqual(['1', '2']);
    expect(all![0]!.split('\t')).toEqual([
      '1',
      'uri_file',
      '1',
      String(BASELINE.length),
      'true',
      pathToFileURL(join(FIX, 'baseline.csv')).href,
    ]);
    expect(assets!.map((l) => l.split('\t')[0])).toEqual(['churn', 'parts']);

    const gone = await cli(`
      mlgrid ml data restore --name churn --version 1 ${WS} -o none
      mlgrid ml data delete --name churn --version 2 ${WS}
      mlgrid ml data list --name churn ${WS} -o tsv`);
    expect(
      gone.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).toEqual(['1']);
  });

  it('the mlgrid process resolves relative paths and fails with the server’s reason, naming the field', async () => {
    await cli(`mlgrid ml workspace create --name ws-data --resource-group rg1 -o none`);
    const r = await sh(`
        mlgrid ml data create --name rel --path baseline.csv --type uri_file ${WS}
        mlgrid ml data create --name nope --path ./missing.csv --type uri_file ${WS}`);
    expect(r.stdout).toContain(pathToFileURL(join(FIX, 'baseline.csv')).href);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/properties\.dataUri/);
    expect(r.stderr).toContain(`${join(FIX, 'missing.csv')} does not exist`);
    const noName = await cli(`mlgrid ml data create --path ${FIX}baseline.csv ${WS}`);
    expect(noName.code).not.toBe(0);
    expect(noName.stderr).toMatch(/--name is required/);
  }, 300_000);
});
