/** Local function routes (Microsoft.Web/sites/{app}/functions), dispatched from the ARM catch-all. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import type { AppDeps } from './app.js';
import type { FunctionTarget } from './function-path.js';

export async function dispatchFunctions(
  t: FunctionTarget,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
) {
  const fns = deps.functions;
  if (!fns) throw new MlgridError('RouteNotFound', 'Local functions are not served here.');
  if (t.kind === 'functions') return { value: await fns.list(t) };
  switch (req.method) {
    case 'PUT': {
      const r = await fns.put(t, req.body);
      return reply.code(r.created ? 201 : 200).send(r.out);
    }
    case 'DELETE':
      return reply.code((await fns.delete(t)) ? 200 : 204).send();
    default:
      return fns.get(t);
  }
}
