/** SQLite statements and transactions for resource documents (kept apart so sqlite-store.ts stays readable). */
import type Database from 'better-sqlite3';
import { descendantsEnd, toResource, type Row } from './rows.js';
import type { EventToStore, ResourcePut, ResourceRecord } from './types.js';

type Append = (events: EventToStore[], now: number) => void;

export class SqliteResources {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    /** Appends events and their deliveries inside the caller's transaction. */
    private readonly append: Append,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      get: p('SELECT * FROM resources WHERE key = ?'),
      put: p(`INSERT INTO resources (key, kind, parent_key, name, lookup, spec, sequencer, created_at, updated_at)
        VALUES (@key, @kind, @parentKey, @name, @lookup, @spec, @sequencer, @createdAt, @updatedAt)
        ON CONFLICT (key) DO UPDATE SET name = excluded.name, lookup = excluded.lookup, spec = excluded.spec,
          sequencer = excluded.sequencer, updated_at = excluded.updated_at`),
      byParent: p('SELECT * FROM resources WHERE kind = ? AND parent_key = ? ORDER BY created_at, key'),
      byLookup: p('SELECT * FROM resources WHERE kind = ? AND lookup = ? ORDER BY created_at, key'),
      byKind: p('SELECT * FROM resources WHERE kind = ? ORDER BY created_at, key'),
      deleteOne: p('DELETE FROM resources WHERE key = ?'),
      deleteBelow: p('DELETE FROM resources WHERE key >= ? AND key < ?'),
    };
  }

  put(
    rec: Omit<ResourceRecord, 'sequencer'>,
    now: number,
    opts: ResourcePut = {},
  ): { created: boolean; updated: boolean; rec?: ResourceRecord } {
    return this.db.transaction(() => {
      const current = toResource(this.s.get.get(rec.key) as Row | undefined);
      if (opts.ifSequencer !== undefined && (current?.sequencer ?? 0) !== opts.ifSequencer) {
        return { created: false, updated: false, ...(current ? { rec: current } : {}) };
      }
      const stored: ResourceRecord = {
        ...rec,
        createdAt: current?.createdAt ?? rec.createdAt,
        sequencer: (current?.sequencer ?? 0) + 1,
      };
      this.s.put.run({ ...stored, lookup: stored.lookup ?? null, spec: JSON.stringify(stored.spec) });
      if (opts.events) this.append(opts.events(stored), now);
      return { created: !current, updated: true, rec: stored };
    })();
  }

  get(key: string): ResourceRecord | undefined {
    return toResource(this.s.get.get(key) as Row | undefined);
  }

  list(q: { kind: string; parentKey?: string; lookup?: string }): ResourceRecord[] {
    const rows =
      q.parentKey !== undefined
        ? this.s.byParent.all(q.kind, q.parentKey)
        : q.lookup !== undefined
          ? this.s.byLookup.all(q.kind, q.lookup)
          : this.s.byKind.all(q.kind);
    return (rows as Row[])
      .map((r) => toResource(r)!)
      .filter((r) => q.lookup === undefined || r.lookup === q.lookup);
  }

  /** Inside the caller's transaction when there is one (workspace deletion). */
  deleteBelow(key: string): void {
    this.s.deleteBelow.run(`${key}/`, descendantsEnd(key));
  }

  delete(key: string, now: number, events: EventToStore[] = []): boolean {
    return this.db.transaction(() => {
      this.deleteBelow(key);
      const gone = this.s.deleteOne.run(key).changes > 0;
      if (gone) this.append(events, now);
      return gone;
    })();
  }
}
