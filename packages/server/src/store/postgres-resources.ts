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
      // The row lock serialises concurrent puts of an existing resource (several nodes). A first insert races
      // on the key: `DO NOTHING` waits for the other inserter and loses, so a create-only put stays create-only.
      const lock = async () =>
        toResource((await c.query('SELECT * FROM resources WHERE key = $1 FOR UPDATE', [rec.key])).rows[0]);
      let current = await lock();
      if (opts.ifSequencer !== undefined && (current?.sequencer ?? 0) !== opts.ifSequencer) {
        return { created: false, updated: false, ...(current ? { rec: current } : {}) };
      }
      const stored = (base: ResourceRecord | undefined): ResourceRecord => ({
        ...rec,
        createdAt: base?.createdAt ?? rec.createdAt,
        sequencer: (base?.sequencer ?? 0) + 1,
      });
      let out = stored(current);
      const params = (r: ResourceRecord) => [
        r.key,
        r.kind,
        r.parentKey,
        r.name,
        r.lookup ?? null,
        JSON.stringify(r.spec),
        r.sequencer,
        r.createdAt,
        r.updatedAt,
      ];
      const insert = `INSERT INTO resources (key, kind, parent_key, name, lookup, spec, sequencer, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
      let created = false;
      if (!current) {
        created = (await c.query(`${insert} ON CONFLICT (key) DO NOTHING`, params(out))).rowCount === 1;
        if (!created) {
          current = await lock(); // the concurrent insert has committed: this put is now an update of it
          if (opts.ifSequencer !== undefined) {
            return { created: false, updated: false, ...(current ? { rec: current } : {}) };
          }
          out = stored(current);
        }
      }
      if (!created) {
        await c.query(
          `${insert} ON CONFLICT (key) DO UPDATE SET name = excluded.name, lookup = excluded.lookup,
             spec = excluded.spec, sequencer = excluded.sequencer, updated_at = excluded.updated_at`,
          params(out),
        );
      }
      if (opts.events) await this.append(c, opts.events(out), now);
      return { created, updated: true, rec: out };
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
