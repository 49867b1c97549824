/** Boots mlgrid: store, admin credential, routing index, HTTP(S) app. Used by `mlgrid serve` and by tests. */
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { RoutingIndex } from './core/routing.js';
import { Publisher } from './engine/publisher.js';
import { AdminAuth, ADMIN_KEY_META, hashKey, newAdminKey } from './http/admin-auth.js';
import { buildApp } from './http/app.js';
import { EventSubscriptionService } from './services/event-subscriptions.js';
import { TopicService } from './services/topics.js';
import { openStore, type StoreConfig } from './store/index.js';
import type { Store } from './store/types.js';
import { selfSignedTls, tlsFromFiles, type TlsMaterial } from './tls.js';

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
    const index = new RoutingIndex();
    const subscriptions = new EventSubscriptionService(store, index);
    unwatch = await subscriptions.load();
    const topics = new TopicService(store, subscriptions);
    const publisher = new Publisher(store, index);
    let tls: TlsMaterial | undefined;
    if (cfg.tls?.mode === 'self-signed') tls = await selfSignedTls(cfg.dataDir);
    else if (cfg.tls?.mode === 'files') tls = tlsFromFiles(cfg.tls.certFile, cfg.tls.keyFile);
    const app = buildApp({
      topics,
      subscriptions,
      publisher,
      admin: new AdminAuth(hash),
      logger: log,
      publicUrl: cfg.publicUrl,
      ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    });
    await app.listen({ host: cfg.host, port: cfg.port });
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
        await unwatch();
        await store.close();
      },
    };
  } catch (err) {
    await unwatch();
    await store.close();
    throw err;
  }
}
