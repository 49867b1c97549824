/**
 * Lineage over HTTP (docs/lineage.md), reached through the ARM catch-all:
 *   GET …/workspaces/{ws}/lineage/{correlationId}
 *   GET …/workspaces/{ws}/lineage?resourceId=<job, model version or deployment id>   (or ?correlationId=)
 * and the one thing a job's own token may do besides reporting: register a model version in its workspace while
 * it runs, which then inherits the job's lineage.
 */
import type { FastifyRequest } from 'fastify';
import { invalid, MlgridError } from '../core/errors.js';
import type { AppDeps } from './app.js';
import type { ArmTarget } from './arm-path.js';
import type { MlTarget } from './ml-path.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The job whose own token authenticated this request (a model version PUT). */
    mlgridJob?: string;
  }
}

/**
 * Before RBAC in the ARM catch-all: true when this is a model version PUT carrying the token of a job that is
 * running in that workspace (the request is then authenticated as that job); false leaves it to RBAC.
 */
export async function jobTokenCaller(t: ArmTarget, req: FastifyRequest, deps: AppDeps): Promise<boolean> {
  if (t.kind !== 'modelVersion' || req.method !== 'PUT' || !deps.jobReports) return false;
  const job = await deps.jobReports.activeJobOf(t, deps.admin.bearer(req));
  if (!job) return false;
  req.mlgridJob = job.name;
  return true;
}

export async function dispatchLineage(
  t: Extract<MlTarget, { kind: 'lineage' }>,
  req: FastifyRequest,
  deps: AppDeps,
) {
  const lineage = deps.lineage;
  if (!lineage) throw new MlgridError('RouteNotFound', 'Lineage is not served here.');
  if (t.correlationId !== undefined) return lineage.chain(t, t.correlationId);
  const q = req.query as Record<string, string | undefined>;
  if (q.resourceId !== undefined && q.resourceId !== '') return lineage.chainOf(t, q.resourceId);
  if (q.correlationId !== undefined && q.correlationId !== '') return lineage.chain(t, q.correlationId);
  throw invalid('resourceId', 'is required (or correlationId, or a correlation id in the path)');
}
