/**
 * Access control: principals with API keys (managed with the admin key) and Azure-shaped role assignments.
 * A client built with a principal's key acts with that principal's roles.
 */
import { seg, type Transport } from './http.js';

/** Any api-version is accepted; this is what `@azure/arm-authorization` sends. */
const AUTHZ = '2022-04-01';
const PRINCIPALS = '/providers/Microsoft.MLGrid/principals';

export type PrincipalType = 'User' | 'ServicePrincipal';
export type BuiltInRole = 'Owner' | 'Contributor' | 'Reader' | 'EventGrid Data Sender';

/** Azure's built-in role definition GUIDs (the same in every tenant). */
export const BUILT_IN_ROLE_IDS: Record<BuiltInRole, string> = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3758-441c-88e6-7f3ecc1d9e1b',
  'EventGrid Data Sender': 'd5a91429-5739-47e2-a06b-3470a27159e7',
};

export interface ApiKeyInfo {
  keyId: string;
  createdTime: string;
}

/** A new key: `key` is returned this once and never again. */
export interface IssuedKey extends ApiKeyInfo {
  key: string;
}

export interface PrincipalOut {
  id: string;
  name: string;
  type: 'Microsoft.MLGrid/principals';
  properties: {
    principalType: PrincipalType;
    /** The `principalId` of role assignments. */
    objectId: string;
    displayName?: string;
    createdTime: string;
    keys: ApiKeyInfo[];
    /** Only in the answer that created the principal. */
    newKey?: IssuedKey;
  };
}

export interface RoleAssignmentOut {
  id: string;
  name: string;
  type: 'Microsoft.Authorization/roleAssignments';
  properties: {
    scope: string;
    roleDefinitionId: string;
    principalId: string;
    principalType: PrincipalType;
    description?: string;
    createdOn: string;
    updatedOn: string;
    createdBy: string | null;
    updatedBy: string | null;
  };
}

export interface RoleAssignmentIn {
  /** A built-in role name, its GUID, or Azure's role definition id. */
  role: BuiltInRole | string;
  principalId: string;
  description?: string;
}

type List<T> = { value: T[] };

export class Principals {
  constructor(private readonly http: Transport) {}
  private path(name?: string, rest = ''): string {
    return name === undefined ? PRINCIPALS : `${PRINCIPALS}/${seg(name)}${rest}`;
  }
  /** Creates the principal; the answer's `properties.newKey.key` is its first key, shown only here. */
  create(
    name: string,
    body: { principalType?: PrincipalType; displayName?: string } = {},
  ): Promise<PrincipalOut> {
    return this.http.json('PUT', this.path(name), { apiVersion: AUTHZ, body: { properties: body } });
  }
  get(name: string): Promise<PrincipalOut> {
    return this.http.json('GET', this.path(name), { apiVersion: AUTHZ });
  }
  async list(): Promise<PrincipalOut[]> {
    return (await this.http.json<List<PrincipalOut>>('GET', this.path(), { apiVersion: AUTHZ })).value;
  }
  /** Deletes the principal, its keys and its role assignments. */
  delete(name: string): Promise<boolean> {
    return this.http.delete(this.path(name), AUTHZ);
  }
  /** A new key (the admin, or the principal itself); `revokeOld` ends every other key at once. */
  rotateKey(
    name: string,
    opts: { revokeOld?: boolean } = {},
  ): Promise<IssuedKey & { revokedKeyIds: string[] }> {
    return this.http.json('POST', this.path(name, '/rotateKey'), {
      apiVersion: AUTHZ,
      body: { revokeOld: opts.revokeOld === true },
    });
  }
  async listKeys(name: string): Promise<ApiKeyInfo[]> {
    return (await this.http.json<List<ApiKeyInfo>>('GET', this.path(name, '/keys'), { apiVersion: AUTHZ }))
      .value;
  }
  revokeKey(name: string, keyId: string): Promise<boolean> {
    return this.http.delete(this.path(name, `/keys/${seg(keyId)}`), AUTHZ);
  }
}

/** Role assignments on any scope: a subscription, resource group, workspace or topic id. */
export class RoleAssignments {
  constructor(private readonly http: Transport) {}
  private path(scope: string, name?: string): string {
    const p = `${scope.replace(/\/+$/, '')}/providers/Microsoft.Authorization/roleAssignments`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  /** PUT with a fresh GUID as the name (Azure requires one) unless `name` is given. */
  create(
    scope: string,
    body: RoleAssignmentIn,
    name: string = crypto.randomUUID(),
  ): Promise<RoleAssignmentOut> {
    const roleId = BUILT_IN_ROLE_IDS[body.role as BuiltInRole] ?? body.role;
    const properties = {
      roleDefinitionId: roleId,
      principalId: body.principalId,
      ...(body.description !== undefined ? { description: body.description } : {}),
    };
    return this.http.json('PUT', this.path(scope, name), { apiVersion: AUTHZ, body: { properties } });
  }
  /** By the assignment's resource id. */
  get(id: string): Promise<RoleAssignmentOut> {
    return this.http.json('GET', id, { apiVersion: AUTHZ });
  }
  /** At, above and below the scope; `atScope` keeps those at or above, `principalId` one principal's. */
  async list(
    scope: string,
    opts: { principalId?: string; atScope?: boolean } = {},
  ): Promise<RoleAssignmentOut[]> {
    const filters = [
      ...(opts.atScope ? ['atScope()'] : []),
      ...(opts.principalId !== undefined ? [`principalId eq '${opts.principalId}'`] : []),
    ];
    const query = filters.length > 0 ? { $filter: filters.join(' and ') } : {};
    return (
      await this.http.json<List<RoleAssignmentOut>>('GET', this.path(scope), { apiVersion: AUTHZ, query })
    ).value;
  }
  /** By the assignment's resource id; false when there was none. */
  delete(id: string): Promise<boolean> {
    return this.http.delete(id, AUTHZ);
  }
}
