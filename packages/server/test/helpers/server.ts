/** An in-process mlgrid on 127.0.0.1:0 with a fresh store, for API tests. */
import pino from 'pino';
import type { JobsConfig } from '../../src/engine/job-runner.js';
import type { AutomationsConfig } from '../../src/engine/automation-engine.js';
import type { ArtifactsConfig } from '../../src/services/artifacts.js';
import { startServer, type DeliveryConfig, type RunningServer } from '../../src/server.js';
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from './postgres.js';
import { tempDir } from './tmp.js';

export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface TestServer extends RunningServer {
  /** fetch against the server with the admin Bearer key. */
  arm(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestServer(
  backend: 'sqlite' | 'postgres',
  opts: {
    tls?: boolean;
    /** share a PostgreSQL schema with another server (multi-node) */
    schema?: string;
    /** Delivery settings; default: no dispatcher and no webhook handshake (routing-only suites). */
    delivery?: Partial<DeliveryConfig>;
    /** Command job settings (default: the server's). */
    jobs?: Partial<JobsConfig>;
    /** Artifact store settings (default: the server's). */
    artifacts?: Partial<ArtifactsConfig>;
    /** Reuse this data directory (a restart); it is left in place at stop. */
    dataDir?: string;
    /** Automation engine settings (default: the server's). */
    automations?: Partial<AutomationsConfig>;
    /** Drift-run settings (default: the server's, from MLGRID_DRIFT_THREADS or the core count). */
    drift?: { threads?: number };
  } = {},
): Promise<TestServer> {
  const t = opts.dataDir ? { dir: opts.dataDir, cleanup: () => {} } : tempDir();
  const schema = opts.schema ?? uniqueSchema();
  const server = await startServer(
    {
      host: '127.0.0.1',
      port: 0,
      dataDir: t.dir,
      store:
        backend === 'sqlite'
          ? { kind: 'sqlite', dataDir: t.dir, synchronous: 'NORMAL' }
          : { kind: 'postgres', databaseUrl: TEST_DATABASE_URL, schema },
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      delivery: opts.delivery ?? { enabled: false, validateWebhooks: false },
      ...(opts.jobs ? { jobs: opts.jobs } : {}),
      ...(opts.artifacts ? { artifacts: opts.artifacts } : {}),
      ...(opts.automations ? { automations: opts.automations } : {}),
      ...(opts.drift ? { drift: opts.drift } : {}),
      ...(opts.tls ? { tls: { mode: 'self-signed' as const } } : {}),
    },
    pino({ level: 'silent' }),
  );
  return Object.assign(server, {
    arm(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const sep = path.includes('?') ? '&' : '?';
      return fetch(`${server.url}${path}${sep}api-version=2022-06-15`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async stop() {
      await server.close();
      if (backend === 'postgres' && !opts.schema) await dropSchema(schema);
      t.cleanup();
    },
  });
}
