/**
 * Lineage end to end on SQLite and PostgreSQL, with the parts an automation would drive played by hand: a real
 * drift run raises DatasetDriftDetected (the root); a retraining job carries its id as properties (as submitJob
 * puts them) and its real process registers a model with its own job token (inheriting the lineage server-side);
 * a deployment carries the ModelRegistered id (as deployModel puts it). Events are received by real webhooks
 * (Event Grid schema, parsed with @azure/eventgrid; CloudEvents, parsed with the cloudevents SDK), and the lineage
 * API returns the chain from its id and from any of its objects.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftFixtures } from './fixtures/drift-data.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('lineage');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const C = 'mlgrid.correlationId';
const K = 'mlgrid.causationId';
const ML = 'Microsoft.MachineLearningServices';

/** The retraining job's code: reports what it got, tries a route its token may not use, registers a model. */
const REGISTER = `import { writeFileSync } from 'node:fs';
const e = process.env;
console.log('lineage corr=' + e.MLGRID_CORRELATION_ID + ' cause=' + e.MLGRID_CAUSATION_ID);
writeFileSync(e.TOKEN_FILE, e.MLGRID_JOB_TOKEN);
const ws = e.MLGRID_JOB_ID.slice(0, e.MLGRID_JOB_ID.lastIndexOf('/jobs/'));
const headers = { authorization: 'Bearer ' + e.MLGRID_JOB_TOKEN, 'content-type': 'application/json' };
const read = await fetch(e.MLGRID_SERVER + ws + '?api-version=2022-10-01', { headers });
console.log('workspace read ' + read.status);
const put = await fetch(e.MLGRID_SERVER + ws + '/models/churn/versions/1?api-version=2022-10-01', {
  method: 'PUT', headers, body: JSON.stringify({ properties: { modelUri: e.MODEL_URI } }),
});
console.log('register ' + put.status + ' ' + (await put.text()));
process.exit(put.status === 201 ? 0 : 1);
`;

const SCORE = `import { readFileSync } from 'node:fs';
let factor;
export function init() {
  factor = JSON.parse(readFileSync(process.env.AZUREML_MODEL_DIR + '/model.json', 'utf8')).factor;
}
export async function run(raw) { return { y: JSON.parse(raw).data.map((x) => x * factor) }; }
`;

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('lineage on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let eg: Receiver;
  let ce: Receiver;
  const t = tempDir('mlgrid-lineage-');
  const drift = driftFixtures();
  const WS = `/subscriptions/s/resourceGroups/rg/providers/${ML}/workspaces/lin-${backend}`;
  const ES = `${WS}/providers/Microsoft.EventGrid/eventSubscriptions`;
  const EP = `${WS}/onlineEndpoints/ep-${backend}`;
  const JOB = `${WS}/jobs/retrain`;
  const MODEL = `${WS}/models/churn/versions/1`;
  const DEPLOYMENT = `${EP}/deployments/blue`;
  const code = join(t.dir, 'code');
  const model = join(t.dir, 'model');
  const tokenFile = join(t.dir, 'token');
  const chain: Json = {}; // ids gathered along the way: drift, registered, deployed

  const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as Json });
  /** Event Grid events received so far, as the Azure SDK parses them. */
  const received = async () =>
    new EventGridDeserializer().deserializeEventGridEvents(
      JSON.stringify(eg.notifications().flatMap((r) => JSON.parse(r.body) as Json[])),
    );
  const receivedOf = async (type: string, pred: (d: Json) => boolean = () => true) => {
    await eg.waitFor(() =>
      eg
        .notifications()
        .some((r) => (JSON.parse(r.body) as Json[]).some((e) => e.eventType === type && pred(e.data))),
    );
    return (await received()).find((e) => e.eventType === type && pred(e.data as Json))!;
  };
  const cloudEventOf = async (type: string, pred: (d: Json) => boolean = () => true) => {
    const parse = (r: { headers: Json; body: string }) => HTTP.toEvent({ headers: r.headers, body: r.body });
    const find = () =>
      ce
        .notifications()
        .map((r) => parse(r) as Json)
        .find((e) => e.type === type && pred(e.data));
    await ce.waitFor(() => find() !== undefined);
    return find()!;
  };
  const waitJob = (name: string) =>
    until(
      async () => (await json(await s.arm('GET', `${WS}/jobs/${name}`))).body,
      (j) => ['Completed', 'Failed', 'Canceled'].includes(j.properties?.status),
      60_000,
    );

  beforeAll(async () => {
    if (skip) return;
    mkdirSync(code);
    mkdirSync(model);
    writeFileSync(join(code, 'register.mjs'), REGISTER);
    writeFileSync(join(code, 'score.mjs'), SCORE);
    writeFileSync(join(model, 'model.json'), JSON.stringify({ factor: 2 }));
    eg = await startReceiver();
    ce = await startReceiver();
    s = await startTestServer(backend, {
      jobs: { pollMs: 50 },
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false },
    });
    expect((await s.arm('PUT', WS, { location: 'local' })).status).toBe(201);
    const hook = (url: string) => ({ endpointType: 'WebHook', properties: { endpointUrl: url } });
    expect(
      (await s.arm('PUT', `${ES}/eg-events`, { properties: { destination: hook(eg.url) } })).status,
    ).toBe(201);
    const ceSub = { destination: hook(ce.url), eventDeliverySchema: 'CloudEventSchemaV1_0' };
    expect((await s.arm('PUT', `${ES}/ce-events`, { properties: ceSub })).status).toBe(201);
    for (const [name, file] of [
      ['base', 'baseline.csv'],
      ['target', 'target.csv'],
    ]) {
      const uri = pathToFileURL(join(drift.dir, file!)).href;
      const r = await s.arm('PUT', `${WS}/data/${name}/versions/1`, {
        properties: { dataType: 'uri_file', dataUri: uri },
      });
      expect(r.status).toBe(201);
    }
    const monitor = {
      properties: {
        baselineData: 'base:1',
        targetData: 'target:1',
        timestampColumn: 'ts',
        frequency: 'Day',
      },
    };
    expect((await s.arm('PUT', `${WS}/dataDriftDetectors/churn-drift`, monitor)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    await eg?.close();
    await ce?.close();
    t.cleanup();
    drift.cleanup();
  });

  it.skipIf(skip)(
    'a drift event is a chain root: no lineage fields, Azure’s payload as it was',
    async () => {
      const run = await s.arm('POST', `${WS}/dataDriftDetectors/churn-drift/run`, {
        targetDate: '2025-01-02',
      });
      expect(run.status).toBe(200);
      const d = await receivedOf(`${ML}.DatasetDriftDetected`);
      expect(isSystemEvent(`${ML}.DatasetDriftDetected`, d)).toBe(true);
      expect(d.data).not.toHaveProperty('correlationId');
      expect(d.data).not.toHaveProperty('causationId');
      chain.drift = d.id;
      const root = await json(await s.arm('GET', `${WS}/lineage/${d.id}`));
      expect(root.status).toBe(200);
      expect(root.body).toMatchObject({
        correlationId: d.id,
        events: [
          {
            order: 1,
            id: d.id,
            type: `${ML}.DatasetDriftDetected`,
            source: `${WS}/dataDriftDetectors/churn-drift`,
          },
        ],
        objects: [],
      });
      expect(root.body.events[0]).not.toHaveProperty('causationId');
    },
    60_000,
  );

  it.skipIf(skip)(
    'a retraining job passes its lineage to its process and to the model it registers',
    async () => {
      const D = chain.drift as string;
      const put = await s.arm('PUT', JOB, {
        properties: {
          jobType: 'Command',
          command: `"${process.execPath}" register.mjs`,
          codeId: pathToFileURL(code).href,
          environmentId: 'azureml:node:1',
          experimentName: 'retrain',
          environmentVariables: { TOKEN_FILE: tokenFile, MODEL_URI: pathToFileURL(model).href },
          properties: { [C]: D, [K]: D }, // what submitJob sets
        },
      });
      expect(put.status).toBe(201);
      const job = await waitJob('retrain');
      const log = await (await s.arm('GET', `${JOB}/logs`)).text();
      expect(job.properties.status, log).toBe('Completed');
      expect(log).toContain(`lineage corr=${D} cause=${JOB}`);
      expect(log).toContain('workspace read 401'); // the token registers models, nothing else
      expect(log).toContain('register 201');

      const mv = await json(await s.arm('GET', MODEL));
      expect(mv.body.properties.properties).toEqual({ [C]: D, [K]: JOB });

      const completed = await receivedOf(`${ML}.RunCompleted`, (d) => d.runId === 'retrain');
      expect(isSystemEvent(`${ML}.RunCompleted`, completed)).toBe(true);
      expect(completed.subject).toMatch(/^experiments\/[0-9a-f-]{36}\/runs\/retrain$/);
      expect(completed.data).toMatchObject({
        experimentName: 'retrain',
        runId: 'retrain',
        runType: 'command',
        runTags: {},
        runProperties: { [C]: D, [K]: D },
        correlationId: D,
        causationId: D,
      });
      const registered = await receivedOf(`${ML}.ModelRegistered`, (d) => d.modelName === 'churn');
      expect(registered.subject).toBe('models/churn:1');
      expect(registered.data).toMatchObject({ modelVersion: '1', correlationId: D, causationId: JOB });
      chain.registered = registered.id;

      // Re-registering without naming lineage (a tag change) keeps it rather than refusing the "changed" properties.
      const again = await s.arm('PUT', MODEL, {
        properties: { modelUri: pathToFileURL(model).href, tags: { stage: 'prod' } },
      });
      expect(again.status).toBe(200);
      expect((await json(await s.arm('GET', MODEL))).body.properties.properties[C]).toBe(D);

      // The token is the job's, and only while it runs.
      const token = readFileSync(tokenFile, 'utf8');
      const late = await fetch(`${s.url}${WS}/models/other/versions/1?api-version=2022-10-01`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { modelUri: pathToFileURL(model).href } }),
      });
      expect(late.status).toBe(401);
    },
    90_000,
  );

  it.skipIf(skip)(
    'a deployment with lineage raises ModelDeployed with it, in both schemas',
    async () => {
      const D = chain.drift as string;
      expect((await s.arm('PUT', EP, { location: 'local', properties: { authMode: 'Key' } })).status).toBe(
        201,
      );
      const put = await s.arm('PUT', DEPLOYMENT, {
        location: 'local',
        sku: { name: 'Default', capacity: 1 },
        properties: {
          endpointComputeType: 'Managed',
          model: MODEL,
          codeConfiguration: { codeId: pathToFileURL(code).href, scoringScript: 'score.mjs' },
          properties: { [C]: D, [K]: chain.registered }, // what deployModel sets
        },
      });
      expect(put.status).toBe(201);
      const deployed = await receivedOf(`${ML}.ModelDeployed`);
      expect(isSystemEvent(`${ML}.ModelDeployed`, deployed)).toBe(true);
      expect(deployed.data).toMatchObject({
        serviceName: `ep-${backend}`,
        serviceComputeType: 'Managed',
        modelIds: 'churn:1',
        deploymentName: 'blue',
        correlationId: D,
        causationId: chain.registered,
      });
      chain.deployed = deployed.id;

      const asCe = await cloudEventOf(`${ML}.ModelDeployed`);
      expect(asCe).toMatchObject({
        id: deployed.id,
        source: WS,
        correlationid: D,
        causationid: chain.registered,
      });
      expect(asCe.data).toMatchObject({ correlationId: D, causationId: chain.registered });
      const ceRun = await cloudEventOf(`${ML}.RunCompleted`, (d) => d.runId === 'retrain');
      expect(ceRun).toMatchObject({ correlationid: D, causationid: D });
    },
    90_000,
  );

  it.skipIf(skip)(
    'events of objects without lineage carry none',
    async () => {
      const put = await s.arm('PUT', `${WS}/jobs/plain`, {
        properties: { jobType: 'Command', command: 'exit 0', environmentId: 'azureml:sh:1' },
      });
      expect(put.status).toBe(201);
      expect((await waitJob('plain')).properties.status).toBe('Completed');
      const raw = await until(
        async () =>
          eg
            .notifications()
            .flatMap((r) => JSON.parse(r.body) as Json[])
            .find((e) => e.eventType === `${ML}.RunCompleted` && e.data.runId === 'plain'),
        (e) => e !== undefined,
      );
      expect(Object.keys(raw!.data)).toEqual([
        'experimentId',
        'experimentName',
        'runId',
        'runType',
        'runTags',
        'runProperties',
        'sequencer',
        'etag',
      ]);
      const asCe = await cloudEventOf(`${ML}.RunCompleted`, (d) => d.runId === 'plain');
      expect(asCe).not.toHaveProperty('correlationid');
      expect(asCe).not.toHaveProperty('causationid');
      const r = await json(
        await s.arm('GET', `${WS}/lineage?resourceId=${encodeURIComponent(`${WS}/jobs/plain`)}`),
      );
      expect(r.status).toBe(404);
      expect(r.body.error.message).toMatch(/no lineage/);
    },
    60_000,
  );

  it.skipIf(skip)(
    'the lineage API returns the chain in causal order, from its id and from any object',
    async () => {
      const D = chain.drift as string;
      const r = await json(await s.arm('GET', `${WS}/lineage/${D}`));
      expect(r.status).toBe(200);
      const merged = [...r.body.events, ...r.body.objects].sort((a: Json, b: Json) => a.order - b.order);
      expect(merged.map((n: Json) => n.type ?? n.kind)).toEqual([
        `${ML}.DatasetDriftDetected`,
        'job',
        'modelVersion',
        `${ML}.ModelRegistered`, // registered by the job while it ran
        `${ML}.RunCompleted`,
        `${ML}.ModelRegistered`, // registered again after it (the tag change)
        'deployment',
        `${ML}.ModelDeployed`,
      ]);
      expect(r.body.objects).toEqual([
        expect.objectContaining({
          kind: 'job',
          id: JOB,
          name: 'retrain',
          status: 'Completed',
          causationId: D,
        }),
        expect.objectContaining({
          kind: 'modelVersion',
          id: MODEL,
          name: 'churn',
          version: '1',
          causationId: JOB,
        }),
        expect.objectContaining({
          kind: 'deployment',
          id: DEPLOYMENT,
          name: 'blue',
          endpoint: `ep-${backend}`,
          status: 'Succeeded',
          causationId: chain.registered,
        }),
      ]);
      const byId = Object.fromEntries(r.body.events.map((e: Json) => [e.id, e]));
      expect(byId[chain.registered]).toMatchObject({
        subject: 'models/churn:1',
        causationId: JOB,
        source: MODEL,
      });
      expect(byId[chain.deployed]).toMatchObject({ causationId: chain.registered, source: DEPLOYMENT });

      for (const id of [JOB, MODEL, DEPLOYMENT]) {
        const from = await json(await s.arm('GET', `${WS}/lineage?resourceId=${encodeURIComponent(id)}`));
        expect(from.status, id).toBe(200);
        expect(from.body).toEqual(r.body);
      }
      const byParam = await json(await s.arm('GET', `${WS}/lineage?correlationId=${encodeURIComponent(D)}`));
      expect(byParam.body).toEqual(r.body);

      expect((await s.arm('GET', `${WS}/lineage/no-such-chain`)).status).toBe(404);
      const missing = await json(await s.arm('GET', `${WS}/lineage`));
      expect(missing.status).toBe(400);
      expect(missing.body.error.target).toBe('resourceId');
      const foreign = await json(
        await s.arm('GET', `${WS}/lineage?resourceId=${encodeURIComponent('/subscriptions/x/jobs/j')}`),
      );
      expect(foreign.status).toBe(400);
      // Bad lineage values are refused by field.
      const bad = await json(
        await s.arm('PUT', `${WS}/jobs/bad`, {
          properties: {
            jobType: 'Command',
            command: 'exit 0',
            environmentId: 'azureml:sh:1',
            properties: { [K]: 'only-a-cause' },
          },
        }),
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.target).toBe(`properties.properties.${C}`);
    },
    60_000,
  );

  it.skipIf(skip)(
    'a deleted object leaves the chain; its events stay',
    async () => {
      const D = chain.drift as string;
      expect((await s.arm('DELETE', DEPLOYMENT)).status).toBe(200);
      const r = await json(await s.arm('GET', `${WS}/lineage/${D}`));
      expect(r.body.objects.map((o: Json) => o.kind)).toEqual(['job', 'modelVersion']);
      expect(r.body.events.map((e: Json) => e.id)).toContain(chain.deployed);
    },
    60_000,
  );
});
