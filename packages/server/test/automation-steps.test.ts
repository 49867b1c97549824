/**
 * The submitJob and deployModel step kinds, each executed directly with a hand-built StepContext (the real
 * templating) against a real server's services: Command jobs that really run, deployments with real scoring
 * processes. sendEmail: automation-send-email.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepContext, TriggerEvent } from '../src/core/automation-step.js';
import { deployModelStep } from '../src/engine/steps/deploy-model.js';
import { submitJobStep } from '../src/engine/steps/submit-job.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { stepContext, stepFailure as failure } from './helpers/step-context.js';
import { tempDir } from './helpers/tmp.js';

const REF = { subscriptionId: 's', resourceGroup: 'rg', workspace: 'ws-steps' };
const WS = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/${REF.workspace}`;

let s: TestServer;
const t = tempDir();
beforeAll(async () => {
  s = await startTestServer('sqlite', { jobs: { pollMs: 100 } });
  expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
});
afterAll(async () => {
  await s?.stop();
  t.cleanup();
});

const context = (events: TriggerEvent[], over: Partial<StepContext> = {}) =>
  stepContext(REF, s.url, events, over);
let seq = 0;

// ---------------------------------------------------------------- submitJob

describe('submitJob', () => {
  const kind = () => submitJobStep({ jobs: s.services.jobs, pollMs: 50 });
  const drift = (name: string): TriggerEvent => ({
    id: `drift-${name}`,
    eventType: 'Microsoft.MachineLearningServices.DatasetDriftDetected',
    subject: `datadrift/d1/run/r-${name}`,
    topic: WS,
    eventTime: '2024-05-01T10:00:00.000Z',
    data: { dataDriftId: 'd1', dataDriftName: name, runId: `r-${name}`, targetDatasetId: 'azureml:target:2' },
  });
  const job = (command: string) => ({
    job: {
      properties: {
        jobType: 'Command',
        command,
        environmentId: 'azureml:python:1',
        environmentVariables: { TARGET: '{{data.targetDatasetId}}' },
        displayName: 'retrain for {{data.dataDriftName}}',
      },
    },
  });
  const PRINT =
    `python3 -c "import os, sys; print('monitor=' + sys.argv[1]); print('target=' + os.environ['TARGET']);` +
    ` print('corr=' + os.environ['MLGRID_CORRELATION_ID'])" {{data.dataDriftName}}`;

  it('submits a Command job filled from the event that really runs, with the lineage, and waits for it', async () => {
    const k = kind();
    const ev = drift("mon'; echo INJECTED; '");
    const r = await k.execute(k.parse({ ...job(PRINT), wait: true }, 'steps[0]'), context([ev]));
    expect(r.output).toMatchObject({ status: 'Completed', created: true, exitCode: 0 });
    const name = r.output!.name as string;
    expect(r.output!.id).toBe(`${WS}/jobs/${name}`);
    const logs = await (await s.arm('GET', `${WS}/jobs/${name}/logs`)).text();
    expect(logs).toContain(`monitor=mon'; echo INJECTED; '\n`); // one argument, not shell code
    expect(logs).not.toMatch(/^INJECTED$/m);
    expect(logs).toContain('target=azureml:target:2');
    expect(logs).toContain('corr=corr-0001');
    const got = await (await s.arm('GET', `${WS}/jobs/${name}`)).json();
    expect(got.properties.properties).toMatchObject({
      'mlgrid.correlationId': 'corr-0001',
      'mlgrid.causationId': ev.id,
      'mlgrid.automation': 'auto-1',
    });
    expect(got.properties.displayName).toBe(`retrain for mon'; echo INJECTED; '`);
  });

  it('a repeated step (same idempotency key) finds its job instead of creating a second one', async () => {
    const k = kind();
    const spec = k.parse(job('echo once'), 'steps[0]');
    const ctx = context([drift('mon-2')]);
    const a = await k.execute(spec, ctx);
    const b = await k.execute(spec, ctx);
    expect(a.output!.created).toBe(true);
    expect(b.output).toMatchObject({ created: false, name: a.output!.name });
    const jobs = (await (await s.arm('GET', `${WS}/jobs`)).json()).value as { name: string }[];
    expect(jobs.filter((j) => j.name === a.output!.name)).toHaveLength(1);
    const c = await k.execute(spec, context([drift('mon-2')])); // another run: another job
    expect(c.output!.name).not.toBe(a.output!.name);
  });

  it('with wait, a job that fails fails the step (not retryable); a bad filled field names the field', async () => {
    const k = kind();
    const e = await failure(
      k.execute(k.parse({ ...job('echo bye; exit 3'), wait: true }, 's'), context([drift('m3')])),
    );
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/ended Failed/);

    const bad = k.parse(
      { job: { properties: { ...job('echo').job.properties, codeId: '{{data.dataDriftName}}' } } },
      's',
    );
    const f = await failure(k.execute(bad, context([drift('relative-folder')])));
    expect(f.retryable).toBe(false);
    expect(f.message).toMatch(/properties\.codeId/);
  });
});

// ---------------------------------------------------------------- deployModel

describe('deployModel', () => {
  const code = join(t.dir, 'code');
  const kind = () =>
    deployModelStep({ endpoints: s.services.endpoints, deployments: s.services.deployments, pollMs: 100 });
  const registered = (version: number, tags: Record<string, string>): TriggerEvent => ({
    id: `reg-${version}-${++seq}`,
    eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
    subject: `models/churn:${version}`,
    topic: WS,
    eventTime: '2024-05-01T10:00:00.000Z',
    data: { modelName: 'churn', modelVersion: String(version), modelTags: tags, modelProperties: {} },
  });
  const EP = `${WS}/onlineEndpoints/churn-ep`;
  const traffic = async () => (await (await s.arm('GET', EP)).json()).properties.traffic;
  const deployments = async () =>
    ((await (await s.arm('GET', `${EP}/deployments`)).json()).value as { name: string }[])
      .map((d) => d.name)
      .sort();
  let key: string;
  const score = async (deployment: string) => {
    const res = await fetch(`${s.url}/endpoints/churn-ep/score`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'azureml-model-deployment': deployment,
      },
      body: '{}',
    });
    return res.json();
  };
  const spec = {
    rules: [
      {
        when: { tags: { deploy: 'true', stage: 'prod' } },
        endpoint: '{{data.modelTags.endpoint}}',
        createEndpointIfMissing: true,
        codeConfiguration: { codeId: pathToFileURL(code).href, scoringScript: 'score.py' },
      },
      { when: { tags: { deploy: 'true', stage: 'canary' } }, endpoint: 'churn-ep', trafficPercent: 20 },
      {
        when: { tags: { deploy: 'true', stage: 'broken' } },
        endpoint: 'churn-ep',
        trafficPercent: 50,
        codeConfiguration: { codeId: code, scoringScript: 'broken.py' },
      },
      {
        when: { tags: { deploy: 'true', stage: 'in-place' } },
        endpoint: 'churn-ep',
        deploymentName: 'stable',
        trafficPercent: 0,
        codeConfiguration: { codeId: code, scoringScript: '{{data.modelTags.script}}' },
      },
      { when: { tags: { deploy: 'true', stage: 'elsewhere' } }, endpoint: 'no-such-ep' },
    ],
  };

  const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/all-events`;
  const deployed = async () =>
    ((await (await s.arm('GET', `${ES}/deliveries?top=1000`)).json()).value as { event: TriggerEvent }[])
      .map((d) => d.event)
      .filter((e) => e.eventType === 'Microsoft.MachineLearningServices.ModelDeployed');

  beforeAll(async () => {
    const hook = { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } };
    expect((await s.arm('PUT', ES, { properties: { destination: hook } })).status).toBe(201);
    mkdirSync(code);
    writeFileSync(
      join(code, 'score.py'),
      'import json, os\nv = None\ndef init():\n    global v\n    v = json.load(open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")))["version"]\n' +
        'def run(raw):\n    return {"version": v}\n',
    );
    writeFileSync(join(code, 'broken.py'), 'def init():\n    raise RuntimeError("cannot load the model")\n');
    for (const v of [1, 2, 3, 4]) {
      const dir = join(t.dir, `model-${v}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ version: v }));
      const put = await s.arm('PUT', `${WS}/models/churn/versions/${v}`, {
        properties: { modelUri: pathToFileURL(dir).href },
      });
      expect(put.status).toBe(201);
    }
  });

  it('deploys a registered version by its tags to the endpoint a tag names, with all traffic and the lineage', async () => {
    const k = kind();
    const ev = registered(1, { deploy: 'true', stage: 'prod', endpoint: 'churn-ep' });
    const r = await k.execute(k.parse(spec, 'steps[0]'), context([ev]));
    expect(r.output).toMatchObject({
      endpoint: 'churn-ep',
      deployment: 'churn-v1',
      model: 'churn:1',
      provisioningState: 'Succeeded',
      reused: false,
      rule: 0,
    });
    expect(await traffic()).toEqual({ 'churn-v1': 100 });
    const d = await (await s.arm('GET', `${EP}/deployments/churn-v1`)).json();
    expect(d.properties.properties).toMatchObject({
      'mlgrid.correlationId': 'corr-0001',
      'mlgrid.causationId': ev.id,
    });
    // The service raised ModelDeployed once provisioning succeeded; the lineage rides in serviceProperties.
    const ev1 = (await deployed()).filter(
      (e) => (e.data as { deploymentName?: string }).deploymentName === 'churn-v1',
    );
    expect(ev1).toHaveLength(1);
    expect(ev1[0]!.data).toMatchObject({
      modelIds: 'churn:1',
      serviceProperties: { 'mlgrid.correlationId': 'corr-0001', 'mlgrid.causationId': ev.id },
    });
    key = (await (await s.arm('POST', `${EP}/listKeys`)).json()).primaryKey;
    expect(await score('churn-v1')).toEqual({ version: 1 });
  });

  it('a repeated step for the same version deploys nothing', async () => {
    const k = kind();
    const before = await (await s.arm('GET', `${EP}/deployments/churn-v1`)).json();
    const r = await k.execute(
      k.parse(spec, 's'),
      context([registered(1, { deploy: 'true', stage: 'prod', endpoint: 'churn-ep' })]),
    );
    expect(r.output).toMatchObject({ deployment: 'churn-v1', reused: true });
    const after = await (await s.arm('GET', `${EP}/deployments/churn-v1`)).json();
    expect(after.systemData.lastModifiedAt).toBe(before.systemData.lastModifiedAt); // no second PUT
    expect(await deployments()).toEqual(['churn-v1']);
    expect(await deployed()).toHaveLength(1); // no second ModelDeployed
  });

  it('a canary gets its share, copying the code from the live deployment; the rest stays where it was', async () => {
    const k = kind();
    const r = await k.execute(
      k.parse(spec, 's'),
      context([registered(2, { deploy: 'true', stage: 'canary' })]),
    );
    expect(r.output).toMatchObject({ deployment: 'churn-v2', traffic: { 'churn-v1': 80, 'churn-v2': 20 } });
    expect(await traffic()).toEqual({ 'churn-v1': 80, 'churn-v2': 20 });
    expect(await score('churn-v2')).toEqual({ version: 2 });
  });

  it('a deployment that fails is rolled back: traffic as before, the failed deployment deleted', async () => {
    const k = kind();
    const e = await failure(
      k.execute(k.parse(spec, 's'), context([registered(3, { deploy: 'true', stage: 'broken' })])),
    );
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/churn-ep\/churn-v3 of churn:3 failed: .*cannot load the model/s);
    expect(e.message).toMatch(/rolled back: traffic restored .*churn-v3 deleted/);
    expect(await traffic()).toEqual({ 'churn-v1': 80, 'churn-v2': 20 });
    expect((await s.arm('GET', `${EP}/deployments/churn-v3`)).status).toBe(404);
  });

  it('an update in place that fails puts the previous definition back', async () => {
    const k = kind();
    const good = await k.execute(
      k.parse(spec, 's'),
      context([registered(3, { deploy: 'true', stage: 'in-place', script: 'score.py' })]),
    );
    expect(good.output).toMatchObject({ deployment: 'stable', model: 'churn:3' });
    expect(await score('stable')).toEqual({ version: 3 });
    const e = await failure(
      k.execute(
        k.parse(spec, 's'),
        context([registered(4, { deploy: 'true', stage: 'in-place', script: 'broken.py' })]),
      ),
    );
    expect(e.message).toMatch(/rolled back: .*stable put back to model/);
    const back = await (await s.arm('GET', `${EP}/deployments/stable`)).json();
    expect(back.properties.model).toMatch(/\/models\/churn\/versions\/3$/);
    expect(await traffic()).toEqual({ 'churn-v1': 80, 'churn-v2': 20 }); // 0%: the split never changed
  });

  it('no rule matched: the step succeeds and says so; an endpoint that does not exist fails it', async () => {
    const k = kind();
    const r = await k.execute(
      k.parse(spec, 's'),
      context([registered(4, { deploy: 'false', stage: 'prod' })]),
    );
    expect(r.output).toEqual({ skipped: 'no rule matched', model: 'churn:4' });
    const e = await failure(
      k.execute(k.parse(spec, 's'), context([registered(4, { deploy: 'true', stage: 'elsewhere' })])),
    );
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/endpoint no-such-ep does not exist/);
  });
});
