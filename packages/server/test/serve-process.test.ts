/** `mlgrid serve` as a real process: admin key bootstrap, data-dir lock, TLS, graceful shutdown. */
import { get as httpsGet } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runMlgrid, type MlgridProcess } from './helpers/process.js';
import { tempDir } from './helpers/tmp.js';

const LISTEN = /mlgrid listening on (\S+)/;
const started: MlgridProcess[] = [];
const serve = (args: string[], env?: Record<string, string>) => {
  const p = runMlgrid(['serve', '--port', '0', '--log-level', 'warn', ...args], env);
  started.push(p);
  return p;
};
afterAll(() => {
  for (const p of started) p.child.kill('SIGKILL');
});

describe('mlgrid serve', () => {
  it('generates the admin key once, refuses a second process on the data dir, and stops on SIGTERM', async () => {
    const t = tempDir();
    const first = serve(['--data-dir', t.dir]);
    const url = (await first.waitFor(LISTEN))[1]!;
    const key = (await first.waitFor(/Admin key \(shown once[^:]*\): (\S+)/))[1]!;
    const list = (k: string) =>
      fetch(`${url}/subscriptions/s/providers/Microsoft.EventGrid/topics?api-version=2022-06-15`, {
        headers: { authorization: `Bearer ${k}` },
      });
    expect((await list(key)).status).toBe(200);
    expect((await list('wrong')).status).toBe(401);
    expect(first.output()).not.toMatch(/"level"|"msg"/); // --log-level warn: no request lines

    const second = serve(['--data-dir', t.dir]);
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toContain('is in use by another mlgrid process');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('SIGTERM received, shutting down');

    const again = serve(['--data-dir', t.dir]);
    await again.waitFor(LISTEN);
    expect(again.output()).not.toContain('Admin key');
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
    // The key that was printed once still works after the restart (only its hash was stored).
    const third = serve(['--data-dir', t.dir]);
    const url3 = (await third.waitFor(LISTEN))[1]!;
    expect(
      (
        await fetch(`${url3}/subscriptions/s/providers/Microsoft.EventGrid/topics?api-version=1`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).status,
    ).toBe(200);
    expect(readFileSync(`${t.dir}/mlgrid.db`).includes(Buffer.from(key))).toBe(false);
    third.child.kill('SIGTERM');
    await third.exited;
    t.cleanup();
  });

  it('serves HTTPS with a self-signed certificate generated once into the data dir', async () => {
    const t = tempDir();
    const p = serve(['--data-dir', t.dir, '--tls', 'self-signed'], {
      MLGRID_ADMIN_KEY: 'fixed-key-for-test',
    });
    const url = (await p.waitFor(LISTEN))[1]!;
    const cert = (await p.waitFor(/NODE_EXTRA_CA_CERTS=(\S+)/))[1]!;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(p.output()).not.toContain('Admin key'); // MLGRID_ADMIN_KEY given: nothing generated
    const status = await new Promise<number>((resolve, reject) => {
      httpsGet(`${url}/health`, { ca: readFileSync(cert) }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(200);
    const pem = readFileSync(cert, 'utf8');
    p.child.kill('SIGTERM');
    await p.exited;
    // The same pair given as files.
    const t2 = tempDir();
    const files = serve([
      '--data-dir',
      t2.dir,
      '--tls-cert',
      cert,
      '--tls-key',
      cert.replace('cert.pem', 'key.pem'),
    ]);
    expect((await files.waitFor(LISTEN))[1]).toMatch(/^https:/);
    files.child.kill('SIGTERM');
    await files.exited;
    t2.cleanup();
    const again = serve(['--data-dir', t.dir, '--tls', 'self-signed']);
    await again.waitFor(LISTEN);
    expect(readFileSync(cert, 'utf8')).toBe(pem); // generated once, reused
    again.child.kill('SIGTERM');
    await again.exited;
    t.cleanup();
  });

  it('rejects bad flags with a clear message', async () => {
    const p = serve(['--store', 'postgres'], { DATABASE_URL: '' });
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toContain('--store postgres needs --database-url');
  });
});
