/**
 * Broker connections (docs/destinations.md#connections), `/providers/Microsoft.MLGrid/connections/{name}`: the
 * broker behind queue and stream destinations, registered for an Azure namespace or account id. Server-wide and
 * admin only (reads included). The password is write-only: responses carry `hasPassword` and a masked URL.
 */
import { API_VERSIONS, seg, type Transport } from './http.js';

/** Any api-version is accepted; this is the one the CLI sends. */
const API = API_VERSIONS.eventGrid;
const CONNECTIONS = '/providers/Microsoft.MLGrid/connections';
type List<T> = { value: T[] };

/** RabbitMQ, NATS JetStream, Redis, MQTT; each fixes the URL schemes (`amqp`/`amqps`, `nats`/`tls`, …). */
export type ConnectionKind = 'amqp' | 'nats' | 'redis' | 'mqtt';

export interface ConnectionIn {
  properties: {
    /** The Azure namespace or account id it serves (and every resource below it without its own). */
    resourceId: string;
    kind: ConnectionKind;
    /** Credentials may be in the URL (percent-encoded) or in `username` / `password`, not both. */
    url: string;
    username?: string;
    /** Write-only. `***` keeps the stored password, so a GET's properties can be edited and sent back. */
    password?: string;
    description?: string;
  };
}

export interface ConnectionOut {
  id: string;
  name: string;
  type: 'Microsoft.MLGrid/connections';
  properties: {
    resourceId: string;
    kind: ConnectionKind;
    /** With the password as `***`. */
    url: string;
    username?: string;
    hasPassword: boolean;
    description?: string;
    provisioningState: 'Succeeded';
    createdTime: string;
    updatedTime: string;
  };
}

export class Connections {
  constructor(private readonly http: Transport) {}
  private path(name?: string): string {
    return name === undefined ? CONNECTIONS : `${CONNECTIONS}/${seg(name)}`;
  }
  /** PUT: creates or replaces the whole connection (a replace without a password has none, unless `***`). */
  createOrUpdate(name: string, body: ConnectionIn): Promise<ConnectionOut> {
    return this.http.json('PUT', this.path(name), { apiVersion: API, body });
  }
  get(name: string): Promise<ConnectionOut> {
    return this.http.json('GET', this.path(name), { apiVersion: API });
  }
  async list(): Promise<ConnectionOut[]> {
    return (await this.http.json<List<ConnectionOut>>('GET', this.path(), { apiVersion: API })).value;
  }
  /** Its destinations fail (retried) until another connection covers them. */
  delete(name: string): Promise<boolean> {
    return this.http.delete(this.path(name), API);
  }
}
