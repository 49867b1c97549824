/**
 * Delivery rows name their subscription by a small integer (migration 008): a subscription's key is a ~190-byte
 * resource id, and carrying it in every row and index entry made settlements write seven times the pages.
 * A reference is created with its subscription (a trigger) and never deleted, so an id always means one key and
 * both directions can be cached for the life of the store.
 */
import type Database from 'better-sqlite3';

export class SubscriptionRefs {
  private readonly ids = new Map<string, number>();
  private readonly keys = new Map<number, string>();
  private readonly byKey: Database.Statement;
  private readonly byId: Database.Statement;
  private readonly add: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.byKey = db.prepare('SELECT id FROM subscription_refs WHERE key = ?').pluck();
    this.byId = db.prepare('SELECT key FROM subscription_refs WHERE id = ?').pluck();
    this.add = db.prepare('INSERT OR IGNORE INTO subscription_refs (key) VALUES (?)');
  }

  /**
   * The id of `key`, created for a key never subscribed (deliveries appended directly, as tests do). Only ids
   * read outside a transaction are cached: one read or created inside it could still be rolled back.
   */
  id(key: string): number {
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    let id = this.byKey.get(key) as number | undefined;
    if (id === undefined) {
      this.add.run(key);
      id = this.byKey.get(key) as number;
    }
    if (!this.db.inTransaction) this.ids.set(key, id);
    return id;
  }

  /** The key of a committed delivery row's reference. */
  key(id: number): string {
    let key = this.keys.get(id);
    if (key === undefined) {
      key = this.byId.get(id) as string | undefined;
      // Unreachable while references are never deleted; a key no subscription has makes the delivery dropped.
      if (key === undefined) return `#unknown-subscription-ref-${id}`;
      this.keys.set(id, key);
    }
    return key;
  }
}
