/**
 * The message brokers this machine kind runs (RabbitMQ, NATS JetStream, Redis, Mosquitto). When one does not
 * answer, its suites skip with a clear message — except under CI=true, where that is a failure (as PostgreSQL).
 */
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';

export const BROKERS = {
  rabbitmq: { port: 5672, url: process.env.MLGRID_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  nats: { port: 4222, url: process.env.MLGRID_TEST_NATS_URL ?? 'nats://127.0.0.1:4222' },
  redis: { port: 6379, url: process.env.MLGRID_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
  mqtt: { port: 1883, url: process.env.MLGRID_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883' },
} as const;
export type BrokerName = keyof typeof BROKERS;

const probes = new Map<BrokerName, Promise<string | undefined>>();

/** undefined when the broker's port accepts a TCP connection, else the reason. */
function unavailable(name: BrokerName): Promise<string | undefined> {
  let p = probes.get(name);
  if (!p) {
    p = new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port: BROKERS[name].port, timeout: 2000 });
      s.once('connect', () => (s.destroy(), resolve(undefined)));
      s.once('timeout', () => (s.destroy(), resolve('connect timed out')));
      s.once('error', (err) => resolve(err.message));
    });
    probes.set(name, p);
  }
  return p;
}

/** Call at the top of a broker suite; returns true when the suite must skip. */
export async function skipWithoutBroker(name: BrokerName, suite: string): Promise<boolean> {
  const why = await unavailable(name);
  if (!why) return false;
  const line = `SKIPPED ${name} tests (${suite}): nothing answers on 127.0.0.1:${BROKERS[name].port}: ${why}`;
  if (process.env.CI === 'true') throw new Error(`${line} — CI requires ${name}`);
  console.warn(line);
  if (process.env.MLGRID_SKIP_LOG) appendFileSync(process.env.MLGRID_SKIP_LOG, line + '\n');
  return true;
}
