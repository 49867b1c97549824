/**
 * Broker connections: a self-hosted broker (RabbitMQ, NATS, Redis, MQTT) registered for an Azure namespace or
 * account resource id, so destinations naming resources below that id (`…/namespaces/ns1/queues/q1`) are
 * delivered to it. Pure: request validation, URL credentials and masking, resource-id matching, rendering.
 * The store and the cache live in services/connections.ts.
 */
import { invalid } from './errors.js';
import { object, oneOf, optObject, optString, string } from './validate.js';

export const CONNECTION_KINDS = ['amqp', 'nats', 'redis', 'mqtt'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** The URL schemes each kind accepts (plain, TLS). */
export const CONNECTION_SCHEMES: Readonly<Record<ConnectionKind, readonly string[]>> = {
  amqp: ['amqp', 'amqps'],
  nats: ['nats', 'tls'],
  redis: ['redis', 'rediss'],
  mqtt: ['mqtt', 'mqtts'],
};

export const CONNECTIONS_PATH = '/providers/Microsoft.MLGrid/connections';
export const CONNECTION_TYPE = 'Microsoft.MLGrid/connections';
/** What a password is rendered as; sending it back in a PUT keeps the stored password. */
export const MASK = '***';
const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ConnectionSpec {
  /** The Azure namespace/account id as the client spelled it (ids compare case-insensitively). */
  resourceId: string;
  kind: ConnectionKind;
  /** The broker URL without user info; credentials are kept apart so they can be rendered masked. */
  url: string;
  username?: string;
  /** Write-only: never rendered, never logged. */
  password?: string;
  description?: string;
}

export function checkConnectionName(name: string): string {
  if (!CONNECTION_NAME.test(name)) {
    throw invalid(
      'name',
      'a connection name is 1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit',
      'InvalidResourceName',
    );
  }
  return name;
}

/**
 * An ARM resource id naming at least one provider resource: `/subscriptions/{s}[/resourceGroups/{rg}]
 * /providers/{Namespace}/{type}/{name}[/{type}/{name}…]`. Returns the id without a trailing slash.
 */
export function checkArmResourceId(v: unknown, path: string): string {
  const id = string(v, path, { min: 1, max: 1024 }).replace(/\/+$/, '');
  const seg = id.split('/');
  const fail = () =>
    invalid(
      path,
      'must be an Azure resource id: /subscriptions/{id}/resourceGroups/{group}/providers/{Namespace}/{type}/{name}',
    );
  if (seg[0] !== '' || seg.slice(1).some((s) => s === '' || s === '.' || s === '..')) throw fail();
  const lower = seg.map((s) => s.toLowerCase());
  if (lower[1] !== 'subscriptions' || !seg[2]) throw fail();
  let at = 3;
  if (lower[at] === 'resourcegroups') at += 2;
  if (lower[at] !== 'providers' || !/^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+$/.test(seg[at + 1] ?? '')) throw fail();
  const rest = seg.length - (at + 2); // type/name pairs after the namespace
  if (rest < 2 || rest % 2 !== 0) throw fail();
  return id;
}

export interface ConnectionInput {
  spec: ConnectionSpec;
  /** The password was given as the mask: keep the stored one (a GET's body sent back unchanged). */
  keepPassword: boolean;
}

/** PUT body `{properties: {resourceId, kind, url, username?, password?, description?}}`. */
export function parseConnectionBody(body: unknown): ConnectionInput {
  const props = object(optObject(body, 'body')?.properties, 'properties');
  const resourceId = checkArmResourceId(props.resourceId, 'properties.resourceId');
  const kind = oneOf(props.kind, 'properties.kind', CONNECTION_KINDS);
  const parsed = parseBrokerUrl(props.url, kind, 'properties.url');
  const username = optString(props.username, 'properties.username', { max: 256 });
  const password = optString(props.password, 'properties.password', { max: 1024 });
  const description = optString(props.description, 'properties.description', { max: 1024 });
  if (username !== undefined && parsed.username !== undefined && username !== parsed.username) {
    throw invalid('properties.username', 'differs from the user name in properties.url; give one of them');
  }
  if (password !== undefined && parsed.password !== undefined) {
    throw invalid('properties.password', 'a password is also in properties.url; give one of them');
  }
  const user = username ?? parsed.username;
  const pass = password ?? parsed.password;
  const spec: ConnectionSpec = {
    resourceId,
    kind,
    url: parsed.url,
    ...(user !== undefined && user !== '' ? { username: user } : {}),
    ...(pass !== undefined && pass !== MASK ? { password: pass } : {}),
    ...(description !== undefined ? { description } : {}),
  };
  return { spec, keepPassword: pass === MASK };
}

/** A broker URL of the kind's schemes with a host → the URL without user info, and the decoded credentials. */
export function parseBrokerUrl(
  v: unknown,
  kind: ConnectionKind,
  path: string,
): { url: string; username?: string; password?: string } {
  const raw = string(v, path, { min: 1, max: 2048 }).trim();
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(path, `must be a URL such as ${CONNECTION_SCHEMES[kind][0]}://host:port`);
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  const schemes = CONNECTION_SCHEMES[kind];
  if (!schemes.includes(scheme)) {
    throw invalid(path, `a ${kind} connection takes a ${schemes.map((s) => `${s}://`).join(' or ')} URL`);
  }
  if (!u.hostname) throw invalid(path, 'must name a host');
  if (u.hash) throw invalid(path, 'must not have a #fragment');
  const username = u.username ? decode(u.username, path) : undefined;
  const password = u.password ? decode(u.password, path) : undefined;
  u.username = '';
  u.password = '';
  return {
    url: u.href,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function decode(s: string, path: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(path, 'has a malformed %-escape in its user info');
  }
}

/** The URL a client connects with: the stored URL with the credentials put back (percent-encoded). */
export function connectionUrl(spec: Pick<ConnectionSpec, 'url' | 'username' | 'password'>): string {
  if (spec.username === undefined && spec.password === undefined) return spec.url;
  const u = new URL(spec.url);
  if (spec.username !== undefined) u.username = encodeURIComponent(spec.username);
  if (spec.password !== undefined) u.password = encodeURIComponent(spec.password);
  return u.href;
}

const SECRET_QUERY = /^(password|pass|pwd|secret|token|key|access_?key|auth)$/i;

/** The URL safe to show or log: the password (and secret-looking query values) replaced by `***`. */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<invalid url>';
  }
  if (u.password) u.password = MASK;
  for (const k of [...u.searchParams.keys()]) if (SECRET_QUERY.test(k)) u.searchParams.set(k, MASK);
  return u.href.replace(/%2A%2A%2A/g, MASK); // searchParams encodes the mask
}

/** Lower-cased, without a trailing slash: how resource ids compare. */
export function resourceKey(id: string): string {
  return id.replace(/\/+$/, '').toLowerCase();
}

/**
 * The candidate whose resource id equals `resourceId` or is its longest ancestor (case-insensitive, whole
 * segments: `…/namespaces/ns1` serves `…/namespaces/ns1/queues/q` but not `…/namespaces/ns10`).
 */
export function matchConnection<T extends { resourceId: string }>(
  resourceId: string,
  candidates: readonly T[],
): T | undefined {
  const target = resourceKey(resourceId);
  let best: T | undefined;
  let bestLen = -1;
  for (const c of candidates) {
    const k = resourceKey(c.resourceId);
    if (k.length > bestLen && (target === k || target.startsWith(`${k}/`))) {
      best = c;
      bestLen = k.length;
    }
  }
  return best;
}

export function renderConnection(name: string, spec: ConnectionSpec, createdAt: string, updatedAt: string) {
  return {
    id: `${CONNECTIONS_PATH}/${name}`,
    name,
    type: CONNECTION_TYPE,
    properties: {
      resourceId: spec.resourceId,
      kind: spec.kind,
      url: maskUrl(connectionUrl(spec)),
      ...(spec.username !== undefined ? { username: spec.username } : {}),
      hasPassword: spec.password !== undefined,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      provisioningState: 'Succeeded',
      createdTime: createdAt,
      updatedTime: updatedAt,
    },
  };
}

/** The last segment of a destination resource id: the queue, topic, event hub or storage queue name. */
export function lastSegment(resourceId: string): string {
  const seg = resourceId.replace(/\/+$/, '').split('/');
  return seg[seg.length - 1] ?? '';
}
