import { describe, expect, it } from 'vitest';
import { allowedMethods, parseArmPath } from './arm-path.js';

const T = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/t1';
const WS = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws';

describe('parseArmPath', () => {
  it.each([
    [T, { kind: 'topic', subscriptionId: 's1', resourceGroup: 'rg1', name: 't1' }],
    [`/${T}`, { kind: 'topic', subscriptionId: 's1', resourceGroup: 'rg1', name: 't1' }],
    [
      `${T}/listKeys`,
      { kind: 'topic', subscriptionId: 's1', resourceGroup: 'rg1', name: 't1', action: 'listKeys' },
    ],
    [
      `${T}/REGENERATEKEY`,
      { kind: 'topic', subscriptionId: 's1', resourceGroup: 'rg1', name: 't1', action: 'regenerateKey' },
    ],
    [
      '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics',
      { kind: 'topics', subscriptionId: 's1', resourceGroup: 'rg1' },
    ],
    ['/subscriptions/s1/providers/Microsoft.EventGrid/topics', { kind: 'topics', subscriptionId: 's1' }],
    [
      `${T}/providers/Microsoft.EventGrid/eventSubscriptions/sub-1`,
      { kind: 'eventSubscription', scope: T, name: 'sub-1' },
    ],
    [
      `${WS}/providers/microsoft.eventgrid/eventsubscriptions/a/getFullUrl`,
      { kind: 'eventSubscription', scope: WS, name: 'a', action: 'getFullUrl' },
    ],
    [`${WS}/providers/Microsoft.EventGrid/eventSubscriptions`, { kind: 'eventSubscriptions', scope: WS }],
    [
      '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/eventSubscriptions/x',
      { kind: 'eventSubscription', scope: '/subscriptions/s1/resourceGroups/rg1', name: 'x' },
    ],
    [
      `${T}/eventSubscriptions/e1/getDeliveryAttributes`,
      { kind: 'eventSubscription', scope: T, name: 'e1', action: 'getDeliveryAttributes' },
    ],
    [`${T}/eventSubscriptions`, { kind: 'eventSubscriptions', scope: T }],
    [`${WS}/jobs`, { kind: 'jobs', subscriptionId: 's1', resourceGroup: 'rg1', workspace: 'ws' }],
    [
      `${WS}/Jobs/j1`,
      { kind: 'job', subscriptionId: 's1', resourceGroup: 'rg1', workspace: 'ws', job: 'j1' },
    ],
    [
      `${WS}/jobs/j1/Cancel`,
      {
        kind: 'job',
        subscriptionId: 's1',
        resourceGroup: 'rg1',
        workspace: 'ws',
        job: 'j1',
        action: 'cancel',
      },
    ],
    [
      `${WS}/jobs/j1/logs`,
      { kind: 'job', subscriptionId: 's1', resourceGroup: 'rg1', workspace: 'ws', job: 'j1', action: 'logs' },
    ],
    [
      `${WS}/jobs/j1/operationResults/cancel`,
      {
        kind: 'job',
        subscriptionId: 's1',
        resourceGroup: 'rg1',
        workspace: 'ws',
        job: 'j1',
        action: 'cancelResult',
      },
    ],
  ])('%s', (path, expected) => {
    expect(parseArmPath(path)).toEqual(expected);
  });

  it.each([
    '/subscriptions',
    '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/a',
    `${T}/unknownAction`,
    `${T}/providers/Microsoft.EventGrid/eventSubscriptions/a/b/c`,
    `${T}/providers/Microsoft.EventGrid/eventSubscriptions/a/nope`,
    '/other/path',
    '/subscriptions/%E0%A4%A',
    `${WS}/jobs/j1/restart`,
    `${WS}/jobs/j1/operationResults/other`,
  ])('rejects %s', (path) => {
    expect(parseArmPath(path)).toBeUndefined();
  });

  it('allows the methods Azure allows per target', () => {
    expect(allowedMethods(parseArmPath(T)!)).toEqual(['PUT', 'GET', 'PATCH', 'DELETE']);
    expect(allowedMethods(parseArmPath(`${T}/listKeys`)!)).toEqual(['POST']);
    expect(allowedMethods(parseArmPath(`${T}/eventSubscriptions`)!)).toEqual(['GET']);
    expect(allowedMethods(parseArmPath(`${WS}/jobs/j1`)!)).toEqual(['PUT', 'GET', 'DELETE']);
    expect(allowedMethods(parseArmPath(`${WS}/jobs/j1/cancel`)!)).toEqual(['POST']);
    expect(allowedMethods(parseArmPath(`${WS}/jobs/j1/logs`)!)).toEqual(['GET']);
  });
});
