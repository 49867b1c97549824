/** Boots mlgrid: store, admin credential, routing index, HTTP(S) app. Used by `mlgrid serve` and by tests. */
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { RoutingIndex } from './core/routing.js';
import { createEgressGuard } from './core/egress.js';
import { EndpointHealth } from './core/endpoint-health.js';
import { DeadLetterWriter } from './engine/dead-letter-writer.js';
import { Dispatcher } from './engine/dispatcher.js';
import { Housekeeping } from './engine/housekeeping.js';
import { DEFAULT_JOBS, JobRunner, type JobsConfig } from './engine/job-runner.js';
import { Metrics } from './engine/metrics.js';
import { Publisher } from './engine/publisher.js';
import { WebhookSender } from './handlers/webhook.js';
import { DeliveryOps } from './services/delivery-ops.js';
import { WebhookValidator } from './services/webhook-validation.js';
import { JobService } from './services/jobs.js';
import { WorkspaceService } from './services/workspaces.js';
import { AdminAuth, ADMIN_KEY_META, hashKey, newAdminKey } from './http/admin-auth.js';
import { buildApp } from './http/app.js';
import { EventSubscriptionService } from './services/event-subscriptions.js';
import { TopicService } from './services/topics.js';
import { openStore, type StoreConfig } from './store/index.js';
import type { Store } from './store/types.js';
import { selfSignedTls, tlsFromFiles, type TlsMaterial } from './tls.js';

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
  concurrency: 64,
  perEndpoint: 8,
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
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  /** Set only on the start that generated it: show it once, never again. */
  generatedAdminKey?: string;
  generatedCertPath?: string;
  close(): Promise<void>;
}

export async function startServer(cfg: ServerConfig, logger?: Logger): Promise<RunningServer> {
  const log = logger ?? pino({ level: cfg.logLevel });
  const store = await openStore(cfg.store);
  let unwatch = async () => {};
  let stopRunner = async () => {};
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
    const subscriptions = new EventSubscriptionService(store, index, undefined, validator);
    unwatch = await subscriptions.load();
    const topics = new TopicService(store, subscriptions);
    const deadLetters = new DeadLetterWriter(log);
    const metrics = new Metrics(() => store.countPending());
    const dispatcher = new Dispatcher(
      store,
      subscriptions,
      sender,
      new EndpointHealth({ timeScale: d.timeScale }),
      deadLetters,
      d,
      log.child({ component: 'dispatcher' }),
      metrics,
    );
    const wake = () => dispatcher.wake();
    const publisher = new Publisher(store, index, Date.now, wake, metrics);
    const ops = new DeliveryOps(store, wake);
    const workspaces = new WorkspaceService(store, publisher);
    const jc: JobsConfig = { ...DEFAULT_JOBS, dir: `${cfg.dataDir}/jobs`, ...cfg.jobs };
    const runner = new JobRunner(store, publisher, jc, log.child({ component: 'jobs' }));
    const jobs = new JobService(store, runner, jc);
    if (!store.capabilities.multiNode) await store.releaseLeases(); // one process owns the file: old leases are dead
    const housekeeping = new Housekeeping(store, subscriptions, d, log);
    let tls: TlsMaterial | undefined;
    if (cfg.tls?.mode === 'self-signed') tls = await selfSignedTls(cfg.dataDir);
    else if (cfg.tls?.mode === 'files') tls = tlsFromFiles(cfg.tls.certFile, cfg.tls.keyFile);
    const app = buildApp({
      topics,
      subscriptions,
      publisher,
      ops,
      workspaces,
      jobs,
      metrics: () => metrics.render(),
      admin: new AdminAuth(hash),
      logger: log,
      publicUrl: cfg.publicUrl,
      ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    });
    stopRunner = () => runner.stop();
    await runner.start(); // ends the jobs a previous process left running before taking new ones
    await app.listen({ host: cfg.host, port: cfg.port });
    if (d.enabled) dispatcher.start();
    housekeeping.start();
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
    const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    return {
      url,
      app,
      store,
      generatedAdminKey,
      generatedCertPath: tls?.generatedCertPath,
      async close() {
        await app.close(); // stops accepting, waits for in-flight requests (and their commits)
        await runner.stop(); // running jobs are killed and marked Failed; queued ones wait for the next start
        housekeeping.stop();
        await dispatcher.stop(); // finishes attempts in flight, hands back its leases
        await deadLetters.flush();
        await sender.close();
        await unwatch();
        await store.close();
      },
    };
  } catch (err) {
    await stopRunner();
    await unwatch();
    await store.close();
    throw err;
  }
}
