import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import type { EventGridEvent } from '@mlgrid/protocol';
import { describe, expect, it } from 'vitest';
import {
  datasetDriftDetected,
  datasetDriftDetectionFailed,
  formatSequencer,
  ML_EVENT_TYPES,
  MLGRID_FAILURE_EVENT_TYPES,
  modelDeployed,
  modelDeploymentFailed,
  modelRegistered,
  runCompleted,
  runStatusChanged,
  SEQUENCER_WIDTH,
  workspaceResourceId,
} from './ml-events.js';

const WS = workspaceResourceId('00000000-0000-0000-0000-000000000000', 'jenns', 'jenns-canary');
const NOW = new Date('2025-03-04T05:06:07.089Z');
let counter = 0;
const newId = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
const base = () => ({ workspaceId: WS, now: NOW, id: newId() });
const RUN = {
  experimentId: '0fa9dfaa-cba3-4fa7-b590-23e48548f5c1',
  experimentName: 'automl-local-regression',
  runId: 'AutoML_ad912b2d-6467-4f32-a616-dbe4af6dd8fc',
  runType: 'automl',
  runTags: { experiment_status: 'ModelSelection' },
  runProperties: { num_iterations: '10', target: 'local' },
};
const DRIFT = {
  dataDriftId: '01d29aa4-e6a4-470a-9ef3-66660d21f8ef',
  dataDriftName: 'myDriftMonitor',
  runId: '01d29aa4-e6a4-470a-9ef3-66660d21f8ef_1571590300380',
  baseDatasetId: '3c56d136-0f64-4657-a0e8-5162089a88a3',
  targetDatasetId: 'd7e74d2e-c972-4266-b5fb-6c9c182d2a74',
};
const DEPLOY = {
  serviceName: 'aciservice1',
  serviceComputeType: 'ACI',
  modelIds: ['my_first_model:1', 'my_second_model:1'],
  serviceTags: { mytag: 'test tag' },
  serviceProperties: { myprop: 'test property' },
};

describe('Azure ML events (Event Grid schema)', () => {
  it('ModelRegistered: the exact JSON, with mlgrid’s sequencer and etag after Azure’s fields', () => {
    counter = 0;
    const ev = modelRegistered({
      ...base(),
      modelName: 'sklearn_regression_model',
      modelVersion: 3,
      modelTags: { area: 'diabetes', type: 'regression' },
      modelProperties: { type: 'test' },
      sequencer: 42,
      etag: '"7d2c-3"',
    });
    expect(JSON.stringify(ev)).toBe(
      JSON.stringify({
        id: '00000000-0000-4000-8000-000000000001',
        topic:
          '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/jenns/providers/Microsoft.MachineLearningServices/workspaces/jenns-canary',
        subject: 'models/sklearn_regression_model:3',
        eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
        eventTime: '2025-03-04T05:06:07.089Z',
        data: {
          modelName: 'sklearn_regression_model',
          modelVersion: '3',
          modelTags: { area: 'diabetes', type: 'regression' },
          modelProperties: { type: 'test' },
          sequencer: '00000000000000000042',
          etag: '"7d2c-3"',
        },
        dataVersion: '2',
        metadataVersion: '1',
      }),
    );
  });

  it('ModelDeployed: subject endpoints/{serviceName}, modelIds comma-joined', () => {
    const ev = modelDeployed({ ...base(), id: 'd-1', ...DEPLOY });
    expect(ev).toEqual({
      id: 'd-1',
      topic: WS,
      subject: 'endpoints/aciservice1',
      eventType: 'Microsoft.MachineLearningServices.ModelDeployed',
      eventTime: '2025-03-04T05:06:07.089Z',
      data: {
        serviceName: 'aciservice1',
        serviceComputeType: 'ACI',
        modelIds: 'my_first_model:1,my_second_model:1',
        serviceTags: { mytag: 'test tag' },
        serviceProperties: { myprop: 'test property' },
      },
      dataVersion: '2',
      metadataVersion: '1',
    });
    expect(modelDeployed({ ...base(), ...DEPLOY, modelIds: 'a:1' }).data).toMatchObject({ modelIds: 'a:1' });
  });

  it('RunCompleted and RunStatusChanged: subject experiments/{experimentId}/runs/{runId}', () => {
    const done = runCompleted({ ...base(), id: 'r-1', ...RUN, runType: null, runTags: undefined });
    expect(done).toEqual({
      id: 'r-1',
      topic: WS,
      subject: `experiments/${RUN.experimentId}/runs/${RUN.runId}`,
      eventType: 'Microsoft.MachineLearningServices.RunCompleted',
      eventTime: '2025-03-04T05:06:07.089Z',
      data: {
        experimentId: RUN.experimentId,
        experimentName: 'automl-local-regression',
        runId: RUN.runId,
        runType: null,
        runTags: {},
        runProperties: { num_iterations: '10', target: 'local' },
      },
      dataVersion: '2',
      metadataVersion: '1',
    });
    const changed = runStatusChanged({ ...base(), id: 'r-2', ...RUN, runStatus: 'Failed' });
    expect(changed).toEqual({
      id: 'r-2',
      topic: WS,
      subject: `experiments/${RUN.experimentId}/runs/${RUN.runId}`,
      eventType: 'Microsoft.MachineLearningServices.RunStatusChanged',
      eventTime: '2025-03-04T05:06:07.089Z',
      data: { ...RUN, runStatus: 'Failed' },
      dataVersion: '2',
      metadataVersion: '1',
    });
  });

  it('DatasetDriftDetected: singular datadrift/{id}/run/{runId}', () => {
    const ev = datasetDriftDetected({
      ...base(),
      id: 'dd-1',
      ...DRIFT,
      driftCoefficient: 0.8350349068479208,
      startTime: '2019-07-04T00:00:00+00:00',
      endTime: null,
    });
    expect(ev).toEqual({
      id: 'dd-1',
      topic: WS,
      subject: `datadrift/${DRIFT.dataDriftId}/run/${DRIFT.runId}`,
      eventType: 'Microsoft.MachineLearningServices.DatasetDriftDetected',
      eventTime: '2025-03-04T05:06:07.089Z',
      data: {
        ...DRIFT,
        driftCoefficient: 0.8350349068479208,
        startTime: '2019-07-04T00:00:00+00:00',
        endTime: null,
      },
      dataVersion: '2',
      metadataVersion: '1',
    });
    expect(() =>
      datasetDriftDetected({ ...base(), ...DRIFT, driftCoefficient: NaN, startTime: null, endTime: null }),
    ).toThrow(RangeError);
  });

  it('copies tags so later edits to the caller’s objects do not leak into the event', () => {
    const tags: Record<string, unknown> = { a: '1' };
    const ev = modelRegistered({
      ...base(),
      modelName: 'm',
      modelVersion: '1',
      modelTags: tags,
      sequencer: 1,
      etag: 'e',
    });
    tags.a = '2';
    expect(ev.data).toMatchObject({ modelTags: { a: '1' }, modelProperties: {} });
  });

  it('refuses a topic that is not a workspace resource id', () => {
    expect(() =>
      runCompleted({ ...base(), ...RUN, workspaceId: '9a8b7c6d-0000-0000-0000-000000000000' }),
    ).toThrow(TypeError);
  });

  it('adds sequencer/etag to any event only when given', () => {
    const ev = runStatusChanged({ ...base(), ...RUN, runStatus: 'Failed', sequencer: 7n, etag: 'v7' });
    expect(ev.data).toMatchObject({ sequencer: '00000000000000000007', etag: 'v7' });
    expect(Object.keys(runCompleted({ ...base(), ...RUN }).data as object)).not.toContain('sequencer');
  });
});

describe('mlgrid failure events', () => {
  it('ModelDeploymentFailed: ModelDeployed’s subject and fields plus the cause, dataVersion 1', () => {
    const ev = modelDeploymentFailed({
      ...base(),
      id: 'f-1',
      ...DEPLOY,
      errorCode: 'ImageBuildFailed',
      errorMessage: 'conda env failed',
    });
    expect(ev).toEqual({
      id: 'f-1',
      topic: WS,
      subject: 'endpoints/aciservice1',
      eventType: 'MLGrid.MachineLearningServices.ModelDeploymentFailed',
      eventTime: '2025-03-04T05:06:07.089Z',
      data: {
        serviceName: 'aciservice1',
        serviceComputeType: 'ACI',
        modelIds: 'my_first_model:1,my_second_model:1',
        serviceTags: { mytag: 'test tag' },
        serviceProperties: { myprop: 'test property' },
        errorCode: 'ImageBuildFailed',
        errorMessage: 'conda env failed',
      },
      dataVersion: '1',
      metadataVersion: '1',
    });
  });

  it('DatasetDriftDetectionFailed: the drift subject, no coefficient', () => {
    const ev = datasetDriftDetectionFailed({
      ...base(),
      ...DRIFT,
      errorCode: 'DatasetNotFound',
      errorMessage: 'x',
    });
    expect(ev.subject).toBe(`datadrift/${DRIFT.dataDriftId}/run/${DRIFT.runId}`);
    expect(ev.data).toEqual({ ...DRIFT, errorCode: 'DatasetNotFound', errorMessage: 'x' });
    expect(ev.eventType).toBe('MLGrid.MachineLearningServices.DatasetDriftDetectionFailed');
  });

  it('the catalogues are disjoint and every type is namespaced', () => {
    expect(ML_EVENT_TYPES.every((t) => t.startsWith('Microsoft.MachineLearningServices.'))).toBe(true);
    expect(MLGRID_FAILURE_EVENT_TYPES.every((t) => t.startsWith('MLGrid.MachineLearningServices.'))).toBe(
      true,
    );
  });
});

describe('formatSequencer', () => {
  it('zero-pads to a fixed width so string order is numeric order across widths', () => {
    const nums = [100, 9, 10, 0, 99, 1_000_000, 2 ** 53 - 1];
    const strs = nums.map(formatSequencer);
    expect(strs.every((s) => s.length === SEQUENCER_WIDTH)).toBe(true);
    expect([...strs].sort()).toEqual([...nums].sort((a, b) => a - b).map(formatSequencer));
    expect(formatSequencer(9) < formatSequencer(10)).toBe(true);
    expect(formatSequencer(10) < formatSequencer(100)).toBe(true);
    expect('9' < '10').toBe(false); // what the padding is for
  });

  it('takes bigints up to the unsigned 64-bit maximum', () => {
    expect(formatSequencer(18446744073709551615n)).toBe('18446744073709551615');
    expect(formatSequencer(0n)).toBe('00000000000000000000');
  });

  it('rejects negative, fractional, unsafe and too-wide values', () => {
    for (const bad of [-1, 1.5, 2 ** 53, -1n, 10n ** 20n])
      expect(() => formatSequencer(bad)).toThrow(RangeError);
  });
});

describe('the Azure SDK reads every event', () => {
  const all: [string, EventGridEvent][] = [
    [
      'Microsoft.MachineLearningServices.ModelRegistered',
      modelRegistered({ ...base(), modelName: 'm', modelVersion: '1', sequencer: 1, etag: 'e' }),
    ],
    ['Microsoft.MachineLearningServices.ModelDeployed', modelDeployed({ ...base(), ...DEPLOY })],
    ['Microsoft.MachineLearningServices.RunCompleted', runCompleted({ ...base(), ...RUN })],
    [
      'Microsoft.MachineLearningServices.RunStatusChanged',
      runStatusChanged({ ...base(), ...RUN, runStatus: 'Failed' }),
    ],
    [
      'Microsoft.MachineLearningServices.DatasetDriftDetected',
      datasetDriftDetected({ ...base(), ...DRIFT, driftCoefficient: 0.5, startTime: null, endTime: null }),
    ],
  ];

  it('covers the whole catalogue', () => {
    expect(all.map(([t]) => t).sort()).toEqual([...ML_EVENT_TYPES].sort());
  });

  it.each(all)('%s deserializes and is recognized as the system event', async (type, ev) => {
    const [got] = await new EventGridDeserializer().deserializeEventGridEvents(JSON.stringify([ev]));
    expect(got).toBeDefined();
    expect(got!.eventTime).toEqual(NOW);
    expect(got!.topic).toBe(WS);
    expect(got!.dataVersion).toBe('2');
    expect(isSystemEvent(type as (typeof ML_EVENT_TYPES)[number], got!)).toBe(true);
  });

  it('typed access works on camelCase data', async () => {
    const [got] = await new EventGridDeserializer().deserializeEventGridEvents(JSON.stringify([all[0]![1]]));
    if (!isSystemEvent('Microsoft.MachineLearningServices.ModelRegistered', got!))
      throw new Error('not recognized');
    expect(got.data.modelName).toBe('m');
    expect(got.data.modelVersion).toBe('1');
  });
});
