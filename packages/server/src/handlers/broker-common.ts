/**
 * What the stream/queue handlers (NATS, Redis, MQTT) share: resolving a destination's registered connection,
 * lazily opened clients (one per connection), failure results with secrets scrubbed, and a hard time limit.
 */
import type { EgressGuard } from '../core/egress.js';
import { brokerEgressDenied } from '../services/connections.js';
import type { BrokerConnection, ConnectionDirectory, SendResult } from './destination.js';
import { handlerFailure } from './destination.js';
import { errorCode } from './webhook.js';

export interface BrokerHandlerOptions {
  /** Per attempt, connecting included (the delivery timeout, Azure: 30 s). */
  timeoutMs: number;
  /** The delivery egress policy, checked against the broker's host before each connect. */
  guard?: EgressGuard;
}

const EXCERPT_CHARS = 512;

export const elapsed = (started: number): number => Math.round(performance.now() - started);

/** A failure that already is a result (no connection, egress refused, connect failed). */
export class SendFailure extends Error {
  constructor(readonly result: SendResult) {
    super(result.excerpt ?? 'send failed');
  }
}

/**
 * The connection serving `resourceId`, of the kind the handler speaks. No connection (yet) is retryable: an
 * operator registers one and the retries go through, as Azure retries a namespace that does not exist yet.
 */
export async function resolveConnection(
  directory: ConnectionDirectory,
  resourceId: string,
  kind: BrokerConnection['kind'],
  endpointType: string,
  started: number,
): Promise<BrokerConnection> {
  let conn: BrokerConnection | undefined;
  try {
    conn = await directory.forResource(resourceId);
  } catch (err) {
    throw new SendFailure(handlerFailure(`connection lookup failed: ${messageOf(err)}`, elapsed(started)));
  }
  if (!conn) {
    const msg =
      `no ${kind} connection is registered for '${resourceId}' or a parent resource ` +
      `(register one: mlgrid connection create --kind ${kind} --resource-id <namespace or account id>)`;
    throw new SendFailure(handlerFailure(msg, elapsed(started)));
  }
  if (conn.kind !== kind) {
    const msg = `connection '${conn.name}' is a ${conn.kind} connection; ${endpointType} destinations need ${kind}`;
    throw new SendFailure(handlerFailure(msg, elapsed(started)));
  }
  return conn;
}

/** The password of a connection URL, raw and as written in the URL, for scrubbing messages. */
function secretsOf(url: string): string[] {
  try {
    const p = new URL(url).password;
    if (!p) return [];
    const decoded = decodeURIComponent(p);
    return decoded === p ? [p] : [p, decoded];
  } catch {
    return [];
  }
}

/** A client error message safe for the delivery log: the connection's password never appears, ≤ 512 chars. */
export function scrub(message: string, conn?: BrokerConnection): string {
  let m = message;
  if (conn) for (const s of secretsOf(conn.url)) m = m.split(s).join('***');
  return m.length > EXCERPT_CHARS ? m.slice(0, EXCERPT_CHARS) : m;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const SOCKET_CODES = /^(E[A-Z]+|ERR_TLS.*|.*CERT.*)$/;

/**
 * A transport error (refused, reset, DNS, TLS) → the dispatcher's `network` outcome (SocketError /
 * ResolutionError / TimedOut, as for webhooks); anything else → a retryable handler failure.
 */
/** `prefix` is mlgrid's own text (never a secret); the error's message is scrubbed. */
export function failureOf(err: unknown, started: number, conn?: BrokerConnection, prefix = ''): SendResult {
  const code = errorCode(err);
  // Only the client's message can carry the password; the prefix is ours (a masked URL may name the user).
  const excerpt = `${prefix}${scrub(messageOf(err), conn)}`.slice(0, EXCERPT_CHARS);
  if (code && SOCKET_CODES.test(code)) {
    return { result: { kind: 'network', code }, durationMs: elapsed(started), excerpt };
  }
  return handlerFailure(excerpt, elapsed(started));
}

/** Settles with `onTimeout()` when `p` has not settled within `ms`; `p` is left to finish on its own. */
export function within<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function timeoutResult(started: number, what: string): SendResult {
  return { result: { kind: 'timeout' }, durationMs: elapsed(started), excerpt: `${what} timed out` };
}

interface Entry<C> {
  url: string;
  client: Promise<C>;
  lastUsed: number;
}

/** A client unused this long is closed (deleted or idle connections do not keep sockets open). */
export const CLIENT_IDLE_MS = 10 * 60_000;

/**
 * One client per registered connection, opened on first use (a broker that is down delays nothing at start).
 * A connection re-registered with another URL gets a fresh client (the old one is closed); a client that failed
 * to open, or has closed, is opened again on the next send; one unused for `idleMs` is closed. Opening checks
 * the egress policy first.
 */
export class ClientPool<C> {
  private readonly entries = new Map<string, Entry<C>>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly opts: {
      open: (conn: BrokerConnection) => Promise<C>;
      close: (client: C) => Promise<void>;
      /** False once the client cannot be used any more (closed for good). */
      usable: (client: C) => boolean;
      guard?: EgressGuard;
      idleMs?: number;
    },
  ) {
    const idleMs = opts.idleMs ?? CLIENT_IDLE_MS;
    this.sweeper = setInterval(() => this.sweep(idleMs), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  async get(conn: BrokerConnection, started: number): Promise<C> {
    if (this.closed) throw new SendFailure(handlerFailure('the server is shutting down', elapsed(started)));
    const cur = this.entries.get(conn.name);
    if (cur && cur.url !== conn.url) this.drop(conn.name, cur);
    else if (cur) {
      cur.lastUsed = Date.now();
      const client = await cur.client.catch(() => undefined);
      if (client !== undefined && this.opts.usable(client)) return client;
      this.drop(conn.name, cur);
      // Sends that saw the same dead client all get here; the first reopens, the others share its client.
      const again = this.entries.get(conn.name);
      if (again) return this.get(conn, started);
    }
    const entry: Entry<C> = { url: conn.url, client: this.open(conn), lastUsed: Date.now() };
    this.entries.set(conn.name, entry);
    try {
      return await entry.client;
    } catch (err) {
      if (this.entries.get(conn.name) === entry) this.entries.delete(conn.name);
      if (err instanceof SendFailure) throw err;
      throw new SendFailure(failureOf(err, started, conn, `connecting to ${conn.name}: `));
    }
  }

  private async open(conn: BrokerConnection): Promise<C> {
    if (this.opts.guard) {
      const denied = await brokerEgressDenied(this.opts.guard, conn.url);
      if (denied)
        throw new SendFailure({
          result: { kind: 'refused', reason: denied },
          durationMs: 0,
          excerpt: denied,
        });
    }
    return this.opts.open(conn);
  }

  /** Removes the entry if it is still the current one, and closes its client once opened. */
  private drop(name: string, entry: Entry<C>): void {
    if (this.entries.get(name) === entry) this.entries.delete(name);
    void entry.client.then((c) => this.opts.close(c)).catch(() => {});
  }

  /** Drops the client of a connection (after a failure that leaves it in an unknown state). */
  discard(conn: BrokerConnection): void {
    const cur = this.entries.get(conn.name);
    if (cur) this.drop(conn.name, cur);
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [name, e] of this.entries) if (now - e.lastUsed > idleMs) this.drop(name, e);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.client.then((c) => this.opts.close(c)).catch(() => {})));
  }
}
