/** Boots mlgrid: store, admin credential, routing index, HTTP(S) app. Used by `mlgrid serve` and by tests. */
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { RoutingIndex } from './core/routing.js';
import { createEgressGuard } from './core/egress.js';
import { EndpointHealth } from './core/endpoint-health.js';
import { DeadLetterWriter } from './engine/dead-letter-writer.js';
import { Dispatcher } from './engine/dispatcher.js';
import { Housekeeping } from './engine/housekeeping.js';
import { Deployer, DEFAULT_DEPLOYER, type DeployerConfig } from './engine/deployer.js';
import { DEFAULT_JOBS, JobRunner, type JobsConfig } from './engine/job-runner.js';
import { Metrics } from './engine/metrics.js';
import { Publisher } from './engine/publisher.js';
import { Destinations } from './handlers/destination.js';
import { AutomationHandler } from './handlers/automation.js';
import { AutomationEngine, DEFAULT_AUTOMATIONS, type AutomationsConfig } from './engine/automation-engine.js';
import { buildStepKinds } from './engine/steps/index.js';
import { AutomationService } from './services/automations.js';
import { WebhookHandler, WebhookSender } from './handlers/webhook.js';
import { AmqpHandler } from './handlers/amqp.js';
import { NatsHandler } from './handlers/nats.js';
import { RedisHandler } from './handlers/redis.js';
import { MqttHandler } from './handlers/mqtt.js';
import { FunctionHandler } from './handlers/function.js';
import { FunctionService } from './services/functions.js';
import { DataAssetService } from './services/data-assets.js';
import { DeliveryOps } from './services/delivery-ops.js';
import { WebhookValidator } from './services/webhook-validation.js';
import { DeploymentService, modelPaths } from './services/deployments.js';
import { DriftMonitorService } from './services/drift-monitors.js';
import { DriftWorker } from './services/drift-compute.js';
import { driftThreads } from './config.js';
import {
  DEFAULT_DRIFT_SCHEDULER,
  DriftScheduler,
  type DriftSchedulerConfig,
} from './engine/drift-scheduler.js';
import { EndpointService } from './services/endpoints.js';
import { JobService } from './services/jobs.js';
import { LineageService } from './services/lineage.js';
import { ArtifactService, type ArtifactsConfig } from './services/artifacts.js';
import { JOB_TOKEN_META, JobReportService } from './services/job-reports.js';
import { DEFAULT_MAX_FILE_BYTES } from './core/artifact.js';
import { WorkspaceService } from './services/workspaces.js';
import { AdminAuth, ADMIN_KEY_META, hashKey, newAdminKey } from './http/admin-auth.js';
import { Authorizer } from './http/authz.js';
import { AccessService } from './services/access.js';
import { ConnectionsService } from './services/connections.js';
import { buildApp } from './http/app.js';
import { EventSubscriptionService } from './services/event-subscriptions.js';
import { TopicService } from './services/topics.js';
import { openStore, type StoreConfig } from './store/index.js';
import type { Store } from './store/types.js';
import { selfSignedTls, tlsFromFiles, type TlsMaterial } from './tls.js';
import { SmtpMailer, type SmtpConfig } from './services/mailer.js';

export interface DeliveryConfig {
  enabled: boolean;
  /** Multiplies retry delays, TTLs, probation and the manual-validation window (e.g. 0.001 in tests). */
  timeScale: number;
  /** Per attempt (Azure: 30 s). */
  timeoutMs: number;
  concurrency: number;
  perEndpoint: number;
  claimLimit: number;
  leaseMs: number;
  pollMs: number;
  /** Events (and settled deliveries, attempt logs) are kept this long for replay. */
  retentionDays: number;
  /** Run the webhook validation handshake on create / endpoint change (Azure always does). */
  validateWebhooks: boolean;
  egress: { allow: string[]; deny: string[] };
}

export const DEFAULT_DELIVERY: DeliveryConfig = {
  enabled: true,
  timeScale: 1,
  timeoutMs: 30_000,
  // Requests in flight: all endpoints / one endpoint origin (= the sender's keep-alive pool per origin).
  concurrency: 256,
  perEndpoint: 64,
  claimLimit: 500,
  leaseMs: 120_000,
  pollMs: 1000,
  retentionDays: 7,
  validateWebhooks: true,
  egress: { allow: [], deny: [] },
};

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  store: StoreConfig;
  tls?: { mode: 'files'; certFile: string; keyFile: string } | { mode: 'self-signed' };
  /** From MLGRID_ADMIN_KEY; when unset a key is generated on first start. */
  adminKey?: string;
  publicUrl?: string;
  logLevel: string;
  delivery?: Partial<DeliveryConfig>;
  /** Command jobs; `dir` defaults to `<dataDir>/jobs` (set it for PostgreSQL nodes sharing a volume). */
  jobs?: Partial<JobsConfig>;
  /** Online deployments' scoring processes; logs under `<dataDir>/deployments` by default. */
  deployments?: Partial<DeployerConfig>;
  /** The artifact store; `dir` defaults to `<dataDir>/artifacts` (shared storage for PostgreSQL nodes). */
  artifacts?: Partial<ArtifactsConfig>;
  /** Local functions; `dir` (MLGRID_FUNCTIONS_DIR) defaults to `<dataDir>/functions`. */
  functions?: { dir?: string };
  /** Data-drift monitors' scheduler (on by default; every node may run one, claims are compare-and-set). */
  driftScheduler?: Partial<DriftSchedulerConfig> & { enabled?: boolean };
  /** Threads for a drift run's classifier (default: MLGRID_DRIFT_THREADS, else min(2, cores); 1 = serial). */
  drift?: { threads?: number };
  /** SMTP for the automations' sendEmail step (MLGRID_SMTP_*); without it sendEmail steps fail, saying so. */
  smtp?: SmtpConfig;
  /** The automation engine (docs/automations.md); delays scale with `delivery.timeScale`. */
  automations?: Partial<AutomationsConfig>;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  /** Set only on the start that generated it: show it once, never again. */
  generatedAdminKey?: string;
  generatedCertPath?: string;
  /** The ML services, for in-process callers (the automation steps' tests drive them directly). */
  services: { jobs: JobService; endpoints: EndpointService; deployments: DeploymentService };
  close(): Promise<void>;
}

export async function startServer(cfg: ServerConfig, logger?: Logger): Promise<RunningServer> {
  const log = logger ?? pino({ level: cfg.logLevel });
  const store = await openStore(cfg.store);
  let unwatch = async () => {};
  let stopRunner = async () => {};
  let stopDeployments = async () => {};
  let stopDrift = async () => {};
  try {
    let generatedAdminKey: string | undefined;
    let hash: string;
    if (cfg.adminKey) {
      hash = hashKey(cfg.adminKey);
    } else {
      const candidate = newAdminKey();
      hash = await store.initMeta(ADMIN_KEY_META, hashKey(candidate));
      if (hash === hashKey(candidate)) generatedAdminKey = candidate;
    }
    const d: DeliveryConfig = { ...DEFAULT_DELIVERY, ...cfg.delivery };
    const guard = createEgressGuard(d.egress);
    const sender = new WebhookSender({ timeoutMs: d.timeoutMs, guard });
    const index = new RoutingIndex();
    const validator = d.validateWebhooks ? new WebhookValidator(sender, d.timeScale) : undefined;
    const fnDir = cfg.functions?.dir ?? `${cfg.dataDir}/functions`;
    const functions = new FunctionService(store, fnDir, (id) => functionHandler.forget(id));
    const subscriptions = new EventSubscriptionService(store, index, undefined, validator, async (id) =>
      Boolean(await functions.find(id)),
    );
    unwatch = await subscriptions.load();
    const topics = new TopicService(store, subscriptions);
    const deadLetters = new DeadLetterWriter(log);
    const metrics = new Metrics(() => store.countPending());
    const connections = new ConnectionsService(store); // broker connections for queue destinations
    // An attempt (slot wait + run) ends before its delivery lease lapses, so no second claim runs it again.
    const functionHandler = new FunctionHandler(functions, {
      dir: fnDir,
      maxAttemptMs: Math.max(1000, d.leaseMs - 10_000),
    });
    const destinations = new Destinations([
      new WebhookHandler(sender),
      functionHandler,
      new AmqpHandler(connections, { timeoutMs: d.timeoutMs, guard }),
      new NatsHandler(connections, { timeoutMs: d.timeoutMs, guard }),
      new RedisHandler(connections, { timeoutMs: d.timeoutMs, guard }),
      new MqttHandler(connections, { timeoutMs: d.timeoutMs, guard }),
    ]);
    const dispatcher = new Dispatcher(
      store,
      subscriptions,
      destinations,
      new EndpointHealth({ timeScale: d.timeScale }),
      deadLetters,
      d,
      log.child({ component: 'dispatcher' }),
      metrics,
    );
    const wake = () => dispatcher.wake();
    const publisher = new Publisher(store, index, Date.now, wake, metrics);
    publisher.handOffTo(dispatcher); // fresh deliveries skip the claim query while it runs
    const ops = new DeliveryOps(store, wake);
    // Correlation/causation chains: objects join before they are written, events after their commit.
    const lineage = new LineageService(store, log.child({ component: 'lineage' }));
    publisher.observeCommitted((sourceKey, rows) => lineage.committed(sourceKey, rows));
    const workspaces = new WorkspaceService(store, publisher, undefined, lineage);
    const jc: JobsConfig = { ...DEFAULT_JOBS, dir: `${cfg.dataDir}/jobs`, ...cfg.jobs };
    // Job tokens are signed with one secret per store, so every node accepts every node's tokens.
    const jobSecret = await store.initMeta(JOB_TOKEN_META, randomBytes(32).toString('hex'));
    const jobReports = new JobReportService(store, publisher, jobSecret);
    const listening: { url?: string } = {}; // known once listening; jobs only start after that in practice
    const runner = new JobRunner(
      store,
      publisher,
      jc,
      log.child({ component: 'jobs' }),
      undefined,
      (ws, job) => jobReports.processEnv(ws, job, listening.url),
    );
    const artifacts = new ArtifactService(store, {
      dir: `${cfg.dataDir}/artifacts`,
      maxFileBytes: DEFAULT_MAX_FILE_BYTES,
      ...cfg.artifacts,
    });
    const jobs = new JobService(store, runner, jc, undefined, lineage);
    const deployer = new Deployer(
      { ...DEFAULT_DEPLOYER, dir: `${cfg.dataDir}/deployments`, ...cfg.deployments },
      log.child({ component: 'deployer' }),
    );
    const deployments = new DeploymentService(
      store,
      publisher,
      deployer,
      log.child({ component: 'deployer' }),
      modelPaths((ws, sha) => artifacts.localFolder(ws, sha)),
      undefined,
      lineage,
    );
    const endpoints = new EndpointService(store, deployments);
    const dataAssets = new DataAssetService(store);
    const stepKinds = buildStepKinds({
      guard,
      publisher,
      topicByName: (n) => topics.byName(n),
      ...(cfg.smtp ? { mailer: new SmtpMailer(cfg.smtp) } : {}),
      jobs,
      endpoints,
      deployments,
    });
    const automationEngine = new AutomationEngine(
      store,
      stepKinds.kinds,
      { ...DEFAULT_AUTOMATIONS, ...cfg.automations },
      d.timeScale,
      log.child({ component: 'automations' }),
      () => cfg.publicUrl ?? listening.url,
      Date.now,
      (wsKey, run) => lineage.recordRun(wsKey, run),
    );
    destinations.register(new AutomationHandler(automationEngine));
    const automations = new AutomationService(store, subscriptions, automationEngine, stepKinds.kinds);
    // Runs' statistics off the event loop; the classifier's folds on `threads` threads.
    const driftWorker = new DriftWorker({ threads: cfg.drift?.threads ?? driftThreads() });
    const dataDrift = new DriftMonitorService(
      store,
      publisher,
      dataAssets,
      log.child({ component: 'drift' }),
      undefined,
      driftWorker.compute,
    );
    const driftScheduler = new DriftScheduler(dataDrift, log.child({ component: 'drift' }), {
      ...DEFAULT_DRIFT_SCHEDULER,
      ...cfg.driftScheduler,
    });
    stopDrift = async () => {
      await driftScheduler.stop();
      await dataDrift.close();
      await driftWorker.close();
    };
    stopDeployments = () => deployments.close();
    if (!store.capabilities.multiNode) await store.releaseLeases(); // one process owns the file: old leases are dead
    const housekeeping = new Housekeeping(store, subscriptions, d, log);
    let tls: TlsMaterial | undefined;
    if (cfg.tls?.mode === 'self-signed') tls = await selfSignedTls(cfg.dataDir);
    else if (cfg.tls?.mode === 'files') tls = tlsFromFiles(cfg.tls.certFile, cfg.tls.keyFile);
    const access = new AccessService(store);
    const app = buildApp({
      topics,
      subscriptions,
      publisher,
      ops,
      workspaces,
      jobs,
      artifacts,
      jobReports,
      endpoints,
      deployments,
      data: dataAssets,
      dataDrift,
      automations,
      lineage,
      functions,
      metrics: () => metrics.render(),
      admin: new AdminAuth(hash),
      access,
      connections,
      authz: new Authorizer(new AdminAuth(hash), access),
      logger: log,
      publicUrl: cfg.publicUrl,
      ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    });
    stopRunner = () => runner.stop();
    await runner.start(); // ends the jobs a previous process left running before taking new ones
    await deployments.start(); // restarts the scoring processes of deployments that succeeded before
    await automations.reconcile(); // every automation has its trigger subscription, and only those
    await app.listen({ host: cfg.host, port: cfg.port });
    if (d.enabled) dispatcher.start();
    housekeeping.start();
    if (cfg.driftScheduler?.enabled !== false) driftScheduler.start();
    automationEngine.start();
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
    const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    listening.url = url;
    return {
      url,
      app,
      store,
      generatedAdminKey,
      generatedCertPath: tls?.generatedCertPath,
      services: { jobs, endpoints, deployments },
      async close() {
        await app.close(); // stops accepting, waits for in-flight requests (and their commits)
        await runner.stop(); // running jobs are killed and marked Failed; queued ones wait for the next start
        await stopDeployments(); // scoring processes stop; they start again with the next server
        await stopDrift(); // backfills in progress finish their current period
        housekeeping.stop();
        await automationEngine.stop(); // runs in progress stop here and resume at the next start (or elsewhere)
        await stepKinds.close();
        await functionHandler.close(); // running functions are killed: their attempts fail and are retried
        await dispatcher.stop(); // finishes attempts in flight, hands back its leases
        await deadLetters.flush();
        await sender.close();
        await destinations.close();
        await unwatch();
        await store.close();
      },
    };
  } catch (err) {
    await stopRunner();
    await stopDeployments();
    await stopDrift();
    await unwatch();
    await store.close();
    throw err;
  }
}
