/** Data-drift monitor routes (`…/workspaces/{ws}/dataDriftDetectors[/{name}[/action]]`), from `dispatchMl`. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import type { AppDeps } from './app.js';
import { workspaceId, type MlTarget } from './ml-path.js';

type DriftTarget = Extract<MlTarget, { kind: 'dataDriftDetectors' | 'dataDriftDetector' }>;

/** Seconds a client waits between looks at a backfill in progress. */
const BACKFILL_RETRY_AFTER_S = 1;

export async function dispatchDrift(
  t: DriftTarget,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  base: string,
) {
  const drift = deps.dataDrift;
  if (!drift) throw new MlgridError('RouteNotFound', 'Data drift monitors are not served here.');
  if (t.kind === 'dataDriftDetectors') return { value: await drift.list(t) };
  switch (t.action) {
    case 'run':
      return drift.run(t, t.detector, req.body);
    case 'results': {
      const q = req.query as Record<string, string | undefined>;
      return { value: await drift.results(t, t.detector, { startTime: q.startTime, endTime: q.endTime }) };
    }
    case 'backfill': {
      const r = await drift.backfill(t, t.detector, req.body);
      const location = `${base}${workspaceId(t)}/dataDriftDetectors/${encodeURIComponent(t.detector)}/backfills/${r.id}?api-version=2022-10-01`;
      return reply
        .code(202)
        .header('location', location)
        .header('retry-after', String(BACKFILL_RETRY_AFTER_S))
        .send(r.out);
    }
    case 'backfillStatus':
      return drift.backfillStatus(t, t.detector, t.operation!);
  }
  if (req.method === 'PUT') {
    const r = await drift.put(t, t.detector, req.body);
    return reply.code(r.created ? 201 : 200).send(r.out);
  }
  if (req.method === 'DELETE') return reply.code((await drift.delete(t, t.detector)) ? 200 : 204).send();
  return drift.get(t, t.detector);
}
