/** Numbered, append-only SQL migrations per dialect: `NNN_name.sql` under packages/server/migrations/<dialect>/. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const ROOT = fileURLToPath(new URL('../../migrations/', import.meta.url));

export function loadMigrations(dialect: 'sqlite' | 'postgres'): Migration[] {
  const dir = `${ROOT}${dialect}`;
  const out = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f.slice(4, -4),
      sql: readFileSync(`${dir}/${f}`, 'utf8'),
    }));
  out.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migrations/${dialect}: expected version ${i + 1}, found ${m.version}`);
  });
  return out;
}

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;
