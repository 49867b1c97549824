/** Local function resources through the ARM catch-all, on both stores: CRUD, Azure's shape, 400s, who may write. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { as, assign, createPrincipal, expectAuthorizationFailed } from './helpers/rbac.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

const pgSkip = await skipWithoutPostgres('local functions');
const RG = '/subscriptions/fn-sub/resourceGroups/fn-rg';
const SITE = `${RG}/providers/Microsoft.Web/sites/models-app`;
const FN = `${SITE}/functions/OnModelRegistered`;
const ML = 'properties.config.mlgrid';

const body = (mlgrid: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  properties: { config: { mlgrid }, ...extra },
});

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('local functions API on $backend', ({ backend, skip }) => {
  let s: TestServer;
  beforeAll(async () => {
    if (!skip) s = await startTestServer(backend);
  });
  afterAll(async () => s?.stop());

  const error = async (r: Response, status = 400) => {
    expect(r.status).toBe(status);
    return ((await r.json()) as { error: { code: string; message: string; target?: string } }).error;
  };

  it.skipIf(skip)(
    'creates, replaces, reads, lists and deletes a function in Azure FunctionEnvelope shape',
    async () => {
      const created = await s.arm(
        'PUT',
        FN,
        body(
          {
            command: ['python3', 'deploy.py', '--stage', 'prod'],
            env: { STAGE: 'prod' },
            timeoutSeconds: 120,
          },
          { isDisabled: false },
        ),
      );
      expect(created.status).toBe(201);
      const out = await created.json();
      expect(out).toEqual({
        id: FN,
        name: 'models-app/OnModelRegistered',
        type: 'Microsoft.Web/sites/functions',
        properties: {
          function_app_id: SITE,
          config: {
            mlgrid: {
              command: ['python3', 'deploy.py', '--stage', 'prod'],
              env: { STAGE: 'prod' },
              timeoutSeconds: 120,
              maxConcurrency: 4,
            },
          },
          language: 'python',
          isDisabled: false,
        },
      });

      // A replace keeps the id as first spelled (ARM ids are case-insensitive) and Azure's other config keys.
      const replaced = await s.arm(
        'PUT',
        FN.toLowerCase(),
        body({ module: 'deploy.mjs', cwd: 'models-app/js' }, { isDisabled: true }),
      );
      expect(replaced.status).toBe(200);
      expect(await replaced.json()).toMatchObject({
        id: FN,
        properties: {
          config: { mlgrid: { module: 'deploy.mjs', cwd: 'models-app/js', env: {}, timeoutSeconds: 30 } },
          language: 'node',
          isDisabled: true,
        },
      });
      const withBindings = await s.arm('PUT', FN, {
        properties: {
          config: { bindings: [{ type: 'eventGridTrigger', name: 'e' }], mlgrid: { command: ['x'] } },
        },
      });
      expect((await withBindings.json()).properties.config).toMatchObject({
        bindings: [{ type: 'eventGridTrigger', name: 'e' }],
        mlgrid: { command: ['x'] },
      });

      const got = await s.arm('GET', FN.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'));
      expect(got.status).toBe(200);
      expect((await got.json()).id).toBe(FN);

      expect((await s.arm('PUT', `${SITE}/functions/second`, body({ command: ['true'] }))).status).toBe(201);
      await s.arm(
        'PUT',
        `${RG}/providers/Microsoft.Web/sites/other-app/functions/x`,
        body({ command: ['true'] }),
      );
      const list = (await (await s.arm('GET', `${SITE}/functions`)).json()) as { value: { name: string }[] };
      expect(list.value.map((f) => f.name).sort()).toEqual([
        'models-app/OnModelRegistered',
        'models-app/second',
      ]);
      expect(
        (await (await s.arm('GET', `${RG}/providers/Microsoft.Web/sites/none/functions`)).json()).value,
      ).toEqual([]);

      expect((await s.arm('DELETE', FN)).status).toBe(200);
      expect((await s.arm('DELETE', FN)).status).toBe(204);
      expect((await error(await s.arm('GET', FN), 404)).code).toBe('ResourceNotFound');
    },
  );

  it.skipIf(skip)('answers 400 naming the field at fault', async () => {
    const cases: [unknown, string][] = [
      [{}, 'properties'],
      [{ properties: {} }, 'properties.config'],
      [{ properties: { config: {} } }, ML],
      [body({}), ML],
      [body({ command: ['a'], module: 'b.js' }), `${ML}.module`],
      [body({ command: [] }), `${ML}.command`],
      [body({ command: 'python3 h.py' }), `${ML}.command`],
      [body({ module: 'handler.py' }), `${ML}.module`],
      [body({ command: ['a'], timeoutSeconds: 601 }), `${ML}.timeoutSeconds`],
      [body({ command: ['a'], maxConcurrency: 0 }), `${ML}.maxConcurrency`],
      [body({ command: ['a'], env: { MLGRID_ADMIN_KEY: 'x' } }), `${ML}.env.MLGRID_ADMIN_KEY`],
      [body({ command: ['a'], env: { A: 1 } }), `${ML}.env.A`],
      [body({ command: ['a'], cwd: '/etc' }), `${ML}.cwd`],
      [body({ command: ['a'], cwd: '../elsewhere' }), `${ML}.cwd`],
      [body({ module: '../../../x.mjs' }), `${ML}.module`],
      [body({ command: ['a'] }, { isDisabled: 'yes' }), 'properties.isDisabled'],
    ];
    for (const [b, target] of cases) {
      const e = await error(await s.arm('PUT', `${SITE}/functions/bad`, b));
      expect({ target: e.target, code: e.code }, JSON.stringify(b)).toEqual({
        target,
        code: 'InvalidRequestContent',
      });
      expect(e.message.startsWith(`${target}: `)).toBe(true);
    }
    const badName = await error(
      await s.arm('PUT', `${SITE}/functions/1-starts-with-digit`, body({ command: ['a'] })),
    );
    expect(badName.code).toBe('InvalidResourceName');
    expect((await error(await s.arm('PATCH', FN, body({ command: ['a'] })), 405)).code).toBe(
      'MethodNotAllowed',
    );
    expect((await error(await s.arm('GET', `${SITE}/functions/f/extra`), 404)).code).toBe('RouteNotFound');
  });

  // RBAC does not depend on the store: checked once, on SQLite (shows as skipped on PostgreSQL).
  it.skipIf(skip || backend === 'postgres')(
    'lets Owner and Contributor write functions, Reader only read',
    async () => {
      const reader = await createPrincipal(s, 'fn-reader');
      const contributor = await createPrincipal(s, 'fn-contributor');
      await assign(s, reader, 'Reader', RG);
      await assign(s, contributor, 'Contributor', RG);
      const path = `${SITE}/functions/rbac`;
      const message = await expectAuthorizationFailed(
        await as(s, reader.key, 'PUT', path, body({ command: ['a'] })),
      );
      expect(message).toContain("action 'Microsoft.Web/sites/functions/write'");
      expect((await as(s, contributor.key, 'PUT', path, body({ command: ['a'] }))).status).toBe(201);
      expect((await as(s, reader.key, 'GET', path)).status).toBe(200);
      await expectAuthorizationFailed(await as(s, reader.key, 'DELETE', path));
      expect((await as(s, contributor.key, 'DELETE', path)).status).toBe(200);
    },
  );
});

describe('mlgrid function create|show|list|delete', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => s?.stop());
  const cli = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli([...args, '--server', s.url, '--key', ADMIN_KEY, '--subscription', 'cli-sub'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr };
  };
  const site = '/subscriptions/cli-sub/resourceGroups/cli-rg/providers/Microsoft.Web/sites/cli-app';

  it('creates a command function from a shell-like command line and manages it', async () => {
    const made = await cli(
      'function',
      'create',
      '--app',
      'cli-app',
      '-n',
      'deploy',
      '-g',
      'cli-rg',
      '--command',
      `python3 deploy.py --note 'two words'`,
      '--timeout',
      '45',
      '--env',
      'STAGE=prod',
      'A=b=c',
    );
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({
      id: `${site}/functions/deploy`,
      properties: {
        config: {
          mlgrid: {
            command: ['python3', 'deploy.py', '--note', 'two words'],
            env: { STAGE: 'prod', A: 'b=c' },
            timeoutSeconds: 45,
          },
        },
      },
    });
    expect((await s.arm('GET', `${site}/functions/deploy`)).status).toBe(200);
    const mod = await cli(
      'function',
      'create',
      '--app',
      'cli-app',
      '-n',
      'js',
      '-g',
      'cli-rg',
      '--module',
      'h.mjs',
    );
    expect(mod.code).toBe(0);
    const shown = await cli('function', 'show', '--app', 'cli-app', '-n', 'js', '-g', 'cli-rg');
    expect(JSON.parse(shown.stdout).properties.config.mlgrid).toMatchObject({ module: 'h.mjs' });
    const table = await cli('function', 'list', '--app', 'cli-app', '-g', 'cli-rg', '-o', 'table');
    expect(table.stdout).toMatch(/cli-app\/deploy\s+python\s+python3 deploy\.py --note two words\s+45/);
    expect(table.stdout).toMatch(/cli-app\/js\s+node\s+h\.mjs\s+30/);
    expect((await cli('function', 'delete', '--app', 'cli-app', '-n', 'js', '-g', 'cli-rg')).code).toBe(0);
    const list = await cli('function', 'list', '--app', 'cli-app', '-g', 'cli-rg');
    expect(JSON.parse(list.stdout).map((f: { name: string }) => f.name)).toEqual(['cli-app/deploy']);
  });

  it("reports the server's 400 and local usage errors by flag", async () => {
    const outside = await cli(
      'function',
      'create',
      '--app',
      'a1',
      '-n',
      'f',
      '-g',
      'rg',
      '--command',
      'x',
      '--cwd',
      '/etc',
    );
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(
      /^ERROR: InvalidRequestContent: properties\.config\.mlgrid\.cwd: must be inside/,
    );
    const both = await cli('function', 'create', '--app', 'a1', '-n', 'f', '-g', 'rg');
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--command: give exactly one of --command and --module/);
  });
});
