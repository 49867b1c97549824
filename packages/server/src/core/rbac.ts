/**
 * Role-based access control, Azure's model: a role grants `actions` (management) and `dataActions` (data plane)
 * minus its `notActions`; an assignment grants its role over a scope and everything below it. An operation is
 * named as Azure names it (`Microsoft.EventGrid/eventSubscriptions/write`), derived from the ARM path, so a
 * resource kind added later is covered without a table.
 */

export interface RoleDefinition {
  /** Azure's built-in role GUID (the same in every tenant). */
  id: string;
  roleName: string;
  description: string;
  actions: readonly string[];
  notActions: readonly string[];
  dataActions: readonly string[];
  notDataActions: readonly string[];
}

/** The data action a publish needs (Azure's, on the topic). */
export const PUBLISH_ACTION = 'Microsoft.EventGrid/events/send/action';

/** Azure's real built-in definitions, trimmed to what mlgrid serves (see docs/rbac.md for the differences). */
export const BUILTIN_ROLES: readonly RoleDefinition[] = [
  {
    id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    description:
      'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    roleName: 'Contributor',
    description:
      'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
    ],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: 'acdd72a7-3758-441c-88e6-7f3ecc1d9e1b',
    roleName: 'Reader',
    description: 'View all resources, but does not allow you to make any changes.',
    actions: ['*/read'],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    id: 'd5a91429-5739-47e2-a06b-3470a27159e7',
    roleName: 'EventGrid Data Sender',
    description: 'Allows send access to event grid events.',
    actions: [],
    notActions: [],
    dataActions: [PUBLISH_ACTION],
    notDataActions: [],
  },
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(s: string): boolean {
  return GUID.test(s);
}

/**
 * A role by name (any case), GUID, or Azure's role definition id
 * (`[/subscriptions/{s}]/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
 */
export function findRole(ref: string): RoleDefinition | undefined {
  const trimmed = ref.trim();
  const m =
    /^(?:\/subscriptions\/[^/]+)?\/providers\/microsoft\.authorization\/roledefinitions\/([^/]+)$/i.exec(
      trimmed,
    );
  const key = (m ? m[1]! : trimmed).toLowerCase();
  return BUILTIN_ROLES.find((r) => r.id === key || r.roleName.toLowerCase() === key);
}

/** Azure's form of a role definition id: under the subscription of the scope it is used at. */
export function roleDefinitionId(scope: string, roleId: string): string {
  const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
  const prefix = sub === undefined ? '' : `/subscriptions/${sub}`;
  return `${prefix}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;
}

/** Azure's wildcard: `*` is any run of characters (slashes too); case-insensitive. */
function wildcard(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

const compiled = new Map<string, RegExp>();
function matches(patterns: readonly string[], action: string): boolean {
  return patterns.some((p) => {
    let re = compiled.get(p);
    if (!re) compiled.set(p, (re = wildcard(p)));
    return re.test(action);
  });
}

/** Whether the role grants the action (`data`: a data-plane action such as publish). */
export function roleAllows(role: RoleDefinition, action: string, data = false): boolean {
  return data
    ? matches(role.dataActions, action) && !matches(role.notDataActions, action)
    : matches(role.actions, action) && !matches(role.notActions, action);
}

/** `/a/b` without a trailing slash, for comparisons. */
function trimId(id: string): string {
  return id.replace(/\/+$/, '').toLowerCase();
}

/** The resource is the scope or below it (ids compare case-insensitively, as in ARM). */
export function isWithinScope(resourceId: string, scope: string): boolean {
  const r = trimId(resourceId);
  const s = trimId(scope);
  return r === s || r.startsWith(`${s}/`);
}

export interface Assignment {
  scope: string;
  roleId: string;
}

/** The union over the principal's assignments, as Azure computes it (there are no deny assignments). */
export function isAllowed(
  assignments: readonly Assignment[],
  op: { action: string; resourceId: string; data?: boolean },
): boolean {
  return assignments.some((a) => {
    const role = BUILTIN_ROLES.find((r) => r.id === a.roleId);
    return (
      role !== undefined && isWithinScope(op.resourceId, a.scope) && roleAllows(role, op.action, op.data)
    );
  });
}

export interface Operation {
  /** Azure's operation name, e.g. `Microsoft.EventGrid/topics/listKeys/action`. */
  action: string;
  /** The resource the operation is on: the path, without a trailing action segment. */
  resourceId: string;
}

const VERBS: Record<string, string> = {
  GET: 'read',
  HEAD: 'read',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'delete',
  POST: 'action',
};

/**
 * The operation an ARM request performs, from its decoded path segments (without the leading empty one) and
 * method. After the last `providers/{namespace}`, segments alternate type / name; the types name the operation
 * (`topics/{t}/eventSubscriptions/{n}` → `Microsoft.EventGrid/topics/eventSubscriptions`). A trailing odd
 * segment is a collection (GET) or an action (POST, e.g. `listKeys`), and is part of the name either way.
 */
export function armOperation(segments: readonly string[], method: string): Operation {
  // `providers` at a type position (even index): a resource may be *named* "providers".
  let at = -1;
  for (let i = 0; i + 1 < segments.length; i += 2) if (segments[i]!.toLowerCase() === 'providers') at = i;
  const hasProvider = at >= 0;
  const namespace = hasProvider ? segments[at + 1]! : 'Microsoft.Resources';
  const rest = hasProvider ? segments.slice(at + 2) : segments;
  const types = rest.filter((_, i) => i % 2 === 0);
  const verb = VERBS[method.toUpperCase()] ?? 'action';
  const action = [namespace, ...types, verb].join('/');
  const isAction = verb === 'action' && rest.length % 2 === 1;
  const resourceSegs = isAction ? segments.slice(0, -1) : segments;
  return { action, resourceId: `/${resourceSegs.join('/')}` };
}

/** Azure's refusal text, word for word. */
export function authorizationFailedMessage(
  client: { name: string; objectId: string },
  op: Operation,
): string {
  return (
    `The client '${client.name}' with object id '${client.objectId}' does not have authorization to perform ` +
    `action '${op.action}' over scope '${op.resourceId}' or the scope is invalid. If access was recently ` +
    'granted, please refresh your credentials.'
  );
}
