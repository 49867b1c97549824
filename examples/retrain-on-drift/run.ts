/**
 * Example 2 — data drift triggers retraining, and the new model is deployed by its tags (README.md beside this).
 *
 *   npm run example:retrain-on-drift
 *
 * DatasetDriftDetected → (automation retrain-on-drift) a Command job prepares the data, trains and registers
 * churn:2 → ModelRegistered → (automation deploy-by-tags) deployModel puts it on the endpoint its tag names →
 * ModelDeployed. The chain is then read back through the lineage API.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Chain, DataDriftResultOut, JobOut } from '@mlgrid/client';
import { DRIFT_DAY, FEATURES, NORMAL_DAY, writeData } from '../churn/data.js';
import { CHURN_DIR, MODEL, SCORE_DIR, score } from '../churn/setup.js';
import { mlgrid } from '../lib/cli.js';
import { automationRuns, rest, runSummary, waitForRuns, type AutomationRun } from '../lib/rest.js';
import { isEntry, runAsScript } from '../lib/run.js';
import { openSession, type ExampleOptions, type Session } from '../lib/session.js';
import { ExampleError } from '../lib/wait.js';
import { startWatcher, type GridEvent, type Watcher } from '../lib/watch.js';

export const RETRAIN_FILE = fileURLToPath(new URL('./retrain.automation.yml', import.meta.url));
export const DEPLOY_FILE = fileURLToPath(new URL('./deploy.automation.yml', import.meta.url));
export const RETRAIN = 'retrain-on-drift';
export const DEPLOY = 'deploy-by-tags';
export const MONITOR = 'churn-drift';

export interface RetrainResult {
  workspaceId: string;
  endpoint: string;
  drift: { normalDay: DataDriftResultOut; driftDay: DataDriftResultOut };
  driftEvent: GridEvent;
  retrainJob: JobOut;
  jobs: JobOut[];
  chain?: Chain;
  events: GridEvent[];
  retrainRuns: AutomationRun[];
  deployRuns: AutomationRun[];
  scoreBefore: Awaited<ReturnType<typeof score>>;
  scoreAfter: Awaited<ReturnType<typeof score>>;
}

export async function main(opts: ExampleOptions = {}): Promise<RetrainResult> {
  const s = await openSession(opts, {
    title: [
      'Data drift triggers retraining',
      'Drift → retraining job → new model version → deployed by its tags → ModelDeployed (the seed: Logic App + ADF).',
    ],
    workspace: 'retrain-on-drift',
  });
  try {
    const endpoint = await setUpProduction(s);
    await createAutomations(s, endpoint);
    const watcher = await startWatcher(s.out);
    try {
      await watcher.subscribe(s.client, s.wsId, 'example-watcher', [
        'DatasetDriftDetected',
        'RunCompleted',
        'RunStatusChanged',
        'ModelRegistered',
        'ModelDeployed',
      ]);
      s.onCleanup('the watcher subscription', () =>
        s.client.eventSubscriptions.delete(s.wsId, 'example-watcher'),
      );
      return await driftToDeployment(s, watcher, endpoint);
    } finally {
      await watcher.close();
    }
  } finally {
    await s.close();
  }
}

/** Data assets, the baseline model trained by a job, the endpoint serving it, the drift monitor. */
export async function setUpProduction(s: Session): Promise<string> {
  const { out, client, rg, ws } = s;
  const endpoint = `churn-prod${s.suffix}`;
  out.step('Data: baseline (January) and live data (Feb 1 as usual, Feb 2 after a price change)');
  const files = writeData();
  await client.data.register(rg, ws, 'churn-baseline', '1', {
    properties: { dataType: 'uri_file', dataUri: files.baseline },
  });
  await client.data.register(rg, ws, 'churn-live', '1', {
    properties: { dataType: 'uri_file', dataUri: files.live },
  });
  out.ok(
    'registered data assets churn-baseline:1 and churn-live:1 (generated deterministically by churn/data.ts)',
  );

  out.step("Today's production: churn:1, trained on the baseline by a Command job, serving on an endpoint");
  const job = await runJob(s, 'train-baseline', {
    command:
      'python3 train.py --baseline data/baseline.csv --prepared ${{outputs.prepared}} ' +
      '--model-dir ${{outputs.model}} --register churn --tag stage=prod',
  });
  out.ok(`job ${job.name} ${job.properties.status}: ${await lastLine(s, job.name, '[train] churn when')}`);
  const v1 = await client.models.getVersion(rg, ws, MODEL, '1');
  await client.onlineEndpoints.createOrUpdate(rg, ws, endpoint, {
    location: 'local',
    properties: { authMode: 'Key' },
  });
  s.onCleanup(`endpoint ${endpoint}`, () => client.onlineEndpoints.delete(rg, ws, endpoint));
  await client.onlineDeployments.createOrUpdate(rg, ws, endpoint, 'churn-v1', {
    location: 'local',
    properties: {
      model: v1.id,
      codeConfiguration: { codeId: SCORE_DIR, scoringScript: 'score.py' },
      environmentId: 'azureml:examples-python:1',
    },
  });
  const d = await client.onlineDeployments.waitFor(rg, ws, endpoint, 'churn-v1', {
    timeoutMs: s.timeout(120_000),
    intervalMs: 200,
  });
  if (d.properties.provisioningState !== 'Succeeded')
    throw new ExampleError(`churn-v1 failed: ${d.properties.mlgrid?.error?.message}`);
  await client.onlineEndpoints.setTraffic(rg, ws, endpoint, { 'churn-v1': 100 });
  out.ok(`endpoint ${endpoint}: deployment churn-v1 serves churn:1`);

  out.step(`A data-drift monitor: churn-live against churn-baseline, per day, threshold 0.3`);
  await client.dataDrift.create(rg, ws, MONITOR, {
    properties: {
      baselineData: 'churn-baseline:1',
      targetData: 'churn-live:1',
      timestampColumn: 'ts',
      frequency: 'Day',
      features: [...FEATURES],
      threshold: 0.3,
    },
  });
  out.ok(`monitor ${MONITOR} on ${FEATURES.join(', ')}`);
  return endpoint;
}

/** The two automations, created from their YAML files with the CLI. */
export async function createAutomations(
  s: Session,
  endpoint: string,
  opts: { show?: boolean } = {},
): Promise<void> {
  const { out, rg, ws } = s;
  const show = (file: string) =>
    opts.show !== false && out.block(readFileSync(file, 'utf8').replace(/^(#.*\n)+\n?/, ''), 60);
  out.step('Automation 1: DatasetDriftDetected → submitJob (prepare, train, evaluate, register)');
  show(RETRAIN_FILE);
  // codeId must be absolute: the file names /path/to/mlgrid/examples/churn, set here to this clone's.
  const sets = [`steps[0].job.properties.codeId=${CHURN_DIR}`];
  if (s.suffix) sets.push(`steps[0].job.properties.environmentVariables.TARGET_ENDPOINT=${endpoint}`);
  out.info(`(with --set ${sets.join(' --set ')})`);
  await mlgrid(s, [
    'automation',
    'create',
    '-g',
    rg,
    '-w',
    ws,
    '-n',
    RETRAIN,
    '-f',
    RETRAIN_FILE,
    ...sets.flatMap((x) => ['--set', x]),
  ]);
  s.onCleanup(`automation ${RETRAIN}`, () =>
    mlgrid(s, ['automation', 'delete', '-g', rg, '-w', ws, '-n', RETRAIN], { print: false }),
  );

  out.step("Automation 2: ModelRegistered → deployModel to the endpoint named by the model's tags");
  show(DEPLOY_FILE);
  await mlgrid(s, ['automation', 'create', '-g', rg, '-w', ws, '-n', DEPLOY, '-f', DEPLOY_FILE]);
  s.onCleanup(`automation ${DEPLOY}`, () =>
    mlgrid(s, ['automation', 'delete', '-g', rg, '-w', ws, '-n', DEPLOY], { print: false }),
  );
}

/** Runs the monitor for a normal day and the drifted day, then follows the chain to ModelDeployed. */
export async function driftToDeployment(
  s: Session,
  watcher: Watcher,
  endpoint: string,
): Promise<RetrainResult> {
  const { out, client, rg, ws } = s;
  const wait = s.timeout(180_000);
  const scoreBefore = await score(s, endpoint);

  out.step(`Running the monitor for ${NORMAL_DAY} (no drift expected) and ${DRIFT_DAY}`);
  const normalDay = await client.dataDrift.run(rg, ws, MONITOR, { targetDate: NORMAL_DAY });
  out.info(`${NORMAL_DAY}: drift coefficient ${coef(normalDay)}, hasDrift ${normalDay.properties.hasDrift}`);
  if (normalDay.properties.hasDrift) throw new ExampleError(`the monitor found drift on ${NORMAL_DAY}`);
  const driftDay = await client.dataDrift.run(rg, ws, MONITOR, { targetDate: DRIFT_DAY });
  out.info(`${DRIFT_DAY}: drift coefficient ${coef(driftDay)}, hasDrift ${driftDay.properties.hasDrift}`);
  const top = [...(driftDay.properties.features ?? [])].sort(
    (a, b) => (b.contribution ?? 0) - (a.contribution ?? 0),
  )[0];
  if (top) out.info(`the feature that drifted most: ${top.name}`);
  if (!driftDay.properties.hasDrift) throw new ExampleError(`the monitor found no drift on ${DRIFT_DAY}`);

  out.step("Following the chain (events as the example's subscriber receives them)");
  const driftEvent = await watcher.waitFor(
    'DatasetDriftDetected',
    (e) => e.eventType.endsWith('DatasetDriftDetected'),
    wait,
  );
  const registered = await watcher.waitFor(
    'ModelRegistered of the retrained model',
    (e) =>
      e.eventType.endsWith('ModelRegistered') && e.data.modelName === MODEL && e.data.modelVersion !== '1',
    wait,
  );
  const version = String(registered.data.modelVersion);
  const deployed = await watcher.waitFor(
    `ModelDeployed of churn:${version}`,
    (e) => e.eventType.endsWith('ModelDeployed') && e.data.modelIds === `${MODEL}:${version}`,
    wait,
  );
  const retrainRuns = await waitForRuns(
    s,
    RETRAIN,
    'the retraining run to finish',
    (r) => r.some((x) => x.properties.status === 'Succeeded'),
    wait,
  );
  const deployRuns = await waitForRuns(
    s,
    DEPLOY,
    'the deployment run to finish',
    (r) => r.some((x) => x.properties.status === 'Succeeded'),
    wait,
  );
  out.info(`automation ${RETRAIN}: ${runSummary(retrainRuns[0]!)}`);
  out.info(`automation ${DEPLOY}: ${runSummary(deployRuns[0]!)}`);
  const jobName = String(retrainRuns[0]!.properties.steps[0]?.output?.name ?? '');
  const retrainJob = await client.jobs.get(rg, ws, jobName);
  out.info(`the job's log (${jobName}):`);
  const log = (await client.jobs.logs(rg, ws, jobName)).split('\n').filter((l) => l.startsWith('['));
  out.block(log.map((l) => l.replace(/\/\S*\/outputs\//g, '<job>/outputs/')).join('\n'));
  if (deployed.data.serviceName !== endpoint) {
    throw new ExampleError(`churn:${version} was deployed on ${deployed.data.serviceName}, not ${endpoint}`);
  }

  out.step('The chain, read back through the lineage API (from the drift event)');
  let chain: Chain | undefined;
  try {
    chain = await client.lineage.get(rg, ws, driftEvent.id);
    const runNames = await automationRunNames(s);
    const rows = [
      ...chain.events.map((e) => ({ order: e.order, text: `event ${e.type.split('.').pop()} ${e.subject}` })),
      ...chain.objects.map((o) => ({ order: o.order, text: describeObject(o, runNames) })),
    ].sort((a, b) => a.order - b.order);
    for (const r of rows) out.info(`${String(r.order).padStart(2)}. ${r.text}`);
  } catch (err) {
    out.info(`(lineage not available: ${(err as Error).message})`);
  }

  out.step(`Scoring ${endpoint} before and after`);
  const scoreAfter = await score(s, endpoint);
  out.info(
    `before: ${scoreBefore.deployment} (${scoreBefore.model}) → ${JSON.stringify(scoreBefore.predictions)}`,
  );
  out.info(
    `after:  ${scoreAfter.deployment} (${scoreAfter.model}) → ${JSON.stringify(scoreAfter.predictions)}`,
  );
  if (scoreAfter.deployment !== `churn-v${version}`) {
    throw new ExampleError(`the endpoint is answered by ${scoreAfter.deployment}, not churn-v${version}`);
  }
  const jobs = await client.jobs.list(rg, ws);
  const retrainJobs = jobs.filter((j) => j.name !== 'train-baseline');
  if (retrainJobs.length !== 1)
    throw new ExampleError(`${retrainJobs.length} retraining jobs ran, expected 1`);
  return {
    workspaceId: s.wsId,
    endpoint,
    drift: { normalDay, driftDay },
    driftEvent,
    retrainJob,
    jobs,
    ...(chain ? { chain } : {}),
    events: [...watcher.events],
    retrainRuns: await automationRuns(s, RETRAIN),
    deployRuns: await automationRuns(s, DEPLOY),
    scoreBefore,
    scoreAfter,
  };
}

/** Submits a Command job in the churn project folder and waits for it; fails unless it completes. */
export async function runJob(s: Session, name: string, p: { command: string }): Promise<JobOut> {
  const { client, rg, ws } = s;
  await client.jobs.create(rg, ws, name, {
    properties: {
      jobType: 'Command',
      command: p.command,
      codeId: CHURN_DIR,
      environmentId: 'azureml:examples-python:1',
      experimentName: 'churn-training',
      outputs: { prepared: { jobOutputType: 'uri_folder' }, model: { jobOutputType: 'uri_folder' } },
    },
  });
  const job = await client.jobs.waitFor(rg, ws, name, { timeoutMs: s.timeout(120_000), intervalMs: 200 });
  if (job.properties.status !== 'Completed') {
    const log = await client.jobs.logs(rg, ws, name, { tail: 10 });
    throw new ExampleError(`job ${name} ended ${job.properties.status}:\n${log}`);
  }
  return job;
}

async function lastLine(s: Session, job: string, prefix: string): Promise<string> {
  const log = await s.client.jobs.logs(s.rg, s.ws, job);
  return (log.split('\n').find((l) => l.startsWith(prefix)) ?? '').replace(/^\[\w+\] /, '');
}

/** Run id → automation name, for every automation of the workspace. */
async function automationRunNames(s: Session): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const list = await rest<{ value: { name: string }[] }>(s, 'GET', `${s.wsId}/automations`);
  for (const a of list.value) for (const r of await automationRuns(s, a.name)) names.set(r.name, a.name);
  return names;
}

/** One line per chain object: "job retrain-… (Completed)", "automation run of deploy-by-tags". */
export function describeObject(o: Chain['objects'][number], runNames: Map<string, string>): string {
  if (o.kind === 'automationRun') {
    const runId = o.id.split('/').pop()!;
    return `run of automation ${runNames.get(runId) ?? '?'} (${runId.slice(0, 8)}…)`;
  }
  const name = `${o.name ?? o.id.split('/').pop()}${o.version ? `:${o.version}` : ''}`;
  const kind = o.kind === 'modelVersion' ? 'model' : o.kind;
  return `${kind} ${name}${o.endpoint ? ` on ${o.endpoint}` : ''}${o.status ? ` (${o.status})` : ''}`;
}

const coef = (r: DataDriftResultOut) => Number(r.properties.driftCoefficient ?? 0).toFixed(2);

if (isEntry(import.meta.url)) await runAsScript(main);
