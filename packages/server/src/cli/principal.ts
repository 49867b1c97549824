/**
 * `mlgrid principal ...`: users and service principals with API keys (the admin key manages them). A key is
 * printed once, when created or rotated; the server keeps only its hash.
 */
import { Command, Option } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { PRINCIPALS_PATH, PRINCIPAL_TYPES } from '../core/access.js';
import { action, addGlobalOptions, type Context } from './eventgrid-common.js';
import type { CliIo } from './output.js';

export const principalPath = (name: string) => `${PRINCIPALS_PATH}/${name}`;

/** az prints this beside credentials it creates (`az ad sp create-for-rbac`). */
const SHOWN_ONCE = 'The output includes a key that is shown only this once: store it securely now.';

function leaf(parent: Command, name: string, description: string): Command {
  const cmd = new Command(name).description(description);
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

export interface PrincipalOut {
  name: string;
  properties: { objectId: string; principalType: string };
}

/** A principal's object id from its name, or the id itself when given one (az's `--assignee`). */
export async function resolvePrincipalId(ctx: Context, nameOrId: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nameOrId)) return nameOrId;
  const p = await ctx.client.get<PrincipalOut>(principalPath(nameOrId));
  return p.properties.objectId;
}

export function registerPrincipalCommands(program: Command, io: CliIo): void {
  const principal = program
    .command('principal')
    .description('Users and service principals with API keys (managed with the admin key)');
  const named = (c: Command) => c.requiredOption('-n, --name <name>', 'principal name');

  named(leaf(principal, 'create', 'Create a principal and print its first API key (once)'))
    .addOption(
      new Option('--type <type>', 'principal type (default for a new one: ServicePrincipal)').choices(
        PRINCIPAL_TYPES,
      ),
    )
    .option('--display-name <text>', 'display name')
    .action(
      action<{ name: string; type?: string; displayName?: string }>(io, async (f, ctx) => {
        const out = await ctx.client.put<{ properties: { newKey?: unknown } }>(principalPath(f.name), {
          properties: { principalType: f.type, displayName: f.displayName },
        });
        if (out?.properties.newKey) ctx.warn(SHOWN_ONCE);
        else
          ctx.warn(`The principal '${f.name}' exists: updated; no new key (use \`principal key rotate\`).`);
        ctx.print(out);
      }),
    );
  named(leaf(principal, 'show', 'Show a principal (never its keys)')).action(
    action<{ name: string }>(io, async (f, ctx) => ctx.print(await ctx.client.get(principalPath(f.name)))),
  );
  leaf(principal, 'list', 'List principals').action(
    action(io, async (_f, ctx) => {
      ctx.print((await ctx.client.get<ArmList<unknown>>(PRINCIPALS_PATH))?.value ?? []);
    }),
  );
  named(leaf(principal, 'delete', 'Delete a principal, its keys and its role assignments')).action(
    action<{ name: string }>(io, async (f, ctx) => {
      await ctx.client.delete(principalPath(f.name));
    }),
  );

  const key = principal.command('key').description("Manage a principal's API keys");
  named(leaf(key, 'rotate', 'Issue a new key (printed once); keep or revoke the old ones'))
    .option('--revoke-old', 'revoke every other key of the principal at once')
    .action(
      action<{ name: string; revokeOld?: boolean }>(io, async (f, ctx) => {
        const out = await ctx.client.post(`${principalPath(f.name)}/rotateKey`, {
          revokeOld: f.revokeOld === true,
        });
        ctx.warn(SHOWN_ONCE);
        ctx.print(out);
      }),
    );
  named(leaf(key, 'list', "List a principal's keys (ids and creation times)")).action(
    action<{ name: string }>(io, async (f, ctx) => {
      ctx.print((await ctx.client.get<ArmList<unknown>>(`${principalPath(f.name)}/keys`))?.value ?? []);
    }),
  );
  named(leaf(key, 'delete', 'Revoke one key'))
    .requiredOption('--key-id <id>', 'the key id (from `key list`)')
    .action(
      action<{ name: string; keyId: string }>(io, async (f, ctx) => {
        await ctx.client.delete(`${principalPath(f.name)}/keys/${f.keyId}`);
      }),
    );
}
