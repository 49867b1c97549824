import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import {
  applyJobUpdate,
  canTransition,
  JOB_STATUSES,
  parseJobPut,
  predecessors,
  renderJob,
  transition,
  validateJobName,
} from './job.js';
import { experimentId, inheritedEnv, jobEnvironment, resolveCommand, runEvents } from './job-run.js';

const WS_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1';
const cmd = (props: Record<string, unknown> = {}) =>
  parseJobPut(
    {
      properties: {
        jobType: 'Command',
        command: 'python train.py',
        environmentId: 'azureml:env:1',
        ...props,
      },
    },
    { name: 'job-1' },
  );

function failure(fn: () => unknown): { status: number; target: string | undefined; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MlgridError) return { status: e.status, target: e.target, message: e.message };
    throw e;
  }
  throw new Error('expected an MlgridError');
}

describe('status state machine', () => {
  it('allows the happy path, failure, and cancel through CancelRequested only', () => {
    const path = ['NotStarted', 'Queued', 'Starting', 'Running', 'Finalizing', 'Completed'];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
    expect(canTransition('Running', 'Failed')).toBe(true);
    expect(canTransition('Running', 'Canceled')).toBe(false);
    expect(canTransition('CancelRequested', 'Canceled')).toBe(true);
    expect(canTransition('Queued', 'Running')).toBe(false);
    for (const end of ['Completed', 'Failed', 'Canceled']) {
      for (const s of JOB_STATUSES) expect(canTransition(end, s)).toBe(false);
    }
    expect(failure(() => transition('Completed', 'Running'))).toMatchObject({ status: 409 });
    expect(transition('Running', 'Finalizing')).toBe('Finalizing');
    expect(predecessors('Canceled')).toEqual(['CancelRequested']);
    expect(predecessors('Failed')).toEqual([
      'NotStarted',
      'Queued',
      'Starting',
      'Running',
      'Finalizing',
      'CancelRequested',
    ]);
  });
});

describe('parseJobPut', () => {
  it('reads a Command job with defaults', () => {
    expect(cmd()).toEqual({
      jobType: 'Command',
      command: 'python train.py',
      environmentId: 'azureml:env:1',
      environmentVariables: {},
      experimentName: 'Default',
      tags: {},
      properties: {},
      inputs: {},
      outputs: {},
      isArchived: false,
    });
    const full = cmd({
      codeId: 'file:///src/train',
      experimentName: 'exp',
      displayName: 'd',
      environmentVariables: { A: '1', B: null },
      inputs: {
        data: { jobInputType: 'uri_folder', uri: 'file:///data/x' },
        lr: { jobInputType: 'literal', value: '0.1' },
        remote: { jobInputType: 'uri_file', uri: 'azureml://datastores/d/paths/f.csv' },
      },
      outputs: { model: { jobOutputType: 'uri_folder', path: '/out/model' }, metrics: {} },
      command: 'python train.py --data ${{inputs.data}} --lr ${{ inputs.lr }} --out ${{outputs.model}}',
    });
    expect(full.codePath).toBe('/src/train');
    expect(full.environmentVariables).toEqual({ A: '1' });
    expect(full.outputs).toEqual({
      model: { type: 'uri_folder', uri: '/out/model' },
      metrics: { type: 'uri_folder' },
    });
    expect(resolveCommand(full)).toBe('python train.py --data /data/x --lr 0.1 --out /out/model');
  });

  it('refuses other job types, missing fields, relative code and unknown placeholders', () => {
    expect(failure(() => cmd({ jobType: 'Sweep' }))).toMatchObject({
      status: 400,
      target: 'properties.jobType',
      message: expect.stringContaining('Sweep jobs are not supported yet'),
    });
    expect(failure(() => cmd({ command: '  ' }))).toMatchObject({ target: 'properties.command' });
    expect(failure(() => cmd({ environmentId: undefined }))).toMatchObject({
      target: 'properties.environmentId',
    });
    expect(failure(() => cmd({ codeId: 'src' }))).toMatchObject({ target: 'properties.codeId' });
    expect(failure(() => cmd({ codeId: `${WS_ID}/codes/c/versions/1` })).message).toContain(
      'code assets are not supported yet',
    );
    expect(failure(() => cmd({ command: 'run ${{inputs.nope}}' }))).toMatchObject({
      target: 'properties.command',
    });
    expect(failure(() => cmd({ inputs: { x: { jobInputType: 'uri_file', uri: 'rel/x' } } }))).toMatchObject({
      target: 'properties.inputs.x.uri',
    });
    expect(failure(() => cmd({ inputs: { 'bad-name': { uri: '/x' } } }))).toMatchObject({
      target: 'properties.inputs.bad-name',
    });
    expect(failure(() => validateJobName('-x'))).toMatchObject({ target: 'name' });
  });

  it('lets a PUT on an existing job change only tags, description, display name and archiving', () => {
    const cur = cmd({ tags: { a: '1' } });
    const next = applyJobUpdate(cur, cmd({ tags: { b: '2' }, description: 'new', displayName: 'D' }));
    expect(next).toMatchObject({
      tags: { b: '2' },
      description: 'new',
      displayName: 'D',
      command: cur.command,
    });
    expect(failure(() => applyJobUpdate(cur, cmd({ command: 'other' })))).toMatchObject({
      status: 400,
      target: 'properties.command',
    });
  });
});

describe('running a job', () => {
  it('derives one stable experiment id per workspace and experiment name', () => {
    const id = experimentId(WS_ID, 'exp');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(experimentId(WS_ID.toUpperCase(), 'exp')).toBe(id);
    expect(experimentId(WS_ID, 'other')).not.toBe(id);
  });

  it("builds the environment: Azure's run variables, inputs, outputs, then the job's own", () => {
    const spec = cmd({
      inputs: { data: { uri: 'file:///data/x' } },
      outputs: { model: { uri: 'file:///out/m' } },
      environmentVariables: { AZUREML_RUN_ID: 'mine' },
    });
    const env = jobEnvironment(
      spec,
      { subscriptionId: 's', resourceGroup: 'rg', workspaceName: 'ws1', jobName: 'job-1', experimentId: 'e' },
      inheritedEnv({ PATH: '/bin', MLGRID_ADMIN_KEY: 'secret', DATABASE_URL: 'pg://x' }),
    );
    expect(env).toEqual({
      PATH: '/bin',
      AZUREML_RUN_ID: 'mine',
      AZUREML_ARM_SUBSCRIPTION: 's',
      AZUREML_ARM_RESOURCEGROUP: 'rg',
      AZUREML_ARM_WORKSPACE_NAME: 'ws1',
      AZUREML_ARM_PROJECT_NAME: 'Default',
      AZUREML_EXPERIMENT_ID: 'e',
      AZURE_ML_INPUT_data: '/data/x',
      AZURE_ML_OUTPUT_model: '/out/m',
    });
  });

  it('raises RunCompleted on Completed and RunStatusChanged for the configured statuses', async () => {
    let n = 0;
    const events = (status: string, statuses = ['Failed']) =>
      runEvents({
        workspaceId: WS_ID,
        workspace: { runStatusChangedStatuses: statuses },
        jobName: 'job-1',
        spec: cmd({ tags: { t: '1' }, properties: { p: '2' } }),
        status,
        sequencer: 4,
        etag: 'tag',
        now: new Date('2025-01-01T00:00:00Z'),
        newId: () => `id-${++n}`,
      });
    expect(events('Running')).toEqual([]);
    expect(events('Canceled')).toEqual([]);
    const [done] = events('Completed');
    expect(done).toMatchObject({
      topic: WS_ID,
      subject: `experiments/${experimentId(WS_ID, 'Default')}/runs/job-1`,
      eventType: 'Microsoft.MachineLearningServices.RunCompleted',
      data: {
        experimentName: 'Default',
        runId: 'job-1',
        runType: 'command',
        runTags: { t: '1' },
        runProperties: { p: '2' },
        sequencer: '00000000000000000004',
        etag: 'tag',
      },
    });
    const [failed] = events('Failed');
    const [parsed] = await new EventGridDeserializer().deserializeEventGridEvents(JSON.stringify([failed]));
    expect(isSystemEvent('Microsoft.MachineLearningServices.RunStatusChanged', parsed!)).toBe(true);
    expect(parsed!.data).toMatchObject({ runStatus: 'Failed', runId: 'job-1' });
    expect(events('Completed', ['Completed']).map((e) => e.eventType)).toEqual([
      'Microsoft.MachineLearningServices.RunCompleted',
      'Microsoft.MachineLearningServices.RunStatusChanged',
    ]);
  });

  it('renders JobBase with the status and mlgrid run details', () => {
    const out = renderJob(cmd({ codeId: '/src' }), {
      workspaceId: WS_ID,
      name: 'job-1',
      status: 'Failed',
      statusHistory: [{ status: 'NotStarted', time: 't0' }],
      experimentId: 'e',
      createdAt: 'c',
      updatedAt: 'u',
      exitCode: 3,
      failureReason: 'exit code 3',
      logsUrl: 'http://x/logs',
    });
    expect(out).toMatchObject({
      id: `${WS_ID}/jobs/job-1`,
      type: 'Microsoft.MachineLearningServices/workspaces/jobs',
      properties: {
        jobType: 'Command',
        codeId: '/src',
        status: 'Failed',
        services: { Logs: { jobServiceType: 'Logs', endpoint: 'http://x/logs' } },
        mlgridRun: { experimentId: 'e', exitCode: 3, failureReason: 'exit code 3' },
      },
    });
    expect(out.properties).not.toHaveProperty('codePath');
  });
});
