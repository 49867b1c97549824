/**
 * The real `@azure/arm-eventgrid` client against an in-process test server over plain HTTP. The SDK refuses
 * bearer tokens on http URLs, so its token policy is swapped for one sending the admin key the same way; the
 * request bodies are the SDK's own serialization, unchanged.
 */
import { EventGridManagementClient } from '@azure/arm-eventgrid';
import { ADMIN_KEY, type TestServer } from './server.js';

export function armEventGrid(s: TestServer, subscriptionId: string): EventGridManagementClient {
  const credential = {
    getToken: async () => ({ token: ADMIN_KEY, expiresOnTimestamp: Date.now() + 3600_000 }),
  };
  const client = new EventGridManagementClient(credential, subscriptionId, {
    endpoint: s.url,
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  client.pipeline.addPolicy({
    name: 'mlgridAdminKey',
    sendRequest: (req, next) => {
      req.headers.set('authorization', `Bearer ${ADMIN_KEY}`);
      return next(req);
    },
  });
  return client;
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
