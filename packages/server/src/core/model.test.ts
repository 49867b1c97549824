import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { createHttpHeaders, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import {
  nextVersion,
  parseModelContainerPut,
  parseModelVersionPut,
  renderModelContainer,
  renderModelVersion,
  validateModelName,
  validateModelVersion,
  type ModelContainerSpec,
  type ModelVersionSpec,
} from './model.js';

const SUB = '00000000-0000-0000-0000-000000000000';
const WS_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
const SHA = 'ab'.repeat(32);
const AT = { createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-02T00:00:00.000Z' };

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
const version = (props: Record<string, unknown>, current?: ModelVersionSpec) =>
  parseModelVersionPut(
    { properties: { modelUri: `mlgrid://artifacts/${SHA}`, ...props } },
    { name: 'm1', version: '1', current },
  );

describe('names and versions', () => {
  it('model names are 1-255 letters, digits, hyphens, underscores, starting alphanumeric', () => {
    for (const ok of ['m', 'sklearn_regression_model', 'Model-2', 'a'.repeat(255)])
      expect(validateModelName(ok)).toBe(ok);
    for (const bad of ['', '_m', '-m', 'my.model', 'a:b', 'a/b', 'a'.repeat(256)]) {
      expect(failure(() => validateModelName(bad))).toEqual({
        status: 400,
        target: 'name',
        code: 'InvalidResourceName',
      });
    }
  });

  it('versions are free-form except what breaks the id or the subject', () => {
    for (const ok of ['1', 'v2', '1.0.3', '2025-01-01', 'rc_1']) expect(validateModelVersion(ok)).toBe(ok);
    for (const bad of [
      '',
      '.',
      '..',
      'a/b',
      'a:b',
      'a b',
      'a?b',
      'a#b',
      'a%b',
      'a\\b',
      '\u0001',
      'x'.repeat(256),
    ]) {
      expect(failure(() => validateModelVersion(bad))).toMatchObject({ status: 400, target: 'version' });
    }
  });
});

describe('parseModelContainerPut', () => {
  it('takes description, tags, properties and isArchived, all optional', () => {
    expect(parseModelContainerPut({}, { name: 'm1' })).toEqual({
      tags: {},
      properties: {},
      isArchived: false,
    });
    expect(
      parseModelContainerPut(
        {
          properties: {
            description: 'd',
            tags: { a: '1', gone: null },
            properties: { p: 'v' },
            isArchived: true,
          },
        },
        { name: 'm1' },
      ),
    ).toEqual({ description: 'd', tags: { a: '1' }, properties: { p: 'v' }, isArchived: true });
  });

  it('names the field at fault', () => {
    rejects(() => parseModelContainerPut({}, { name: 'bad.name' }), 'name');
    rejects(() => parseModelContainerPut(null, { name: 'm1' }), 'body');
    rejects(() => parseModelContainerPut({ properties: 1 }, { name: 'm1' }), 'properties');
    rejects(
      () => parseModelContainerPut({ properties: { tags: { a: 1 } } }, { name: 'm1' }),
      'properties.tags.a',
    );
    rejects(
      () => parseModelContainerPut({ properties: { isArchived: 'no' } }, { name: 'm1' }),
      'properties.isArchived',
    );
  });
});

describe('parseModelVersionPut', () => {
  it('defaults modelType to custom_model and lower-cases artifact hashes', () => {
    expect(version({ modelUri: `mlgrid://artifacts/${SHA.toUpperCase()}` })).toEqual({
      modelUri: `mlgrid://artifacts/${SHA}`,
      modelType: 'custom_model',
      tags: {},
      properties: {},
      isArchived: false,
      isAnonymous: false,
    });
  });

  it('reads every ModelVersionProperties field', () => {
    expect(
      version({
        modelUri: 'file:///models/m1/model.pkl',
        modelType: 'MLFLOW_MODEL',
        description: 'd',
        tags: { stage: 'prod' },
        properties: { accuracy: '0.93' },
        flavors: { python_function: { data: { loader_module: 'mlflow.sklearn' } }, sklearn: null },
        jobName: 'job-42',
        isArchived: true,
      }),
    ).toEqual({
      modelUri: 'file:///models/m1/model.pkl',
      modelType: 'mlflow_model',
      description: 'd',
      tags: { stage: 'prod' },
      properties: { accuracy: '0.93' },
      flavors: { python_function: { data: { loader_module: 'mlflow.sklearn' } }, sklearn: {} },
      jobName: 'job-42',
      isArchived: true,
      isAnonymous: false,
    });
  });

  it('keeps azureml:// URIs as given and maps the 2022-05-01 enum spellings', () => {
    const uri =
      'azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/m/';
    expect(version({ modelUri: uri, modelType: 'TritonModel' })).toMatchObject({
      modelUri: uri,
      modelType: 'triton_model',
    });
  });

  it('names the field at fault', () => {
    rejects(() => parseModelVersionPut({}, { name: 'm1', version: '1' }), 'properties');
    rejects(
      () => parseModelVersionPut({ properties: {} }, { name: 'm1', version: '1' }),
      'properties.modelUri',
    );
    rejects(() => parseModelVersionPut({ properties: {} }, { name: 'm.1', version: '1' }), 'name');
    rejects(() => parseModelVersionPut({ properties: {} }, { name: 'm1', version: 'a/b' }), 'version');
    for (const uri of [
      'https://example.com/m.pkl',
      'runs:/abc/model',
      'mlgrid://artifacts/abc',
      'mlgrid://blobs/' + SHA,
      'file://',
      'file:relative/path',
      '/models/m.pkl',
      'azureml://',
      7,
    ]) {
      rejects(() => version({ modelUri: uri }), 'properties.modelUri');
    }
    rejects(() => version({ modelType: 'onnx_model' }), 'properties.modelType');
    rejects(() => version({ tags: { a: 1 } }), 'properties.tags.a');
    rejects(() => version({ properties: { n: 3 } }), 'properties.properties.n');
    rejects(() => version({ properties: [] }), 'properties.properties');
    rejects(() => version({ flavors: { f: 1 } }), 'properties.flavors.f');
    rejects(() => version({ flavors: { f: { data: { k: 1 } } } }), 'properties.flavors.f.data.k');
    rejects(() => version({ jobName: 1 }), 'properties.jobName');
    rejects(() => version({ description: false }), 'properties.description');
  });

  it('on a registered version changes only description, tags and isArchived', () => {
    const current = version({
      tags: { a: '1' },
      properties: { p: '1' },
      flavors: { f: { data: { x: '1', y: '2' } } },
    });
    expect(
      version(
        {
          tags: { a: '2' },
          description: 'x',
          isArchived: true,
          properties: { p: '1' },
          flavors: { f: { data: { y: '2', x: '1' } } },
        },
        current,
      ),
    ).toMatchObject({ tags: { a: '2' }, description: 'x', isArchived: true });
    rejects(
      () =>
        version({ modelUri: 'file:///elsewhere', properties: { p: '1' }, flavors: current.flavors }, current),
      'properties.modelUri',
    );
    rejects(
      () => version({ properties: { p: '2' }, flavors: current.flavors }, current),
      'properties.properties',
    );
    rejects(() => version({ properties: { p: '1' } }, current), 'properties.flavors');
  });
});

describe('render', () => {
  const container: ModelContainerSpec = {
    tags: { a: '1' },
    properties: {},
    isArchived: false,
    description: 'd',
  };

  it('a container reports latestVersion (last created) and nextVersion', () => {
    expect(
      renderModelContainer(container, { workspaceId: WS_ID, name: 'm1', ...AT, versions: ['3', 'v9', '1'] }),
    ).toEqual({
      id: `${WS_ID}/models/m1`,
      name: 'm1',
      type: 'Microsoft.MachineLearningServices/workspaces/models',
      systemData: { createdAt: AT.createdAt, lastModifiedAt: AT.updatedAt },
      properties: {
        description: 'd',
        tags: { a: '1' },
        properties: {},
        isArchived: false,
        latestVersion: '1',
        nextVersion: '4',
      },
    });
    const empty = renderModelContainer(container, { workspaceId: WS_ID, name: 'm1', ...AT, versions: [] });
    expect(empty.properties).not.toHaveProperty('latestVersion');
    expect(empty.properties.nextVersion).toBe('1');
  });

  it('a version is named by its version under the container’s id', () => {
    const spec = version({ jobName: 'j', description: 'd', tags: { t: '1' } });
    expect(renderModelVersion(spec, { workspaceId: WS_ID, name: 'm1', version: '1', ...AT })).toEqual({
      id: `${WS_ID}/models/m1/versions/1`,
      name: '1',
      type: 'Microsoft.MachineLearningServices/workspaces/models/versions',
      systemData: { createdAt: AT.createdAt, lastModifiedAt: AT.updatedAt },
      properties: {
        modelUri: `mlgrid://artifacts/${SHA}`,
        modelType: 'custom_model',
        description: 'd',
        tags: { t: '1' },
        properties: {},
        jobName: 'j',
        isArchived: false,
        isAnonymous: false,
      },
    });
  });
});

describe('nextVersion', () => {
  it('is the largest integer version plus one, "1" to start, ignoring non-integers', () => {
    expect(nextVersion([])).toBe('1');
    expect(nextVersion(['v1', '1.0', 'latest'])).toBe('1');
    expect(nextVersion(['1', '2', '10', '9'])).toBe('11');
    expect(nextVersion(['007'])).toBe('8');
    expect(nextVersion(['99999999999999999999'])).toBe('100000000000000000000');
  });
});

describe('with @azure/arm-machinelearning 2.1.1', () => {
  /** The real SDK against an in-process fake of the two PUTs and the GETs, errors as ARM error bodies. */
  function sdk() {
    const store = new Map<string, unknown>();
    const handle = (request: PipelineRequest, path: string): unknown => {
      const m = /\/models\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(path);
      if (request.method !== 'PUT' || !m?.[1]) return store.get(path);
      const [name, ver] = [m[1], m[2]];
      const body = JSON.parse(String(request.body));
      const out =
        ver === undefined
          ? renderModelContainer(parseModelContainerPut(body, { name }), {
              workspaceId: WS_ID,
              name,
              ...AT,
              versions: ['1'],
            })
          : renderModelVersion(parseModelVersionPut(body, { name, version: ver }), {
              workspaceId: WS_ID,
              name,
              version: ver,
              ...AT,
            });
      store.set(path, out);
      return out;
    };
    const reply = (request: PipelineRequest, status: number, body: unknown): PipelineResponse => ({
      request,
      status,
      headers: createHttpHeaders({ 'content-type': 'application/json' }),
      bodyAsText: JSON.stringify(body),
    });
    return new AzureMachineLearningWorkspaces(
      { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) },
      SUB,
      {
        httpClient: {
          async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
            try {
              const body = handle(request, new URL(request.url).pathname);
              if (body === undefined) return reply(request, 404, { error: { code: 'ResourceNotFound' } });
              return reply(request, 200, body);
            } catch (e) {
              if (!(e instanceof MlgridError)) throw e;
              return reply(request, e.status, {
                error: { code: e.code, message: e.message, target: e.target },
              });
            }
          },
        },
      },
    );
  }

  it('a version registered through the SDK round-trips into ModelVersion', async () => {
    const client = sdk();
    await client.modelVersions.createOrUpdate('rg', 'ws1', 'm1', '1', {
      properties: {
        modelUri: 'file:///models/m1',
        modelType: 'mlflow_model',
        description: 'd',
        tags: { stage: 'prod' },
        properties: { accuracy: '0.93' },
        flavors: { python_function: { data: { loader_module: 'mlflow.sklearn' } } },
        jobName: 'job-42',
      },
    });
    const got = await client.modelVersions.get('rg', 'ws1', 'm1', '1');
    expect(got).toMatchObject({
      id: `${WS_ID}/models/m1/versions/1`,
      name: '1',
      type: 'Microsoft.MachineLearningServices/workspaces/models/versions',
      properties: {
        modelUri: 'file:///models/m1',
        modelType: 'mlflow_model',
        description: 'd',
        tags: { stage: 'prod' },
        properties: { accuracy: '0.93' },
        flavors: { python_function: { data: { loader_module: 'mlflow.sklearn' } } },
        jobName: 'job-42',
        isArchived: false,
        isAnonymous: false,
      },
    });
    expect(got.systemData?.lastModifiedAt).toEqual(new Date(AT.updatedAt));
  });

  it('a container round-trips into ModelContainer with latestVersion/nextVersion', async () => {
    const client = sdk();
    const got = await client.modelContainers.createOrUpdate('rg', 'ws1', 'm1', {
      properties: { description: 'd', tags: { a: '1' } },
    });
    expect(got).toMatchObject({
      id: `${WS_ID}/models/m1`,
      name: 'm1',
      properties: {
        description: 'd',
        tags: { a: '1' },
        isArchived: false,
        latestVersion: '1',
        nextVersion: '2',
      },
    });
  });

  it('a dotted model name, which the spec pattern excludes, is a 400 the SDK surfaces', async () => {
    await expect(
      sdk().modelContainers.createOrUpdate('rg', 'ws1', 'my.model', { properties: {} }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidResourceName' });
  });
});
