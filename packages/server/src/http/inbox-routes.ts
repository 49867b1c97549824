/**
 * A built-in webhook receiver for trying mlgrid without writing one: `POST /inbox/{name}` answers Azure's
 * validation handshakes (Event Grid and CloudEvents) and keeps the last deliveries in memory;
 * `GET /inbox/{name}` (admin key) shows them. Bounded: 100 inboxes × 200 deliveries, oldest dropped first.
 */
import type { FastifyInstance } from 'fastify';
import { MlgridError } from '../core/errors.js';
import type { AdminAuth } from './admin-auth.js';

const MAX_INBOXES = 100;
const MAX_ITEMS = 200;
const NAME = /^[A-Za-z0-9-]{1,64}$/;

interface Item {
  receivedAt: string;
  headers: Record<string, string>;
  body: unknown;
}

export function registerInboxRoutes(app: FastifyInstance, admin: AdminAuth): void {
  const inboxes = new Map<string, Item[]>();
  const nameOf = (raw: string) => {
    if (!NAME.test(raw))
      throw new MlgridError('InvalidArgument', 'An inbox name is 1-64 letters, digits or hyphens.', 'name');
    return raw.toLowerCase();
  };

  app.options<{ Params: { name: string } }>('/inbox/:name', async (req, reply) => {
    nameOf(req.params.name);
    const origin = req.headers['webhook-request-origin'];
    return reply.header('webhook-allowed-origin', typeof origin === 'string' ? origin : '*').send();
  });

  app.post<{ Params: { name: string } }>('/inbox/:name', async (req) => {
    const name = nameOf(req.params.name);
    const body = req.body as unknown;
    if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
      const code = (Array.isArray(body) ? body[0] : undefined)?.data?.validationCode;
      return { validationResponse: code };
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && (k.startsWith('aeg-') || k.startsWith('webhook-') || k === 'content-type'))
        headers[k] = v;
    }
    let items = inboxes.get(name);
    if (!items) {
      if (inboxes.size >= MAX_INBOXES) inboxes.delete(inboxes.keys().next().value!);
      inboxes.set(name, (items = []));
    }
    items.push({ receivedAt: new Date().toISOString(), headers, body });
    if (items.length > MAX_ITEMS) items.shift();
    return {};
  });

  app.get<{ Params: { name: string } }>('/inbox/:name', async (req) => {
    admin.require(req);
    return { value: inboxes.get(nameOf(req.params.name)) ?? [] };
  });
}
