/** The broker handlers' client pool: one client per connection, reopened, replaced, closed when idle. */
import { describe, expect, it } from 'vitest';
import { ClientPool } from '../src/handlers/broker-common.js';
import { until } from './helpers/until.js';

const NS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns1';

describe('ClientPool', () => {
  type Fake = { id: number; url: string; alive: boolean; closed: boolean };
  const make = (idleMs?: number) => {
    const opened: Fake[] = [];
    let failNext = false;
    const pool = new ClientPool<Fake>({
      open: async (c) => {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        }
        const f = { id: opened.length + 1, url: c.url, alive: true, closed: false };
        opened.push(f);
        return f;
      },
      close: async (f) => {
        f.closed = true;
      },
      usable: (f) => f.alive,
      ...(idleMs !== undefined ? { idleMs } : {}),
    });
    return { pool, opened, failOnce: () => (failNext = true) };
  };
  const conn = (url = 'nats://h:1') => ({ name: 'c', resourceId: NS, kind: 'nats' as const, url });

  it('opens once for concurrent sends, reopens a dead client, and a new URL replaces the old client', async () => {
    const { pool, opened } = make();
    const [a, b] = await Promise.all([pool.get(conn(), 0), pool.get(conn(), 0)]);
    expect(a).toBe(b);
    expect(opened).toHaveLength(1);
    a.alive = false;
    const c = await pool.get(conn(), 0);
    expect([c.id, a.closed]).toEqual([2, true]);
    const d = await pool.get(conn('nats://other:1'), 0);
    expect([d.id, d.url, c.closed]).toEqual([3, 'nats://other:1', true]);
    await pool.close();
    expect(d.closed).toBe(true);
    await expect(pool.get(conn(), 0)).rejects.toMatchObject({
      result: { excerpt: 'the server is shutting down' },
    });
  });

  it('does not keep a failed open, and reports it as the transport failure', async () => {
    const { pool, opened, failOnce } = make();
    failOnce();
    await expect(pool.get(conn(), performance.now())).rejects.toMatchObject({
      result: { result: { kind: 'network', code: 'ECONNREFUSED' } },
    });
    expect((await pool.get(conn(), 0)).id).toBe(1);
    expect(opened).toHaveLength(1);
    await pool.close();
  });

  it('closes a client left unused for idleMs', async () => {
    const { pool } = make(20);
    const a = await pool.get(conn(), 0);
    await until(
      async () => a.closed,
      (closed) => closed,
      2000,
    );
    expect(a.closed).toBe(true);
    expect((await pool.get(conn(), 0)).id).toBe(2);
    await pool.close();
  });
});
