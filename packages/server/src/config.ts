/**
 * The one place that reads `process.env`. Every variable mlgrid understands is listed here.
 * Precedence everywhere: defaults < environment < command-line flags.
 */
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
  MLGRID_JOBS_DIR: "Where jobs' working directories, outputs and logs go (default <data-dir>/jobs).",
  MLGRID_ARTIFACTS_DIR: 'The artifact store (default <data-dir>/artifacts).',
  MLGRID_ARTIFACT_MAX_BYTES: 'Largest file the artifact store accepts, in bytes (default 5368709120, 5 GiB).',
  MLGRID_JOB_ID:
    "Set by mlgrid in a job's process (or by you elsewhere): the job's ARM id, for the SDK's Run.",
  MLGRID_JOB_TOKEN: "Set by mlgrid in a local job's process: a key good for reporting on that job only.",
  MLGRID_PYTHON: 'Python interpreter that hosts .py scoring scripts of online deployments (default python3).',
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
