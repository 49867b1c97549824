import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { createHttpHeaders, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import {
  applyWorkspacePatch,
  parseWorkspacePut,
  raisesRunStatusChanged,
  renderWorkspace,
  validateWorkspaceName,
  type WorkspaceSpec,
} from './workspace.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const WS_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
const GUID = '5b9c2a3e-1f4d-4c6b-9a8e-7d6f5e4c3b2a';
const STORAGE = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1`;
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1`;
const UAI = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1`;
const META = {
  id: WS_ID,
  name: 'ws1',
  workspaceId: GUID,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-02T00:00:00.000Z',
};

function failure(fn: () => unknown): { status: number; target: string | undefined; code: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MlgridError) return { status: e.status, target: e.target, code: e.code };
    throw e;
  }
  throw new Error('expected an MlgridError');
}
const rejects = (fn: () => unknown, target: string) =>
  expect(failure(fn)).toMatchObject({ status: 400, target });
const put = (body: Record<string, unknown>, current?: WorkspaceSpec) =>
  parseWorkspacePut({ location: 'westus2', ...body }, { name: 'ws1', current });

/** The real Azure SDK, its HTTP answered in-process by `handle`. */
function sdk(handle: (req: PipelineRequest) => { status: number; body: unknown }) {
  const sent: { method: string; url: string; body: unknown }[] = [];
  const client = new AzureMachineLearningWorkspaces(
    { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    SUB,
    {
      httpClient: {
        async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
          const body = typeof request.body === 'string' ? JSON.parse(request.body) : undefined;
          sent.push({ method: request.method, url: request.url, body });
          const r = handle(request);
          return {
            request,
            status: r.status,
            headers: createHttpHeaders({ 'content-type': 'application/json' }),
            bodyAsText: JSON.stringify(r.body),
          };
        },
      },
    },
  );
  return { client, sent };
}

describe('workspace name', () => {
  it('is 3-33 alphanumerics, hyphens and underscores, starting alphanumeric', () => {
    for (const ok of ['ws1', 'my_ws-2', 'A'.repeat(33), '9lives']) expect(validateWorkspaceName(ok)).toBe(ok);
    for (const bad of ['ab', 'a'.repeat(34), '-ws', '_ws', 'my.ws', 'my ws']) {
      expect(failure(() => parseWorkspacePut({ location: 'x' }, { name: bad }))).toEqual({
        status: 400,
        target: 'name',
        code: 'InvalidResourceName',
      });
    }
  });
});

describe('parseWorkspacePut', () => {
  it('applies the defaults: Failed-only RunStatusChanged, failure events off', () => {
    expect(put({})).toEqual({
      location: 'westus2',
      tags: {},
      publicNetworkAccess: 'Enabled',
      hbiWorkspace: false,
      runStatusChangedStatuses: ['Failed'],
      failureEvents: false,
    });
  });

  it('reads the Azure fields and the mlgrid settings', () => {
    const spec = put({
      tags: { team: 'ml' },
      identity: { type: 'systemassigned, userassigned', userAssignedIdentities: { [UAI]: {} } },
      sku: { name: 'Basic', tier: 'basic' },
      properties: {
        friendlyName: 'My WS',
        description: 'd',
        storageAccount: STORAGE,
        keyVault: VAULT,
        hbiWorkspace: true,
        publicNetworkAccess: 'disabled',
        mlgridSettings: { runStatusChangedStatuses: ['failed', 'Canceled', 'FAILED'], failureEvents: true },
        someFutureAzureField: { ignored: true },
      },
    });
    expect(spec).toMatchObject({
      tags: { team: 'ml' },
      identity: { type: 'SystemAssigned,UserAssigned', userAssignedIdentities: { [UAI]: {} } },
      sku: { name: 'Basic', tier: 'Basic' },
      friendlyName: 'My WS',
      description: 'd',
      storageAccount: STORAGE,
      keyVault: VAULT,
      hbiWorkspace: true,
      publicNetworkAccess: 'Disabled',
      runStatusChangedStatuses: ['Failed', 'Canceled'],
      failureEvents: true,
    });
  });

  it('names the field at fault', () => {
    rejects(() => parseWorkspacePut({}, { name: 'ws1' }), 'location');
    rejects(() => put({ location: ' ' }), 'location');
    rejects(() => put({ tags: { a: 1 } }), 'tags.a');
    rejects(() => put({ identity: { type: 'Magic' } }), 'identity.type');
    rejects(() => put({ identity: { type: 'UserAssigned' } }), 'identity.userAssignedIdentities');
    rejects(
      () => put({ identity: { type: 'UserAssigned', userAssignedIdentities: { nope: {} } } }),
      'identity.userAssignedIdentities.nope',
    );
    rejects(
      () => put({ identity: { type: 'SystemAssigned', userAssignedIdentities: { [UAI]: {} } } }),
      'identity.userAssignedIdentities',
    );
    rejects(() => put({ sku: {} }), 'sku.name');
    rejects(() => put({ sku: { name: 'Basic', tier: 'Gold' } }), 'sku.tier');
    rejects(() => put({ properties: [] }), 'properties');
    rejects(() => put({ properties: { description: 3 } }), 'properties.description');
    rejects(() => put({ properties: { publicNetworkAccess: 'Maybe' } }), 'properties.publicNetworkAccess');
    rejects(
      () => put({ properties: { mlgridSettings: { failureEvent: true } } }),
      'properties.mlgridSettings.failureEvent',
    );
    rejects(
      () => put({ properties: { mlgridSettings: { runStatusChangedStatuses: ['Failed', 'Exploded'] } } }),
      'properties.mlgridSettings.runStatusChangedStatuses[1]',
    );
    rejects(
      () => put({ properties: { mlgridSettings: { runStatusChangedStatuses: 'Failed' } } }),
      'properties.mlgridSettings.runStatusChangedStatuses',
    );
    rejects(
      () => put({ properties: { mlgridSettings: { failureEvents: 'yes' } } }),
      'properties.mlgridSettings.failureEvents',
    );
  });

  it('on an existing workspace keeps absent mlgrid settings and refuses to move it or swap its storage', () => {
    const current = put({
      properties: {
        storageAccount: STORAGE,
        keyVault: VAULT,
        mlgridSettings: { failureEvents: true, runStatusChangedStatuses: [] },
      },
    });
    const again = put({ location: 'West US 2', properties: { description: 'new' } }, current);
    expect(again).toMatchObject({
      failureEvents: true,
      runStatusChangedStatuses: [],
      storageAccount: STORAGE,
      keyVault: VAULT,
    });
    expect(put({ properties: { storageAccount: STORAGE.toUpperCase() } }, current).storageAccount).toBe(
      STORAGE.toUpperCase(),
    );
    rejects(() => put({ location: 'eastus' }, current), 'location');
    rejects(() => put({ properties: { keyVault: `${VAULT}2` } }, current), 'properties.keyVault');
  });
});

describe('applyWorkspacePatch', () => {
  const current = put({
    tags: { a: '1' },
    sku: { name: 'Basic' },
    properties: { description: 'old', friendlyName: 'F', storageAccount: STORAGE },
  });

  it('updates what WorkspaceUpdateParameters carries and the mlgrid settings, one by one', () => {
    const next = applyWorkspacePatch(current, {
      tags: { b: '2' },
      properties: {
        description: null,
        publicNetworkAccess: 'Disabled',
        mlgridSettings: { failureEvents: true },
      },
    });
    expect(next).toMatchObject({
      tags: { b: '2' },
      sku: { name: 'Basic' },
      friendlyName: 'F',
      publicNetworkAccess: 'Disabled',
    });
    expect(next.description).toBeUndefined();
    expect(next.failureEvents).toBe(true);
    expect(next.runStatusChangedStatuses).toEqual(['Failed']);
    const reset = applyWorkspacePatch(next, { properties: { mlgridSettings: null } });
    expect(reset).toMatchObject({ failureEvents: false, runStatusChangedStatuses: ['Failed'] });
    expect(current.tags).toEqual({ a: '1' }); // not mutated
  });

  it('may restate but not change the location and storage account', () => {
    expect(
      applyWorkspacePatch(current, { location: 'westus2', properties: { storageAccount: STORAGE } }),
    ).toEqual(current);
    rejects(() => applyWorkspacePatch(current, { location: 'eastus' }), 'location');
    rejects(
      () => applyWorkspacePatch(current, { properties: { storageAccount: `${STORAGE}x` } }),
      'properties.storageAccount',
    );
    rejects(() => applyWorkspacePatch(current, { properties: { keyVault: VAULT } }), 'properties.keyVault');
    rejects(() => applyWorkspacePatch(current, { sku: { tier: 'Basic' } }), 'sku.name');
    rejects(() => applyWorkspacePatch(current, 'x'), 'body');
  });
});

describe('renderWorkspace', () => {
  it('has Azure’s shape with mlgrid settings under properties.mlgridSettings', () => {
    expect(renderWorkspace(put({ tags: { a: '1' } }), META)).toEqual({
      id: WS_ID,
      name: 'ws1',
      type: 'Microsoft.MachineLearningServices/workspaces',
      location: 'westus2',
      tags: { a: '1' },
      systemData: { createdAt: META.createdAt, lastModifiedAt: META.updatedAt },
      properties: {
        friendlyName: 'ws1',
        provisioningState: 'Succeeded',
        workspaceId: GUID,
        publicNetworkAccess: 'Enabled',
        hbiWorkspace: false,
        mlgridSettings: { runStatusChangedStatuses: ['Failed'], failureEvents: false },
      },
    });
  });
});

describe('with @azure/arm-machinelearning 2.1.1', () => {
  it('a create from the SDK parses, and the rendered reply deserializes into Workspace', async () => {
    let spec: WorkspaceSpec | undefined;
    const { client, sent } = sdk((req) => {
      if (req.method === 'PUT') spec = parseWorkspacePut(JSON.parse(String(req.body)), { name: 'ws1' });
      return {
        status: 200,
        body: renderWorkspace(spec!, { ...META, discoveryUrl: 'https://mlgrid.local/discovery' }),
      };
    });
    const ws = await client.workspaces.beginCreateOrUpdateAndWait('rg', 'ws1', {
      location: 'westus2',
      tags: { team: 'ml' },
      friendlyName: 'My WS',
      description: 'demo',
      storageAccount: STORAGE,
      keyVault: VAULT,
      identity: { type: 'SystemAssigned' },
      sku: { name: 'Basic', tier: 'Basic' },
    });
    expect(sent[0]?.body).toMatchObject({ properties: { friendlyName: 'My WS', storageAccount: STORAGE } });
    expect(ws).toMatchObject({
      id: WS_ID,
      name: 'ws1',
      type: 'Microsoft.MachineLearningServices/workspaces',
      location: 'westus2',
      tags: { team: 'ml' },
      identity: { type: 'SystemAssigned' },
      sku: { name: 'Basic', tier: 'Basic' },
      workspaceId: GUID,
      friendlyName: 'My WS',
      description: 'demo',
      storageAccount: STORAGE,
      keyVault: VAULT,
      discoveryUrl: 'https://mlgrid.local/discovery',
      provisioningState: 'Succeeded',
      publicNetworkAccess: 'Enabled',
      hbiWorkspace: false,
    });
    expect(ws.systemData?.createdAt).toEqual(new Date(META.createdAt));
    // The SDK drops what its mappers do not list: mlgrid's settings never reach an Azure SDK caller.
    expect(JSON.stringify(ws)).not.toContain('mlgridSettings');
  });

  it('an SDK update (WorkspaceUpdateParameters) applies as a patch', async () => {
    let spec = put({ properties: { mlgridSettings: { failureEvents: true } } });
    const { client } = sdk((req) => {
      if (req.method === 'PATCH') spec = applyWorkspacePatch(spec, JSON.parse(String(req.body)));
      return { status: 200, body: renderWorkspace(spec, META) };
    });
    const ws = await client.workspaces.beginUpdateAndWait('rg', 'ws1', {
      tags: { env: 'prod' },
      friendlyName: 'Renamed',
      description: 'after',
    });
    expect(ws).toMatchObject({ tags: { env: 'prod' }, friendlyName: 'Renamed', description: 'after' });
    expect(spec.failureEvents).toBe(true);
  });
});

describe('raisesRunStatusChanged', () => {
  it('matches the configured statuses case-insensitively; Failed only by default', () => {
    const spec = put({});
    expect(raisesRunStatusChanged(spec, 'Failed')).toBe(true);
    expect(raisesRunStatusChanged(spec, 'failed')).toBe(true);
    expect(raisesRunStatusChanged(spec, 'Running')).toBe(false);
    expect(raisesRunStatusChanged({ runStatusChangedStatuses: [] }, 'Failed')).toBe(false);
  });
});
