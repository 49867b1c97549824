/**
 * The SDK's reporting and artifact calls against the real app in process (SQLite): `Run` from training code (in a
 * local job's real process, and for a job run elsewhere), `client.jobs.*` reports, `client.artifacts`.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, MlgridClient, Run } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import { tempDir } from '../../server/test/helpers/tmp.js';
import { until } from '../../server/test/helpers/until.js';

const RG = 'rg-run';
const WS = 'ws-run';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('Run and artifacts in the SDK', () => {
  let s: TestServer;
  let client: MlgridClient;
  const tmp = tempDir('mlgrid-run-');
  beforeAll(async () => {
    s = await startTestServer('sqlite', { jobs: { pollMs: 50 } });
    client = new MlgridClient({ baseUrl: s.url, key: ADMIN_KEY });
    await client.workspaces.create(RG, WS, { location: 'local' });
  });
  afterAll(async () => {
    await s?.stop();
    tmp.cleanup();
  });
  const command = (cmd: string, properties: Record<string, string> = {}) => ({
    properties: { jobType: 'Command' as const, command: cmd, environmentId: 'azureml:env:1', properties },
  });

  it('a job run elsewhere logs metrics in batches and reports its way to Completed', async () => {
    await client.jobs.create(RG, WS, 'remote-1', command('python train.py', { 'mlgrid.runner': 'external' }));
    const run = Run.fromEnv({
      MLGRID_SERVER: `${s.url}/`,
      MLGRID_JOB_ID: `${client.workspaceId(RG, WS)}/jobs/remote-1`,
      MLGRID_KEY: ADMIN_KEY,
    });
    expect((await run.reportStatus('Running')).status).toBe('Running');
    for (const v of [0.9, 0.6, 0.4]) run.logMetric('loss', v);
    run.logMetric('accuracy', 0.81, 5);
    const done = await run.reportStatus('Completed', { exitCode: 0 }); // flushes the points first
    expect(done).toMatchObject({ status: 'Completed', changed: true });
    const job = await client.jobs.get(RG, WS, 'remote-1');
    expect(job.properties.status).toBe('Completed');

    const [loss] = await client.jobs.getMetrics(RG, WS, 'remote-1', 'loss');
    expect(loss!.points.map((p) => [p.step, p.value])).toEqual([
      [0, 0.9],
      [1, 0.6],
      [2, 0.4],
    ]);
    expect((await run.metrics()).map((m) => m.name).sort()).toEqual(['accuracy', 'loss']);
    await run.close();

    const late = await client.jobs.reportStatus(RG, WS, 'remote-1', { status: 'Running' }).catch((e) => e);
    expect(late).toBeInstanceOf(ApiError);
    expect(late).toMatchObject({ status: 409, code: 'Conflict', target: 'status' });
    expect(await client.jobs.logMetrics(RG, WS, 'remote-1', [{ name: 'loss', value: 0.3 }])).toEqual({
      logged: 1,
    });
  });

  it('Run.fromEnv says which variables are missing', () => {
    expect(() => Run.fromEnv({ MLGRID_SERVER: s.url })).toThrow(
      /MLGRID_JOB_ID, MLGRID_JOB_TOKEN or MLGRID_KEY/,
    );
  });

  it("Run.fromEnv inside a local job's process logs with the variables mlgrid set", async () => {
    const sdk = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const tsx = import.meta.resolve('tsx');
    const script = join(tmp.dir, 'train.mts');
    writeFileSync(
      script,
      `import { Run } from ${JSON.stringify(sdk)};
const run = Run.fromEnv();
for (let epoch = 0; epoch < 3; epoch++) run.logMetric('loss', 1 / (epoch + 1));
await run.close();
console.log('logged');
`,
    );
    await client.jobs.create(
      RG,
      WS,
      'local-sdk',
      command(`"${process.execPath}" --import ${tsx} "${script}"`),
    );
    const job = await until(
      () => client.jobs.get(RG, WS, 'local-sdk'),
      (j) => ['Completed', 'Failed', 'Canceled'].includes(j.properties.status),
      60_000,
    );
    const log = await client.jobs.logs(RG, WS, 'local-sdk');
    expect(job.properties.status, log).toBe('Completed');
    expect(log).toContain('logged');
    const [loss] = await client.jobs.getMetrics(RG, WS, 'local-sdk');
    expect(loss!.points.map((p) => p.value)).toEqual([1, 0.5, 1 / 3]);
  });

  it('uploads a folder from bytes, text and a stream, registers it, downloads it', async () => {
    const weights = new Uint8Array(Array.from({ length: 5000 }, (_, i) => i % 251));
    const chunks = [new TextEncoder().encode('line 1\n'), new TextEncoder().encode('line 2\n')];
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const seen: string[] = [];
    const art = await client.artifacts.upload(
      RG,
      WS,
      [
        { path: 'weights.bin', body: weights },
        { path: 'conf/params.yaml', body: 'alpha: 0.5\n' },
        { path: 'logs/train.log', body: stream },
      ],
      { onFile: (f, done, total) => seen.push(`${done}/${total} ${f.path}`) },
    );
    expect(seen).toEqual(['1/3 weights.bin', '2/3 conf/params.yaml', '3/3 logs/train.log']);
    expect(art.uri).toBe(`mlgrid://artifacts/${art.sha256}`);
    expect(art.files.find((f) => f.path === 'weights.bin')!.sha256).toBe(sha(weights));
    expect(art.files.find((f) => f.path === 'logs/train.log')!.sha256).toBe(sha('line 1\nline 2\n'));

    const mv = await client.models.register(RG, WS, 'net', '1', { properties: { modelUri: art.uri } });
    expect(mv.properties.modelUri).toBe(art.uri);
    const res = await client.artifacts.download(RG, WS, art.sha256, 'weights.bin');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(weights);
    expect((await client.artifacts.list(RG, WS)).map((a) => a.sha256)).toContain(art.sha256);
    expect((await client.artifacts.get(RG, WS, art.sha256)).files).toHaveLength(3);
  });

  it('a wrong checksum is an ApiError naming the header, and the upload is abandoned', async () => {
    const err = await client.artifacts
      .upload(RG, WS, [{ path: 'a.bin', body: 'actual', sha256: sha('expected') }], { uploadId: 'bad-1' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, target: 'x-ms-content-sha256' });
    // Refused before sending: a URL would silently resolve `a/../b` to `b`.
    const other = await client.artifacts.upload(RG, WS, [{ path: 'a/../x', body: 'x' }]).catch((e) => e);
    expect(other).toBeInstanceOf(TypeError);
    expect(other.message).toContain('a/../x');
  });
});
