import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

export type StoreConfig =
  | { kind: 'sqlite'; dataDir: string; synchronous?: 'FULL' | 'NORMAL' }
  | { kind: 'postgres'; databaseUrl: string; schema?: string };

export async function openStore(cfg: StoreConfig): Promise<Store> {
  return cfg.kind === 'sqlite'
    ? new SqliteStore({ dataDir: cfg.dataDir, synchronous: cfg.synchronous })
    : PostgresStore.open({ connectionString: cfg.databaseUrl, schema: cfg.schema });
}

export type { Store } from './types.js';
