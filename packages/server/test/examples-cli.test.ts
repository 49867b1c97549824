/**
 * Each example (and the demo) runs from its README with one command — `npm run example:<name>` / `npm run demo`,
 * as real processes on a clean environment, so each starts its own embedded mlgrid — and exits 0 after showing
 * the outcome; when the expected outcome does not happen it exits 1 and says why. What the examples do is judged
 * in detail by examples.test.ts; this checks the commands themselves.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function npmRun(
  script: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const clean = { ...process.env };
  for (const k of [
    'MLGRID_URL',
    'MLGRID_SERVER',
    'MLGRID_KEY',
    'MLGRID_FUNCTIONS_DIR',
    'MLGRID_EXAMPLES_SMTP_PORT',
  ]) {
    delete clean[k];
  }
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], {
      cwd: ROOT,
      env: { ...clean, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('one command per example (npm run, embedded mlgrid)', () => {
  it('npm run example:email-alerts', async () => {
    const r = await npmRun('example:email-alerts');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('started an embedded mlgrid');
    expect(r.out).toContain('Subject: Microsoft.MachineLearningServices.RunCompleted: run train-ok');
    expect(r.out).toContain('Subject: Microsoft.MachineLearningServices.RunStatusChanged: run train-broken');
    expect(r.out).toMatch(/✔ done in/);
  });

  it('npm run example:retrain-on-drift', async () => {
    const r = await npmRun('example:retrain-on-drift');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/⚡ ModelDeployed endpoints\/churn-prod {2}churn:2 live on churn-prod\/churn-v2/);
    expect(r.out).toMatch(/after: {2}churn-v2/);
  });

  it('npm run example:deploy-on-tags', async () => {
    const r = await npmRun('example:deploy-on-tags');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('churn-fn: answered by churn-v2');
    expect(r.out).toContain('churn-step: answered by churn-v2');
  });

  it('npm run demo', async () => {
    const r = await npmRun('demo');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('📧 mail to ml-team@example.com: "churn:2 is live on churn-prod"');
  });
});

describe('an example whose outcome does not happen', () => {
  let s: TestServer;
  beforeAll(async () => {
    // A running mlgrid without SMTP: the email example's automation cannot mail.
    s = await startTestServer('sqlite', { delivery: { pollMs: 50 }, automations: { pollMs: 100 } });
  });
  afterAll(() => s?.stop());

  it('exits 1 and says why', async () => {
    const r = await npmRun('example:email-alerts', { MLGRID_URL: s.url, MLGRID_KEY: ADMIN_KEY });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`using the mlgrid at ${s.url}`);
    expect(r.out).toMatch(
      /✘ automation mail-on-run-end: run \S+ failed: .*SMTP is not configured on this server/,
    );
  });
});
