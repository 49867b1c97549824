/**
 * The one place that reads `process.env`. Every variable mlgrid understands is listed here.
 * Precedence everywhere: defaults < environment < command-line flags.
 */
import { availableParallelism } from 'node:os';
import { MlgridError } from './core/errors.js';
import type { SmtpConfig } from './services/mailer.js';

export const ENV_VARS = {
  MLGRID_ADMIN_KEY: 'Bootstrap admin key (Bearer on management routes). Generated on first start when unset.',
  MLGRID_DATA_DIR: 'Data directory for the SQLite store, TLS material and artifacts (default ./.mlgrid).',
  MLGRID_STORE: 'sqlite (default) or postgres.',
  DATABASE_URL: 'PostgreSQL connection URL when the store is postgres (also MLGRID_DATABASE_URL).',
  MLGRID_DATABASE_URL: 'Same as DATABASE_URL; takes precedence.',
  MLGRID_HOST: 'Interface to listen on (default 127.0.0.1).',
  MLGRID_PORT: 'Port to listen on (default 4710).',
  MLGRID_PUBLIC_URL: 'Base URL clients reach mlgrid at, used in topic endpoints (default: from the request).',
  MLGRID_LOG_LEVEL: 'pino log level (default info).',
  MLGRID_RETRY_TIME_SCALE:
    'Multiply retry delays, TTLs and probation (default 1; e.g. 0.001 for demos and tests).',
  MLGRID_EVENT_RETENTION_DAYS: 'Keep events this many days for replay (default 7).',
  MLGRID_JOB_CONCURRENCY: 'Command jobs run at once by this server (default 2).',
  MLGRID_DRIFT_THREADS:
    "Threads for a drift run's domain classifier, 1 = serial (default 2, or 1 on a one-core machine).",
  MLGRID_JOBS_DIR: "Where jobs' working directories, outputs and logs go (default <data-dir>/jobs).",
  MLGRID_ARTIFACTS_DIR: 'The artifact store (default <data-dir>/artifacts).',
  MLGRID_FUNCTIONS_DIR:
    "Local functions' code: every function's working directory and module lie inside it (default <data-dir>/functions).",
  MLGRID_ARTIFACT_MAX_BYTES: 'Largest file the artifact store accepts, in bytes (default 5368709120, 5 GiB).',
  MLGRID_JOB_ID:
    "Set by mlgrid in a job's process (or by you elsewhere): the job's ARM id, for the SDK's Run.",
  MLGRID_JOB_TOKEN: "Set by mlgrid in a local job's process: a key good for reporting on that job only.",
  MLGRID_PYTHON: 'Python interpreter that hosts .py scoring scripts of online deployments (default python3).',
  MLGRID_SMTP_URL:
    "Automations' sendEmail: the SMTP server, smtp://user:password@host:port or smtps://… (unset: no mail).",
  MLGRID_SMTP_FROM: "Automations' sendEmail: the sender address (default mlgrid@localhost).",
  MLGRID_SMTP_SECURE: 'true: TLS from the first byte (default for smtps://); false: STARTTLS when offered.',
  MLGRID_SMTP_TLS_REJECT_UNAUTHORIZED:
    "false: accept an SMTP server's self-signed certificate (default true).",
  MLGRID_SERVER: 'CLI: the server URL (default http://127.0.0.1:4710).',
  MLGRID_KEY: "CLI: the admin key or a principal's API key, sent as Bearer.",
  MLGRID_SUBSCRIPTION:
    'CLI: default Azure-style subscription id (default 00000000-0000-0000-0000-000000000000).',
  MLGRID_CONFIG_DIR:
    'CLI: folder of config.json, the `mlgrid configure --defaults` settings (default ~/.mlgrid).',
  MLGRID_TEST_DATABASE_URL:
    'Tests: PostgreSQL for the contract suite (default postgres://postgres@127.0.0.1:5432/postgres).',
} as const;

export type EnvName = keyof typeof ENV_VARS;

/** Read a listed variable; an empty value counts as unset. */
export function env(name: EnvName): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_PORT = 4710;

/**
 * MLGRID_DRIFT_THREADS, a whole number from 1 to 64. Default min(2, cores): two threads already beat
 * scikit-learn's default on the 2-core reference machine, and a bigger machine keeps its other cores for
 * requests, deliveries and jobs (a run has only 5 folds to share anyway).
 */
export function driftThreads(value = env('MLGRID_DRIFT_THREADS')): number {
  if (value === undefined) return Math.min(2, availableParallelism());
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new MlgridError(
      'InvalidArgument',
      `MLGRID_DRIFT_THREADS: must be a whole number from 1 to 64, not '${value}'`,
    );
  return n;
}

/** SMTP for the automations' sendEmail step, from MLGRID_SMTP_*; undefined when MLGRID_SMTP_URL is unset. */
export function smtpFromEnv(): SmtpConfig | undefined {
  const url = env('MLGRID_SMTP_URL');
  if (url === undefined) return undefined;
  const cfg: SmtpConfig = { url, from: env('MLGRID_SMTP_FROM') ?? 'mlgrid@localhost' };
  const secure = flag('MLGRID_SMTP_SECURE');
  if (secure !== undefined) cfg.secure = secure;
  const reject = flag('MLGRID_SMTP_TLS_REJECT_UNAUTHORIZED');
  if (reject !== undefined) cfg.tlsRejectUnauthorized = reject;
  return cfg;
}

function flag(name: EnvName): boolean | undefined {
  const v = env(name)?.toLowerCase();
  if (v === undefined) return undefined;
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new MlgridError('InvalidArgument', `${name}: must be true or false, not '${v}'`);
}
