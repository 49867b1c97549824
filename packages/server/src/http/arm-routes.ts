/** Azure Resource Manager routes: one catch-all below `/subscriptions/`, dispatched by `parseArmPath`. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalid, MlgridError } from '../core/errors.js';
import { DeliveryOutcome } from '../core/retry-policy.js';
import { parseIsoUtc } from '../core/validate.js';
import { parseDeliveryStatus } from '../services/event-subscriptions.js';
import { dispatchAuthorization } from './access-routes.js';
import { parseAuthorizationPath } from './access-path.js';
import type { AppDeps } from './app.js';
import { allowedMethods, parseArmPath, type ArmTarget } from './arm-path.js';
import { dispatchFunctions } from './function-routes.js';
import { jobTokenCaller } from './lineage-routes.js';
import { dispatchMl } from './ml-routes.js';
import { validateArmBody } from './openapi/validate.js';

type BaseUrl = (req: FastifyRequest) => string;

export function registerArmRoutes(app: FastifyInstance, deps: AppDeps, baseUrl: BaseUrl): void {
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'POST'],
    url: '/subscriptions/*',
    handler: async (req, reply) => {
      const roles = parseAuthorizationPath(req.url.split('?')[0]!);
      if (roles) return dispatchAuthorization(roles, req, reply, deps);
      const target = parseArmPath(req.url.split('?')[0]!);
      if (!target) throw new MlgridError('RouteNotFound', `No resource type at ${req.url.split('?')[0]}.`);
      const allowed = allowedMethods(target);
      if (!allowed.includes(req.method)) {
        throw new MlgridError(
          'MethodNotAllowed',
          `${req.method} is not allowed here; use ${allowed.join(', ')}.`,
          undefined,
          [{ code: 'Allow', message: allowed.join(', ') }],
        );
      }
      // RBAC: the operation (e.g. Microsoft.EventGrid/topics/write) from path and method. A running job's own
      // token may register model versions in its workspace (docs/lineage.md).
      if (!(await jobTokenCaller(target, req, deps))) await deps.authz.arm(req);
      validateArmBody(target, req.method, req.body); // the operation's schema in /openapi.json
      return dispatch(target, req, reply, deps, baseUrl(req));
    },
  });
}

async function dispatch(t: ArmTarget, req: FastifyRequest, reply: FastifyReply, deps: AppDeps, base: string) {
  const { topics, subscriptions } = deps;
  const body = req.body;
  switch (t.kind) {
    case 'topics':
      return { value: await topics.list(t, base) };
    case 'topic':
      if (t.action === 'listKeys') return topics.listKeys(t);
      if (t.action === 'regenerateKey') return topics.regenerateKey(t, body);
      switch (req.method) {
        case 'PUT': {
          const { created, topic } = await topics.put(t, body, base);
          return reply.code(created ? 201 : 200).send(topic);
        }
        case 'GET':
          return topics.get(t, base);
        case 'PATCH':
          return topics.patch(t, body, base);
        default:
          return reply.code((await topics.delete(t)) ? 200 : 204).send();
      }
    case 'eventSubscriptions':
      return { value: await subscriptions.list(t.scope) };
    case 'eventSubscription':
      if (t.action === 'getFullUrl') return subscriptions.getFullUrl(t.scope, t.name);
      if (t.action === 'getDeliveryAttributes') return subscriptions.getDeliveryAttributes(t.scope, t.name);
      if (t.action === 'deliveries') return deliveries(t.scope, t.name, req, deps);
      if (t.action === 'getSigningSecrets') return subscriptions.getSigningSecrets(t.scope, t.name);
      if (t.action === 'rotateSigningSecret') return subscriptions.rotateSigningSecret(t.scope, t.name, body);
      if (t.action) return deliveryOp(t.action, t.scope, t.name, req, deps);
      switch (req.method) {
        case 'PUT': {
          const { created, out } = await subscriptions.put(t.scope, t.name, body, base);
          return reply.code(created ? 201 : 200).send(out);
        }
        case 'GET':
          return subscriptions.get(t.scope, t.name);
        case 'PATCH':
          return subscriptions.patch(t.scope, t.name, body, base);
        default:
          return reply.code((await subscriptions.delete(t.scope, t.name)) ? 200 : 204).send();
      }
    case 'functions':
    case 'function':
      return dispatchFunctions(t, req, reply, deps);
    default:
      return dispatchMl(t, req, reply, deps, base);
  }
}

/** mlgrid extension: a subscription's deliveries (`?status=pending&top=100&after=<id>`), newest last. */
async function deliveries(scope: string, name: string, req: FastifyRequest, deps: AppDeps) {
  const q = req.query as Record<string, string | undefined>;
  const { limit, after } = page(q);
  const rows = await deps.subscriptions.deliveries(scope, name, {
    status: parseDeliveryStatus(q.status),
    after,
    limit,
  });
  return {
    value: rows.map((d) => ({
      id: d.id,
      status: d.status,
      attempts: d.attempts,
      nextAttemptTime: new Date(d.nextAttemptAt).toISOString(),
      createdTime: new Date(d.createdAt).toISOString(),
      event: JSON.parse(d.event.body),
    })),
    ...(rows.length === limit ? { nextAfter: rows[rows.length - 1]!.id } : {}),
  };
}

function page(q: Record<string, string | undefined>): { limit: number; after?: string } {
  const top = q.$top ?? q.top;
  const limit = top === undefined ? 100 : Number(top);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid('top', 'must be an integer from 1 to 1000');
  if (q.after !== undefined && !/^\d+$/.test(q.after))
    throw invalid('after', 'must be an id from a previous page');
  return { limit, ...(q.after !== undefined ? { after: q.after } : {}) };
}

function time(q: Record<string, string | undefined>, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const t = parseIsoUtc(v);
  if (Number.isNaN(t)) throw invalid(name, 'must be an ISO-8601 date-time');
  return t;
}

/** `failed`, or one of the outcome names in any case → the stored spelling. */
function outcomeParam(v: string | undefined): string | undefined {
  if (v === undefined || v.toLowerCase() === 'failed') return v;
  const hit = Object.values(DeliveryOutcome).find((o) => o.toLowerCase() === v.toLowerCase());
  if (!hit) throw invalid('outcome', `must be failed or one of ${Object.values(DeliveryOutcome).join(', ')}`);
  return hit;
}

/** mlgrid extensions on an event subscription: attempt log, dead letters, redrive, replay. */
async function deliveryOp(action: string, scope: string, name: string, req: FastifyRequest, deps: AppDeps) {
  const rec = await deps.subscriptions.find(scope, name);
  const q = req.query as Record<string, string | undefined>;
  switch (action) {
    case 'deliveryAttempts': {
      const p = page(q);
      const from = time(q, 'from');
      const to = time(q, 'to');
      const rows = await deps.ops.attempts(rec, { ...p, outcome: outcomeParam(q.outcome), from, to });
      return {
        value: rows.map((a) => ({ ...a, startedAt: new Date(a.startedAt).toISOString() })),
        ...(rows.length === p.limit ? { nextAfter: rows[rows.length - 1]!.id } : {}),
      };
    }
    case 'deadLetters': {
      const p = page(q);
      const rows = await deps.ops.deadLetters(rec, p);
      return { value: rows, ...(rows.length === p.limit ? { nextAfter: rows[rows.length - 1]!.id } : {}) };
    }
    case 'redrive':
      return deps.ops.redrive(rec, req.body);
    default:
      return deps.ops.replay(rec, req.body);
  }
}
