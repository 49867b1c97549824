import { describe, expect, it } from 'vitest';
import { parseAssignmentFilter, parseRoleAssignmentBody } from './access.js';
import {
  armOperation,
  authorizationFailedMessage,
  BUILTIN_ROLES,
  findRole,
  isAllowed,
  isWithinScope,
  PUBLISH_ACTION,
  roleAllows,
  roleDefinitionId,
} from './rbac.js';

const role = (name: string) => findRole(name)!;
const SUB = '/subscriptions/s1';
const RG = `${SUB}/resourceGroups/rg1`;
const WS = `${RG}/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
const TOPIC = `${RG}/providers/Microsoft.EventGrid/topics/t1`;
const op = (method: string, path: string) => armOperation(path.split('/').slice(1), method);

describe('armOperation', () => {
  it('names an extension resource by the types after the last provider', () => {
    expect(op('PUT', `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/es1`)).toEqual({
      action: 'Microsoft.EventGrid/eventSubscriptions/write',
      resourceId: `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/es1`,
    });
  });

  it('maps methods to read, write, delete and action', () => {
    expect(op('GET', TOPIC).action).toBe('Microsoft.EventGrid/topics/read');
    expect(op('PATCH', TOPIC).action).toBe('Microsoft.EventGrid/topics/write');
    expect(op('DELETE', TOPIC).action).toBe('Microsoft.EventGrid/topics/delete');
  });

  it('a POST action names the action and applies to the resource before it', () => {
    expect(op('POST', `${TOPIC}/listKeys`)).toEqual({
      action: 'Microsoft.EventGrid/topics/listKeys/action',
      resourceId: TOPIC,
    });
    expect(op('POST', `${WS}/onlineEndpoints/ep/deployments/blue/getLogs`).action).toBe(
      'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/getLogs/action',
    );
  });

  it('a collection or GET extension is a read of the nested type', () => {
    expect(op('GET', `${WS}/models`).action).toBe('Microsoft.MachineLearningServices/workspaces/models/read');
    expect(op('GET', `${WS}/data/d1/versions/2`).action).toBe(
      'Microsoft.MachineLearningServices/workspaces/data/versions/read',
    );
    expect(op('GET', `${TOPIC}/eventSubscriptions/es1/deliveries`).action).toBe(
      'Microsoft.EventGrid/topics/eventSubscriptions/deliveries/read',
    );
  });

  it('a resource named "providers" is a name, not a provider segment', () => {
    expect(op('PUT', `${WS}/models/providers/versions/1`).action).toBe(
      'Microsoft.MachineLearningServices/workspaces/models/versions/write',
    );
    expect(op('PUT', `${RG}/providers/Microsoft.Authorization/roleAssignments/providers`).action).toBe(
      'Microsoft.Authorization/roleAssignments/write',
    );
  });

  it('role assignments are Microsoft.Authorization operations over their own id', () => {
    const id = `${RG}/providers/Microsoft.Authorization/roleAssignments/0b7c5b9e-0000-4000-8000-000000000001`;
    expect(op('PUT', id)).toEqual({
      action: 'Microsoft.Authorization/roleAssignments/write',
      resourceId: id,
    });
  });
});

describe('roles', () => {
  it('finds built-in roles by name, GUID and role definition id', () => {
    expect(findRole('reader')?.roleName).toBe('Reader');
    expect(findRole('b24988ac-6180-42a0-ab88-20f7382dd24c')?.roleName).toBe('Contributor');
    expect(
      findRole(
        '/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635',
      )?.roleName,
    ).toBe('Owner');
    expect(findRole('EventGrid Data Sender')?.id).toBe('d5a91429-5739-47e2-a06b-3470a27159e7');
    expect(findRole('Storage Blob Data Reader')).toBeUndefined();
    expect(roleDefinitionId(`${RG}/x`, 'abc')).toBe(
      '/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/abc',
    );
  });

  it('Reader reads everything and nothing else (secrets are actions)', () => {
    const r = role('Reader');
    expect(roleAllows(r, 'Microsoft.EventGrid/topics/read')).toBe(true);
    expect(roleAllows(r, 'Microsoft.Authorization/roleAssignments/read')).toBe(true);
    expect(roleAllows(r, 'Microsoft.EventGrid/eventSubscriptions/write')).toBe(false);
    expect(roleAllows(r, 'Microsoft.EventGrid/topics/listKeys/action')).toBe(false);
    expect(roleAllows(r, 'Microsoft.EventGrid/eventSubscriptions/getFullUrl/action')).toBe(false);
  });

  it('Contributor does everything but role assignments; Owner everything', () => {
    const c = role('Contributor');
    expect(roleAllows(c, 'Microsoft.EventGrid/eventSubscriptions/write')).toBe(true);
    expect(roleAllows(c, 'Microsoft.MachineLearningServices/workspaces/jobs/cancel/action')).toBe(true);
    expect(roleAllows(c, 'Microsoft.Authorization/roleAssignments/write')).toBe(false);
    expect(roleAllows(c, 'Microsoft.Authorization/roleAssignments/delete')).toBe(false);
    expect(roleAllows(c, 'Microsoft.Authorization/roleAssignments/read')).toBe(true);
    expect(roleAllows(role('Owner'), 'Microsoft.Authorization/roleAssignments/write')).toBe(true);
  });

  it('only EventGrid Data Sender may send events (a data action; Owner has none)', () => {
    for (const r of BUILTIN_ROLES) {
      expect(roleAllows(r, PUBLISH_ACTION, true)).toBe(r.roleName === 'EventGrid Data Sender');
    }
    expect(roleAllows(role('EventGrid Data Sender'), 'Microsoft.EventGrid/topics/read')).toBe(false);
  });
});

describe('scope inheritance', () => {
  it('a scope covers itself and what is below it, case-insensitively, and nothing else', () => {
    expect(isWithinScope(WS, RG)).toBe(true);
    expect(isWithinScope(WS.toUpperCase(), RG)).toBe(true);
    expect(isWithinScope(RG, RG + '/')).toBe(true);
    expect(isWithinScope(`${SUB}/resourceGroups/rg10`, RG)).toBe(false);
    expect(isWithinScope(RG, WS)).toBe(false);
  });

  it('allows when any assignment grants the action over an enclosing scope', () => {
    const reader = { scope: SUB, roleId: role('Reader').id };
    const contributor = { scope: RG, roleId: role('Contributor').id };
    const write = { action: 'Microsoft.EventGrid/topics/write', resourceId: TOPIC };
    expect(isAllowed([reader], write)).toBe(false);
    expect(isAllowed([reader, contributor], write)).toBe(true);
    const elsewhere = {
      ...write,
      resourceId: `${SUB}/resourceGroups/rg2/providers/Microsoft.EventGrid/topics/t`,
    };
    expect(isAllowed([reader, contributor], elsewhere)).toBe(false);
    expect(isAllowed([{ scope: SUB, roleId: 'not-a-role' }], { ...write, action: 'x/read' })).toBe(false);
  });

  it("words the refusal as Azure's AuthorizationFailed", () => {
    const msg = authorizationFailedMessage({ name: 'ci', objectId: 'oid' }, op('PUT', `${WS}/models/m`));
    expect(msg).toBe(
      "The client 'ci' with object id 'oid' does not have authorization to perform action " +
        `'Microsoft.MachineLearningServices/workspaces/models/write' over scope '${WS}/models/m' or the ` +
        'scope is invalid. If access was recently granted, please refresh your credentials.',
    );
  });
});

describe('role assignment bodies', () => {
  const pid = '11111111-2222-4333-8444-555555555555';
  it('reads the role by any of its forms and names the field at fault', () => {
    const ok = parseRoleAssignmentBody({ properties: { roleDefinitionId: 'Reader', principalId: pid } });
    expect(ok.role.roleName).toBe('Reader');
    const bad = (props: unknown) => {
      try {
        parseRoleAssignmentBody({ properties: props });
      } catch (e) {
        return (e as { target?: string }).target;
      }
      return 'accepted';
    };
    expect(bad({ roleDefinitionId: 'Janitor', principalId: pid })).toBe('properties.roleDefinitionId');
    expect(bad({ roleDefinitionId: 'Reader', principalId: 'bob' })).toBe('properties.principalId');
    expect(bad({ roleDefinitionId: 'Reader', principalId: pid, principalType: 'Robot' })).toBe(
      'properties.principalType',
    );
    expect(bad(undefined)).toBe('properties');
  });

  it("parses Azure's list filters", () => {
    expect(parseAssignmentFilter(undefined)).toEqual({ atScope: false });
    expect(parseAssignmentFilter(`atScope() and principalId eq '${pid.toUpperCase()}'`)).toEqual({
      atScope: true,
      principalId: pid,
    });
    expect(() => parseAssignmentFilter('roleName eq x')).toThrow(/\$filter/);
  });
});
