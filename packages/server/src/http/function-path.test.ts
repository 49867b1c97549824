import { describe, expect, it } from 'vitest';
import { allowedMethods, parseArmPath } from './arm-path.js';

const SITE = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Web/sites/app1';

describe('function paths', () => {
  it('parses functions and function lists, any case, doubled slashes ignored', () => {
    expect(parseArmPath(`//${SITE.slice(1).toLowerCase()}/FUNCTIONS`)).toEqual({
      kind: 'functions',
      subscriptionId: 's1',
      resourceGroup: 'rg1',
      app: 'app1',
    });
    expect(parseArmPath(`${SITE}/functions/OnModel/`)).toEqual({
      kind: 'function',
      subscriptionId: 's1',
      resourceGroup: 'rg1',
      app: 'app1',
      name: 'OnModel',
    });
    expect(allowedMethods(parseArmPath(`${SITE}/functions/f`)!)).toEqual(['PUT', 'GET', 'DELETE']);
    expect(allowedMethods(parseArmPath(`${SITE}/functions`)!)).toEqual(['GET']);
  });

  it('leaves other Microsoft.Web paths unserved, and event subscriptions on a function to Event Grid', () => {
    expect(parseArmPath(SITE)).toBeUndefined();
    expect(parseArmPath(`${SITE}/slots/staging/functions/f`)).toBeUndefined();
    expect(parseArmPath(`${SITE}/functions/f/keys`)).toBeUndefined();
    expect(parseArmPath(`${SITE}/functions/f/providers/Microsoft.EventGrid/eventSubscriptions/e1`)).toEqual({
      kind: 'eventSubscription',
      scope: `${SITE}/functions/f`,
      name: 'e1',
    });
  });
});
