/** Azure ML resource routes (workspaces, models), dispatched from the ARM catch-all. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from './app.js';
import type { MlTarget } from './ml-path.js';

export async function dispatchMl(t: MlTarget, req: FastifyRequest, reply: FastifyReply, deps: AppDeps) {
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
      if (req.method === 'DELETE') return deleted(ws.deleteWorkspace(t));
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
  }
}
