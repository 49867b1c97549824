import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  accessAllowedMethods,
  parseAuthorizationPath,
  parseConnectionPath,
  parsePrincipalPath,
  type AuthorizationTarget,
  type ConnectionTarget,
  type PrincipalTarget,
} from '../access-path.js';
import { allowedMethods, parseArmPath, type ArmTarget } from '../arm-path.js';
import { findArmOperation, OPERATIONS, SCHEMAS } from './catalogue.js';
import { openApiDocument } from './document.js';

const T = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/t1';
const WS = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1';
const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/e1`;
const SITE = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Web/sites/app1';

type Kind = ArmTarget['kind'];
type ActionOf<K extends Kind> =
  Extract<ArmTarget, { kind: K }> extends infer X
    ? X extends { action?: infer A }
      ? NonNullable<A>
      : never
    : never;

/**
 * A sample path for every ARM target kind and every action of it. The mapped type makes this a compile error
 * (`tsc -p .`) when a kind or an action is added to ArmTarget without a sample here; the test below then fails
 * at run time until the catalogue has an operation for each of its methods.
 */
const SAMPLES: { [K in Kind]: { paths: string[]; actions: Record<ActionOf<K>, string> } } = {
  topic: { paths: [T], actions: { listKeys: `${T}/listKeys`, regenerateKey: `${T}/regenerateKey` } },
  topics: {
    paths: [
      '/subscriptions/s1/providers/Microsoft.EventGrid/topics',
      '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics',
    ],
    actions: {},
  },
  eventSubscription: {
    paths: [ES, `${T}/eventSubscriptions/e1`],
    actions: {
      getFullUrl: `${ES}/getFullUrl`,
      getDeliveryAttributes: `${ES}/getDeliveryAttributes`,
      deliveries: `${ES}/deliveries`,
      deliveryAttempts: `${ES}/deliveryAttempts`,
      deadLetters: `${ES}/deadLetters`,
      redrive: `${ES}/redrive`,
      replay: `${ES}/replay`,
      getSigningSecrets: `${ES}/getSigningSecrets`,
      rotateSigningSecret: `${ES}/rotateSigningSecret`,
    },
  },
  eventSubscriptions: {
    paths: [`${WS}/providers/Microsoft.EventGrid/eventSubscriptions`, `${T}/eventSubscriptions`],
    actions: {},
  },
  workspaces: {
    paths: [
      '/subscriptions/s1/providers/Microsoft.MachineLearningServices/workspaces',
      '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces',
    ],
    actions: {},
  },
  workspace: { paths: [WS], actions: {} },
  modelContainers: { paths: [`${WS}/models`], actions: {} },
  modelContainer: { paths: [`${WS}/models/m1`], actions: {} },
  modelVersions: { paths: [`${WS}/models/m1/versions`], actions: {} },
  modelVersion: { paths: [`${WS}/models/m1/versions/1`], actions: {} },
  jobs: { paths: [`${WS}/jobs`], actions: {} },
  job: {
    paths: [`${WS}/jobs/j1`],
    actions: {
      cancel: `${WS}/jobs/j1/cancel`,
      logs: `${WS}/jobs/j1/logs`,
      cancelResult: `${WS}/jobs/j1/operationResults/cancel`,
      reportStatus: `${WS}/jobs/j1/reportStatus`,
      metrics: `${WS}/jobs/j1/metrics`,
    },
  },
  dataContainers: { paths: [`${WS}/data`], actions: {} },
  dataContainer: { paths: [`${WS}/data/d1`], actions: {} },
  dataVersions: { paths: [`${WS}/data/d1/versions`], actions: {} },
  dataVersion: { paths: [`${WS}/data/d1/versions/1`], actions: {} },
  onlineEndpoints: { paths: [`${WS}/onlineEndpoints`], actions: {} },
  onlineEndpoint: {
    paths: [`${WS}/onlineEndpoints/ep1`],
    actions: {
      listKeys: `${WS}/onlineEndpoints/ep1/listKeys`,
      regenerateKeys: `${WS}/onlineEndpoints/ep1/regenerateKeys`,
    },
  },
  onlineDeployments: { paths: [`${WS}/onlineEndpoints/ep1/deployments`], actions: {} },
  onlineDeployment: {
    paths: [`${WS}/onlineEndpoints/ep1/deployments/d1`],
    actions: { logs: `${WS}/onlineEndpoints/ep1/deployments/d1/getLogs` },
  },
  dataDriftDetectors: { paths: [`${WS}/dataDriftDetectors`], actions: {} },
  lineage: { paths: [`${WS}/lineage`, `${WS}/lineage/c1`], actions: {} },
  dataDriftDetector: {
    paths: [`${WS}/dataDriftDetectors/dd1`],
    actions: {
      run: `${WS}/dataDriftDetectors/dd1/run`,
      backfill: `${WS}/dataDriftDetectors/dd1/backfill`,
      results: `${WS}/dataDriftDetectors/dd1/results`,
      backfillStatus: `${WS}/dataDriftDetectors/dd1/backfills/op1`,
    },
  },
  automations: { paths: [`${WS}/automations`], actions: {} },
  automation: { paths: [`${WS}/automations/a1`], actions: { run: `${WS}/automations/a1/run` } },
  automationRuns: { paths: [`${WS}/automations/a1/runs`], actions: {} },
  automationRun: {
    paths: [`${WS}/automations/a1/runs/r1`],
    actions: { cancel: `${WS}/automations/a1/runs/r1/cancel` },
  },
  functions: { paths: [`${SITE}/functions`], actions: {} },
  function: { paths: [`${SITE}/functions/f1`], actions: {} },
};

/** The access-control routes, parsed apart from ArmTarget: one sample path per kind (compile-time complete). */
const P = '/providers/Microsoft.MLGrid/principals';
const RA = `${WS}/providers/Microsoft.Authorization`;
const ACCESS_SAMPLES: Record<
  AuthorizationTarget['kind'] | PrincipalTarget['kind'] | ConnectionTarget['kind'],
  string
> = {
  roleAssignments: `${RA}/roleAssignments`,
  roleAssignment: `${RA}/roleAssignments/0b7c1e7e-7e0a-4b55-9a3f-0f6f2d1c9e11`,
  roleDefinitions: `${RA}/roleDefinitions`,
  roleDefinition: `${RA}/roleDefinitions/acdd72a7-3758-441c-88e6-7f3ecc1d9e1b`,
  principals: P,
  principal: `${P}/ci-bot`,
  principalKeys: `${P}/ci-bot/keys`,
  principalKey: `${P}/ci-bot/keys/k1`,
  principalRotateKey: `${P}/ci-bot/rotateKey`,
  connections: '/providers/Microsoft.MLGrid/connections',
  connection: '/providers/Microsoft.MLGrid/connections/rabbit',
};

const samples = Object.entries(SAMPLES).flatMap(([kind, s]) => [
  ...s.paths.map((path) => ({ kind, action: undefined as string | undefined, path })),
  ...Object.entries(s.actions).map(([action, path]) => ({ kind, action, path: path as string })),
]);

describe('route catalogue', () => {
  it.each(samples)(
    '$kind $action at $path: every allowed method has an operation',
    ({ kind, action, path }) => {
      const t = parseArmPath(path);
      expect(t?.kind).toBe(kind);
      expect((t as { action?: string }).action).toBe(action);
      for (const method of allowedMethods(t!)) {
        const op = findArmOperation(kind, action, method);
        expect(op, `${method} ${path}`).toBeDefined();
        expect(op!.method).toBe(method.toLowerCase());
      }
    },
  );

  it.each(Object.entries(ACCESS_SAMPLES))(
    'access %s: every allowed method has an operation',
    (kind, path) => {
      const t = parseAuthorizationPath(path) ?? parsePrincipalPath(path) ?? parseConnectionPath(path);
      expect(t?.kind).toBe(kind);
      for (const method of accessAllowedMethods(t!)) {
        const op = OPERATIONS.find((o) => o.access?.kind === kind && o.method === method.toLowerCase());
        expect(op, `${method} ${path}`).toBeDefined();
        const template = op!.path.replace(/\{(\w+)\}/g, (_, n: string) =>
          n === 'scope' ? WS.slice(1) : 'x',
        );
        const back =
          parseAuthorizationPath(template) ?? parsePrincipalPath(template) ?? parseConnectionPath(template);
        expect(back?.kind).toBe(kind);
      }
    },
  );

  it('samples every kind the path parsers can produce (read from their source)', () => {
    const src = [
      '../arm-path.ts',
      '../ml-path.ts',
      '../function-path.ts',
      '../automation-path.ts',
      '../access-path.ts',
    ]
      .map((f) => readFileSync(new URL(f, import.meta.url), 'utf8'))
      .join('\n');
    const kinds = new Set([...src.matchAll(/kind: '(\w+)'/g)].map((m) => m[1]!));
    expect(kinds.size).toBeGreaterThan(10);
    expect([...kinds].filter((k) => !(k in SAMPLES) && !(k in ACCESS_SAMPLES))).toEqual([]);
  });

  it("each ARM operation's path template parses back to its target, with its method allowed", () => {
    const values: Record<string, string> = { scope: WS.slice(1), version: '1', id: 'j1' };
    for (const op of OPERATIONS.filter((o) => o.arm)) {
      const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? `${name}-x`);
      const t = parseArmPath(path);
      expect(t, `${op.operationId} ${path}`).toBeDefined();
      expect({ kind: t!.kind, action: (t as { action?: string }).action }, op.operationId).toEqual({
        kind: op.arm!.kind,
        action: op.arm!.action,
      });
      expect(allowedMethods(t!), op.operationId).toContain(op.method.toUpperCase());
    }
  });

  it('gives two path forms of one target the same body schema, and unique operation ids', () => {
    const ids = OPERATIONS.map((o) => o.operationId);
    expect(ids.length).toBe(new Set(ids).size);
    for (const op of OPERATIONS.filter((o) => o.arm)) {
      const first = findArmOperation(op.arm!.kind, op.arm!.action, op.method)!;
      expect(op.body?.schema, op.operationId).toBe(first.body?.schema);
    }
  });

  it('has only valid JSON Schema 2020-12 components, and every $ref resolves', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      expect(ajv.validateSchema(schema), `${name}: ${ajv.errorsText()}`).toBe(true);
    }
    const doc = openApiDocument('http://h');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(50);
    const components = doc.components as Record<string, Record<string, unknown>>;
    for (const [, group, name] of refs) expect(components[group!]?.[name!], `${group}/${name}`).toBeDefined();
  });

  it('declares every path parameter of every operation', () => {
    const doc = openApiDocument('http://h') as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
    };
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(item)) {
        expect(op.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(names);
      }
    }
  });
});
