/**
 * `mlgrid role assignment|definition ...` with `az role`'s flags. Assignments print flattened as az prints
 * them (principalName, roleDefinitionName, scope ...), so `-o table` reads well.
 */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { BUILTIN_ROLES, findRole } from '../core/rbac.js';
import { action, addGlobalOptions, type Context } from './eventgrid-common.js';
import type { CliIo } from './output.js';
import { resolvePrincipalId, type PrincipalOut } from './principal.js';
import { PRINCIPALS_PATH } from '../core/access.js';

interface AssignmentOut {
  id: string;
  name: string;
  properties: {
    scope: string;
    roleDefinitionId: string;
    principalId: string;
    principalType: string;
    createdOn?: string;
    description?: string;
  };
}

interface ScopeFlags {
  scope?: string;
  resourceGroup?: string;
}

const ROLE_NAMES = BUILTIN_ROLES.map((r) => r.roleName).join(', ');

function leaf(parent: Command, name: string, description: string): Command {
  const cmd = new Command(name).description(description);
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

const withScope = (c: Command, what: string) =>
  c
    .option('--scope <id>', `resource id ${what} (default: the subscription)`)
    .option('-g, --resource-group <group>', 'shorthand: the resource group as the scope');

function scopeOf(ctx: Context, f: ScopeFlags): string {
  if (f.scope !== undefined) return f.scope.replace(/\/+$/, '');
  const sub = `/subscriptions/${ctx.subscription}`;
  return f.resourceGroup === undefined ? sub : `${sub}/resourceGroups/${f.resourceGroup}`;
}

function roleOf(ref: string) {
  const role = findRole(ref);
  if (!role) throw new Error(`--role: '${ref}' is not a built-in role (${ROLE_NAMES})`);
  return role;
}

const assignmentsPath = (scope: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments`;

/** az's flattened view; the principal's name when the caller may read principals. */
async function flatten(ctx: Context, items: AssignmentOut[]) {
  const names = new Map<string, string>();
  const principals = await ctx.client.get<ArmList<PrincipalOut>>(PRINCIPALS_PATH).catch(() => undefined);
  for (const p of principals?.value ?? []) names.set(p.properties.objectId, p.name);
  return items.map((a) => ({
    id: a.id,
    name: a.name,
    principalId: a.properties.principalId,
    principalName: names.get(a.properties.principalId) ?? '',
    principalType: a.properties.principalType,
    roleDefinitionId: a.properties.roleDefinitionId,
    roleDefinitionName: findRole(a.properties.roleDefinitionId)?.roleName ?? '',
    scope: a.properties.scope,
    ...(a.properties.description !== undefined ? { description: a.properties.description } : {}),
    createdOn: a.properties.createdOn,
  }));
}

async function listAt(ctx: Context, scope: string, assignee?: string) {
  const principalId = assignee === undefined ? undefined : await resolvePrincipalId(ctx, assignee);
  const filter = principalId === undefined ? undefined : `principalId eq '${principalId}'`;
  const res = await ctx.client.get<ArmList<AssignmentOut>>(assignmentsPath(scope), { $filter: filter });
  return res?.value ?? [];
}

export function registerRoleCommands(program: Command, io: CliIo): void {
  const role = program.command('role').description('Role-based access control (flags as in `az role`)');
  const assignment = role.command('assignment').description('Manage role assignments');

  withScope(leaf(assignment, 'create', 'Assign a role to a principal at a scope'), 'to assign at')
    .requiredOption('--assignee <name|id>', 'principal name or object id')
    .requiredOption('--role <role>', `role name or id: ${ROLE_NAMES}`)
    .option('--name <guid>', 'assignment name (default: a new GUID)')
    .option('--description <text>', 'description')
    .action(
      action<ScopeFlags & { assignee: string; role: string; name?: string; description?: string }>(
        io,
        async (f, ctx) => {
          const r = roleOf(f.role);
          const scope = scopeOf(ctx, f);
          const body = {
            properties: {
              roleDefinitionId: `/subscriptions/${ctx.subscription}/providers/Microsoft.Authorization/roleDefinitions/${r.id}`,
              principalId: await resolvePrincipalId(ctx, f.assignee),
              ...(f.description !== undefined ? { description: f.description } : {}),
            },
          };
          const out = await ctx.client.put<AssignmentOut>(
            `${assignmentsPath(scope)}/${f.name ?? randomUUID()}`,
            body,
          );
          ctx.print((await flatten(ctx, [out]))[0]);
        },
      ),
    );

  withScope(leaf(assignment, 'list', 'List role assignments at, above and below a scope'), 'to list at')
    .option('--assignee <name|id>', "only this principal's")
    .option('--role <role>', 'only this role')
    .action(
      action<ScopeFlags & { assignee?: string; role?: string }>(io, async (f, ctx) => {
        const roleId = f.role === undefined ? undefined : roleOf(f.role).id;
        const items = (await listAt(ctx, scopeOf(ctx, f), f.assignee)).filter(
          (a) => roleId === undefined || findRole(a.properties.roleDefinitionId)?.id === roleId,
        );
        ctx.print(await flatten(ctx, items));
      }),
    );

  withScope(
    leaf(assignment, 'delete', 'Delete role assignments by id, or by assignee/role at a scope'),
    'to delete at',
  )
    .option('--ids <id...>', 'assignment resource ids (space-separated)')
    .option('--assignee <name|id>', 'with --role / --scope: the principal')
    .option('--role <role>', 'with --assignee / --scope: the role')
    .action(
      action<ScopeFlags & { ids?: string[]; assignee?: string; role?: string }>(io, async (f, ctx) => {
        let ids = f.ids ?? [];
        if (ids.length === 0) {
          if (f.assignee === undefined && f.role === undefined) {
            throw new Error('give --ids, or --assignee and/or --role (with --scope)');
          }
          const scope = scopeOf(ctx, f);
          const roleId = f.role === undefined ? undefined : roleOf(f.role).id;
          ids = (await listAt(ctx, scope, f.assignee))
            .filter((a) => a.properties.scope.toLowerCase() === scope.toLowerCase())
            .filter((a) => roleId === undefined || findRole(a.properties.roleDefinitionId)?.id === roleId)
            .map((a) => a.id);
          if (ids.length === 0) ctx.warn('No matched assignments were found to delete.');
        }
        for (const id of ids) await ctx.client.delete(id);
      }),
    );

  const definition = role.command('definition').description('Built-in role definitions');
  leaf(definition, 'list', 'List the built-in roles')
    .option('--name <role>', 'only this role (name)')
    .action(
      action<{ name?: string }>(io, async (f, ctx) => {
        const res = await ctx.client.get<ArmList<unknown>>(
          `/subscriptions/${ctx.subscription}/providers/Microsoft.Authorization/roleDefinitions`,
          { $filter: f.name === undefined ? undefined : `roleName eq '${f.name}'` },
        );
        ctx.print(res?.value ?? []);
      }),
    );
}
