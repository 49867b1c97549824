/**
 * The scoring URI of online endpoints, `POST /endpoints/{name}/score` (Azure serves it on its own host; mlgrid on
 * its own port). The body goes to the scoring script as it came, whatever its type, up to the server's body limit.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './app.js';

/** Azure's action for scoring a token-authenticated endpoint (granted by Contributor and Owner, not Reader). */
const SCORE_ACTION = 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action';

export function registerScoringRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.register(async (scoped) => {
    // Any content type reaches the script untouched (the app-wide parsers would turn JSON into objects).
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scoped.post<{ Params: { name: string } }>('/endpoints/:name/score', async (req, reply) => {
      const header = req.headers['azureml-model-deployment'];
      const out = await deps.endpoints.score(
        req.params.name,
        {
          bearer: deps.admin.bearer(req),
          deployment: typeof header === 'string' && header !== '' ? header : undefined,
          body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          contentType: req.headers['content-type'],
        },
        async (endpointId) => {
          await deps.authz.require(req, { action: SCORE_ACTION, resourceId: endpointId });
        },
      );
      return reply
        .code(out.status)
        .header('azureml-model-deployment', out.deployment)
        .type(out.contentType)
        .send(out.body);
    });
  });
}
