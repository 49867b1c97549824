/**
 * Principals (mlgrid's stand-in for Entra users and service principals) and Azure role assignments: request
 * validation and the JSON they render as. Pure; the store and the keys live in services/access.ts.
 */
import { invalid } from './errors.js';
import { findRole, isGuid, roleDefinitionId, BUILTIN_ROLES, type RoleDefinition } from './rbac.js';
import { object, oneOf, optObject, optString, string } from './validate.js';

export const PRINCIPAL_TYPES = ['User', 'ServicePrincipal'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

export const PRINCIPALS_PATH = '/providers/Microsoft.MLGrid/principals';
const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface PrincipalSpec {
  /** The GUID role assignments name as `principalId`. */
  objectId: string;
  principalType: PrincipalType;
  displayName?: string;
}

export interface ApiKeySpec {
  keyId: string;
  principalId: string;
}

export function checkPrincipalName(name: string): string {
  if (!PRINCIPAL_NAME.test(name)) {
    throw invalid(
      'name',
      'a principal name is 1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit',
      'InvalidResourceName',
    );
  }
  return name;
}

/** PUT body `{properties: {principalType?, displayName?}}`; an absent type is left to the caller to default. */
export function parsePrincipalBody(body: unknown): { principalType?: PrincipalType; displayName?: string } {
  const props = optObject(optObject(body, 'body')?.properties, 'properties') ?? {};
  const principalType =
    props.principalType === undefined || props.principalType === null
      ? undefined
      : oneOf(props.principalType, 'properties.principalType', PRINCIPAL_TYPES);
  const displayName = optString(props.displayName, 'properties.displayName', { max: 256 });
  return {
    ...(principalType !== undefined ? { principalType } : {}),
    ...(displayName !== undefined ? { displayName } : {}),
  };
}

export function renderPrincipal(
  name: string,
  spec: PrincipalSpec,
  createdAt: string,
  keys: { keyId: string; createdTime: string }[],
) {
  return {
    id: `${PRINCIPALS_PATH}/${name}`,
    name,
    type: 'Microsoft.MLGrid/principals',
    properties: {
      principalType: spec.principalType,
      objectId: spec.objectId,
      ...(spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
      createdTime: createdAt,
      keys,
    },
  };
}

export interface RoleAssignmentSpec {
  /** As the client spelled it (ids compare case-insensitively). */
  scope: string;
  roleId: string;
  principalId: string;
  principalType: PrincipalType;
  /** Object id of the principal that made it (absent: the admin key). */
  createdBy?: string;
  description?: string;
}

/** Azure requires a GUID as the assignment's name (the CLI makes one up). */
export function checkAssignmentName(name: string): string {
  if (!isGuid(name)) throw invalid('name', 'a role assignment name must be a GUID', 'InvalidResourceName');
  return name.toLowerCase();
}

/** PUT body `{properties: {roleDefinitionId, principalId, principalType?, description?}}`. */
export function parseRoleAssignmentBody(body: unknown): {
  role: RoleDefinition;
  principalId: string;
  principalType?: PrincipalType;
  description?: string;
} {
  const props = object(object(body, 'body').properties, 'properties');
  const ref = string(props.roleDefinitionId, 'properties.roleDefinitionId', { min: 1, max: 512 });
  const role = findRole(ref);
  if (!role) {
    throw invalid(
      'properties.roleDefinitionId',
      `is not a built-in role; use ${BUILTIN_ROLES.map((r) => r.roleName).join(', ')} (by name, GUID or role definition id)`,
    );
  }
  const principalId = string(props.principalId, 'properties.principalId');
  if (!isGuid(principalId))
    throw invalid('properties.principalId', "must be a principal's object id (a GUID)");
  const principalType =
    props.principalType === undefined || props.principalType === null
      ? undefined
      : oneOf(props.principalType, 'properties.principalType', PRINCIPAL_TYPES);
  const description = optString(props.description, 'properties.description', { max: 1024 });
  return {
    role,
    principalId: principalId.toLowerCase(),
    ...(principalType ? { principalType } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

export function roleAssignmentId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

/** Azure's `RoleAssignment` JSON (api-version 2022-04-01). */
export function renderRoleAssignment(
  name: string,
  spec: RoleAssignmentSpec,
  createdAt: string,
  updatedAt: string,
) {
  return {
    id: roleAssignmentId(spec.scope, name),
    name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      scope: spec.scope,
      roleDefinitionId: roleDefinitionId(spec.scope, spec.roleId),
      principalId: spec.principalId,
      principalType: spec.principalType,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      createdOn: createdAt,
      updatedOn: updatedAt,
      createdBy: spec.createdBy ?? null,
      updatedBy: spec.createdBy ?? null,
    },
  };
}

/** Azure's `RoleDefinition` JSON for a built-in role, as seen from a scope. */
export function renderRoleDefinition(scope: string, role: RoleDefinition) {
  return {
    id: roleDefinitionId(scope, role.id),
    name: role.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.roleName,
      type: 'BuiltInRole',
      description: role.description,
      assignableScopes: ['/'],
      permissions: [
        {
          actions: role.actions,
          notActions: role.notActions,
          dataActions: role.dataActions,
          notDataActions: role.notDataActions,
        },
      ],
    },
  };
}

/**
 * The list filters Azure's `roleAssignments.listForScope` takes: `atScope()` (at or above the scope only) and
 * `principalId eq '{id}'` / `assignedTo('{id}')`, alone or joined with `and`.
 */
export function parseAssignmentFilter(raw: string | undefined): { atScope: boolean; principalId?: string } {
  const out: { atScope: boolean; principalId?: string } = { atScope: false };
  if (raw === undefined || raw.trim() === '') return out;
  for (const part of raw.split(/\s+and\s+/i)) {
    const p = part.trim();
    if (/^atScope\(\)$/i.test(p)) {
      out.atScope = true;
      continue;
    }
    const m = /^(?:principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))$/i.exec(p);
    if (!m || !isGuid(m[1] ?? m[2]!)) {
      throw invalid('$filter', "supported: atScope(), principalId eq '{guid}', assignedTo('{guid}')");
    }
    out.principalId = (m[1] ?? m[2]!).toLowerCase();
  }
  return out;
}
