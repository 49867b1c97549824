/** PostgreSQL queries and transactions for resource documents (kept apart so postgres-store.ts stays readable). */
import type pg from 'pg';
import { descendantsEnd, toResource } from './rows.js';
import type { EventToStore, ResourcePut, ResourceRecord } from './types.js';

type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;
type Append = (c: pg.PoolClient, events: EventToStore[], now: number) => Promise<void>;

export class PostgresResources {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tx: Tx,
    /** Appends events and their deliveries on the caller's transaction. */
    private readonly append: Append,
  ) {}

  put(
    rec: Omit<ResourceRecord, 'sequencer'>,
    now: number,
    opts: ResourcePut = {},
  ): Promise<{ created: boolean; updated: boolean; rec?: ResourceRecord }> {
    return this.tx(async (c) => {
      // The row lock serialises concurrent puts of one resource (several nodes); a first insert races on the key.
      const current = toResource(
        (await c.query('SELECT * FROM resources WHERE key = $1 FOR UPDATE', [rec.key])).rows[0],
      );
      if (opts.ifSequencer !== undefined && (current?.sequencer ?? 0) !== opts.ifSequencer) {
        return { created: false, updated: false, ...(current ? { rec: current } : {}) };
      }
      const stored: ResourceRecord = {
        ...rec,
        createdAt: current?.createdAt ?? rec.createdAt,
        sequencer: (current?.sequencer ?? 0) + 1,
      };
      await c.query(
        `INSERT INTO resources (key, kind, parent_key, name, lookup, spec, sequencer, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (key) DO UPDATE SET name = excluded.name, lookup = excluded.lookup, spec = excluded.spec,
           sequencer = excluded.sequencer, updated_at = excluded.updated_at`,
        [
          stored.key,
          stored.kind,
          stored.parentKey,
          stored.name,
          stored.lookup ?? null,
          JSON.stringify(stored.spec),
          stored.sequencer,
          stored.createdAt,
          stored.updatedAt,
        ],
      );
      if (opts.events) await this.append(c, opts.events(stored), now);
      return { created: !current, updated: true, rec: stored };
    });
  }

  async get(key: string): Promise<ResourceRecord | undefined> {
    return toResource((await this.pool.query('SELECT * FROM resources WHERE key = $1', [key])).rows[0]);
  }

  async list(q: { kind: string; parentKey?: string; lookup?: string }): Promise<ResourceRecord[]> {
    const res =
      q.parentKey !== undefined
        ? await this.pool.query(
            'SELECT * FROM resources WHERE kind = $1 AND parent_key = $2 ORDER BY created_at, key',
            [q.kind, q.parentKey],
          )
        : q.lookup !== undefined
          ? await this.pool.query(
              'SELECT * FROM resources WHERE kind = $1 AND lookup = $2 ORDER BY created_at, key',
              [q.kind, q.lookup],
            )
          : await this.pool.query('SELECT * FROM resources WHERE kind = $1 ORDER BY created_at, key', [
              q.kind,
            ]);
    return res.rows.map((r) => toResource(r)!).filter((r) => q.lookup === undefined || r.lookup === q.lookup);
  }

  /** On the caller's transaction (workspace deletion). */
  async deleteBelow(c: pg.PoolClient, key: string): Promise<void> {
    await c.query('DELETE FROM resources WHERE key >= $1 AND key < $2', [`${key}/`, descendantsEnd(key)]);
  }

  delete(key: string, now: number, events: EventToStore[] = []): Promise<boolean> {
    return this.tx(async (c) => {
      await this.deleteBelow(c, key);
      const gone = ((await c.query('DELETE FROM resources WHERE key = $1', [key])).rowCount ?? 0) > 0;
      if (gone) await this.append(c, events, now);
      return gone;
    });
  }
}
