/**
 * `/providers/Microsoft.MLGrid/connections[/{name}]`: the broker connection registry. Server-wide like
 * principals, so no role at any scope covers it; and its URLs name internal hosts and users, so unlike principals
 * even reading it takes the admin key. Reached from the `/providers/*` route (http/access-routes.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import { accessAllowedMethods, type ConnectionTarget } from './access-path.js';
import type { AppDeps } from './app.js';
import { validateOperationBody } from './openapi/validate.js';

export async function dispatchConnection(
  t: ConnectionTarget,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
) {
  const allowed = accessAllowedMethods(t);
  if (!allowed.includes(req.method)) {
    throw new MlgridError(
      'MethodNotAllowed',
      `${req.method} is not allowed here; use ${allowed.join(', ')}.`,
      undefined,
      [{ code: 'Allow', message: allowed.join(', ') }],
    );
  }
  await deps.authz.adminOr(req);
  const connections = deps.connections;
  if (!connections) throw new MlgridError('RouteNotFound', 'Broker connections are not served here.');
  if (t.kind === 'connections') return { value: await connections.list() };
  switch (req.method) {
    case 'PUT': {
      validateOperationBody('Connections_CreateOrUpdate', req.body); // the schema in /openapi.json
      const r = await connections.put(t.name, req.body);
      return reply.code(r.created ? 201 : 200).send(r.out);
    }
    case 'DELETE':
      return reply.code((await connections.delete(t.name)) ? 200 : 204).send();
    default:
      return connections.get(t.name);
  }
}
