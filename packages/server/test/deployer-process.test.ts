/** Scoring processes never outlive their server: `mlgrid serve` is killed with SIGKILL and its scoring host exits. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMlgrid, type MlgridProcess } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';

const started: MlgridProcess[] = [];
afterAll(() => {
  for (const p of started) p.child.kill('SIGKILL');
});

/** Pids of processes whose command line contains `needle` (the unique code folder of this test). */
function pidsWith(needle: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('scoring host lifetime', () => {
  it('exits when the server is killed with SIGKILL', async () => {
    const t = tempDir();
    const code = join(t.dir, 'code-lifetime-test');
    mkdirSync(code);
    mkdirSync(join(t.dir, 'model'));
    writeFileSync(join(code, 'score.py'), 'def init():\n    pass\ndef run(raw):\n    return raw\n');
    const key = 'lifetime-admin-key-0123456789';
    const p = runMlgrid(['serve', '--port', '0', '--log-level', 'warn', '--data-dir', join(t.dir, 'data')], {
      MLGRID_ADMIN_KEY: key,
    });
    started.push(p);
    const url = (await p.waitFor(/mlgrid listening on (\S+)/))[1]!;
    const ws = `${url}/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/wsl`;
    const put = (path: string, body: unknown) =>
      fetch(`${ws}${path}?api-version=2022-10-01`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put('', { location: 'local' })).status).toBe(201);
    expect(
      (await put('/models/m/versions/1', { properties: { modelUri: `file://${t.dir}/model` } })).status,
    ).toBe(201);
    expect((await put('/onlineEndpoints/life-ep', { properties: { authMode: 'Key' } })).status).toBe(201);
    const dep = {
      properties: { model: 'azureml:m:1', codeConfiguration: { codeId: code, scoringScript: 'score.py' } },
    };
    expect((await put('/onlineEndpoints/life-ep/deployments/blue', dep)).status).toBe(201);
    // Provisioned means the scoring host answered its health check (a process seen on the way up may not be it,
    // and a failed start says why here: this assertion once failed in CI with no more than "0 processes").
    let deployment: { properties: { provisioningState: string } } | undefined;
    for (let i = 0; i < 1200; i++) {
      const res = await fetch(`${ws}/onlineEndpoints/life-ep/deployments/blue?api-version=2022-10-01`, {
        headers: { authorization: `Bearer ${key}` },
      });
      deployment = await res.json();
      if (!/^(Creating|Updating)$/.test(deployment!.properties.provisioningState)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(deployment!.properties, JSON.stringify(deployment)).toMatchObject({
      provisioningState: 'Succeeded',
    });
    expect(pidsWith(code)).toHaveLength(1); // the scoring host is up

    p.child.kill('SIGKILL');
    await p.exited;
    for (let i = 0; i < 100 && pidsWith(code).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pidsWith(code)).toEqual([]);
    t.cleanup();
  });
});
