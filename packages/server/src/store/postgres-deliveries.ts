/**
 * PostgreSQL delivery statements, each one round trip: appends (events and their deliveries in one statement
 * with data-modifying CTEs, atomic without an explicit transaction), claims and settlements (one statement in a
 * transaction that commits without waiting for the WAL flush: losing a lease or a settlement only re-delivers).
 */
import pg from 'pg';
import type { AttemptRecord, ClaimedDelivery, DeliveryLease, EventToStore, Settlement } from './types.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Subscription references (migration 007). A reference is created with its subscription and never deleted, so
 * an id read once stays right, on every node: the cache keeps the publish statement to an `int[]` (resolving
 * keys in SQL made it plan and run ~0.2 ms slower per publish, measured) and claims to ids (a key is ~190 bytes
 * a row to send and parse).
 */
export class PgSubscriptionRefs {
  private readonly ids = new Map<string, number>();
  private readonly keys = new Map<number, string>();
  constructor(private readonly pool: pg.Pool) {}

  /**
   * The ids of `keys`, in order. A key never subscribed (deliveries appended directly, as tests do) gets a
   * reference, committed on its own connection: never call this inside a transaction that created one of
   * these subscriptions (the insert would wait for that transaction; no caller does).
   */
  async of(keys: readonly string[]): Promise<number[]> {
    const missing = keys.filter((k) => !this.ids.has(k));
    if (missing.length > 0) {
      const unique = [...new Set(missing)];
      await this.pool.query(
        'INSERT INTO subscription_refs (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO NOTHING',
        [unique],
      );
      await this.load('key', unique);
    }
    return keys.map((k) => this.ids.get(k)!);
  }

  /** The keys of reference ids, in order. */
  async keysOf(ids: readonly number[]): Promise<string[]> {
    const missing = ids.filter((id) => !this.keys.has(id));
    if (missing.length > 0) await this.load('id', [...new Set(missing)]);
    return ids.map((id) => {
      const key = this.keys.get(id);
      if (key === undefined) throw new Error(`subscription reference ${id} does not exist`);
      return key;
    });
  }

  private async load(by: 'id' | 'key', values: (string | number)[]): Promise<void> {
    const res = await this.pool.query(`SELECT id, key FROM subscription_refs WHERE ${by} = ANY($1)`, [
      values,
    ]);
    for (const r of res.rows) {
      this.ids.set(r.key as string, r.id as number);
      this.keys.set(r.id as number, r.key as string);
    }
  }
}

/**
 * Inserts events and their deliveries in one statement. Sequence numbers come from the `src` CTE, which runs
 * once (it calls a volatile function), so both inserts see the same ones; the foreign key is checked at the end
 * of the statement. With `lease`, the deliveries are born leased and returned.
 */
export async function appendRows(
  c: Queryable,
  refs: PgSubscriptionRefs,
  events: EventToStore[],
  now: number,
  lease?: DeliveryLease,
): Promise<ClaimedDelivery[]> {
  if (events.length === 0) return [];
  const cols: string[][] = [[], [], [], [], [], []];
  const dKey: string[] = [];
  const dOrd: number[] = [];
  events.forEach((e, i) => {
    cols[0]!.push(e.eventId);
    cols[1]!.push(e.sourceKey);
    cols[2]!.push(e.eventType);
    cols[3]!.push(e.subject);
    cols[4]!.push(e.schema);
    cols[5]!.push(e.body);
    for (const s of e.subscriptionKeys) {
      dKey.push(s);
      dOrd.push(i + 1);
    }
  });
  const dSub = await refs.of(dKey);
  const res = await c.query(
    `WITH src AS (
       SELECT nextval(pg_get_serial_sequence('events', 'seq')) AS seq, t.*
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
         AS t(event_id, source_key, event_type, subject, schema, body, ord)),
     e AS (
       INSERT INTO events (seq, event_id, source_key, event_type, subject, schema, body, published_at)
       SELECT seq, event_id, source_key, event_type, subject, schema, body, $7::bigint FROM src),
     d AS (
       INSERT INTO deliveries (sub, event_seq, status, next_attempt_at, created_at, lease_owner, lease_until)
       SELECT m.sub, src.seq, 'pending', COALESCE($11::bigint, $7::bigint), $7::bigint, $10::text, $11::bigint
       FROM unnest($8::int[], $9::int[]) AS m(sub, ord) JOIN src ON src.ord = m.ord
       RETURNING id, sub, event_seq)
     SELECT d.id::text AS id, d.sub, d.event_seq::text AS seq, src.ord
     FROM d JOIN src ON src.seq = d.event_seq
     WHERE $10::text IS NOT NULL`,
    [...cols, now, dSub, dOrd, lease?.owner ?? null, lease?.until ?? null],
  );
  if (res.rows.length === 0) return [];
  const keyOf = new Map(dSub.map((id, i) => [id, dKey[i]!]));
  return res.rows.map((r) => {
    const e = events[Number(r.ord) - 1]!;
    return {
      id: r.id as string,
      subscriptionKey: keyOf.get(r.sub as number)!,
      attempts: 0,
      createdAt: now,
      event: { seq: r.seq as string, eventId: e.eventId, schema: e.schema, body: e.body, publishedAt: now },
    };
  });
}

/**
 * Opens the pool for claims and settlements: its sessions run with synchronous_commit off, so each of those
 * single statements commits on its own without waiting for the WAL flush — one round trip, no BEGIN/COMMIT
 * (losing a lease or a settlement in a crash only re-delivers). Publish commits stay on the durable pool.
 * Claims and settlements are named statements with generic plans: planned once per connection instead of per
 * call (0.6–2 ms a claim; left to choose, PostgreSQL kept re-planning the claim).
 */
export function relaxedPool(connect: pg.ClientConfig, max = 3): pg.Pool {
  const options =
    `${connect.options ?? ''} -c synchronous_commit=off -c plan_cache_mode=force_generic_plan`.trim();
  const pool = new pg.Pool({ ...connect, options, max });
  pool.on('error', () => {}); // idle-client errors surface on the next query instead of crashing
  return pool;
}

/**
 * SKIP LOCKED: several nodes claim side by side without waiting on each other's rows. The update finds the
 * locked rows by primary key (`= ANY` of their ids): joined to the CTE instead, it was planned as a hash join
 * over a sequential scan of the whole table, a cost per claim that grows with the retained rows. The claim runs
 * with a generic plan (`relaxedPool`), one made perhaps when the tables were empty: every step is reached by an
 * index whatever the statistics say (the `OFFSET 0` keeps the events lookup a per-row index scan; joined, an
 * empty table's plan was a sequential scan of `events`), and subscription keys come from the reference cache.
 */
export const CLAIM = `WITH c AS (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
    ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED),
  u AS (
    UPDATE deliveries d SET lease_owner = $3, lease_until = $4, next_attempt_at = $4
    WHERE d.id = ANY(ARRAY(SELECT id FROM c))
    RETURNING d.id, d.sub, d.attempts, d.created_at, d.event_seq)
  SELECT u.id::text, u.sub, u.attempts, u.created_at::float8, u.event_seq::text,
    e.event_id, e.schema, e.body, e.published_at::float8
  FROM u CROSS JOIN LATERAL (SELECT * FROM events WHERE seq = u.event_seq OFFSET 0) e ORDER BY u.id`;

export async function claimRows(
  pool: pg.Pool,
  refs: PgSubscriptionRefs,
  q: { owner: string; limit: number; now: number; leaseUntil: number },
): Promise<ClaimedDelivery[]> {
  // Rows as arrays (no object per row from pg), bigints as float8 (parsed as numbers, no String → Number).
  const res = await pool.query<unknown[]>({
    name: 'mlgrid-claim',
    text: CLAIM,
    values: [q.now, q.limit, q.owner, q.leaseUntil],
    rowMode: 'array',
  });
  let keys: string[];
  try {
    keys = await refs.keysOf(res.rows.map((r) => r[1] as number));
  } catch (err) {
    // Leased but never handed over: give the rows back, due at once, rather than hold them for the lease.
    const ids = res.rows.map((r) => r[0]);
    const unlease = `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = 0
      WHERE id = ANY($1) AND lease_owner = $2`;
    await pool.query(unlease, [ids, q.owner]).catch(() => {}); // best effort: else the lease lapses
    throw err;
  }
  return res.rows.map((r, i) => ({
    id: r[0] as string,
    subscriptionKey: keys[i]!,
    attempts: r[2] as number,
    createdAt: r[3] as number,
    event: {
      seq: r[4] as string,
      eventId: r[5] as string,
      schema: r[6] as string,
      body: r[7] as string,
      publishedAt: r[8] as number,
    },
  }));
}

/**
 * Outcomes (only where `owner` still holds the lease) and the attempt log, in one statement. Both travel as one
 * JSON document each (json_to_recordset): one JSON.stringify instead of pg's escaping of 16 arrays. The sorted
 * subquery with `id = ANY` gets a merge join on the primary key whatever the statistics say (an unnest join was
 * planned as a nested loop rescanning the unnest per row: 540 ms for 1,000 settlements, measured).
 */
const SETTLE = `WITH u AS (
    UPDATE deliveries d SET status = s.status, attempts = s.attempts,
      next_attempt_at = COALESCE(s."nextAttemptAt", d.next_attempt_at),
      last_attempt_at = COALESCE(s."lastAttemptAt", d.last_attempt_at), last_status_code = s."lastStatusCode",
      last_outcome = COALESCE(s."lastOutcome", d.last_outcome), dead_letter_reason = s."deadLetterReason",
      settled_at = CASE WHEN s.status = 'pending' THEN NULL ELSE $3::bigint END,
      lease_owner = NULL, lease_until = NULL
    FROM (SELECT * FROM json_to_recordset($1::json) AS x(id bigint, status text, attempts int,
        "nextAttemptAt" bigint, "lastAttemptAt" bigint, "lastStatusCode" int, "lastOutcome" text,
        "deadLetterReason" text) ORDER BY id) s
    WHERE d.id = s.id AND d.id = ANY($2::bigint[]) AND d.lease_owner = $4
    RETURNING 1),
  a AS (
    INSERT INTO delivery_attempts (sub, started_at, duration_ms, delivery_count, event_ids, status_code, outcome,
      response_excerpt)
    SELECT sub, "startedAt", "durationMs", "deliveryCount", "eventIds"::text, "statusCode", outcome,
      "responseExcerpt"
    FROM json_to_recordset($5::json) AS y(sub int, "startedAt" bigint, "durationMs" int,
      "deliveryCount" int, "eventIds" json, "statusCode" int, outcome text, "responseExcerpt" text)
    RETURNING 1)
  SELECT (SELECT count(*) FROM u) AS settled, (SELECT count(*) FROM a) AS logged`;

export async function settleRows(
  pool: pg.Pool,
  refs: PgSubscriptionRefs,
  owner: string,
  settlements: Settlement[],
  attempts: AttemptRecord[],
  now: number,
): Promise<void> {
  if (settlements.length === 0 && attempts.length === 0) return;
  const ids = new Array<string>(settlements.length);
  for (let i = 0; i < settlements.length; i++) ids[i] = settlements[i]!.id;
  const subs = await refs.of(attempts.map((a) => a.subscriptionKey));
  await pool.query({
    name: 'mlgrid-settle',
    text: SETTLE,
    values: [
      JSON.stringify(settlements),
      ids,
      now,
      owner,
      JSON.stringify(attempts.map((a, i) => logRow(a, subs[i]!))),
    ],
  });
}

/**
 * An attempt as the log stores it: the subscription by reference, and the response excerpt as PostgreSQL text,
 * which takes neither NUL nor lone surrogates (json_to_recordset would fail the whole settlement on `\u0000`),
 * so those become U+FFFD.
 */
function logRow(a: AttemptRecord, sub: number) {
  const excerpt = a.responseExcerpt;
  return {
    sub,
    startedAt: a.startedAt,
    durationMs: a.durationMs,
    deliveryCount: a.deliveryCount,
    eventIds: a.eventIds,
    statusCode: a.statusCode,
    outcome: a.outcome,
    responseExcerpt:
      excerpt !== undefined && NOT_TEXT.test(excerpt)
        ? excerpt.replace(new RegExp(NOT_TEXT, 'g'), '\uFFFD')
        : excerpt,
  };
}

const NOT_TEXT = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
