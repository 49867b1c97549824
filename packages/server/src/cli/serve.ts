/** `mlgrid serve`: flags > environment > defaults, then run until SIGTERM/SIGINT. */
import { Command, Option } from 'commander';
import { MlgridError } from '../core/errors.js';
import { resolve } from 'node:path';
import { DEFAULT_PORT, env, smtpFromEnv } from '../config.js';
import { parseCidrList } from '../core/egress.js';
import { startServer, type ServerConfig } from '../server.js';

interface ServeFlags {
  host: string;
  port: string;
  dataDir: string;
  store: 'sqlite' | 'postgres';
  databaseUrl?: string;
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  publicUrl?: string;
  logLevel: string;
  retryTimeScale: string;
  deliveryTimeout: string;
  webhookValidation: 'on' | 'off';
  eventRetentionDays: string;
  egressAllow?: string;
  egressDeny?: string;
  jobConcurrency: string;
  jobsDir?: string;
  python: string;
  artifactsDir?: string;
  functionsDir?: string;
  artifactMaxBytes?: string;
}

export function serveConfig(f: ServeFlags): ServerConfig {
  const port = Number(f.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port: invalid port ${f.port}`);
  if (f.store === 'postgres' && !f.databaseUrl) {
    throw usage('--store postgres needs --database-url URL (or DATABASE_URL)');
  }
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) {
    throw usage('--tls-cert and --tls-key go together');
  }
  if (f.tls !== undefined && f.tls !== 'self-signed') throw usage('--tls takes the value self-signed');
  if (f.tls && f.tlsCert) throw usage('use either --tls self-signed or --tls-cert/--tls-key');
  const num = (v: string, flag: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw usage(`${flag}: must be a number from ${min} to ${max}`);
    return n;
  };
  const delivery = {
    timeScale: num(f.retryTimeScale, '--retry-time-scale', 1e-6, 1000),
    timeoutMs: num(f.deliveryTimeout, '--delivery-timeout', 0.01, 300) * 1000,
    validateWebhooks: f.webhookValidation !== 'off',
    retentionDays: num(f.eventRetentionDays, '--event-retention-days', 0.001, 3650),
    egress: { allow: cidrs(f.egressAllow, '--egress-allow'), deny: cidrs(f.egressDeny, '--egress-deny') },
  };
  const dataDir = resolve(f.dataDir);
  const jobs = {
    concurrency: num(f.jobConcurrency, '--job-concurrency', 1, 1024),
    ...(f.jobsDir !== undefined ? { dir: resolve(f.jobsDir) } : {}),
  };
  if (!Number.isInteger(jobs.concurrency)) throw usage('--job-concurrency: must be a whole number');
  return {
    host: f.host,
    port,
    dataDir,
    store:
      f.store === 'postgres'
        ? { kind: 'postgres', databaseUrl: f.databaseUrl! }
        : { kind: 'sqlite', dataDir },
    tls: f.tls
      ? { mode: 'self-signed' }
      : f.tlsCert
        ? { mode: 'files', certFile: f.tlsCert, keyFile: f.tlsKey! }
        : undefined,
    adminKey: env('MLGRID_ADMIN_KEY'),
    publicUrl: f.publicUrl?.replace(/\/$/, ''),
    logLevel: f.logLevel,
    delivery,
    jobs,
    deployments: { python: f.python },
    smtp: smtpFromEnv(), // automations' sendEmail; environment only (a password does not belong on a command line)
    ...(f.functionsDir !== undefined ? { functions: { dir: resolve(f.functionsDir) } } : {}),
    artifacts: {
      ...(f.artifactsDir !== undefined ? { dir: resolve(f.artifactsDir) } : {}),
      ...(f.artifactMaxBytes !== undefined
        ? { maxFileBytes: num(f.artifactMaxBytes, '--artifact-max-bytes', 1, Number.MAX_SAFE_INTEGER) }
        : {}),
    },
  };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the mlgrid server (embedded SQLite by default)')
    .addOption(
      new Option('--host <host>', 'interface to listen on').default(env('MLGRID_HOST') ?? '127.0.0.1'),
    )
    .addOption(
      new Option('--port <port>', 'port to listen on (0 = any free port)').default(
        env('MLGRID_PORT') ?? String(DEFAULT_PORT),
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'data directory').default(env('MLGRID_DATA_DIR') ?? './.mlgrid'),
    )
    .addOption(
      new Option('--store <kind>', 'storage backend')
        .choices(['sqlite', 'postgres'])
        .default(env('MLGRID_STORE') ?? 'sqlite'),
    )
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL URL for --store postgres').default(
        env('MLGRID_DATABASE_URL') ?? env('DATABASE_URL'),
        'DATABASE_URL',
      ),
    )
    .addOption(new Option('--tls <mode>', 'self-signed: generate a certificate once into the data dir'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate for HTTPS'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for HTTPS'))
    .addOption(
      new Option('--public-url <url>', 'base URL clients use (topic endpoints)').default(
        env('MLGRID_PUBLIC_URL'),
      ),
    )
    .addOption(new Option('--log-level <level>', 'pino log level').default(env('MLGRID_LOG_LEVEL') ?? 'info'))
    .addOption(
      new Option(
        '--retry-time-scale <factor>',
        'multiply retry delays, TTLs and probation (e.g. 0.001 for demos)',
      ).default(env('MLGRID_RETRY_TIME_SCALE') ?? '1'),
    )
    .addOption(new Option('--delivery-timeout <seconds>', 'timeout per delivery attempt').default('30'))
    .addOption(
      new Option('--webhook-validation <mode>', 'webhook validation handshake on create')
        .choices(['on', 'off'])
        .default('on'),
    )
    .addOption(
      new Option('--event-retention-days <days>', 'keep events this long for replay').default(
        env('MLGRID_EVENT_RETENTION_DAYS') ?? '7',
      ),
    )
    .addOption(
      new Option(
        '--egress-allow <cidrs>',
        'comma-separated addresses/CIDRs deliveries may reach even if denied',
      ),
    )
    .addOption(
      new Option(
        '--egress-deny <cidrs>',
        'comma-separated addresses/CIDRs deliveries may not reach (added to the defaults)',
      ),
    )
    .addOption(
      new Option('--job-concurrency <n>', 'Command jobs run at once').default(
        env('MLGRID_JOB_CONCURRENCY') ?? '2',
      ),
    )
    .addOption(
      new Option('--jobs-dir <dir>', "jobs' working directories and logs (default <data-dir>/jobs)").default(
        env('MLGRID_JOBS_DIR'),
      ),
    )
    .addOption(
      new Option('--python <path>', 'interpreter for .py scoring scripts of online deployments').default(
        env('MLGRID_PYTHON') ?? 'python3',
      ),
    )
    .addOption(
      new Option('--artifacts-dir <dir>', 'the artifact store (default <data-dir>/artifacts)').default(
        env('MLGRID_ARTIFACTS_DIR'),
      ),
    )
    .addOption(
      new Option('--functions-dir <dir>', "local functions' code (default <data-dir>/functions)").default(
        env('MLGRID_FUNCTIONS_DIR'),
      ),
    )
    .addOption(
      new Option(
        '--artifact-max-bytes <n>',
        'largest file the artifact store accepts (default 5 GiB)',
      ).default(env('MLGRID_ARTIFACT_MAX_BYTES')),
    )
    .action(async (flags: ServeFlags) => {
      const cfg = serveConfig(flags);
      const server = await startServer(cfg);
      const out = (s: string) => process.stdout.write(s + '\n');
      // Handlers go in before anything is printed: a supervisor may signal as soon as it sees the banner.
      const stopped = new Promise<void>((done) => {
        const stop = (sig: string) => {
          out(`mlgrid: ${sig} received, shutting down`);
          server.close().then(done, (err) => {
            process.stderr.write(`mlgrid: error during shutdown: ${String(err)}\n`);
            process.exitCode = 1;
            done();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      out(
        `mlgrid listening on ${server.url} (store: ${cfg.store.kind}${cfg.store.kind === 'sqlite' ? `, data dir ${cfg.dataDir}` : ''})`,
      );
      if (server.generatedCertPath) {
        out(`TLS: self-signed certificate at ${server.generatedCertPath}`);
        out(`     trust it in Node clients with NODE_EXTRA_CA_CERTS=${server.generatedCertPath}`);
      }
      if (server.generatedAdminKey) {
        out(`Admin key (shown once, only its hash is stored): ${server.generatedAdminKey}`);
        out(
          '     use it as MLGRID_KEY for the CLI, or as a Bearer token; set MLGRID_ADMIN_KEY to choose your own.',
        );
      }
      await stopped;
    });
}

function usage(message: string): MlgridError {
  return new MlgridError('InvalidArgument', message);
}

function cidrs(v: string | undefined, flag: string): string[] {
  if (v === undefined) return [];
  try {
    return parseCidrList(v);
  } catch (err) {
    throw usage(`${flag}: ${(err as Error).message}`);
  }
}
