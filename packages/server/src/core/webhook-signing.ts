/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com; reference implementation: the
 * `standardwebhooks` package). An mlgrid extension on top of Azure's delivery, so receivers can authenticate us.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** `whsec_` + base64 of 32 random bytes (the spec asks for 24–64 bytes). */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(b64, 'base64');
  if (key.length === 0) throw new Error('webhook secret is empty');
  return key;
}

/**
 * Headers for one message. During a rotation both secrets are active and each contributes a `v1,<sig>`
 * (space-separated), so receivers holding either the old or the new secret verify. The id must stay the same
 * across retries of one message (receivers use it for idempotency); the timestamp is the attempt's.
 */
export function signWebhook(
  secrets: string[],
  msgId: string,
  timestamp: Date,
  body: string | Buffer,
): WebhookSignatureHeaders {
  if (secrets.length === 0) throw new Error('at least one webhook secret is required');
  const seconds = String(Math.floor(timestamp.getTime() / 1000));
  const prefix = `${msgId}.${seconds}.`;
  const signatures = secrets.map(
    (s) => `v1,${createHmac('sha256', secretKey(s)).update(prefix, 'utf8').update(body).digest('base64')}`,
  );
  return { 'webhook-id': msgId, 'webhook-timestamp': seconds, 'webhook-signature': signatures.join(' ') };
}
