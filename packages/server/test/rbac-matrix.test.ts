/**
 * The role × operation matrix: every route the ARM catch-all serves (each target kind × each method it
 * accepts, actions included), the access-control routes and Bearer publish, requested by a principal holding
 * each built-in role at subscription scope (and by one holding none, and by the admin key). Allowed means
 * neither 401 nor 403 (a 400 or 404 is fine); refused means 403 `AuthorizationFailed`.
 *
 * The route table below must name every kind `arm-path.ts`, `ml-path.ts` and `access-path.ts` can return, and
 * every action reachable by appending a path literal those parsers test for: a kind or action added there
 * without a row here fails the first tests.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseAuthorizationPath,
  parseConnectionPath,
  parsePrincipalPath,
  accessAllowedMethods,
} from '../src/http/access-path.js';
import {
  allowedMethods,
  EVENT_SUBSCRIPTION_ACTIONS,
  parseArmPath,
  type ArmTarget,
} from '../src/http/arm-path.js';
import {
  as,
  assign,
  createPrincipal,
  principalPath,
  type RoleName,
  type TestPrincipal,
} from './helpers/rbac.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-0000000000bb';
const RG = `${SUB}/resourceGroups/rg1`;
const WS = `${RG}/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
const T = `${RG}/providers/Microsoft.EventGrid/topics/matrix-topic`;
const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/es1`;
const EP = `${WS}/onlineEndpoints/ep1`;
const SITE = `${RG}/providers/Microsoft.Web/sites/matrix-app`;
const ASSIGNMENT = `${RG}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`;
const PUBLISH_TOPIC = 'matrix-publish';

/** Sample paths of every kind the ARM catch-all parses; typed so a new kind is also a compile error here. */
const ARM_ROUTES = {
  topics: [`${SUB}/providers/Microsoft.EventGrid/topics`, `${RG}/providers/Microsoft.EventGrid/topics`],
  topic: [T, `${T}/listKeys`, `${T}/regenerateKey`],
  eventSubscriptions: [`${WS}/providers/Microsoft.EventGrid/eventSubscriptions`, `${T}/eventSubscriptions`],
  eventSubscription: [
    ES,
    `${T}/eventSubscriptions/es2`,
    ...Object.values(EVENT_SUBSCRIPTION_ACTIONS).map(([a]) => `${ES}/${a}`),
  ],
  workspaces: [
    `${SUB}/providers/Microsoft.MachineLearningServices/workspaces`,
    `${RG}/providers/Microsoft.MachineLearningServices/workspaces`,
  ],
  workspace: [WS],
  modelContainers: [`${WS}/models`],
  modelContainer: [`${WS}/models/m1`],
  modelVersions: [`${WS}/models/m1/versions`],
  modelVersion: [`${WS}/models/m1/versions/1`],
  jobs: [`${WS}/jobs`],
  job: [
    `${WS}/jobs/j1`,
    `${WS}/jobs/j1/cancel`,
    `${WS}/jobs/j1/logs`,
    `${WS}/jobs/j1/operationResults/cancel`,
    `${WS}/jobs/j1/reportStatus`,
    `${WS}/jobs/j1/metrics`,
  ],
  dataContainers: [`${WS}/data`],
  dataContainer: [`${WS}/data/d1`],
  dataVersions: [`${WS}/data/d1/versions`],
  dataVersion: [`${WS}/data/d1/versions/1`],
  onlineEndpoints: [`${WS}/onlineEndpoints`],
  onlineEndpoint: [EP, `${EP}/listKeys`, `${EP}/regenerateKeys`],
  onlineDeployments: [`${EP}/deployments`],
  onlineDeployment: [`${EP}/deployments/blue`, `${EP}/deployments/blue/getLogs`],
  dataDriftDetectors: [`${WS}/dataDriftDetectors`],
  lineage: [`${WS}/lineage`, `${WS}/lineage/c1`],
  dataDriftDetector: [
    `${WS}/dataDriftDetectors/dd1`,
    `${WS}/dataDriftDetectors/dd1/run`,
    `${WS}/dataDriftDetectors/dd1/backfill`,
    `${WS}/dataDriftDetectors/dd1/results`,
    `${WS}/dataDriftDetectors/dd1/backfills/op1`,
  ],
  automations: [`${WS}/automations`],
  automation: [`${WS}/automations/a1`, `${WS}/automations/a1/run`],
  automationRuns: [`${WS}/automations/a1/runs`],
  automationRun: [`${WS}/automations/a1/runs/r1`, `${WS}/automations/a1/runs/r1/cancel`],
  // Writing a function is running a command on the server: Owner and Contributor (and the admin key) only.
  functions: [`${SITE}/functions`],
  function: [`${SITE}/functions/f1`],
} satisfies Record<ArmTarget['kind'], string[]>;

/** Role assignments and definitions (below `/subscriptions/`, before the other ARM paths). */
const AUTHORIZATION_ROUTES: Record<string, string[]> = {
  roleAssignments: [`${WS}/providers/Microsoft.Authorization/roleAssignments`],
  roleAssignment: [ASSIGNMENT],
  roleDefinitions: [`${SUB}/providers/Microsoft.Authorization/roleDefinitions`],
  roleDefinition: [`${SUB}/providers/Microsoft.Authorization/roleDefinitions/${randomUUID()}`],
};

/** Principal routes on a principal that is not the caller (its own keys are its to rotate, see rbac.test). */
const PRINCIPAL_ROUTES: Record<string, string[]> = {
  principals: ['/providers/Microsoft.MLGrid/principals'],
  principal: [principalPath('bystander')],
  principalKeys: [`${principalPath('bystander')}/keys`],
  principalKey: [`${principalPath('bystander')}/keys/0000abcd`],
  principalRotateKey: [`${principalPath('bystander')}/rotateKey`],
};

/** Broker connections: the admin key only, reads included (URLs name internal hosts and users). */
const CONNECTION_ROUTES: Record<string, string[]> = {
  connections: ['/providers/Microsoft.MLGrid/connections'],
  connection: ['/providers/Microsoft.MLGrid/connections/matrix-conn'],
};

const source = (file: string) => readFileSync(new URL(`../src/http/${file}`, import.meta.url), 'utf8');
const kindsIn = (...files: string[]) =>
  new Set(files.flatMap((f) => [...source(f).matchAll(/kind: '([A-Za-z]+)'/g)].map((m) => m[1]!)));

type Role = RoleName | 'none' | 'admin';
const ROLES: Role[] = ['none', 'Reader', 'EventGrid Data Sender', 'Contributor', 'Owner', 'admin'];

interface Route {
  method: string;
  path: string;
  /** Who may: the oracle, written from docs/rbac.md rather than from the authorizer. */
  allowed: (r: Role) => boolean;
}

const armRule = (method: string, path: string) => (r: Role) => {
  const roleWrite = /\/roleAssignments\//i.test(path) && method !== 'GET';
  if (r === 'admin' || r === 'Owner') return true;
  if (r === 'Contributor') return !roleWrite;
  if (r === 'Reader') return method === 'GET';
  return false;
};

function routes(): Route[] {
  const out: Route[] = [];
  for (const paths of Object.values(ARM_ROUTES)) {
    for (const path of paths) {
      for (const method of allowedMethods(parseArmPath(path)!)) {
        out.push({ method, path, allowed: armRule(method, path) });
      }
    }
  }
  for (const paths of Object.values(AUTHORIZATION_ROUTES)) {
    for (const path of paths) {
      for (const method of accessAllowedMethods(parseAuthorizationPath(path)!)) {
        out.push({ method, path, allowed: armRule(method, path) });
      }
    }
  }
  for (const paths of Object.values(PRINCIPAL_ROUTES)) {
    for (const path of paths) {
      for (const method of accessAllowedMethods(parsePrincipalPath(path)!)) {
        const anyone = method === 'GET' && !/\/keys$/i.test(path); // reading principals: any valid key
        out.push({ method, path, allowed: (r) => r === 'admin' || anyone });
      }
    }
  }
  for (const paths of Object.values(CONNECTION_ROUTES)) {
    for (const path of paths) {
      for (const method of accessAllowedMethods(parseConnectionPath(path)!)) {
        out.push({ method, path, allowed: (r) => r === 'admin' });
      }
    }
  }
  out.push({
    method: 'POST',
    path: `/topics/${PUBLISH_TOPIC}/api/events`,
    allowed: (r) => r === 'admin' || r === 'EventGrid Data Sender',
  });
  return out;
}

describe('route table covers every route', () => {
  it('names every kind the path parsers return, and each sample parses to its kind', () => {
    expect(new Set(Object.keys(ARM_ROUTES))).toEqual(
      kindsIn('arm-path.ts', 'ml-path.ts', 'function-path.ts', 'automation-path.ts'),
    );
    expect(
      new Set([
        ...Object.keys(AUTHORIZATION_ROUTES),
        ...Object.keys(PRINCIPAL_ROUTES),
        ...Object.keys(CONNECTION_ROUTES),
      ]),
    ).toEqual(kindsIn('access-path.ts'));
    const check = (table: Record<string, string[]>, parse: (p: string) => { kind: string } | undefined) => {
      for (const [kind, paths] of Object.entries(table)) {
        for (const p of paths) expect({ p, kind: parse(p)?.kind }).toEqual({ p, kind });
      }
    };
    check(ARM_ROUTES, parseArmPath);
    check(AUTHORIZATION_ROUTES, parseAuthorizationPath);
    check(PRINCIPAL_ROUTES, parsePrincipalPath);
    check(CONNECTION_ROUTES, parseConnectionPath);
  });

  it('samples every action reachable by appending the segments the parsers look for', () => {
    const literals = new Set([
      ...[...(source('arm-path.ts') + source('ml-path.ts')).matchAll(/[!=]== '([a-z][a-z.]*)'/g)].map(
        (m) => m[1]!,
      ),
      ...Object.keys(EVENT_SUBSCRIPTION_ACTIONS),
    ]);
    const actionOf = (p: string) => {
      const t = parseArmPath(p) as { kind: string; action?: string } | undefined;
      return t?.action ? `${t.kind}:${t.action}` : undefined;
    };
    const sampled = new Set(Object.values(ARM_ROUTES).flat().map(actionOf));
    const reachable = new Set<string>();
    for (const base of Object.values(ARM_ROUTES).flat()) {
      if (actionOf(base)) continue;
      for (const a of literals) {
        reachable.add(actionOf(`${base}/${a}`) ?? '');
        for (const b of literals) reachable.add(actionOf(`${base}/${a}/${b}`) ?? '');
      }
    }
    reachable.delete('');
    expect(reachable.size).toBeGreaterThan(10);
    expect([...reachable].filter((a) => !sampled.has(a))).toEqual([]);
  });
});

describe('role × operation matrix', () => {
  let s: TestServer;
  const keys = new Map<Role, string>();
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
    expect((await s.arm('PUT', T, { location: 'local' })).status).toBe(201);
    const pub = `${RG}/providers/Microsoft.EventGrid/topics/${PUBLISH_TOPIC}`;
    expect((await s.arm('PUT', pub, { location: 'local' })).status).toBe(201);
    await createPrincipal(s, 'bystander');
    for (const role of ROLES) {
      if (role === 'admin') continue;
      const p: TestPrincipal = await createPrincipal(s, `p-${role.replace(/ /g, '-')}`);
      if (role !== 'none') await assign(s, p, role, SUB);
      keys.set(role, p.key);
    }
    keys.set('admin', (await import('./helpers/server.js')).ADMIN_KEY);
  });
  afterAll(async () => s?.stop());

  it('allows exactly what each role grants, and refuses the rest with AuthorizationFailed', async () => {
    const table = routes();
    expect(table.filter((r) => r.method !== 'GET').length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const route of table) {
      for (const role of ROLES) {
        const publish = route.path.startsWith('/topics/');
        const body = publish
          ? [{ id: randomUUID(), subject: 's', eventType: 't', eventTime: '2026-01-01T00:00:00Z', data: {} }]
          : route.method === 'GET' || route.method === 'DELETE'
            ? undefined
            : {};
        const res = await as(s, keys.get(role), route.method, route.path, body);
        const text = await res.text();
        const code = res.status === 403 ? (JSON.parse(text) as { error: { code: string } }).error.code : '';
        const ok = route.allowed(role)
          ? res.status !== 401 && res.status !== 403
          : res.status === 403 && code === 'AuthorizationFailed';
        if (!ok) wrong.push(`${role} ${route.method} ${route.path} → ${res.status} ${text.slice(0, 160)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
