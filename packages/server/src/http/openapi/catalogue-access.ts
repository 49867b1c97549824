/**
 * Access control: role assignments and definitions (Microsoft.Authorization, api-version 2022-04-01, on any scope)
 * and mlgrid's principals. Their routes (http/access-routes.ts) validate bodies with these schemas, then parse them
 * with core/access.ts.
 */
import { PRINCIPAL_TYPES } from '../../core/access.js';
import { ciEnum, nullable, obj, str, type Schema } from './kit.js';
import { API_VERSION, DELETED, json, NO_CONTENT, type Operation } from './operation.js';

const V = [API_VERSION('2022-04-01')];
const ASSIGNMENTS = '/{scope}/providers/Microsoft.Authorization/roleAssignments';
const DEFINITIONS = '/{scope}/providers/Microsoft.Authorization/roleDefinitions';
const PRINCIPALS = '/providers/Microsoft.MLGrid/principals';
const PRINCIPAL = `${PRINCIPALS}/{principalName}`;
const tag = 'Access control';
const admin = { tag, security: 'admin' as const };
const GUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const filter = {
  name: '$filter',
  description: "atScope(), principalId eq '<guid>' (assignments) or roleName eq '<name>' (definitions).",
  schema: { type: 'string' },
};

export const ACCESS_SCHEMAS: Record<string, Schema> = {
  RoleAssignmentCreateParameters: obj(
    {
      properties: obj(
        {
          roleDefinitionId: str({
            min: 1,
            max: 512,
            description: 'A built-in role by name, GUID or role definition id.',
          }),
          principalId: str({ pattern: GUID, message: "must be a principal's object id (a GUID)" }),
          principalType: nullable(ciEnum(PRINCIPAL_TYPES)),
          description: nullable(str({ max: 1024 })),
        },
        { required: ['roleDefinitionId', 'principalId'] },
      ),
    },
    { required: ['properties'] },
  ),
  PrincipalCreateParameters: obj({
    properties: nullable(
      obj({ principalType: nullable(ciEnum(PRINCIPAL_TYPES)), displayName: nullable(str({ max: 256 })) }),
    ),
  }),
  PrincipalRotateKeyRequest: obj({
    revokeOld: nullable({ type: 'boolean', description: 'Revoke every other key.' }),
  }),
};

export const ACCESS_OPERATIONS: Operation[] = [
  {
    ...admin,
    query: V,
    operationId: 'RoleAssignments_Create',
    method: 'put',
    path: `${ASSIGNMENTS}/{roleAssignmentName}`,
    summary: 'Assign a role over a scope (and everything below it)',
    description: 'Needs Owner over the scope. The name is a GUID.',
    access: { kind: 'roleAssignment' },
    body: { schema: 'RoleAssignmentCreateParameters', required: true },
    responses: { '200': json({ type: 'object' }, 'Replaced.'), '201': json({ type: 'object' }, 'Created.') },
  },
  {
    ...admin,
    query: V,
    operationId: 'RoleAssignments_Get',
    method: 'get',
    path: `${ASSIGNMENTS}/{roleAssignmentName}`,
    summary: 'Get a role assignment',
    access: { kind: 'roleAssignment' },
    responses: { '200': json({ type: 'object' }, 'The assignment.') },
  },
  {
    ...admin,
    query: V,
    operationId: 'RoleAssignments_Delete',
    method: 'delete',
    path: `${ASSIGNMENTS}/{roleAssignmentName}`,
    summary: 'Delete a role assignment',
    access: { kind: 'roleAssignment' },
    responses: { '200': json({ type: 'object' }, 'The deleted assignment.'), '204': NO_CONTENT },
  },
  {
    ...admin,
    query: [...V, filter],
    operationId: 'RoleAssignments_ListForScope',
    method: 'get',
    path: ASSIGNMENTS,
    summary: 'List role assignments at and above a scope',
    access: { kind: 'roleAssignments' },
    responses: {
      '200': json({ type: 'object', properties: { value: { type: 'array' } } }, 'The assignments.'),
    },
  },
  {
    ...admin,
    query: V,
    operationId: 'RoleDefinitions_Get',
    method: 'get',
    path: `${DEFINITIONS}/{roleDefinitionId}`,
    summary: 'A built-in role',
    access: { kind: 'roleDefinition' },
    responses: { '200': json({ type: 'object' }, 'The role.') },
  },
  {
    ...admin,
    query: [...V, filter],
    operationId: 'RoleDefinitions_List',
    method: 'get',
    path: DEFINITIONS,
    summary: 'The built-in roles',
    access: { kind: 'roleDefinitions' },
    responses: { '200': json({ type: 'object', properties: { value: { type: 'array' } } }, 'The roles.') },
  },
  {
    ...admin,
    operationId: 'Principals_List',
    method: 'get',
    path: PRINCIPALS,
    summary: 'Principals (any authenticated caller; never keys)',
    access: { kind: 'principals' },
    responses: {
      '200': json({ type: 'object', properties: { value: { type: 'array' } } }, 'The principals.'),
    },
  },
  {
    ...admin,
    operationId: 'Principals_CreateOrUpdate',
    method: 'put',
    path: PRINCIPAL,
    summary: 'Create a user or service principal (admin key); the first key is shown once',
    access: { kind: 'principal' },
    body: { schema: 'PrincipalCreateParameters', required: false },
    responses: {
      '200': json({ type: 'object' }, 'Replaced.'),
      '201': json({ type: 'object' }, 'Created, with its key.'),
    },
  },
  {
    ...admin,
    operationId: 'Principals_Get',
    method: 'get',
    path: PRINCIPAL,
    summary: 'Get a principal',
    access: { kind: 'principal' },
    responses: { '200': json({ type: 'object' }, 'The principal.') },
  },
  {
    ...admin,
    operationId: 'Principals_Delete',
    method: 'delete',
    path: PRINCIPAL,
    summary: 'Delete a principal and its keys (admin key)',
    access: { kind: 'principal' },
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...admin,
    operationId: 'Principals_ListKeys',
    method: 'get',
    path: `${PRINCIPAL}/keys`,
    summary: "A principal's key ids (admin or the principal)",
    access: { kind: 'principalKeys' },
    responses: {
      '200': json({ type: 'object', properties: { value: { type: 'array' } } }, 'Key ids and times.'),
    },
  },
  {
    ...admin,
    operationId: 'Principals_DeleteKey',
    method: 'delete',
    path: `${PRINCIPAL}/keys/{keyId}`,
    summary: 'Revoke one key (admin or the principal)',
    access: { kind: 'principalKey' },
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...admin,
    operationId: 'Principals_RotateKey',
    method: 'post',
    path: `${PRINCIPAL}/rotateKey`,
    summary: 'Issue a new key, shown once (admin or the principal)',
    access: { kind: 'principalRotateKey' },
    body: { schema: 'PrincipalRotateKeyRequest', required: false },
    responses: { '200': json({ type: 'object' }, 'The new key.') },
  },
];
