import { describe, expect, it } from 'vitest';
import {
  canaryTraffic,
  defaultDeploymentName,
  DEPLOYMENT_NAME_RE,
  matchRule,
  parseDeployModelStep,
  sameTraffic,
} from './automation-tags.js';
import {
  deploymentBody,
  mainDeployment,
  modelKey,
  restoreBody,
  type DeploymentView,
} from './automation-deploy.js';
import type { MlgridError } from './errors.js';

const rules = parseDeployModelStep(
  {
    rules: [
      { when: { tags: { deploy: true, stage: 'prod' } }, endpoint: '{{data.modelTags.endpoint}}' },
      {
        when: { tags: { deploy: 'true', stage: ['staging', 'dev'] }, modelName: 'churn-*' },
        endpoint: 'staging',
      },
      { when: { tags: { canary: '*' } }, endpoint: 'canaries', trafficPercent: 10 },
    ],
  },
  'steps[0]',
).rules;

describe('parseDeployModelStep', () => {
  it('defaults the model to the ModelRegistered fields and fills rule defaults', () => {
    const s = parseDeployModelStep({ rules: [{ endpoint: 'ep' }] }, 'p');
    expect(s.model).toEqual({ name: '{{data.modelName}}', version: '{{data.modelVersion}}' });
    expect(s.rules[0]).toMatchObject({
      trafficPercent: 100,
      createEndpointIfMissing: false,
      rollbackOnFailure: true,
    });
  });

  it('names the field at fault', () => {
    const at = (raw: Record<string, unknown>) => {
      try {
        parseDeployModelStep(raw, 'steps[2]');
      } catch (err) {
        return (err as MlgridError).target;
      }
      return 'accepted';
    };
    expect(at({})).toBe('steps[2].rules');
    expect(at({ rules: [] })).toBe('steps[2].rules');
    expect(at({ rules: [{}] })).toBe('steps[2].rules[0].endpoint');
    expect(at({ rules: [{ endpoint: 'e', trafficPercent: 101 }] })).toBe('steps[2].rules[0].trafficPercent');
    expect(at({ rules: [{ endpoint: 'e', when: { tags: { a: { b: 1 } } } }] })).toBe(
      'steps[2].rules[0].when.tags.a',
    );
    expect(at({ rules: [{ endpoint: 'e', codeConfiguration: { codeId: '/c' } }] })).toBe(
      'steps[2].rules[0].codeConfiguration.scoringScript',
    );
    expect(
      at({
        rules: [{ endpoint: 'e', from: 'blue', codeConfiguration: { codeId: '/c', scoringScript: 's.py' } }],
      }),
    ).toBe('steps[2].rules[0].from');
    expect(at({ rules: [{ endpoint: '{{data.modelTags.endpoint}' }] })).toBe('steps[2].rules[0].endpoint');
  });
});

describe('matchRule', () => {
  const m = (name: string, tags: Record<string, unknown>) => matchRule(rules, { name, tags, properties: {} });

  it('takes the first rule whose tags all match (values case-insensitive, booleans as text)', () => {
    expect(m('any', { deploy: 'true', stage: 'prod', endpoint: 'e' })).toBe(0);
    expect(m('any', { Deploy: 'TRUE', STAGE: 'Prod' })).toBe(0);
    expect(m('churn-small', { deploy: 'true', stage: 'dev' })).toBe(1);
    expect(m('other', { deploy: 'true', stage: 'dev' })).toBe(-1); // name glob fails
    expect(m('x', { canary: '' })).toBe(2); // '*' = present with any value
    expect(m('x', { deploy: 'false', stage: 'prod' })).toBe(-1);
    expect(m('x', {})).toBe(-1);
  });

  it('a rule without conditions matches everything', () => {
    const all = parseDeployModelStep({ rules: [{ endpoint: 'e' }] }, 'p').rules;
    expect(matchRule(all, { name: 'x', tags: {}, properties: {} })).toBe(0);
  });
});

describe('defaultDeploymentName', () => {
  it('is <model>-v<version> when that is a valid name', () => {
    expect(defaultDeploymentName('churn', '3')).toBe('churn-v3');
    expect(defaultDeploymentName('Churn', '3')).toBe('churn-v3');
  });
  it('adds a hash when the name had to change, so different models never collide', () => {
    const a = defaultDeploymentName('my_model', '1');
    const b = defaultDeploymentName('my.model', '1');
    expect(a).not.toBe(b);
    const long = defaultDeploymentName('a-very-long-model-name-that-goes-on-and-on', '12');
    for (const n of [
      a,
      b,
      long,
      defaultDeploymentName('9lives', '1'),
      defaultDeploymentName('x', '2024.01.01'),
    ]) {
      expect(n).toMatch(DEPLOYMENT_NAME_RE);
    }
    expect(defaultDeploymentName('my_model', '1')).toBe(a); // deterministic
  });
});

describe('canaryTraffic', () => {
  it('gives the new deployment its share and keeps the proportions of the others', () => {
    expect(canaryTraffic({ blue: 100 }, 'green', 20)).toEqual({ blue: 80, green: 20 });
    const t = canaryTraffic({ a: 50, b: 50 }, 'c', 25);
    expect(t).toEqual({ a: 38, b: 37, c: 25 });
  });
  it('is idempotent: a repeated step changes nothing', () => {
    const once = canaryTraffic({ a: 50, b: 50 }, 'c', 25);
    expect(canaryTraffic(once, 'c', 25)).toEqual(once);
    expect(canaryTraffic({ blue: 80, green: 20 }, 'green', 20)).toEqual({ blue: 80, green: 20 });
  });
  it('100 takes all traffic; with no traffic elsewhere the new one gets it all', () => {
    expect(canaryTraffic({ blue: 100 }, 'green', 100)).toEqual({ blue: 0, green: 100 });
    expect(canaryTraffic({}, 'green', 10)).toEqual({ green: 100 });
    expect(canaryTraffic({ blue: 0 }, 'green', 0)).toEqual({ blue: 0, green: 0 });
  });
  it('always sums to 100', () => {
    for (const pct of [1, 7, 33, 50, 99]) {
      const t = canaryTraffic({ a: 33, b: 33, c: 34 }, 'n', pct);
      expect(Object.values(t).reduce((x, y) => x + y, 0)).toBe(100);
    }
  });
  it('sameTraffic ignores zero shares and case', () => {
    expect(sameTraffic({ Blue: 100, green: 0 }, { blue: 100 })).toBe(true);
    expect(sameTraffic({ blue: 90, green: 10 }, { blue: 100 })).toBe(false);
  });
});

describe('deployment bodies', () => {
  const ws = { subscriptionId: 's', resourceGroup: 'rg', workspace: 'ws' };
  const blue: DeploymentView = {
    name: 'blue',
    location: 'local',
    sku: { name: 'Default', capacity: 1 },
    properties: {
      model: 'azureml:churn:1',
      provisioningState: 'Succeeded',
      codeConfiguration: { codeId: '/code', scoringScript: 'score.py' },
      environmentVariables: { A: '1' },
      properties: { 'mlgrid.correlationId': 'old' },
      instanceType: 'Standard_DS2_v2',
    },
  };

  it('copies code and environment from the template, not its properties', () => {
    const b = deploymentBody({
      template: blue,
      environmentVariables: { B: '2' },
      modelId: '/m/2',
      properties: { k: 'v' },
    }) as { properties: Record<string, unknown>; sku: unknown };
    expect(b.properties).toMatchObject({
      model: '/m/2',
      codeConfiguration: { codeId: '/code', scoringScript: 'score.py' },
      environmentVariables: { A: '1', B: '2' },
      properties: { k: 'v' },
      instanceType: 'Standard_DS2_v2',
    });
    expect(b.sku).toEqual({ name: 'Default', capacity: 1 });
  });

  it('restores a deployment as it was', () => {
    expect(restoreBody(blue)).toMatchObject({
      properties: { model: 'azureml:churn:1', properties: blue.properties.properties },
    });
  });

  it('compares models whatever their spelling', () => {
    const long =
      '/subscriptions/s/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/ws/models/Churn/versions/1';
    expect(modelKey(long, ws)).toBe(modelKey('azureml:churn:1', ws));
    expect(modelKey('azureml:churn:2', ws)).not.toBe(modelKey('azureml:churn:1', ws));
    expect(modelKey(42, ws)).toBeUndefined();
  });

  it('the main deployment is the one with the most traffic', () => {
    const green = { ...blue, name: 'green' };
    expect(mainDeployment([blue, green], { blue: 10, green: 90 })?.name).toBe('green');
    expect(mainDeployment([blue, green], {})?.name).toBe('blue');
    expect(mainDeployment([], {})).toBeUndefined();
  });
});
