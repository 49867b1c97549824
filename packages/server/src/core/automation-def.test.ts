import { describe, expect, it } from 'vitest';
import {
  keepSecrets,
  parseAutomationPut,
  renderDefinition,
  triggerSubscriptionName,
  validateAutomationName,
  type StepKinds,
} from './automation-def.js';
import type { StepKind } from './automation-step.js';
import { invalid } from './errors.js';
import { string } from './validate.js';

const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws';

/** A step kind with one required field `to` and one secret field `token`. */
const notify: StepKind<{ to: string }> = {
  type: 'notify',
  defaultTimeoutSeconds: 42,
  parse: (raw, path) => {
    if ('name' in raw || 'retry' in raw) throw new Error('engine fields leaked into the step kind');
    if (raw.to === 'bad') throw invalid(`${path}.to`, 'is bad');
    return { to: string(raw.to, `${path}.to`) };
  },
  execute: async () => ({}),
  redact: (raw) => ({ ...raw, ...(raw.token !== undefined ? { token: '***' } : {}) }),
};
const kinds: StepKinds = new Map([['notify', notify as StepKind]]);
const parse = (properties: unknown) => parseAutomationPut({ properties }, { workspaceId: WS, kinds });
const step = (extra: Record<string, unknown> = {}) => ({ name: 's1', type: 'notify', to: 'x', ...extra });

function targetOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { target?: string }).target;
  }
  return undefined;
}

describe('parseAutomationPut', () => {
  it('fills the defaults: this workspace, every event, storm control keyed by subject, enabled', () => {
    const d = parse({ steps: [step()] });
    expect(d.enabled).toBe(true);
    expect(d.trigger.source).toBe(WS);
    expect(d.trigger.filter.includedEventTypes).toBeNull();
    expect(d.condition).toBeUndefined();
    expect(d.stormControl).toEqual({
      key: '{{subject}}',
      debounceSeconds: 0,
      coalesce: true,
      maxConcurrent: 1,
      cooldownSeconds: 0,
      whenBusy: 'queue',
    });
    expect(d.steps).toEqual([
      {
        name: 's1',
        type: 'notify',
        fields: { to: 'x' },
        retry: { maxAttempts: 3, delaySeconds: 10, maxDelaySeconds: 600 },
        timeoutSeconds: 42,
      },
    ]);
  });

  it('keeps the trigger filter, the condition and storm control as given', () => {
    const d = parse({
      trigger: {
        source: `${WS.replace('workspaces/ws', 'workspaces/other')}/`,
        includedEventTypes: ['Microsoft.MachineLearningServices.DatasetDriftDetected'],
        subjectBeginsWith: 'datadrift/',
      },
      condition: { advancedFilters: [{ operatorType: 'NumberGreaterThan', key: 'data.x', value: 1 }] },
      steps: [step({ retry: { maxAttempts: 5, delaySeconds: 1 }, timeoutSeconds: 5, type: 'NOTIFY' })],
      stormControl: {
        key: '{{data.dataDriftId}}',
        debounceSeconds: 60,
        maxWaitSeconds: 600,
        cooldownSeconds: 3600,
        whenBusy: 'DROP',
        maxConcurrent: 2,
        coalesce: false,
      },
      enabled: false,
      description: 'retrain',
    });
    expect(d.trigger.source).toBe(WS.replace('workspaces/ws', 'workspaces/other'));
    expect(d.trigger.filter.subjectBeginsWith).toBe('datadrift/');
    expect(d.condition!.advancedFilters).toEqual([
      { operatorType: 'NumberGreaterThan', key: 'data.x', value: 1 },
    ]);
    expect(d.steps[0]).toMatchObject({
      type: 'notify',
      retry: { maxAttempts: 5, delaySeconds: 1, maxDelaySeconds: 600 },
      timeoutSeconds: 5,
    });
    expect(d.stormControl).toEqual({
      key: '{{data.dataDriftId}}',
      debounceSeconds: 60,
      maxWaitSeconds: 600,
      coalesce: false,
      maxConcurrent: 2,
      cooldownSeconds: 3600,
      whenBusy: 'drop',
    });
    expect(d).toMatchObject({ enabled: false, description: 'retrain' });
  });

  it.each([
    [{}, 'properties.steps'],
    [{ steps: [] }, 'properties.steps'],
    [{ steps: [{ type: 'notify', to: 'x' }] }, 'properties.steps[0].name'],
    [{ steps: [step({ name: '1abc' })] }, 'properties.steps[0].name'],
    [{ steps: [step(), step()] }, 'properties.steps[1].name'],
    [{ steps: [step({ type: 'sendFax' })] }, 'properties.steps[0].type'],
    [{ steps: [step({ to: 'bad' })] }, 'properties.steps[0].to'],
    [{ steps: [step({ to: '{{steps.s2.x}}' })] }, 'properties.steps[0].to'],
    [{ steps: [step({ extra: { deep: '{{nope}}' } })] }, 'properties.steps[0].extra.deep'],
    [{ steps: [step({ retry: { maxAttempts: 0 } })] }, 'properties.steps[0].retry.maxAttempts'],
    [
      { steps: [step({ retry: { delaySeconds: 30, maxDelaySeconds: 10 } })] },
      'properties.steps[0].retry.maxDelaySeconds',
    ],
    [{ steps: [step({ timeoutSeconds: 0 })] }, 'properties.steps[0].timeoutSeconds'],
    [
      {
        steps: [step()],
        trigger: {
          source: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x',
        },
      },
      'properties.trigger.source',
    ],
    [{ steps: [step()], trigger: { includedEventTypes: [] } }, 'properties.trigger.includedEventTypes'],
    [
      { steps: [step()], condition: { advancedFilters: [{ operatorType: 'Nope', key: 'data.x' }] } },
      'properties.condition.advancedFilters[0].operatorType',
    ],
    [{ steps: [step()], stormControl: { key: '{{steps.s1.x}}' } }, 'properties.stormControl.key'],
    [{ steps: [step()], stormControl: { maxWaitSeconds: 5 } }, 'properties.stormControl.maxWaitSeconds'],
    [{ steps: [step()], stormControl: { maxConcurrent: 0 } }, 'properties.stormControl.maxConcurrent'],
    [{ steps: [step()], stormControl: { whenBusy: 'later' } }, 'properties.stormControl.whenBusy'],
    [{ steps: [step()], enabled: 'yes' }, 'properties.enabled'],
  ])('%j is refused naming %s', (props, target) => {
    expect(targetOf(() => parse(props))).toBe(target);
  });

  it("uses a step kind's own template check when it has one", () => {
    const seen: unknown[] = [];
    const own: StepKind = {
      ...(notify as StepKind),
      type: 'own',
      checkTemplates: (raw, path, earlier) => void seen.push([raw, path, [...earlier]]),
    };
    const k: StepKinds = new Map([...kinds, ['own', own]]);
    const d = parseAutomationPut(
      { properties: { steps: [step(), { name: 'o', type: 'own', to: '{{digest}}' }] } },
      { workspaceId: WS, kinds: k },
    );
    expect(d.steps[1]!.fields.to).toBe('{{digest}}');
    expect(seen).toEqual([[{ to: '{{digest}}' }, 'properties.steps[1]', ['s1']]]);
  });

  it('lets a step use the outputs of earlier steps', () => {
    const d = parse({ steps: [step(), step({ name: 's2', to: '{{steps.s1.id}}' })] });
    expect(d.steps[1]!.fields.to).toBe('{{steps.s1.id}}');
  });
});

describe('names', () => {
  it('validates automation names and derives the trigger subscription name', () => {
    expect(validateAutomationName('retrain_on-drift1')).toBe('retrain_on-drift1');
    expect(targetOf(() => validateAutomationName('-x'))).toBe('name');
    expect(targetOf(() => validateAutomationName('a'.repeat(53)))).toBe('name');
    expect(triggerSubscriptionName('retrain_on_drift')).toBe('automation-retrain-on-drift');
    expect(triggerSubscriptionName('a'.repeat(52)).length).toBeLessThanOrEqual(64);
  });
});

describe('renderDefinition and keepSecrets', () => {
  it('shows secrets masked, and a masked value sent back keeps the stored secret', () => {
    const stored = parse({ steps: [step({ token: 's3cret' })] });
    const shown = renderDefinition(stored, kinds) as {
      steps: Record<string, unknown>[];
      trigger: Record<string, unknown>;
    };
    expect(shown.steps[0]).toMatchObject({
      name: 's1',
      type: 'notify',
      to: 'x',
      token: '***',
      timeoutSeconds: 42,
    });
    expect(shown.trigger.source).toBe(WS);
    expect(JSON.stringify(shown)).not.toContain('s3cret');
    const again = keepSecrets(parse(shown), stored, kinds);
    expect(again.steps[0]!.fields.token).toBe('s3cret');
    const changed = keepSecrets(parse({ steps: [step({ token: 'new' })] }), stored, kinds);
    expect(changed.steps[0]!.fields.token).toBe('new');
    const renamed = keepSecrets(parse({ steps: [step({ name: 'other', token: '***' })] }), stored, kinds);
    expect(renamed.steps[0]!.fields.token).toBe('***');
  });
});
