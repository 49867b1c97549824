/** Automation routes (`…/workspaces/{ws}/automations[/{name}[/run | /runs[/{runId}[/cancel]]]]`), from `dispatchMl`. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import type { AppDeps } from './app.js';
import type { AutomationTarget } from './automation-path.js';

export async function dispatchAutomation(
  t: AutomationTarget,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
) {
  const svc = deps.automations;
  if (!svc) throw new MlgridError('RouteNotFound', 'Automations are not served here.');
  const q = req.query as Record<string, string | undefined>;
  switch (t.kind) {
    case 'automations':
      return { value: await svc.list(t) };
    case 'automationRuns':
      return { value: await svc.runs(t, t.automation, { status: q.status, top: q.$top ?? q.top }) };
    case 'automationRun':
      return t.action === 'cancel' ? svc.cancelRun(t, t.automation, t.run) : svc.run(t, t.automation, t.run);
  }
  if (t.action === 'run') return reply.code(202).send(await svc.trigger(t, t.automation, req.body));
  switch (req.method) {
    case 'PUT': {
      // The trigger is an event subscription on its source: subscribing elsewhere needs the right to do so there.
      const authorize = (scope: string) =>
        deps.authz.require(req, {
          action: 'Microsoft.EventGrid/eventSubscriptions/write',
          resourceId: scope,
        });
      const r = await svc.put(t, t.automation, req.body, authorize);
      return reply.code(r.created ? 201 : 200).send(r.out);
    }
    case 'DELETE':
      return reply.code((await svc.delete(t, t.automation)) ? 200 : 204).send();
    default:
      return svc.get(t, t.automation);
  }
}
