/** The store backends every contract suite runs on. */
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import type { Store } from '../../src/store/types.js';
import { dropSchema, skipWithoutPostgres, TEST_DATABASE_URL, uniqueSchema } from './postgres.js';
import { tempDir } from './tmp.js';

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  skip: boolean;
  /** A fresh, empty store and its cleanup. */
  open(): Promise<{ store: Store; cleanup: () => Promise<void> }>;
}

export async function storeBackends(suite: string): Promise<StoreBackend[]> {
  return [
    {
      name: 'sqlite',
      skip: false,
      async open() {
        const t = tempDir();
        const store = new SqliteStore({ dataDir: t.dir, synchronous: 'NORMAL' });
        return { store, cleanup: async () => (await store.close(), t.cleanup()) };
      },
    },
    {
      name: 'postgres',
      skip: await skipWithoutPostgres(suite),
      async open() {
        const schema = uniqueSchema();
        const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema });
        return { store, cleanup: async () => (await store.close(), await dropSchema(schema)) };
      },
    },
  ];
}
