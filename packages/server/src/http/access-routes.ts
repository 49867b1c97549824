/** Access-control routes: principals and their keys (admin), role assignments and definitions (ARM). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import { renderRoleDefinition } from '../core/access.js';
import { BUILTIN_ROLES, findRole } from '../core/rbac.js';
import {
  accessAllowedMethods,
  parseConnectionPath,
  parsePrincipalPath,
  type AuthorizationTarget,
  type PrincipalTarget,
} from './access-path.js';
import type { AppDeps } from './app.js';
import { dispatchConnection } from './connection-routes.js';
import { validateOperationBody } from './openapi/validate.js';

function checkMethod(t: AuthorizationTarget | PrincipalTarget, method: string): void {
  const allowed = accessAllowedMethods(t);
  if (!allowed.includes(method)) {
    throw new MlgridError(
      'MethodNotAllowed',
      `${method} is not allowed here; use ${allowed.join(', ')}.`,
      undefined,
      [{ code: 'Allow', message: allowed.join(', ') }],
    );
  }
}

/**
 * Principals are server-wide, so no role at any scope covers them: only the admin key creates, changes and
 * deletes them. Any authenticated caller may read them (names and object ids, never keys) to assign roles,
 * and a principal may list, rotate and revoke its own keys.
 */
export function registerPrincipalRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'POST', 'PATCH'],
    url: '/providers/*',
    handler: async (req, reply) => {
      const t = parsePrincipalPath(req.url.split('?')[0]!);
      const conn = t ? undefined : parseConnectionPath(req.url.split('?')[0]!);
      if (conn) return dispatchConnection(conn, req, reply, deps);
      if (!t) throw new MlgridError('RouteNotFound', `No resource type at ${req.url.split('?')[0]}.`);
      checkMethod(t, req.method);
      const { access, authz } = deps;
      if (t.kind === 'principals') {
        await authz.authenticate(req);
        return { value: await access.listPrincipals() };
      }
      const self = (id: { name: string }) => id.name.toLowerCase() === t.name.toLowerCase();
      switch (t.kind) {
        case 'principal':
          if (req.method === 'GET') {
            await authz.authenticate(req);
            return access.getPrincipal(t.name);
          }
          await authz.adminOr(req);
          if (req.method === 'PUT') {
            validateOperationBody('Principals_CreateOrUpdate', req.body); // the schema in /openapi.json
            const r = await access.putPrincipal(t.name, req.body);
            return reply.code(r.created ? 201 : 200).send(r.out);
          }
          return reply.code((await access.deletePrincipal(t.name)) ? 200 : 204).send();
        case 'principalKeys':
          await authz.adminOr(req, self);
          return { value: await access.listKeys(t.name) };
        case 'principalKey':
          await authz.adminOr(req, self);
          return reply.code((await access.deleteKey(t.name, t.keyId)) ? 200 : 204).send();
        default:
          await authz.adminOr(req, self);
          validateOperationBody('Principals_RotateKey', req.body);
          return access.rotateKey(t.name, req.body);
      }
    },
  });
}

/** `{scope}/providers/Microsoft.Authorization/...`, reached from the ARM catch-all before its own paths. */
export async function dispatchAuthorization(
  t: AuthorizationTarget,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
) {
  checkMethod(t, req.method);
  const id = await deps.authz.arm(req); // writes need Owner (Microsoft.Authorization/*/write) over the scope
  const { access } = deps;
  switch (t.kind) {
    case 'roleAssignments': {
      const filter = (req.query as Record<string, string | undefined>).$filter;
      return { value: await access.listAssignments(t.scope, filter) };
    }
    case 'roleAssignment':
      if (req.method === 'PUT') {
        const by = id.kind === 'principal' ? id.objectId : undefined;
        validateOperationBody('RoleAssignments_Create', req.body);
        const r = await access.putAssignment(t.scope, t.name, req.body, by);
        return reply.code(r.created ? 201 : 200).send(r.out);
      }
      if (req.method === 'DELETE') {
        const gone = await access.deleteAssignment(t.scope, t.name);
        return gone ? reply.code(200).send(gone) : reply.code(204).send();
      }
      return access.getAssignment(t.scope, t.name);
    case 'roleDefinitions': {
      const filter = (req.query as Record<string, string | undefined>).$filter;
      const byName = filter && /^roleName\s+eq\s+'([^']*)'$/i.exec(filter.trim())?.[1];
      const roles = byName ? BUILTIN_ROLES.filter((r) => r.roleName === byName) : BUILTIN_ROLES;
      return { value: roles.map((r) => renderRoleDefinition(t.scope, r)) };
    }
    default: {
      const role = findRole(t.name);
      if (!role) throw new MlgridError('ResourceNotFound', `The role definition '${t.name}' was not found.`);
      return renderRoleDefinition(t.scope, role);
    }
  }
}
