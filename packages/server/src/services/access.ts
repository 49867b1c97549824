/**
 * Principals, their API keys and role assignments, kept as resource documents:
 * - `principal` at `/providers/microsoft.mlgrid/principals/{name}`, lookup = object id;
 * - `apiKey` below its principal (deleting the principal deletes its keys), lookup = SHA-256 of the key, which
 *   is the only form a key is kept in: it is shown once, when issued;
 * - `roleAssignment` at `{scope}/providers/microsoft.authorization/roleassignments/{guid}`, parent = the scope,
 *   lookup = principal id, so a request's assignments are one query.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  checkAssignmentName,
  checkPrincipalName,
  parseAssignmentFilter,
  parsePrincipalBody,
  parseRoleAssignmentBody,
  PRINCIPALS_PATH,
  renderPrincipal,
  renderRoleAssignment,
  roleAssignmentId,
  type ApiKeySpec,
  type PrincipalSpec,
  type PrincipalType,
  type RoleAssignmentSpec,
} from '../core/access.js';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import { isWithinScope, type Assignment } from '../core/rbac.js';
import { optBoolean, optObject } from '../core/validate.js';
import type { ResourceRecord, Store } from '../store/types.js';

/** A principal collects keys only by rotation without revocation; past this, old ones must be revoked. */
export const MAX_KEYS_PER_PRINCIPAL = 10;

export interface PrincipalIdentity {
  kind: 'principal';
  name: string;
  objectId: string;
  principalType: PrincipalType;
}

export interface IssuedKey {
  keyId: string;
  /** The secret: returned here once, never stored. */
  key: string;
  createdTime: string;
}

const KIND = { principal: 'principal', key: 'apiKey', assignment: 'roleAssignment' } as const;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class AccessService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private principalKey(name: string): string {
    return `${PRINCIPALS_PATH}/${name}`.toLowerCase();
  }

  private async principalRecord(name: string): Promise<ResourceRecord> {
    const rec = await this.store.getResource(this.principalKey(checkPrincipalName(name)));
    if (!rec) throw notFound('principal', name);
    return rec;
  }

  private async render(rec: ResourceRecord) {
    const keys = await this.store.listResources({ kind: KIND.key, parentKey: rec.key });
    return renderPrincipal(
      rec.name,
      rec.spec as PrincipalSpec,
      rec.createdAt,
      keys.map((k) => ({ keyId: k.name, createdTime: k.createdAt })),
    );
  }

  /** Creates (with a first key, shown in `properties.newKey`) or updates type and display name. */
  async putPrincipal(name: string, body: unknown) {
    const key = this.principalKey(checkPrincipalName(name));
    const fields = parsePrincipalBody(body);
    const current = await this.store.getResource(key);
    const t = this.now();
    const iso = new Date(t).toISOString();
    const was = current?.spec as PrincipalSpec | undefined;
    // A PUT replaces the display name; the type stays what it was unless given (new: ServicePrincipal).
    const spec: PrincipalSpec = {
      objectId: was?.objectId ?? randomUUID(),
      principalType: fields.principalType ?? was?.principalType ?? 'ServicePrincipal',
      ...(fields.displayName !== undefined ? { displayName: fields.displayName } : {}),
    };
    const r = await this.store.putResource(
      {
        key,
        kind: KIND.principal,
        parentKey: '',
        name: current?.name ?? name,
        lookup: spec.objectId,
        spec,
        createdAt: iso,
        updatedAt: iso,
      },
      t,
      { ifSequencer: current?.sequencer ?? 0 },
    );
    if (!r.updated) throw new MlgridError('Conflict', `The principal '${name}' changed meanwhile; retry.`);
    const out = await this.render(r.rec!);
    if (!r.created) return { created: false, out };
    const newKey = await this.issueKey(r.rec!);
    out.properties.keys.push({ keyId: newKey.keyId, createdTime: newKey.createdTime });
    return { created: true, out: { ...out, properties: { ...out.properties, newKey } } };
  }

  async getPrincipal(name: string) {
    return this.render(await this.principalRecord(name));
  }

  async listPrincipals() {
    const recs = await this.store.listResources({ kind: KIND.principal });
    return Promise.all(recs.map((r) => this.render(r)));
  }

  /** Deletes the principal, its keys and its role assignments. */
  async deletePrincipal(name: string): Promise<boolean> {
    const rec = await this.store.getResource(this.principalKey(checkPrincipalName(name)));
    if (!rec) return false;
    await this.store.deleteResource(rec.key, this.now()); // keys go with it: access ends here
    const objectId = (rec.spec as PrincipalSpec).objectId;
    for (const a of await this.store.listResources({ kind: KIND.assignment, lookup: objectId })) {
      await this.store.deleteResource(a.key, this.now());
    }
    return true;
  }

  private async issueKey(principal: ResourceRecord): Promise<IssuedKey> {
    const key = `mlg_${randomBytes(32).toString('base64url')}`;
    const keyId = randomBytes(4).toString('hex');
    const t = this.now();
    const createdTime = new Date(t).toISOString();
    const spec: ApiKeySpec = { keyId, principalId: (principal.spec as PrincipalSpec).objectId };
    await this.store.putResource(
      {
        key: `${principal.key}/keys/${keyId}`,
        kind: KIND.key,
        parentKey: principal.key,
        name: keyId,
        lookup: hashApiKey(key),
        spec,
        createdAt: createdTime,
        updatedAt: createdTime,
      },
      t,
      { ifSequencer: 0 },
    );
    return { keyId, key, createdTime };
  }

  /** A new key; with `{revokeOld: true}` every other key of the principal stops working at once. */
  async rotateKey(name: string, body: unknown): Promise<IssuedKey & { revokedKeyIds: string[] }> {
    const revokeOld = optBoolean(optObject(body, 'body')?.revokeOld, 'revokeOld') ?? false;
    const rec = await this.principalRecord(name);
    const old = await this.store.listResources({ kind: KIND.key, parentKey: rec.key });
    if (!revokeOld && old.length >= MAX_KEYS_PER_PRINCIPAL) {
      throw new MlgridError(
        'Conflict',
        `The principal '${rec.name}' has ${old.length} keys (at most ${MAX_KEYS_PER_PRINCIPAL}); rotate with revokeOld or delete one.`,
      );
    }
    const issued = await this.issueKey(rec);
    if (revokeOld) for (const k of old) await this.store.deleteResource(k.key, this.now());
    return { ...issued, revokedKeyIds: revokeOld ? old.map((k) => k.name) : [] };
  }

  async listKeys(name: string) {
    const rec = await this.principalRecord(name);
    const keys = await this.store.listResources({ kind: KIND.key, parentKey: rec.key });
    return keys.map((k) => ({ keyId: k.name, createdTime: k.createdAt }));
  }

  async deleteKey(name: string, keyId: string): Promise<boolean> {
    const rec = await this.principalRecord(name);
    if (!/^[0-9a-f]{8}$/i.test(keyId)) return false; // not an id this server issues
    return this.store.deleteResource(`${rec.key}/keys/${keyId.toLowerCase()}`, this.now());
  }

  /** The principal holding this key, if any. */
  async principalByKey(key: string): Promise<PrincipalIdentity | undefined> {
    const [rec] = await this.store.listResources({ kind: KIND.key, lookup: hashApiKey(key) });
    const principal = rec && (await this.store.getResource(rec.parentKey));
    if (!principal) return undefined;
    const spec = principal.spec as PrincipalSpec;
    return {
      kind: 'principal',
      name: principal.name,
      objectId: spec.objectId,
      principalType: spec.principalType,
    };
  }

  private async principalById(objectId: string): Promise<ResourceRecord | undefined> {
    const [rec] = await this.store.listResources({ kind: KIND.principal, lookup: objectId.toLowerCase() });
    return rec;
  }

  async assignmentsOf(principalId: string): Promise<Assignment[]> {
    const recs = await this.store.listResources({ kind: KIND.assignment, lookup: principalId.toLowerCase() });
    return recs.map((r) => {
      const s = r.spec as RoleAssignmentSpec;
      return { scope: s.scope, roleId: s.roleId };
    });
  }

  private renderAssignment(rec: ResourceRecord) {
    return renderRoleAssignment(rec.name, rec.spec as RoleAssignmentSpec, rec.createdAt, rec.updatedAt);
  }

  /**
   * Creates an assignment (201). The same PUT again answers 200; a different role or principal under an
   * existing name, or the same role for the same principal at the same scope under another name, is a 409.
   */
  async putAssignment(scope: string, name: string, body: unknown, createdBy?: string) {
    const id = checkAssignmentName(name);
    const p = parseRoleAssignmentBody(body);
    const principal = await this.principalById(p.principalId);
    if (!principal) {
      throw invalid('properties.principalId', `no principal has the object id '${p.principalId}'`);
    }
    const principalType = (principal.spec as PrincipalSpec).principalType;
    if (p.principalType && p.principalType !== principalType) {
      throw invalid('properties.principalType', `the principal is a ${principalType}`);
    }
    const key = roleAssignmentId(scope, id).toLowerCase();
    const same = (rec: ResourceRecord) => {
      const s = rec.spec as RoleAssignmentSpec;
      return s.roleId === p.role.id && s.principalId === p.principalId;
    };
    const existing = await this.store.getResource(key);
    if (existing) {
      if (same(existing)) return { created: false, out: this.renderAssignment(existing) };
      throw new MlgridError(
        'Conflict',
        `The role assignment '${id}' exists with another role or principal; role assignments cannot be updated.`,
      );
    }
    const twins = await this.store.listResources({ kind: KIND.assignment, lookup: p.principalId });
    if (twins.some((r) => same(r) && r.parentKey === scope.toLowerCase())) {
      throw new MlgridError('Conflict', 'The role assignment already exists.');
    }
    const t = this.now();
    const iso = new Date(t).toISOString();
    const spec: RoleAssignmentSpec = {
      scope,
      roleId: p.role.id,
      principalId: p.principalId,
      principalType,
      ...(createdBy !== undefined ? { createdBy } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
    };
    const r = await this.store.putResource(
      {
        key,
        kind: KIND.assignment,
        parentKey: scope.toLowerCase(),
        name: id,
        lookup: p.principalId,
        spec,
        createdAt: iso,
        updatedAt: iso,
      },
      t,
      { ifSequencer: 0 },
    );
    if (!r.updated) throw new MlgridError('Conflict', `The role assignment '${id}' was created meanwhile.`);
    return { created: true, out: this.renderAssignment(r.rec!) };
  }

  async getAssignment(scope: string, name: string) {
    const rec = await this.store.getResource(roleAssignmentId(scope, name).toLowerCase());
    if (!rec || rec.kind !== KIND.assignment)
      throw notFound('role assignment', roleAssignmentId(scope, name));
    return this.renderAssignment(rec);
  }

  /** The deleted assignment, or undefined when there was none. */
  async deleteAssignment(scope: string, name: string) {
    const rec = await this.store.getResource(roleAssignmentId(scope, name).toLowerCase());
    if (!rec || rec.kind !== KIND.assignment) return undefined;
    await this.store.deleteResource(rec.key, this.now());
    return this.renderAssignment(rec);
  }

  /**
   * Azure's `listForScope`: assignments at, above (inherited) and below the scope; `$filter=atScope()` keeps
   * those at or above, `principalId eq '{id}'` one principal's.
   */
  async listAssignments(scope: string, filter: string | undefined) {
    const f = parseAssignmentFilter(filter);
    const recs = await this.store.listResources(
      f.principalId !== undefined
        ? { kind: KIND.assignment, lookup: f.principalId }
        : { kind: KIND.assignment },
    );
    return recs
      .filter((r) => {
        const s = (r.spec as RoleAssignmentSpec).scope;
        return isWithinScope(scope, s) || (!f.atScope && isWithinScope(s, scope));
      })
      .map((r) => this.renderAssignment(r));
  }
}
