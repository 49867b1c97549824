/**
 * The read half of a SQLite claim: due deliveries with their events, in claim order from a keyset cursor. For a
 * database file it runs on a worker thread with its own connection (WAL lets it read while the main connection
 * writes), so the main thread, which also serves HTTP and sends the deliveries, spends its time on neither the
 * query nor the 1 KB body strings it builds. Rows cross the thread boundary packed: numbers in a transferred
 * Float64Array, strings joined into one (a structured clone of 500 small arrays costs more than the query saves).
 * In-memory databases (tests) cannot be shared with a thread: their reads run in-thread.
 */
import type Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';

/** id, next_attempt_at, sub (subscription_refs.id), attempts, created_at, event_seq, event_id, schema, body, published_at */
export type ClaimRow = [number, number, number, number, number, number, string, string, string, number];

export interface ClaimRead {
  t: number;
  id: number;
  now: number;
  want: number;
}

export interface ClaimReader {
  /** Reads run on another thread (worth reading ahead). */
  readonly threaded: boolean;
  read(q: ClaimRead): Promise<ClaimRow[]>;
  close(): Promise<void>;
}

/** Rows at the cursor's time after its id, then later due times, in one read transaction. */
export function claimQuery(db: Database.Database): (q: ClaimRead) => ClaimRow[] {
  // Two seeks instead of one row-value bound `(next_attempt_at, id) > (?, ?)`: SQLite seeks such a bound on its
  // first column only, so every claim re-read the rows sharing the cursor's time (a publish commit stamps
  // hundreds of rows alike, a restart releases every lease to time 0): 2.4 → 6.5 µs per claimed row, measured.
  const claim = (where: string, order: string) =>
    db
      .prepare(
        `SELECT d.id, d.next_attempt_at, d.sub, d.attempts, d.created_at,
          d.event_seq, e.event_id, e.schema, e.body, e.published_at
        FROM deliveries d JOIN events e ON e.seq = d.event_seq
        WHERE d.status = 'pending' AND ${where} ORDER BY ${order} LIMIT ?`,
      )
      .raw(true); // arrays, not an object per row
  const same = claim('d.next_attempt_at = ? AND d.id > ?', 'd.id');
  const after = claim('d.next_attempt_at > ? AND d.next_attempt_at <= ?', 'd.next_attempt_at, d.id');
  return db.transaction((q: ClaimRead): ClaimRow[] => {
    const rows = (q.t <= q.now ? same.all(q.t, q.id, q.want) : []) as ClaimRow[];
    if (rows.length === q.want) return rows;
    return rows.concat(after.all(q.t, q.now, q.want - rows.length) as ClaimRow[]);
  });
}

export function inThreadReader(db: Database.Database): ClaimReader {
  const read = claimQuery(db);
  return { threaded: false, read: async (q) => read(q), close: async () => {} };
}

/** Numbers per row in a packed page, and strings per row (in ClaimRow order). */
const NUMS = [0, 1, 2, 3, 4, 5, 9] as const;
const TEXTS = [6, 7, 8] as const;

export interface ClaimPage {
  n: number;
  nums: Float64Array;
  text: string;
  /** End offset in `text` of each string, row by row. */
  ends: Uint32Array;
}

export function pack(rows: ClaimRow[]): ClaimPage {
  const n = rows.length;
  const nums = new Float64Array(n * NUMS.length);
  const ends = new Uint32Array(n * TEXTS.length);
  const parts: string[] = new Array(n * TEXTS.length);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    for (let j = 0; j < NUMS.length; j++) nums[i * NUMS.length + j] = r[NUMS[j]!] as number;
    for (let j = 0; j < TEXTS.length; j++) {
      const s = r[TEXTS[j]!] as string;
      parts[i * TEXTS.length + j] = s;
      pos += s.length;
      ends[i * TEXTS.length + j] = pos;
    }
  }
  return { n, nums, text: parts.join(''), ends };
}

export function unpack(p: ClaimPage): ClaimRow[] {
  const rows: ClaimRow[] = new Array(p.n);
  let start = 0;
  for (let i = 0; i < p.n; i++) {
    const r = new Array(10) as ClaimRow;
    for (let j = 0; j < NUMS.length; j++) r[NUMS[j]!] = p.nums[i * NUMS.length + j]!;
    for (let j = 0; j < TEXTS.length; j++) {
      const end = p.ends[i * TEXTS.length + j]!;
      r[TEXTS[j]!] = p.text.slice(start, end); // a slice references the page's string: no copy
      start = end;
    }
    rows[i] = r;
  }
  return rows;
}

type Reply = { k: number; page?: ClaimPage; error?: string };

/**
 * Reads on a worker thread, started by the first read. Replies come in the order of the requests. Should the
 * thread die, the reads in flight fail (their claim is retried at the next poll) and later ones use `fallback`.
 */
export function workerReader(file: string, fallback: ClaimReader): ClaimReader {
  let worker: Worker | undefined;
  const waiting = new Map<number, { resolve: (r: ClaimRow[]) => void; reject: (e: Error) => void }>();
  let next = 0;
  let dead: Error | undefined;
  let closed = false;
  const fail = (err: Error) => {
    if (!dead && !closed) {
      process.emitWarning(`SQLite claim reader thread failed (${err.message}); claims now read in-thread`);
    }
    dead ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const start = (): Worker => {
    const w = startWorker(import.meta.url, 'sqlite-claim-worker', { workerData: { file } });
    w.unref(); // never holds the process open; a pending read holds it instead (ref in read)
    w.on('message', (m: Reply) => {
      const p = waiting.get(m.k);
      waiting.delete(m.k);
      if (waiting.size === 0) w.unref();
      if (!p) return;
      if (!m.page) return p.reject(new Error(`claim read failed: ${m.error}`));
      try {
        p.resolve(unpack(m.page));
      } catch (err) {
        p.reject(err as Error); // never thrown into the event loop
      }
    });
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`claim reader thread exited (${code})`)));
    return w;
  };
  return {
    threaded: true,
    read(q) {
      if (closed) return Promise.reject(new Error('store closed'));
      if (dead) return fallback.read(q);
      worker ??= start();
      const k = ++next;
      worker.ref();
      worker.postMessage({ k, ...q });
      return new Promise((resolve, reject) => waiting.set(k, { resolve, reject }));
    },
    async close() {
      closed = true;
      dead ??= new Error('store closed');
      await worker?.terminate();
    },
  };
}
