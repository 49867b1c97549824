/** Publish data plane: `POST /topics/{name}/api/events?api-version=2018-01-01`, authenticated before the body is read. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlgridError } from '../core/errors.js';
import { acceptEvents, contentKind } from '../core/publish.js';
import { keysEqual, verifySasToken } from '../core/sas.js';
import type { TopicSpec } from '../core/topic.js';
import type { TopicRecord } from '../store/types.js';
import type { AppDeps } from './app.js';
import { validatePublishBody } from './openapi/validate.js';

declare module 'fastify' {
  interface FastifyRequest {
    mlgridTopic?: TopicRecord;
  }
}

export function registerPublishRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  baseUrl: (r: FastifyRequest) => string,
) {
  app.post<{ Params: { name: string } }>('/topics/:name/api/events', {
    onRequest: async (req) => {
      const topic = await deps.topics.byName(req.params.name);
      await authenticate(req, topic, deps, baseUrl(req) + req.url);
      req.mlgridTopic = topic;
    },
    handler: async (req, reply) => {
      const topic = req.mlgridTopic!;
      const spec = topic.spec as TopicSpec;
      const kind = contentKind(req.headers['content-type']);
      if (!kind) {
        throw new MlgridError(
          'UnsupportedMediaType',
          `Unsupported Content-Type '${req.headers['content-type']}'.`,
          'content-type',
        );
      }
      validatePublishBody(spec.inputSchema, kind, req.body); // the schema in /openapi.json
      const events = acceptEvents(req.body, kind, { id: topic.id, ...spec }, new Date());
      await deps.publisher.publish(topic.key, events);
      return reply.code(200).send();
    },
  });
}

async function authenticate(
  req: FastifyRequest,
  topic: TopicRecord,
  deps: AppDeps,
  requestUrl: string,
): Promise<void> {
  const spec = topic.spec as TopicSpec;
  // Bearer: the admin key, or a principal's key with EventGrid Data Sender over the topic (as Azure: not Owner).
  if (deps.admin.bearer(req) !== undefined) return void (await deps.authz.publish(req, topic.id));
  const q = req.query as Record<string, string | undefined>;
  const key = header(req, 'aeg-sas-key') ?? q['aeg-sas-key'];
  const auth = header(req, 'authorization');
  const token =
    header(req, 'aeg-sas-token') ?? (auth && /^SharedAccessSignature /i.test(auth) ? auth : undefined);
  if (key === undefined && token === undefined) {
    throw new MlgridError(
      'Unauthorized',
      'Send aeg-sas-key, aeg-sas-token, Authorization: SharedAccessSignature, or Bearer.',
    );
  }
  if (spec.disableLocalAuth) {
    throw new MlgridError(
      'Unauthorized',
      'Local (key and SAS) authentication is disabled on this topic; use Bearer.',
    );
  }
  if (key !== undefined) {
    if (keysEqual(key, topic.key1) || keysEqual(key, topic.key2)) return;
    throw new MlgridError('Unauthorized', 'The aeg-sas-key does not match either key of this topic.');
  }
  const r = verifySasToken(token!, { requestUrl, keys: [topic.key1, topic.key2], now: new Date() });
  if (!r.ok) throw new MlgridError('Unauthorized', `The SAS token is not valid: ${r.reason}.`);
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
