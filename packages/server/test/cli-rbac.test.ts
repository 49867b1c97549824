/**
 * `mlgrid principal` and `mlgrid role assignment` end to end against a real server: the key is printed once,
 * a role assignment lets the principal's `--key` do what it could not before, rotation and deletion end it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';

const SUB = '00000000-0000-0000-0000-0000000000cc';
const WS = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1`;

describe('mlgrid principal / role CLI end to end', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => s?.stop());

  async function mlgrid(key: string, ...args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli([...args, '--server', s.url, '--key', key, '--subscription', SUB], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    return { code, stdout, stderr };
  }
  const json = (r: { stdout: string }) => JSON.parse(r.stdout);
  const createSub = (key: string, name: string) =>
    mlgrid(
      key,
      'eventgrid',
      'event-subscription',
      'create',
      '--name',
      name,
      '--source-resource-id',
      WS,
      '--endpoint',
      `${s.url}/inbox/${name}`,
    );

  it('principal create → key once → role assignment → the key works, within its role', async () => {
    const created = await mlgrid(
      ADMIN_KEY,
      'principal',
      'create',
      '--name',
      'ci-bot',
      '--type',
      'ServicePrincipal',
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('shown only this once');
    const bot = json(created);
    const key: string = bot.properties.newKey.key;
    expect(key).toMatch(/^mlg_/);
    const shown = await mlgrid(ADMIN_KEY, 'principal', 'show', '--name', 'ci-bot');
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toContain(key);
    expect(json(shown).properties.objectId).toBe(bot.properties.objectId);

    expect((await mlgrid(ADMIN_KEY, 'ml', 'workspace', 'create', '-n', 'ws1', '-g', 'rg1')).code).toBe(0);
    const refused = await createSub(key, 'before');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('AuthorizationFailed');
    expect(refused.stderr).toContain("'Microsoft.EventGrid/eventSubscriptions/write'");

    const assigned = await mlgrid(
      ADMIN_KEY,
      'role',
      'assignment',
      'create',
      '--assignee',
      'ci-bot',
      '--role',
      'Contributor',
      '--scope',
      WS,
    );
    expect(assigned.code).toBe(0);
    const a = json(assigned);
    expect(a).toMatchObject({
      principalId: bot.properties.objectId,
      principalName: 'ci-bot',
      roleDefinitionName: 'Contributor',
      scope: WS,
    });

    expect((await createSub(key, 'after')).code).toBe(0);
    const table = await mlgrid(
      key,
      'role',
      'assignment',
      'list',
      '--assignee',
      'ci-bot',
      '--scope',
      WS,
      '-o',
      'tsv',
    );
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Contributor');
    // A Contributor may not hand out roles.
    const escalate = await mlgrid(
      key,
      'role',
      'assignment',
      'create',
      '--assignee',
      bot.properties.objectId,
      '--role',
      'Owner',
      '--scope',
      WS,
    );
    expect([escalate.code, escalate.stderr.includes('AuthorizationFailed')]).toEqual([1, true]);

    // The principal rotates its own key and revokes the old one.
    const rotated = await mlgrid(key, 'principal', 'key', 'rotate', '--name', 'ci-bot', '--revoke-old');
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain('shown only this once');
    const key2: string = json(rotated).key;
    const old = await mlgrid(key, 'ml', 'workspace', 'show', '-n', 'ws1', '-g', 'rg1');
    expect([old.code, old.stderr.includes('Unauthorized')]).toEqual([1, true]);
    expect(old.stderr).not.toContain(key); // the key is redacted from errors
    expect((await mlgrid(key2, 'ml', 'workspace', 'show', '-n', 'ws1', '-g', 'rg1')).code).toBe(0);

    // Deleting the assignment ends the access.
    expect((await mlgrid(ADMIN_KEY, 'role', 'assignment', 'delete', '--ids', a.id)).code).toBe(0);
    const gone = await mlgrid(key2, 'role', 'assignment', 'list', '--scope', WS);
    expect(gone.code).toBe(1);
    expect((await createSub(key2, 'later')).stderr).toContain('AuthorizationFailed');
  });

  it('deletes by assignee and role, lists principals and definitions, deletes the principal', async () => {
    const p = json(await mlgrid(ADMIN_KEY, 'principal', 'create', '--name', 'alice', '--type', 'User'));
    expect(p.properties.principalType).toBe('User');
    for (const role of ['Reader', 'EventGrid Data Sender']) {
      expect(
        (
          await mlgrid(
            ADMIN_KEY,
            'role',
            'assignment',
            'create',
            '--assignee',
            'alice',
            '--role',
            role,
            '-g',
            'rg1',
          )
        ).code,
      ).toBe(0);
    }
    const list = async () =>
      json(await mlgrid(ADMIN_KEY, 'role', 'assignment', 'list', '--assignee', 'alice', '-g', 'rg1')).map(
        (x: { roleDefinitionName: string }) => x.roleDefinitionName,
      );
    expect((await list()).sort()).toEqual(['EventGrid Data Sender', 'Reader']);
    const del = await mlgrid(
      ADMIN_KEY,
      'role',
      'assignment',
      'delete',
      '--assignee',
      'alice',
      '--role',
      'Reader',
      '-g',
      'rg1',
    );
    expect(del.code).toBe(0);
    expect(await list()).toEqual(['EventGrid Data Sender']);
    const badRole = await mlgrid(
      ADMIN_KEY,
      'role',
      'assignment',
      'create',
      '--assignee',
      'alice',
      '--role',
      'Janitor',
    );
    expect([badRole.code, badRole.stderr]).toEqual([1, expect.stringContaining('--role')]);

    const names = json(await mlgrid(ADMIN_KEY, 'principal', 'list')).map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['ci-bot', 'alice']));
    const defs = json(await mlgrid(ADMIN_KEY, 'role', 'definition', 'list', '--name', 'Reader'));
    expect(defs.map((d: { name: string }) => d.name)).toEqual(['acdd72a7-3758-441c-88e6-7f3ecc1d9e1b']);

    expect((await mlgrid(ADMIN_KEY, 'principal', 'delete', '--name', 'alice')).code).toBe(0);
    const left = json(await mlgrid(ADMIN_KEY, 'role', 'assignment', 'list', '-g', 'rg1'));
    expect(left.filter((x: { principalId: string }) => x.principalId === p.properties.objectId)).toEqual([]);
    const byId = await mlgrid(ADMIN_KEY, 'role', 'assignment', 'list', '--assignee', p.properties.objectId);
    expect(json(byId)).toEqual([]);
    const missing = await mlgrid(ADMIN_KEY, 'principal', 'show', '--name', 'alice');
    expect([missing.code, missing.stderr.includes('ResourceNotFound')]).toEqual([1, true]);
  });
});
