/**
 * The broker connection registry (server-wide, admin only): documents of kind `brokerConnection` at
 * `/providers/microsoft.mlgrid/connections/{name}`, lookup = the lower-cased namespace resource id (one connection
 * per id). It is also the `ConnectionDirectory` queue handlers resolve destinations through, on every send: the
 * whole registry is held in memory for `ttlMs` (a handful of rows), dropped at once on a local change; another
 * node's change (PostgreSQL) is seen when the copy expires, within `ttlMs`.
 */
import dns from 'node:dns';
import {
  checkConnectionName,
  connectionUrl,
  CONNECTIONS_PATH,
  matchConnection,
  parseConnectionBody,
  renderConnection,
  resourceKey,
  type ConnectionSpec,
} from '../core/connection.js';
import type { EgressGuard } from '../core/egress.js';
import { MlgridError, notFound } from '../core/errors.js';
import type { BrokerConnection, ConnectionDirectory } from '../handlers/destination.js';
import type { ResourceRecord, Store } from '../store/types.js';

const KIND = 'brokerConnection';
export const DEFAULT_CONNECTIONS_TTL_MS = 2000;

export interface ConnectionsOptions {
  /** How long the in-memory copy is trusted (another node's change is seen after at most this). */
  ttlMs?: number;
  now?: () => number;
}

export class ConnectionsService implements ConnectionDirectory {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private cache?: { at: number; all: BrokerConnection[] };
  private loading?: Promise<BrokerConnection[]>;
  /** Bumped on every local change so a load that started before it is not kept. */
  private generation = 0;

  constructor(
    private readonly store: Store,
    opts: ConnectionsOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_CONNECTIONS_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  private key(name: string): string {
    return `${CONNECTIONS_PATH}/${checkConnectionName(name)}`.toLowerCase();
  }

  private render(rec: ResourceRecord) {
    return renderConnection(rec.name, rec.spec as ConnectionSpec, rec.createdAt, rec.updatedAt);
  }

  private changed(): void {
    this.generation += 1;
    this.cache = undefined;
    this.loading = undefined; // a load in flight may predate the change
  }

  /** Creates (201) or replaces (200) a connection; its resource id may not be another connection's. */
  async put(name: string, body: unknown) {
    const key = this.key(name);
    const { spec, keepPassword } = parseConnectionBody(body);
    const current = await this.store.getResource(key);
    if (keepPassword) {
      const was = current?.spec as ConnectionSpec | undefined;
      if (was?.password === undefined) {
        throw new MlgridError(
          'InvalidRequestContent',
          'properties.url: the password is the mask "***" and no password is stored to keep; send the password',
          'properties.url',
        );
      }
      spec.password = was.password;
    }
    const lookup = resourceKey(spec.resourceId);
    const twin = (await this.store.listResources({ kind: KIND, lookup })).find((r) => r.key !== key);
    if (twin) {
      throw new MlgridError(
        'Conflict',
        `The connection '${twin.name}' is already registered for '${(twin.spec as ConnectionSpec).resourceId}'.`,
        'properties.resourceId',
      );
    }
    const t = this.now();
    const iso = new Date(t).toISOString();
    const r = await this.store.putResource(
      {
        key,
        kind: KIND,
        parentKey: '',
        name: current?.name ?? name,
        lookup,
        spec,
        createdAt: iso,
        updatedAt: iso,
      },
      t,
      { ifSequencer: current?.sequencer ?? 0 },
    );
    this.changed();
    if (!r.updated) throw new MlgridError('Conflict', `The connection '${name}' changed meanwhile; retry.`);
    return { created: r.created, out: this.render(r.rec!) };
  }

  async get(name: string) {
    const rec = await this.store.getResource(this.key(name));
    if (!rec || rec.kind !== KIND) throw notFound('connection', name);
    return this.render(rec);
  }

  async list() {
    return (await this.store.listResources({ kind: KIND })).map((r) => this.render(r));
  }

  async delete(name: string): Promise<boolean> {
    const rec = await this.store.getResource(this.key(name));
    if (!rec || rec.kind !== KIND) return false;
    const gone = await this.store.deleteResource(rec.key, this.now());
    this.changed();
    return gone;
  }

  /** ConnectionDirectory: exact or longest-ancestor match over the cached registry. */
  async forResource(resourceId: string): Promise<BrokerConnection | undefined> {
    return matchConnection(resourceId, await this.all());
  }

  private async all(): Promise<BrokerConnection[]> {
    const c = this.cache;
    if (c && this.now() - c.at < this.ttlMs) return c.all;
    if (!this.loading) {
      const gen = this.generation;
      const at = this.now();
      const p: Promise<BrokerConnection[]> = this.store
        .listResources({ kind: KIND })
        .then((recs) => {
          const all = recs.map(toBroker);
          if (gen === this.generation) this.cache = { at, all };
          return all;
        })
        .finally(() => {
          if (this.loading === p) this.loading = undefined;
        });
      this.loading = p;
    }
    return this.loading;
  }
}

function toBroker(rec: ResourceRecord): BrokerConnection {
  const s = rec.spec as ConnectionSpec;
  return { name: rec.name, resourceId: s.resourceId, kind: s.kind, url: connectionUrl(s) };
}

/**
 * The delivery egress policy applied to a broker URL before connecting: an IP-literal host is checked as is, a
 * name is resolved and refused if ANY of its addresses is denied (link-local, cloud metadata, `--egress-deny`).
 * Returns the reason when refused, undefined when allowed; a resolution failure is left to the client's connect.
 */
export async function brokerEgressDenied(guard: EgressGuard, url: string): Promise<string | undefined> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return 'the connection URL is not valid';
  }
  const literal = guard.checkHost(host);
  if (!literal.ok) return literal.reason;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const addresses = await new Promise<dns.LookupAddress[]>((resolve) =>
    dns.lookup(bare, { all: true }, (err, a) => resolve(err ? [] : a)),
  );
  for (const a of addresses) {
    const v = guard.check(a.address);
    if (!v.ok) return `${v.reason} (resolved from '${bare}')`;
  }
  return undefined;
}
