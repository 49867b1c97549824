/**
 * PostgreSQL for tests: a fresh schema per test file. When no server answers, suites skip with a clear
 * message — except under CI=true, where a missing PostgreSQL is a failure (and is logged for .ci/run).
 */
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL =
  process.env.MLGRID_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let reachable: Promise<string | undefined> | undefined;

/** undefined when reachable, else the reason. */
export function postgresUnavailable(): Promise<string | undefined> {
  reachable ??= (async () => {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return undefined;
    } catch (err) {
      return (err as Error).message || String(err);
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return reachable;
}

/** Call at the top of a PostgreSQL suite; returns true when the suite must skip. */
export async function skipWithoutPostgres(suite: string): Promise<boolean> {
  const why = await postgresUnavailable();
  if (!why) return false;
  const line = `SKIPPED PostgreSQL tests (${suite}): no PostgreSQL at ${TEST_DATABASE_URL}: ${why}`;
  if (process.env.CI === 'true') throw new Error(`${line} — CI requires PostgreSQL`);
  console.warn(line);
  if (process.env.MLGRID_SKIP_LOG) appendFileSync(process.env.MLGRID_SKIP_LOG, line + '\n');
  return true;
}

export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}
