/** Principals and role assignments made with the admin key, and requests made with a principal's key. */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestServer } from './server.js';

export const ROLE_IDS = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3758-441c-88e6-7f3ecc1d9e1b',
  'EventGrid Data Sender': 'd5a91429-5739-47e2-a06b-3470a27159e7',
} as const;
export type RoleName = keyof typeof ROLE_IDS;

export const principalPath = (name: string) => `/providers/Microsoft.MLGrid/principals/${name}`;
export const assignmentPath = (scope: string, id: string) =>
  `${scope}/providers/Microsoft.Authorization/roleAssignments/${id}`;

export interface TestPrincipal {
  name: string;
  objectId: string;
  key: string;
}

export async function createPrincipal(s: TestServer, name: string, type = 'ServicePrincipal') {
  const res = await s.arm('PUT', principalPath(name), { properties: { principalType: type } });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { properties: { objectId: string; newKey: { key: string } } };
  return { name, objectId: body.properties.objectId, key: body.properties.newKey.key };
}

/** Assigns `role` to the principal at `scope` (admin key); resolves to the assignment's id. */
export async function assign(s: TestServer, p: { objectId: string }, role: RoleName, scope: string) {
  const id = assignmentPath(scope, randomUUID());
  const res = await s.arm('PUT', id, {
    properties: {
      roleDefinitionId: `/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS[role]}`,
      principalId: p.objectId,
    },
  });
  expect(res.status).toBe(201);
  return id;
}

/** A request with the principal's key (any api-version is accepted). */
export function as(
  s: TestServer,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const sep = path.includes('?') ? '&' : '?';
  return fetch(`${s.url}${path}${sep}api-version=2022-06-15`, {
    method,
    headers: {
      ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Asserts Azure's 403 envelope and returns its message. */
export async function expectAuthorizationFailed(res: Response): Promise<string> {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('AuthorizationFailed');
  return body.error.message;
}
