/**
 * The read half of a SQLite claim: due deliveries with their events, in claim order from a keyset cursor. For a
 * database file it runs on a worker thread with its own connection (WAL lets it read while the main connection
 * writes), so the main thread, which also serves HTTP and sends the deliveries, spends its time on neither the
 * query nor the 1 KB body strings it builds. Rows cross the thread boundary packed: numbers in a transferred
 * Float64Array, the short strings joined into one (a structured clone of 500 small arrays costs more than the
 * query saves), and the bodies as UTF-8 in a transferred buffer. Bodies stay bytes on the main thread until
 * something needs the text (a webhook batch in its stored schema never does): as one string per page they were
 * 600 KB objects in V8's old generation, several per second, whose collection kept two GC threads busy.
 * In-memory databases (tests) cannot be shared with a thread: their reads run in-thread.
 */
import type Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';

/**
 * id, next_attempt_at, sub (subscription_refs.id), attempts, created_at, event_seq, event_id, schema, body,
 * published_at. The body is text as read, UTF-8 bytes once it crossed from the reader thread.
 */
export type ClaimRow = [
  number,
  number,
  number,
  number,
  number,
  number,
  string,
  string,
  string | Buffer,
  number,
];

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

/** Numbers per row in a packed page, and short strings per row (in ClaimRow order); the body is column 8. */
const NUMS = [0, 1, 2, 3, 4, 5, 9] as const;
const TEXTS = [6, 7] as const;
const BODY = 8;

export interface ClaimPage {
  n: number;
  nums: Float64Array;
  text: string;
  /** End offset in `text` of each short string, row by row. */
  ends: Uint32Array;
  /** The bodies, UTF-8, one after the other. */
  bytes: Uint8Array;
  /** End offset in `bytes` of each body. */
  bodyEnds: Uint32Array;
}

const utf8 = new TextEncoder();

export function pack(rows: ClaimRow[]): ClaimPage {
  const n = rows.length;
  const nums = new Float64Array(n * NUMS.length);
  const ends = new Uint32Array(n * TEXTS.length);
  const bodyEnds = new Uint32Array(n);
  const parts: string[] = new Array(n * TEXTS.length);
  let room = 0;
  for (let i = 0; i < n; i++) room += (rows[i]![BODY] as string).length;
  let bytes = new Uint8Array(room); // enough for ASCII; grows for the rest
  let pos = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    for (let j = 0; j < NUMS.length; j++) nums[i * NUMS.length + j] = r[NUMS[j]!] as number;
    for (let j = 0; j < TEXTS.length; j++) {
      const s = r[TEXTS[j]!] as string;
      parts[i * TEXTS.length + j] = s;
      pos += s.length;
      ends[i * TEXTS.length + j] = pos;
    }
    const body = r[BODY] as string;
    let done = utf8.encodeInto(body, bytes.subarray(at));
    if (done.read < body.length) {
      // Not ASCII: room for the worst case of this body and the rest, then encode it again.
      const grown = new Uint8Array(bytes.length + body.length * 3);
      grown.set(bytes.subarray(0, at));
      bytes = grown;
      done = utf8.encodeInto(body, bytes.subarray(at));
    }
    at += done.written;
    bodyEnds[i] = at;
  }
  return { n, nums, text: parts.join(''), ends, bytes, bodyEnds };
}

export function unpack(p: ClaimPage): ClaimRow[] {
  const rows: ClaimRow[] = new Array(p.n);
  const bodies = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  let start = 0;
  let from = 0;
  for (let i = 0; i < p.n; i++) {
    const r = new Array(10) as ClaimRow;
    for (let j = 0; j < NUMS.length; j++) r[NUMS[j]!] = p.nums[i * NUMS.length + j]!;
    for (let j = 0; j < TEXTS.length; j++) {
      const end = p.ends[i * TEXTS.length + j]!;
      r[TEXTS[j]!] = p.text.slice(start, end);
      start = end;
    }
    const to = p.bodyEnds[i]!;
    r[BODY] = bodies.subarray(from, to); // a view of the page: no copy
    from = to;
    rows[i] = r;
  }
  return rows;
}

/**
 * A claimed event whose body arrived as UTF-8: `bytes` for whoever can send bytes, `body` decoded on first
 * read for everyone else.
 */
export class BytesEvent {
  private text?: string;
  constructor(
    readonly seq: string,
    readonly eventId: string,
    readonly schema: string,
    readonly bytes: Buffer,
    readonly publishedAt: number,
  ) {}

  get body(): string {
    return (this.text ??= this.bytes.toString('utf8'));
  }
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
