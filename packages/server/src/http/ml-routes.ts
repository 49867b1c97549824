/** Azure ML resource routes (workspaces, models, jobs), dispatched from the ARM catch-all. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalid, MlgridError } from '../core/errors.js';
import { isTerminal } from '../core/job.js';
import type { AppDeps } from './app.js';
import { workspaceId, type MlTarget } from './ml-path.js';

/** Seconds the SDK's poller waits between looks at a cancel in progress (its default is 30 s for ARM). */
const CANCEL_RETRY_AFTER_S = 1;

export async function dispatchMl(
  t: MlTarget,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  base: string,
) {
  const ws = deps.workspaces;
  const body = req.body;
  const created = (r: { created: boolean; out: unknown }) => reply.code(r.created ? 201 : 200).send(r.out);
  const deleted = async (p: Promise<boolean>) => reply.code((await p) ? 200 : 204).send();
  switch (t.kind) {
    case 'workspaces':
      return { value: await ws.listWorkspaces(t) };
    case 'workspace':
      if (req.method === 'PUT') return created(await ws.putWorkspace(t, body));
      if (req.method === 'PATCH') return ws.patchWorkspace(t, body);
      if (req.method === 'DELETE') {
        await deps.jobs.workspaceDeleting(t);
        return deleted(ws.deleteWorkspace(t));
      }
      return ws.getWorkspace(t);
    case 'modelContainers':
      return { value: await ws.listModelContainers(t) };
    case 'modelContainer':
      if (req.method === 'PUT') return created(await ws.putModelContainer(t, t.model, body));
      if (req.method === 'DELETE') return deleted(ws.deleteModelContainer(t, t.model));
      return ws.getModelContainer(t, t.model);
    case 'modelVersions':
      return { value: await ws.listModelVersions(t, t.model) };
    case 'modelVersion':
      if (req.method === 'PUT') return created(await ws.putModelVersion(t, t.model, t.version, body));
      if (req.method === 'DELETE') return deleted(ws.deleteModelVersion(t, t.model, t.version));
      return ws.getModelVersion(t, t.model, t.version);
    case 'jobs':
      return { value: await deps.jobs.list(t, base) };
    case 'job':
      return job(t, req, reply, deps, base);
    default:
      throw new MlgridError('RouteNotFound', `${t.kind} is not served yet.`);
  }
}

async function job(
  t: Extract<MlTarget, { kind: 'job' }>,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  base: string,
) {
  const jobs = deps.jobs;
  switch (t.action) {
    case 'cancel':
      return cancelReply(isTerminal((await jobs.cancel(t, t.job)).status), t, reply, base);
    case 'cancelResult':
      return cancelReply(await jobs.cancelDone(t, t.job), t, reply, base);
    case 'logs': {
      const q = req.query as Record<string, string | undefined>;
      const tail = q.tail === undefined ? undefined : Number(q.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0 || tail > 1_000_000)) {
        throw invalid('tail', 'must be an integer from 0 to 1000000');
      }
      return reply.type('text/plain; charset=utf-8').send(await jobs.logs(t, t.job, tail));
    }
  }
  if (req.method === 'PUT') {
    const r = await jobs.put(t, t.job, req.body, base);
    return reply.code(r.created ? 201 : 200).send(r.out);
  }
  if (req.method === 'DELETE') return reply.code((await jobs.delete(t, t.job)) ? 200 : 204).send();
  return jobs.get(t, t.job, base);
}

/**
 * Azure answers a cancel with 202 and a Location to poll (the SDK's `beginCancel` is a long-running
 * operation); the poller is done at the first 200. A job already final answers 200 at once.
 */
function cancelReply(
  done: boolean,
  t: Extract<MlTarget, { kind: 'job' }>,
  reply: FastifyReply,
  base: string,
) {
  if (done) return reply.code(200).send();
  const location = `${base}${workspaceId(t)}/jobs/${t.job}/operationResults/cancel?api-version=2022-10-01`;
  return reply
    .code(202)
    .header('location', location)
    .header('retry-after', String(CANCEL_RETRY_AFTER_S))
    .send();
}
