/** The HTTP application factory (no listen): tests drive it with `inject`, `serve` puts it on a socket. */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { MlgridError } from '../core/errors.js';
import { PUBLISH_LIMITS } from '../core/publish.js';
import type { Publisher } from '../engine/publisher.js';
import type { DataAssetService } from '../services/data-assets.js';
import type { DriftMonitorService } from '../services/drift-monitors.js';
import type { AutomationService } from '../services/automations.js';
import type { DeliveryOps } from '../services/delivery-ops.js';
import type { EventSubscriptionService } from '../services/event-subscriptions.js';
import type { DeploymentService } from '../services/deployments.js';
import type { FunctionService } from '../services/functions.js';
import type { EndpointService } from '../services/endpoints.js';
import type { JobService } from '../services/jobs.js';
import type { LineageService } from '../services/lineage.js';
import type { ArtifactService } from '../services/artifacts.js';
import type { JobReportService } from '../services/job-reports.js';
import { VALIDATION_PATH } from '../services/webhook-validation.js';
import type { TopicService } from '../services/topics.js';
import type { WorkspaceService } from '../services/workspaces.js';
import type { AccessService } from '../services/access.js';
import type { ConnectionsService } from '../services/connections.js';
import type { AdminAuth } from './admin-auth.js';
import { registerPrincipalRoutes } from './access-routes.js';
import type { Authorizer } from './authz.js';
import { registerArmRoutes } from './arm-routes.js';
import { registerArtifactRoutes } from './artifact-routes.js';
import { registerJobReportRoutes } from './job-report-routes.js';
import { errorHandler } from './errors.js';
import { registerInboxRoutes } from './inbox-routes.js';
import { openApiDocument } from './openapi/document.js';
import { registerScoringRoutes } from './scoring-routes.js';
import { registerPublishRoutes } from './publish-routes.js';

export interface AppDeps {
  topics: TopicService;
  subscriptions: EventSubscriptionService;
  publisher: Publisher;
  ops: DeliveryOps;
  workspaces: WorkspaceService;
  jobs: JobService;
  /** mlgrid's artifact store and job reports (extension routes); absent = not served. */
  artifacts?: ArtifactService;
  jobReports?: JobReportService;
  endpoints: EndpointService;
  deployments: DeploymentService;
  data: DataAssetService;
  /** Data-drift monitors; absent = not served. */
  dataDrift?: DriftMonitorService;
  /** Automations (docs/automations.md); absent = not served. */
  automations?: AutomationService;
  /** Correlation/causation chains (docs/lineage.md); absent = not served. */
  lineage?: LineageService;
  /** Local functions (Microsoft.Web/sites/{app}/functions); absent = not served. */
  functions?: FunctionService;
  /** Prometheus text exposition (GET /metrics); absent = no route. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  admin: AdminAuth;
  /** Principals, keys and role assignments; `authz` checks them on every ARM and Bearer publish request. */
  access: AccessService;
  /** Broker connections for queue destinations (admin only); absent = not served. */
  connections?: ConnectionsService;
  authz: Authorizer;
  logger: Logger;
  /** Base URL clients reach this server at; derived from each request when unset. */
  publicUrl?: string;
  https?: { key: string; cert: string };
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Request lines are logged by our own hook: fastify's would log query strings, which carry secrets.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreDuplicateSlashes: true }, // @azure/arm-* sends `PUT //subscriptions/...`
    bodyLimit: PUBLISH_LIMITS.maxRequestBytes,
    ...(deps.https ? { https: deps.https } : {}),
  }) as unknown as FastifyInstance;

  // One JSON parser for every JSON media type. An empty body reads as "no body" (ARM actions such as listKeys
  // come with a JSON content type and nothing else); where a body is required, validation says so by name.
  app.removeContentTypeParser('application/json');
  for (const type of [
    'application/json',
    'application/cloudevents+json',
    'application/cloudevents-batch+json',
  ]) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      if (body === '') return done(null, undefined);
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
  }

  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        method: req.method,
        path: req.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req) => {
    throw new MlgridError('RouteNotFound', `No route for ${req.method} ${req.url.split('?')[0]}.`);
  });

  const baseUrl = (req: { protocol: string; host: string }) =>
    deps.publicUrl ?? `${req.protocol}://${req.host}`;
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async (req) => openApiDocument(baseUrl(req))); // no auth: it holds no secrets
  // The validationUrl sent in the handshake: whoever holds the URL may confirm the endpoint (as in Azure).
  app.get<{ Querystring: { id?: string; code?: string } }>(VALIDATION_PATH, async (req, reply) => {
    const { id, code } = req.query;
    if (!id || !code || !(await deps.subscriptions.validateManually(id, code))) {
      throw new MlgridError(
        'ResourceNotFound',
        'No event subscription awaits this validation (wrong link, or expired).',
      );
    }
    return reply.type('text/plain').send('Webhook successfully validated as a subscription endpoint.');
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, reply) => {
      const m = await metrics();
      return reply.type(m.contentType).send(m.body);
    });
  }
  registerArmRoutes(app, deps, baseUrl);
  if (deps.artifacts) registerArtifactRoutes(app, deps, deps.artifacts);
  if (deps.jobReports) registerJobReportRoutes(app, deps, deps.jobReports);
  registerPublishRoutes(app, deps, baseUrl);
  registerScoringRoutes(app, deps);
  registerPrincipalRoutes(app, deps);
  registerInboxRoutes(app, deps.admin);
  return app;
}
