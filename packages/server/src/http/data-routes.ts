/** Data asset routes (`…/workspaces/{ws}/data[/{name}[/versions[/{version}]]]`), dispatched from `dispatchMl`. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseListViewType } from '../core/data-asset.js';
import type { AppDeps } from './app.js';
import type { MlTarget } from './ml-path.js';

type DataTarget = Extract<
  MlTarget,
  { kind: 'dataContainers' | 'dataContainer' | 'dataVersions' | 'dataVersion' }
>;

export async function dispatchData(t: DataTarget, req: FastifyRequest, reply: FastifyReply, deps: AppDeps) {
  const data = deps.data;
  const created = (r: { created: boolean; out: unknown }) => reply.code(r.created ? 201 : 200).send(r.out);
  const deleted = async (p: Promise<boolean>) => reply.code((await p) ? 200 : 204).send();
  const view = () => parseListViewType((req.query as Record<string, unknown>).listViewType);
  switch (t.kind) {
    case 'dataContainers':
      return { value: await data.listContainers(t, view()) };
    case 'dataContainer':
      if (req.method === 'PUT') return created(await data.putContainer(t, t.data, req.body));
      if (req.method === 'DELETE') return deleted(data.deleteContainer(t, t.data));
      return data.getContainer(t, t.data);
    case 'dataVersions':
      return { value: await data.listVersions(t, t.data, view()) };
    case 'dataVersion':
      if (req.method === 'PUT') return created(await data.putVersion(t, t.data, t.version, req.body));
      if (req.method === 'DELETE') return deleted(data.deleteVersion(t, t.data, t.version));
      return data.getVersion(t, t.data, t.version);
  }
}
