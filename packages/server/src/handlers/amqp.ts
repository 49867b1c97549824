/**
 * `ServiceBusQueue` / `ServiceBusTopic` destinations delivered to RabbitMQ (AMQP 0-9-1, amqplib). The destination's
 * resource id (`…/namespaces/{ns}/queues/{q}` or `…/topics/{t}`) is resolved through the connection registered for
 * the namespace; its last segment names the queue (default exchange, routing key = queue) or the exchange (routing
 * key = the event type). Publisher confirms decide the outcome.
 *
 * Nothing is declared: as in Azure, the queue or topic must exist. A missing queue is detected without an extra
 * round trip (`mandatory` publish → the broker returns it, NO_ROUTE); a missing exchange would close the publishing
 * channel (404) and fail every publish in flight on it, so exchanges are checked first on a separate channel and a
 * positive answer is kept for `existsTtlMs`. Both are retryable NotFound failures: the entity may be created later.
 */
import amqp, { type ChannelModel, type ConfirmChannel, type Channel, type Options } from 'amqplib';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import { lastSegment, maskUrl, resourceKey } from '../core/connection.js';
import type { OutgoingRequest } from '../core/delivery-format.js';
import type { EgressGuard } from '../core/egress.js';
import { brokerEgressDenied } from '../services/connections.js';
import {
  elapsed,
  failureOf,
  resolveConnection,
  SendFailure,
  timeoutResult,
  within,
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
import { brokerMessage, eventTypeOf } from './amqp-message.js';

export interface AmqpHandlerOptions {
  /** Per publish, from connecting to the confirm (the delivery timeout). */
  timeoutMs: number;
  guard?: EgressGuard;
  /** How long a checked exchange is trusted to exist. */
  existsTtlMs?: number;
  /** A broker connection unused this long is closed (re-registered or deleted connections go away). */
  idleMs?: number;
}

type Entity = { kind: 'queue' | 'exchange'; name: string };
interface Pending {
  queue: string;
  returned?: string;
}

/** One broker connection: its AMQP connection, a confirm channel to publish on, a channel for existence checks. */
class Link {
  conn?: ChannelModel;
  pub?: ConfirmChannel;
  check?: Channel;
  opening?: Promise<void>;
  lastUsed = Date.now();
  /** Why the publishing channel closed last (the 404 text when an exchange vanished). */
  closeReason?: string;
  /** Publishes awaiting their confirm, for correlating `basic.return`s by queue. */
  readonly inFlight = new Set<Pending>();
  readonly exists = new Map<string, number>();
  /** Replaced or shut down: a connection that opens after this is closed at once. */
  closed = false;

  constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = this.pub = this.check = undefined;
    await c?.close().catch(() => {});
  }
}

export class AmqpHandler implements DestinationHandler {
  readonly endpointTypes = ['ServiceBusQueue', 'ServiceBusTopic'] as const;
  private readonly links = new Map<string, Link>();
  private readonly existsTtlMs: number;
  private readonly idleMs: number;
  private closed = false;

  constructor(
    private readonly directory: ConnectionDirectory,
    private readonly opts: AmqpHandlerOptions,
  ) {
    this.existsTtlMs = opts.existsTtlMs ?? 5000;
    this.idleMs = opts.idleMs ?? 10 * 60_000;
  }

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const resourceId = dest.properties.resourceId;
    if (!resourceId) return undefined;
    const entity: Entity = {
      kind: dest.endpointType === 'ServiceBusTopic' ? 'exchange' : 'queue',
      name: lastSegment(resourceId),
    };
    // The namespace (the id without `/queues/{q}`): subscriptions sharing a broker share the in-flight limit.
    const origin = `amqp:${resourceKey(resourceId).split('/').slice(0, -2).join('/')}`;
    return { origin, send: (req, ctx) => this.send(resourceId, entity, req, ctx) };
  }

  private async send(
    resourceId: string,
    entity: Entity,
    req: OutgoingRequest,
    ctx: SendContext,
  ): Promise<SendResult> {
    const started = performance.now();
    let conn: BrokerConnection;
    try {
      const type = entity.kind === 'exchange' ? 'ServiceBusTopic' : 'ServiceBusQueue';
      conn = await resolveConnection(this.directory, resourceId, 'amqp', type, started);
    } catch (err) {
      return err instanceof SendFailure ? err.result : failureOf(err, started);
    }
    const where = `${entity.kind} '${entity.name}' on ${maskUrl(conn.url)}`;
    return within(this.publish(conn, entity, req, ctx, where, started), this.opts.timeoutMs, () =>
      timeoutResult(started, `the confirm from ${where}`),
    );
  }

  private async publish(
    conn: BrokerConnection,
    entity: Entity,
    req: OutgoingRequest,
    ctx: SendContext,
    where: string,
    started: number,
  ): Promise<SendResult> {
    const ms = () => elapsed(started);
    const link = this.link(conn);
    try {
      await this.open(link);
    } catch (err) {
      const refused = (err as { refused?: string }).refused;
      if (refused)
        return { result: { kind: 'refused', reason: refused }, durationMs: ms(), excerpt: refused };
      return failureOf(err, started, conn, `cannot reach ${maskUrl(conn.url)}: `);
    }
    if (entity.kind === 'exchange') {
      const exists = await this.exchangeExists(link, entity.name);
      if (exists instanceof Error)
        return handlerFailure(`the ${where} could not be checked: ${exists.message}`, ms());
      if (!exists) return handlerFailure(`NotFound (404): the ${where} does not exist`, ms());
    }
    const pub = link.pub;
    if (!pub) return handlerFailure(`the channel to ${where} closed meanwhile`, ms());
    const msg = brokerMessage(req, ctx);
    const pending: Pending = { queue: entity.kind === 'queue' ? entity.name : '' };
    link.inFlight.add(pending);
    try {
      await new Promise<void>((resolve, reject) => {
        const cb = (err: unknown) => (err ? reject(err as Error) : resolve());
        const options: Options.Publish = { ...msg.options, mandatory: entity.kind === 'queue' };
        if (entity.kind === 'queue') pub.publish('', entity.name, msg.content, options, cb);
        else pub.publish(entity.name, eventTypeOf(ctx), msg.content, options, cb);
      });
    } catch (err) {
      const why =
        (err as Error).message === 'channel closed'
          ? (link.closeReason ?? 'channel closed')
          : (err as Error).message;
      if (/\b404\b|NOT_FOUND/.test(why)) link.exists.delete(entity.name);
      return handlerFailure(`the ${where} did not confirm: ${why}`, ms());
    } finally {
      link.inFlight.delete(pending);
    }
    if (pending.returned)
      return handlerFailure(`NotFound (404): the ${where} does not exist (${pending.returned})`, ms());
    return handlerSuccess(ms(), `confirmed by ${where}`);
  }

  /** The link for this connection; a re-registered URL replaces the old link, idle links are closed. */
  private link(conn: BrokerConnection): Link {
    const now = Date.now();
    for (const [k, l] of this.links) {
      if (k !== conn.name && now - l.lastUsed > this.idleMs && l.inFlight.size === 0) {
        this.links.delete(k);
        void l.close();
      }
    }
    let link = this.links.get(conn.name);
    if (link && link.url !== conn.url) {
      void link.close();
      link = undefined;
    }
    if (!link) {
      link = new Link(conn.name, conn.url);
      this.links.set(conn.name, link);
    }
    link.lastUsed = now;
    return link;
  }

  /** Opens the connection and channels that are not open (after an error, the next send reopens them). */
  private async open(link: Link): Promise<void> {
    if (this.closed) throw new Error('the server is shutting down');
    if (link.conn && link.pub && link.check) return;
    link.opening ??= this.connect(link).finally(() => {
      link.opening = undefined;
    });
    return link.opening;
  }

  private async connect(link: Link): Promise<void> {
    if (!link.conn) {
      const denied = this.opts.guard && (await brokerEgressDenied(this.opts.guard, link.url));
      if (denied) throw Object.assign(new Error(denied), { refused: denied });
      const u = new URL(link.url);
      const anonymous = u.username === '' && u.password === ''; // amqplib's rule: no credentials = guest
      const conn = await amqp.connect(
        {
          protocol: u.protocol.replace(/:$/, ''),
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port ? Number(u.port) : u.protocol === 'amqps:' ? 5671 : 5672,
          username: anonymous ? 'guest' : decodeURIComponent(u.username),
          password: anonymous ? 'guest' : decodeURIComponent(u.password),
          vhost: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/',
          heartbeat: Number(u.searchParams.get('heartbeat') ?? 30),
        },
        {
          timeout: this.opts.timeoutMs,
          clientProperties: { connection_name: `mlgrid ${link.name}` },
          ...(this.opts.guard ? { lookup: this.opts.guard.lookup } : {}),
        },
      );
      conn.on('error', () => {}); // 'close' follows; the next send reopens
      conn.on('close', () => {
        if (link.conn === conn) link.conn = link.pub = link.check = undefined;
      });
      if (this.closed || link.closed) {
        await conn.close().catch(() => {});
        throw new Error(this.closed ? 'the server is shutting down' : 'the connection was re-registered');
      }
      link.conn = conn;
    }
    const conn = link.conn;
    if (!link.pub) {
      const pub = await conn.createConfirmChannel();
      link.closeReason = undefined;
      pub.on('error', (err: Error) => {
        link.closeReason = err.message;
      });
      pub.on('close', () => {
        if (link.pub === pub) link.pub = undefined;
      });
      // A mandatory publish to a queue that does not exist comes back before its ack.
      pub.on('return', (m: { fields: { routingKey: string; replyCode: number; replyText: string } }) => {
        for (const p of link.inFlight) {
          if (p.queue === m.fields.routingKey) p.returned = `${m.fields.replyCode} ${m.fields.replyText}`;
        }
      });
      link.pub = pub;
    }
    if (!link.check) {
      const check = await conn.createChannel();
      check.on('error', () => {}); // a failed check closes this channel only
      check.on('close', () => {
        if (link.check === check) link.check = undefined;
      });
      link.check = check;
    }
  }

  /** false only on the broker's 404; another failure (connection lost) is returned as the error. */
  private async exchangeExists(link: Link, name: string): Promise<boolean | Error> {
    if (name === '' || name.startsWith('amq.')) return true; // predefined exchanges
    const until = link.exists.get(name);
    if (until !== undefined && until > Date.now()) return true;
    const ch = link.check;
    if (!ch) return true; // let the publish decide
    try {
      await ch.checkExchange(name);
      link.exists.set(name, Date.now() + this.existsTtlMs);
      return true;
    } catch (err) {
      link.exists.delete(name);
      return (err as { code?: unknown }).code === 404 ? false : (err as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.links.values()];
    this.links.clear();
    await Promise.all(all.map((l) => l.close()));
  }
}
