/** Azure ML resource routes (workspaces, models, jobs), dispatched from the ARM catch-all. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalid, MlgridError } from '../core/errors.js';
import { isTerminal } from '../core/job.js';
import type { AppDeps } from './app.js';
import { dispatchAutomation } from './automation-routes.js';
import { dispatchData } from './data-routes.js';
import { dispatchDrift } from './drift-routes.js';
import { jobReport } from './job-report-routes.js';
import { dispatchLineage } from './lineage-routes.js';
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
        await deps.automations?.workspaceDeleting(t);
        await deps.artifacts?.workspaceDeleting(t);
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
      if (req.method === 'PUT') {
        return created(await ws.putModelVersion(t, t.model, t.version, body, req.mlgridJob));
      }
      if (req.method === 'DELETE') return deleted(ws.deleteModelVersion(t, t.model, t.version));
      return ws.getModelVersion(t, t.model, t.version);
    case 'jobs':
      return { value: await deps.jobs.list(t, base) };
    case 'job':
      return job(t, req, reply, deps, base);
    case 'onlineEndpoints':
      return { value: await deps.endpoints.list(t, base) };
    case 'onlineEndpoint':
      return endpoint(t, req, reply, deps, base);
    case 'onlineDeployments':
      return { value: await deps.deployments.list(t, t.endpoint) };
    case 'onlineDeployment':
      return deployment(t, req, reply, deps);
    case 'dataContainers':
    case 'dataContainer':
    case 'dataVersions':
    case 'dataVersion':
      return dispatchData(t, req, reply, deps);
    case 'dataDriftDetectors':
    case 'dataDriftDetector':
      return dispatchDrift(t, req, reply, deps, base);
    case 'automations':
    case 'automation':
    case 'automationRuns':
    case 'automationRun':
      return dispatchAutomation(t, req, reply, deps);
    case 'lineage':
      return dispatchLineage(t, req, deps);
    default:
      throw new MlgridError('RouteNotFound', `${(t as MlTarget).kind} is not served yet.`);
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
    case 'reportStatus':
    case 'metrics':
      if (!deps.jobReports) throw new MlgridError('RouteNotFound', 'Job reports are not served here.');
      return jobReport(t.action, t, t.job, req, reply, deps.jobReports);
    case 'logs': {
      const q = req.query as Record<string, string | undefined>;
      const tail = q.tail === undefined ? undefined : Number(q.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0 || tail > 1_000_000)) {
        throw invalid('tail', 'must be an integer from 0 to 1000000');
      }
      const offset = q.offset === undefined ? undefined : Number(q.offset);
      if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
        throw invalid('offset', 'must be a byte offset: an integer from 0');
      }
      if (offset !== undefined && tail !== undefined) throw invalid('offset', 'cannot be combined with tail');
      return reply.type('text/plain; charset=utf-8').send(await jobs.logs(t, t.job, tail, offset));
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

/** Provisioning answers come back while a deployment starts: the SDK's poller looks again after Retry-After. */
const PROVISIONING_RETRY_AFTER_S = 1;

async function endpoint(
  t: Extract<MlTarget, { kind: 'onlineEndpoint' }>,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  base: string,
) {
  const eps = deps.endpoints;
  if (t.action === 'listKeys') return eps.listKeys(t, t.endpoint);
  if (t.action === 'regenerateKeys') {
    await eps.regenerateKeys(t, t.endpoint, req.body);
    return reply.code(200).send();
  }
  switch (req.method) {
    case 'PUT': {
      const r = await eps.put(t, t.endpoint, req.body, base);
      return reply.code(r.created ? 201 : 200).send(r.out);
    }
    case 'PATCH':
      return eps.patch(t, t.endpoint, req.body, base);
    case 'DELETE':
      return reply.code((await eps.delete(t, t.endpoint)) ? 200 : 204).send();
    default:
      return eps.get(t, t.endpoint, base);
  }
}

async function deployment(
  t: Extract<MlTarget, { kind: 'onlineDeployment' }>,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
) {
  const ds = deps.deployments;
  if (t.action === 'logs') return ds.logs(t, t.endpoint, t.deployment, req.body);
  switch (req.method) {
    case 'PUT': {
      const r = await ds.put(t, t.endpoint, t.deployment, req.body);
      return reply
        .code(r.created ? 201 : 200)
        .header('retry-after', String(PROVISIONING_RETRY_AFTER_S))
        .send(r.out);
    }
    case 'PATCH':
      return ds.patch(t, t.endpoint, t.deployment, req.body);
    case 'DELETE':
      return reply.code((await ds.delete(t, t.endpoint, t.deployment)) ? 200 : 204).send();
    default:
      return ds.get(t, t.endpoint, t.deployment);
  }
}
