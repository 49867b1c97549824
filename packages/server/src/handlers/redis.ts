/**
 * `StorageQueue` destinations → Redis. The storage account (`…/Microsoft.Storage/storageAccounts/{acct}`) is a
 * registered `redis` connection; the destination's `queueName` is the Redis key. By default each event becomes
 * one stream entry (XADD: the body plus the Event Grid headers as fields, consumer groups for competing
 * workers, per-message time to live by trimming); `?queueType=list` on the connection URL makes the queue a list
 * instead (RPUSH of the body, for workers that BLPOP). The command's reply decides success.
 */
import { Redis } from 'ioredis';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import type { OutgoingRequest } from '../core/delivery-format.js';
import {
  ClientPool,
  elapsed,
  failureOf,
  resolveConnection,
  SendFailure,
  timeoutResult,
  within,
  type BrokerHandlerOptions,
} from './broker-common.js';
import {
  handlerFailure,
  handlerSuccess,
  type BrokerConnection,
  type ConnectionDirectory,
  type DeliveryTarget,
  type DestinationHandler,
  type SendContext,
  type SendResult,
} from './destination.js';

/** Azure Storage's default message time to live when the subscription sets none: 7 days. */
export const DEFAULT_QUEUE_TTL_SECONDS = 7 * 24 * 3600;

export type QueueType = 'stream' | 'list';

interface RedisClient {
  redis: Redis;
  queueType: QueueType;
  /** Redis server clock minus ours (ms): entry ids carry the server's time, so the trim bound must too. */
  clockOffsetMs: number;
}

interface QueueDest {
  resourceId: string;
  queueName: string;
  /** Seconds; -1 = never expires. */
  ttl: number;
}

/** `redis[s]://[user[:pass]@]host[:port][/db][?queueType=stream|list]` → client options and the queue type. */
export function redisOptions(url: string): {
  host: string;
  port: number;
  db: number;
  queueType: QueueType;
  username?: string;
  password?: string;
  tls: boolean;
} {
  const u = new URL(url);
  const db = u.pathname.replace(/^\/+|\/+$/g, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new Error(`the database in the connection URL must be a number, not '${db}'`);
  const qt = u.searchParams.get('queueType') ?? 'stream';
  if (qt !== 'stream' && qt !== 'list') throw new Error(`queueType must be stream or list, not '${qt}'`);
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    db: db === '' ? 0 : Number(db),
    queueType: qt,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: u.protocol === 'rediss:',
  };
}

async function openRedis(conn: BrokerConnection, timeoutMs: number): Promise<RedisClient> {
  const o = redisOptions(conn.url);
  const redis = new Redis({
    host: o.host,
    port: o.port,
    ...(o.username ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
    ...(o.tls ? { tls: { servername: o.host } } : {}),
    connectionName: 'mlgrid', // what CLIENT LIST shows
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // Fail fast instead of queueing while disconnected; the pool opens a new client on the next send.
    enableOfflineQueue: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await redis.connect();
    // Selected here rather than through ioredis's `db` option, which only logs a failed SELECT and stays on 0.
    if (o.db !== 0) await redis.select(o.db);
    // An ACL may deny TIME to a user that may only write queues: our own clock is the fallback then.
    const clockOffsetMs = await serverClockOffset(redis).catch(() => 0);
    return { redis, queueType: o.queueType, clockOffsetMs };
  } catch (err) {
    redis.disconnect();
    throw lastError && (err as Error).message === 'Connection is closed.' ? lastError : err;
  }
}

async function serverClockOffset(redis: Redis): Promise<number> {
  const before = Date.now();
  const [sec, usec] = await redis.time();
  const server = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  return server - Math.round((before + Date.now()) / 2);
}

/** The body as a Storage Queue message holds it: one event, not an array of one (Event Grid never batches there). */
export function queueMessageBody(req: OutgoingRequest, events: number): string {
  const b = req.body;
  return events === 1 && b.startsWith('[') && b.endsWith(']') ? b.slice(1, -1) : b;
}

export class RedisHandler implements DestinationHandler {
  readonly endpointTypes = ['StorageQueue'] as const;
  private readonly pool: ClientPool<RedisClient>;
  private readonly targets = new Map<string, DeliveryTarget>();

  constructor(
    private readonly directory: ConnectionDirectory,
    private readonly opts: BrokerHandlerOptions,
  ) {
    this.pool = new ClientPool<RedisClient>({
      open: (conn) => openRedis(conn, opts.timeoutMs),
      close: async (c) => {
        c.redis.disconnect();
      },
      usable: (c) => c.redis.status === 'ready',
      guard: opts.guard,
    });
  }

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const { resourceId, queueName, queueMessageTimeToLiveInSeconds } = dest.properties;
    if (!resourceId || !queueName) return undefined;
    const q: QueueDest = {
      resourceId,
      queueName,
      ttl: queueMessageTimeToLiveInSeconds ?? DEFAULT_QUEUE_TTL_SECONDS,
    };
    const key = `${resourceId}\n${queueName}\n${q.ttl}`;
    let t = this.targets.get(key);
    if (t === undefined) {
      t = { origin: `redis:${resourceId.toLowerCase()}`, send: (req, ctx) => this.send(q, req, ctx) };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(key, t);
    }
    return t;
  }

  private async send(q: QueueDest, req: OutgoingRequest, ctx: SendContext): Promise<SendResult> {
    const started = performance.now();
    let conn: BrokerConnection | undefined;
    try {
      conn = await resolveConnection(this.directory, q.resourceId, 'redis', 'StorageQueue', started);
      const client = await this.pool.get(conn, started);
      const body = queueMessageBody(req, ctx.batch.length);
      const left = Math.max(1, this.opts.timeoutMs - elapsed(started));
      const c = conn;
      return await within(this.write(client, q, body, req.headers, started), left + 1000, () => {
        this.pool.discard(c); // its state is unknown
        return timeoutResult(started, 'Redis command');
      });
    } catch (err) {
      if (err instanceof SendFailure) return err.result;
      if (conn && /timed out/i.test((err as Error)?.message ?? '')) {
        this.pool.discard(conn);
        return timeoutResult(started, 'Redis command');
      }
      return failureOf(err, started, conn, `Redis ${q.queueName}: `);
    }
  }

  private async write(
    c: RedisClient,
    q: QueueDest,
    body: string,
    headers: Record<string, string>,
    started: number,
  ): Promise<SendResult> {
    const now = Date.now() + c.clockOffsetMs; // the Redis server's time
    if (c.queueType === 'list') {
      // A list cannot expire single elements: the key expires once it has received nothing for the TTL (every
      // element is older than that then); -1 makes the key persistent. Never removes an unexpired message.
      const m = c.redis.multi().rpush(q.queueName, body);
      if (q.ttl === -1) m.persist(q.queueName);
      else m.pexpire(q.queueName, q.ttl * 1000);
      const res = await m.exec();
      const failed = res?.find(([err]) => err);
      if (!res || failed)
        return handlerFailure(
          `RPUSH ${q.queueName}: ${failed?.[0]?.message ?? 'transaction aborted'}`,
          elapsed(started),
        );
      return handlerSuccess(elapsed(started), `RPUSH ${q.queueName} length=${String(res[0]![1])}`);
    }
    const fields: string[] = ['body', body];
    for (const [k, v] of Object.entries(headers)) fields.push(k, v);
    const args: (string | number)[] = [];
    if (q.ttl !== -1) {
      const expires = now + q.ttl * 1000;
      // Storage Queue messages carry their ExpirationTime; consumers can skip an entry past it before a trim.
      fields.push('expiration-time', new Date(expires).toISOString());
      // Entries whose id (their add time, in ms) is older than the TTL are removed by this add: exact MINID trim.
      args.push('MINID', String(Math.max(0, now - q.ttl * 1000)));
    }
    const id = await c.redis.xadd(q.queueName, ...args, '*', ...fields);
    if (id === null) return handlerFailure(`XADD ${q.queueName} returned no id`, elapsed(started));
    return handlerSuccess(elapsed(started), `XADD ${q.queueName} ${id}`);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
