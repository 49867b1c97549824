/**
 * The artifact store over real HTTP on both stores: a folder uploaded file by file and committed, checksums
 * verified on the way in and stated on the way out, size limit, path traversal, and the model registry
 * referencing the artifact by its content address.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const pgSkip = await skipWithoutPostgres('artifacts');
const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-art';
const MAX = 4096;

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
/** Every file below `dir`, recursively. */
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });

/** A request exactly as written (fetch would normalise `..` and `%2e%2e` away). */
function raw(
  url: string,
  method: string,
  path: string,
  body = '',
): Promise<{ status: number; json: { error: { target?: string } } }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: { authorization: `Bearer ${ADMIN_KEY}` } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('artifact store on $backend', ({ backend, skip }) => {
  let s: TestServer;
  const store = tempDir('mlgrid-artifacts-');
  const files: Record<string, Buffer> = {
    'model.pkl': Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)),
    'config/params.json': Buffer.from('{"alpha":0.5}\n'),
    'config/deep/readme.txt': Buffer.from('ünïcode text\n'),
  };
  const put = (
    upload: string,
    path: string,
    body: NonNullable<RequestInit['body']>,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${s.url}${WS}/artifactUploads/${upload}/files/${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers },
      body,
      duplex: 'half',
    } as RequestInit);

  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend, { artifacts: { dir: store.dir, maxFileBytes: MAX } });
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    store.cleanup();
  });

  let manifest: { uri: string; sha256: string; size: number; files: { path: string; sha256: string }[] };

  it.skipIf(skip)('uploads a folder with verified checksums and commits it under its digest', async () => {
    const [a, b, c] = Object.keys(files) as [string, string, string];
    expect((await put('up-1', a, files[a]!, { 'x-ms-content-sha256': b64(sha(files[a]!)) })).status).toBe(
      201,
    );
    const r2 = await put('up-1', b, files[b]!, { 'content-digest': `sha-256=:${b64(sha(files[b]!))}:` });
    expect(r2.status).toBe(201);
    expect(await r2.json()).toEqual({ path: b, size: files[b]!.length, sha256: sha(files[b]!) });
    expect((await put('up-1', c.replace(/ü/g, '%C3%BC'), files[c]!)).status).toBe(201); // no checksum: optional
    const staged = await (await s.arm('GET', `${WS}/artifactUploads/up-1`)).json();
    expect(staged.files.map((f: { path: string }) => f.path).sort()).toEqual(Object.keys(files).sort());

    const res = await s.arm('POST', `${WS}/artifactUploads/up-1/commit`);
    expect(res.status).toBe(201);
    manifest = await res.json();
    // The id is sha256sum's listing of the files (paths in byte order), hashed: recomputed here independently.
    const listing = Object.keys(files)
      .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
      .map((p) => `${sha(files[p]!)}  ${p}\n`)
      .join('');
    expect(manifest.sha256).toBe(sha(listing));
    expect(manifest.uri).toBe(`mlgrid://artifacts/${sha(listing)}`);
    expect(manifest.size).toBe(Object.values(files).reduce((n, f) => n + f.length, 0));
    expect(manifest.files).toHaveLength(3);
    expect((await s.arm('GET', `${WS}/artifactUploads/up-1`)).status).toBe(404); // sealed, gone

    const list = await (await s.arm('GET', `${WS}/artifacts`)).json();
    expect(list.value).toEqual([expect.objectContaining({ sha256: manifest.sha256, fileCount: 3 })]);
  });

  it.skipIf(skip)('downloads every file as uploaded, with its checksum', async () => {
    for (const [path, bytes] of Object.entries(files)) {
      const res = await s.arm('GET', `${WS}/artifacts/${manifest.sha256}/files/${encodeURI(path)}`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      expect(res.headers.get('x-ms-content-sha256')).toBe(b64(sha(bytes)));
      expect(res.headers.get('content-digest')).toBe(`sha-256=:${b64(sha(bytes))}:`);
    }
    const missing = await s.arm('GET', `${WS}/artifacts/${manifest.sha256}/files/nope.bin`);
    expect(missing.status).toBe(404);
  });

  it.skipIf(skip)('the same content committed again is the same artifact (200)', async () => {
    for (const [path, bytes] of Object.entries(files)) {
      expect((await put('up-2', encodeURI(path), bytes)).status).toBe(201);
    }
    const res = await s.arm('POST', `${WS}/artifactUploads/up-2/commit`);
    expect(res.status).toBe(200);
    expect((await res.json()).sha256).toBe(manifest.sha256);
  });

  it.skipIf(skip)('a checksum mismatch is a 400 naming the header, and nothing is kept', async () => {
    const body = Buffer.from('tampered bytes');
    const res = await put('up-bad', 'x.bin', body, { 'x-ms-content-sha256': b64(sha('original bytes')) });
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err.code).toBe('InvalidRequestContent');
    expect(err.target).toBe('x-ms-content-sha256');
    const res2 = await put('up-bad', 'y.bin', body, { 'content-digest': `sha-256=:${b64(sha('other'))}:` });
    expect((await res2.json()).error.target).toBe('content-digest');
    expect((await (await s.arm('GET', `${WS}/artifactUploads/up-bad`)).json()).files).toEqual([]);
    const stored = walk(store.dir).map((p) => readFileSync(p));
    expect(stored.some((b) => b.equals(body))).toBe(false);
    expect((await s.arm('POST', `${WS}/artifactUploads/up-bad/commit`)).status).toBe(400); // no files
  });

  it.skipIf(skip)('a file over the limit is a 413 with the envelope, with or without a length', async () => {
    const big = Buffer.alloc(MAX + 1, 1);
    const res = await put('up-big', 'big.bin', big);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PayloadTooLarge');
    // Chunked, so the server only learns the size while streaming.
    const chunks = [Buffer.alloc(MAX, 2), Buffer.alloc(10, 2)];
    const stream = new ReadableStream({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const res2 = await put('up-big', 'big2.bin', stream);
    expect(res2.status).toBe(413);
    expect((await res2.json()).error.code).toBe('PayloadTooLarge');
    expect((await (await s.arm('GET', `${WS}/artifactUploads/up-big`)).json()).files).toEqual([]);
    expect(walk(store.dir).filter((p) => statSync(p).size > MAX)).toEqual([]);
    expect((await put('up-big', 'ok.bin', Buffer.alloc(MAX, 3))).status).toBe(201); // the limit itself is fine
  });

  it.skipIf(skip)('refuses path traversal, plain or encoded, on upload and download', async () => {
    const base = `${WS}/artifactUploads/up-evil/files`;
    for (const path of [
      '../../escape.txt',
      'a/../../x',
      '%2e%2e/x',
      'a%2F..%2F..%2Fx',
      '/etc/passwd',
      'a//b',
      'a%5Cb',
    ]) {
      const r = await raw(s.url, 'PUT', `${base}/${path}`, 'evil');
      expect(r.status, path).toBe(400);
      expect(r.json.error.target, path).toBe('path');
    }
    const r = await raw(s.url, 'GET', `${WS}/artifacts/${manifest.sha256}/files/..%2Fmanifest.json`);
    expect(r.status).toBe(400);
    expect(walk(store.dir).some((p) => readFileSync(p).toString() === 'evil')).toBe(false);
  });

  it.skipIf(skip)(
    'registers a model version with the artifact URI; the artifact cannot go while used',
    async () => {
      const mv = `${WS}/models/churn/versions/1`;
      const res = await s.arm('PUT', mv, {
        properties: {
          modelUri: manifest.uri.toUpperCase().replace('MLGRID://ARTIFACTS/', 'mlgrid://artifacts/'),
        },
      });
      expect(res.status).toBe(201);
      expect((await res.json()).properties.modelUri).toBe(manifest.uri);
      const del = await s.arm('DELETE', `${WS}/artifacts/${manifest.sha256}`);
      expect(del.status).toBe(409);
      expect((await del.json()).error.message).toContain('churn');
      expect((await s.arm('DELETE', mv)).status).toBe(200);
      expect((await s.arm('DELETE', `${WS}/artifacts/${manifest.sha256}`)).status).toBe(200);
      expect((await s.arm('GET', `${WS}/artifacts/${manifest.sha256}`)).status).toBe(404);
    },
  );

  it.skipIf(skip)('needs the same credentials as the ARM routes, and an existing workspace', async () => {
    const anon = await fetch(`${s.url}${WS}/artifactUploads/up-anon/files/a.txt`, {
      method: 'PUT',
      body: 'x',
    });
    expect(anon.status).toBe(401);
    expect((await anon.json()).error.code).toBe('Unauthorized');
    expect((await fetch(`${s.url}${WS}/artifacts`)).status).toBe(401);
    const other = WS.replace('ws-art', 'ws-missing');
    expect((await s.arm('GET', `${other}/artifacts`)).status).toBe(404);
    expect(walk(store.dir).some((p) => p.includes('up-anon'))).toBe(false);
  });
});

describe('mlgrid ml model create --upload', () => {
  let s: TestServer;
  const local = tempDir('mlgrid-model-');
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    local.cleanup();
  });
  const cli = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (t: string) => (stdout += t),
      stderr: (t: string) => (stderr += t),
      stderrIsTTY: true,
    };
    const conn = ['--server', s.url, '--key', ADMIN_KEY, '--subscription', 's'];
    const code = await runCli([...args, ...conn], io);
    return { code, stdout, stderr };
  };

  it('uploads a folder with a progress bar and registers its artifact URI', async () => {
    mkdirSync(join(local.dir, 'model', 'sub'), { recursive: true });
    writeFileSync(join(local.dir, 'model', 'weights.bin'), Buffer.alloc(70_000, 9));
    writeFileSync(join(local.dir, 'model', 'sub', 'meta.json'), '{"v":1}');
    const r = await cli(
      'ml',
      'model',
      'create',
      '-n',
      'net',
      '-w',
      'ws-art',
      '-g',
      'rg',
      '--path',
      join(local.dir, 'model'),
      '--upload',
    );
    expect(r.stderr).toContain('uploading [');
    expect(r.stderr).toContain('2/2 files');
    expect(r.code, r.stderr).toBe(0);
    const mv = JSON.parse(r.stdout);
    expect(mv.properties.modelUri).toMatch(/^mlgrid:\/\/artifacts\/[0-9a-f]{64}$/);
    const id = mv.properties.modelUri.split('/').at(-1);
    const m = await (await s.arm('GET', `${WS}/artifacts/${id}`)).json();
    expect(m.files).toEqual([
      { path: 'sub/meta.json', size: 7, sha256: sha('{"v":1}') },
      { path: 'weights.bin', size: 70_000, sha256: sha(Buffer.alloc(70_000, 9)) },
    ]);
  });

  it('a single file is stored under its name; without --upload the path stays a file:// URI', async () => {
    writeFileSync(join(local.dir, 'model.pkl'), 'pickled');
    const r = await cli(
      'ml',
      'model',
      'create',
      '-n',
      'one',
      '-w',
      'ws-art',
      '-g',
      'rg',
      '--path',
      join(local.dir, 'model.pkl'),
      '--upload',
    );
    expect(r.code, r.stderr).toBe(0);
    const id = JSON.parse(r.stdout).properties.modelUri.split('/').at(-1);
    const m = await (await s.arm('GET', `${WS}/artifacts/${id}`)).json();
    expect(m.files).toEqual([{ path: 'model.pkl', size: 7, sha256: sha('pickled') }]);
    const plain = await cli(
      'ml',
      'model',
      'create',
      '-n',
      'one',
      '-w',
      'ws-art',
      '-g',
      'rg',
      '--path',
      join(local.dir, 'model.pkl'),
    );
    expect(JSON.parse(plain.stdout).properties.modelUri).toBe(`file://${join(local.dir, 'model.pkl')}`);
    const missing = await cli(
      'ml',
      'model',
      'create',
      '-n',
      'one',
      '-w',
      'ws-art',
      '-g',
      'rg',
      '--path',
      join(local.dir, 'nope'),
      '--upload',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });
});
