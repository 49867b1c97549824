/**
 * Training code reporting on its own job (mlgrid extensions):
 *   POST …/jobs/{name}/reportStatus   `{status, exitCode?, failureReason?}` (external jobs)
 *   POST …/jobs/{name}/metrics        `{metrics: [{name, value, step?, time?}]}`
 *   GET  …/jobs/{name}/metrics[?name=loss]
 * Registered apart from the ARM catch-all so that a local job's process can call them with its job token
 * (`MLGRID_JOB_TOKEN`), good for this one job; any other caller needs what the ARM routes need.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalid } from '../core/errors.js';
import type { WorkspaceRef } from '../core/ml-events.js';
import type { JobReportService } from '../services/job-reports.js';
import type { AppDeps } from './app.js';
import { authorizeArm, workspaceOf, WS_ROUTE } from './ext-routes.js';
import { validateOperationBody } from './openapi/validate.js';

export type JobReportAction = 'reportStatus' | 'metrics';

export function registerJobReportRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  reports: JobReportService,
): void {
  const route = (action: JobReportAction) => async (req: FastifyRequest, reply: FastifyReply) => {
    const ws = workspaceOf(req);
    const job = (req.params as { job: string }).job;
    if (!(await reports.tokenAllows(ws, job, deps.admin.bearer(req)))) await authorizeArm(req, deps);
    return jobReport(action, ws, job, req, reply, reports);
  };
  app.post(`${WS_ROUTE}/jobs/:job/reportStatus`, route('reportStatus'));
  app.post(`${WS_ROUTE}/jobs/:job/metrics`, route('metrics'));
  app.get(`${WS_ROUTE}/jobs/:job/metrics`, route('metrics'));
}

/** Also reached through the ARM catch-all (other spellings of the action), already authorized there. */
export async function jobReport(
  action: JobReportAction,
  ws: WorkspaceRef,
  job: string,
  req: FastifyRequest,
  reply: FastifyReply,
  reports: JobReportService,
) {
  if (action === 'reportStatus') {
    validateOperationBody('Jobs_ReportStatus', req.body); // the schema in /openapi.json
    return reports.reportStatus(ws, job, req.body);
  }
  if (req.method === 'POST') {
    validateOperationBody('Jobs_LogMetrics', req.body);
    return reply.code(200).send(await reports.logMetrics(ws, job, req.body));
  }
  const name = (req.query as Record<string, string | undefined>).name;
  if (name !== undefined && name.trim() === '') throw invalid('name', 'must not be empty');
  return reports.getMetrics(ws, job, name);
}
