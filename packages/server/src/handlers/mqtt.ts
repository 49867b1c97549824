/**
 * `Mqtt` destinations (an mlgrid extension): publish each delivery to `topic` on the MQTT broker registered as a
 * `mqtt` connection for the destination's `resourceId`. QoS 1 by default, where the broker's PUBACK decides
 * success (QoS 0: the write does). Over MQTT 5 the Event Grid headers travel as user properties and the content
 * type as the Content Type property; over 3.1.1 only the body travels.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
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
  type SendResult,
} from './destination.js';

interface MqttDest {
  resourceId: string;
  topic: string;
  qos: 0 | 1;
  retain: boolean;
}

/** `mqtt[s]://[user[:pass]@]host[:port][?protocolVersion=4|5]` → the broker URL and client options. */
export function mqttOptions(
  url: string,
  timeoutMs: number,
): { broker: string; options: IClientOptions; pinned?: 4 | 5 } {
  const u = new URL(url);
  const pv = u.searchParams.get('protocolVersion');
  if (pv !== null && pv !== '4' && pv !== '5') throw new Error(`protocolVersion must be 4 or 5, not '${pv}'`);
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  return {
    broker: `${u.protocol}//${u.host}`,
    options: {
      clientId: `mlgrid-${randomBytes(6).toString('hex')}`,
      clean: true,
      connectTimeout: timeoutMs,
      // No automatic reconnect: publishes would wait for it. The pool reconnects on the next send instead.
      reconnectPeriod: 0,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    },
    ...(pv ? { pinned: Number(pv) as 4 | 5 } : {}),
  };
}

async function openMqtt(conn: BrokerConnection, timeoutMs: number): Promise<MqttClient> {
  const { broker, options, pinned } = mqttOptions(conn.url, timeoutMs);
  const open = async (protocolVersion: 4 | 5) => {
    const client = await mqtt.connectAsync(broker, { ...options, protocolVersion }, false);
    client.on('error', () => {}); // errors surface through the publish callbacks; an unheard 'error' would throw
    return client;
  };
  if (pinned) return open(pinned);
  try {
    return await open(5);
  } catch (err) {
    // A 3.1.1-only broker answers a v5 CONNECT with "unacceptable protocol version" (1) or 132 (v5's code).
    const code = (err as { code?: unknown }).code;
    if (code === 1 || code === 132) return open(4);
    throw err;
  }
}

export class MqttHandler implements DestinationHandler {
  readonly endpointTypes = ['Mqtt'] as const;
  private readonly pool: ClientPool<MqttClient>;
  private readonly targets = new Map<string, DeliveryTarget>();

  constructor(
    private readonly directory: ConnectionDirectory,
    private readonly opts: BrokerHandlerOptions,
  ) {
    this.pool = new ClientPool<MqttClient>({
      open: (conn) => openMqtt(conn, opts.timeoutMs),
      close: async (c) => {
        await c.endAsync(true).catch(() => {});
      },
      usable: (c) => c.connected && !c.disconnecting,
      guard: opts.guard,
    });
  }

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const { resourceId, topic } = dest.properties;
    if (!resourceId || !topic) return undefined;
    const d: MqttDest = {
      resourceId,
      topic,
      qos: dest.properties.qos ?? 1,
      retain: dest.properties.retain ?? false,
    };
    const key = `${resourceId}\n${topic}\n${d.qos}\n${d.retain}`;
    let t = this.targets.get(key);
    if (t === undefined) {
      t = { origin: `mqtt:${resourceId.toLowerCase()}`, send: (req) => this.send(d, req) };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(key, t);
    }
    return t;
  }

  private async send(d: MqttDest, req: OutgoingRequest): Promise<SendResult> {
    const started = performance.now();
    let conn: BrokerConnection | undefined;
    try {
      conn = await resolveConnection(this.directory, d.resourceId, 'mqtt', 'Mqtt', started);
      const client = await this.pool.get(conn, started);
      const left = Math.max(1, this.opts.timeoutMs - elapsed(started));
      const c = conn;
      return await within(this.publish(client, c, d, req, started), left, () => {
        this.pool.discard(c); // a PUBACK that never came: the session's state is unknown
        return timeoutResult(started, d.qos === 1 ? 'MQTT PUBACK' : 'MQTT publish');
      });
    } catch (err) {
      return err instanceof SendFailure ? err.result : failureOf(err, started, conn);
    }
  }

  private async publish(
    client: MqttClient,
    conn: BrokerConnection,
    d: MqttDest,
    req: OutgoingRequest,
    started: number,
  ): Promise<SendResult> {
    const opts: IClientPublishOptions = { qos: d.qos, retain: d.retain };
    if (client.options.protocolVersion === 5) {
      const { 'content-type': contentType, ...rest } = req.headers;
      opts.properties = {
        payloadFormatIndicator: true, // UTF-8 JSON
        ...(contentType ? { contentType } : {}),
        userProperties: rest,
      };
    }
    try {
      const sent = await client.publishAsync(d.topic, req.body, opts);
      const what =
        d.qos === 1 ? `PUBACK ${d.topic} messageId=${sent?.messageId ?? '?'}` : `PUBLISH ${d.topic} qos=0`;
      return handlerSuccess(elapsed(started), what);
    } catch (err) {
      // A PUBACK with a failure reason code (MQTT 5: not authorized, quota exceeded, …) is the broker's refusal.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') {
        return handlerFailure(
          `MQTT publish to '${d.topic}' refused: ${(err as Error).message} (reason ${code})`,
          elapsed(started),
        );
      }
      this.pool.discard(conn); // the connection failed under the publish
      return failureOf(err, started, conn, `MQTT publish to '${d.topic}': `);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
