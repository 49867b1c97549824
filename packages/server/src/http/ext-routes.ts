/**
 * What mlgrid's extension routes below a workspace share: they are registered apart from the ARM catch-all
 * (uploads stream their bodies, job reports accept a job token), so they authenticate through `authorizeArm`,
 * the one call that mirrors the catch-all's check, and name the workspace from parameters matched like ARM's.
 */
import type { FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import type { WorkspaceRef } from '../core/ml-events.js';
import type { AppDeps } from './app.js';

/** Below `/subscriptions/`: keywords as parameters, so that any spelling of them matches, as in ARM. */
export const WS_ROUTE = '/subscriptions/:sub/:rgKw/:rg/:provKw/:ns/:wsKw/:ws';

export interface WsParams {
  sub: string;
  rgKw: string;
  rg: string;
  provKw: string;
  ns: string;
  wsKw: string;
  ws: string;
}

/** The same check as every ARM route (RBAC: the operation derived from the path and method). */
export async function authorizeArm(req: FastifyRequest, deps: AppDeps): Promise<void> {
  await deps.authz.arm(req);
}

export function workspaceOf(req: FastifyRequest): WorkspaceRef {
  const p = req.params as WsParams;
  if (
    p.rgKw.toLowerCase() !== 'resourcegroups' ||
    p.provKw.toLowerCase() !== 'providers' ||
    p.ns.toLowerCase() !== 'microsoft.machinelearningservices' ||
    p.wsKw.toLowerCase() !== 'workspaces'
  ) {
    throw new MlgridError('RouteNotFound', `No resource type at ${req.url.split('?')[0]}.`);
  }
  return { subscriptionId: p.sub, resourceGroup: p.rg, workspace: p.ws };
}

/** The raw (still encoded) rest of the path after its first `skip` non-empty segments. */
export function rawTail(url: string, skip: number): string {
  const segs = url.split('?')[0]!.split('/');
  let i = 0;
  let seen = 0;
  while (i < segs.length && seen < skip) if (segs[i++] !== '') seen++;
  return segs.slice(i).join('/');
}
