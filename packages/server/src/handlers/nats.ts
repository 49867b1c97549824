/**
 * `EventHub` destinations → NATS JetStream. The Event Hubs namespace is the NATS server (a registered `nats`
 * connection for `…/Microsoft.EventHub/namespaces/{ns}`), the event hub is the subject: an event for
 * `…/namespaces/{ns}/eventhubs/{hub}` is published to subject `{hub}`, and a JetStream stream must capture that
 * subject (the stream is the event hub's storage; mlgrid never creates one). The PubAck decides success.
 */
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import type { OutgoingRequest } from '../core/delivery-format.js';
import {
  ClientPool,
  elapsed,
  failureOf,
  resolveConnection,
  SendFailure,
  scrub,
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

interface NatsClient {
  nc: NatsConnection;
  js: JetStreamClient;
}

/** An Event Hub id → its namespace id (the connection's) and hub name, or why it is not one. */
export function eventHubOf(resourceId: string): { namespace: string; hub: string } | { error: string } {
  const seg = resourceId.replace(/\/+$/, '').split('/');
  const lower = seg.map((s) => s.toLowerCase());
  const at = lower.lastIndexOf('microsoft.eventhub');
  if (
    at < 1 ||
    lower[at - 1] !== 'providers' ||
    lower[at + 1] !== 'namespaces' ||
    !seg[at + 2] ||
    lower[at + 3] !== 'eventhubs' ||
    !seg[at + 4] ||
    seg.length !== at + 5
  ) {
    return {
      error: `'${resourceId}' is not an event hub id (…/providers/Microsoft.EventHub/namespaces/{ns}/eventhubs/{hub})`,
    };
  }
  const hub = seg[at + 4]!;
  // Event Hub names are letters, digits, '.', '-', '_'; a '.' separates NATS subject tokens, which is harmless.
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(hub)) {
    return {
      error: `event hub name '${hub}' is not a valid NATS subject (letters, digits, '-', '_', inner '.')`,
    };
  }
  return { namespace: seg.slice(0, at + 3).join('/'), hub };
}

/** `nats://[user[:pass]@]host:port`; a lone user or password is a token (`nats://token@host`); `tls://` for TLS. */
function connectOptions(url: string, timeoutMs: number) {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  const tls = u.protocol === 'tls:';
  return {
    servers: `${tls ? 'tls' : 'nats'}://${u.host}`,
    name: 'mlgrid',
    timeout: timeoutMs,
    // Once connected the client rides out broker restarts; publishes meanwhile time out and are retried.
    maxReconnectAttempts: -1,
    ...(user && pass ? { user, pass } : user || pass ? { token: user || pass } : {}),
    ...(tls ? { tls: {} } : {}),
  };
}

export class NatsHandler implements DestinationHandler {
  readonly endpointTypes = ['EventHub'] as const;
  private readonly pool: ClientPool<NatsClient>;
  private readonly targets = new Map<string, DeliveryTarget>();

  constructor(
    private readonly directory: ConnectionDirectory,
    private readonly opts: BrokerHandlerOptions,
  ) {
    this.pool = new ClientPool<NatsClient>({
      open: async (conn) => {
        const nc = await connect(connectOptions(conn.url, opts.timeoutMs));
        return { nc, js: jetstream(nc, { timeout: opts.timeoutMs }) };
      },
      close: (c) => c.nc.close(),
      usable: (c) => !c.nc.isClosed(),
      guard: opts.guard,
    });
  }

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const id = dest.properties.resourceId;
    if (!id) return undefined;
    let t = this.targets.get(id);
    if (t === undefined) {
      const hub = eventHubOf(id);
      // Probation and the in-flight limit are per namespace (= per NATS server).
      const origin = `nats:${('namespace' in hub ? hub.namespace : id).toLowerCase()}`;
      t = { origin, send: (req, ctx) => this.send(id, req, ctx) };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(id, t);
    }
    return t;
  }

  private async send(resourceId: string, req: OutgoingRequest, ctx: SendContext): Promise<SendResult> {
    const started = performance.now();
    const hub = eventHubOf(resourceId);
    // Azure refuses such a destination at creation; nothing a retry could change.
    if ('error' in hub) return handlerFailure(hub.error, 0, false);
    let conn: BrokerConnection | undefined;
    try {
      conn = await resolveConnection(this.directory, resourceId, 'nats', 'EventHub', started);
      const client = await this.pool.get(conn, started);
      const left = Math.max(1, this.opts.timeoutMs - elapsed(started));
      return await within(this.publish(client, conn, hub.hub, req, ctx, started, left), left + 1000, () =>
        timeoutResult(started, 'JetStream publish'),
      );
    } catch (err) {
      return err instanceof SendFailure ? err.result : failureOf(err, started, conn);
    }
  }

  private async publish(
    client: NatsClient,
    conn: BrokerConnection,
    subject: string,
    req: OutgoingRequest,
    ctx: SendContext,
    started: number,
    timeout: number,
  ): Promise<SendResult> {
    const h = natsHeaders();
    // `Nats-*` headers steer JetStream (rollup, expected sequence, TTL): a delivery attribute may not set them.
    for (const [k, v] of Object.entries(req.headers)) if (!k.toLowerCase().startsWith('nats-')) h.set(k, v);
    // JetStream drops a second message with the same id inside the stream's duplicate window: a retry after a
    // lost PubAck, or the same event delivered again to this subscription, is stored once. The subscription
    // is part of the id so that two subscriptions into one stream each get their copy, as with Event Hubs.
    const batch = ctx.batch;
    const one = batch.length === 1 ? batch[0]!.event.eventId : `batch-${batch[0]!.id}-${batch.length}`;
    const msgID = `${one}:${ctx.subscription.name}`;
    try {
      const ack = await client.js.publish(subject, req.body, { msgID, headers: h, timeout });
      const excerpt = `stream=${ack.stream} seq=${ack.seq}${ack.duplicate ? ' duplicate' : ''}`;
      return handlerSuccess(elapsed(started), excerpt);
    } catch (err) {
      const name = (err as Error)?.name ?? '';
      const message = (err as Error)?.message ?? String(err);
      if (name === 'JetStreamNotEnabled' || /no responders/i.test(message)) {
        // Nothing answered on the subject: no stream captures it (or JetStream is off), like a missing event hub.
        return handlerFailure(
          scrub(
            `no JetStream stream captures subject '${subject}' on ${conn.name} (create one, e.g. nats stream add --subjects '${subject}')`,
            conn,
          ),
          elapsed(started),
        );
      }
      if (/max_payload/i.test(message)) {
        return handlerFailure(
          scrub(`message exceeds the server's max_payload: ${message}`),
          elapsed(started),
          false,
        );
      }
      if (name === 'TimeoutError' || /timeout/i.test(message))
        return timeoutResult(started, 'JetStream PubAck');
      return failureOf(err, started, conn, `JetStream publish to '${subject}': `);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
