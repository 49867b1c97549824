/**
 * Example 3 — deploy a model based on its tags (README.md beside this file).
 *
 *   npm run example:deploy-on-tags
 *
 * Two deployers react to ModelRegistered, each keeping its own endpoint up to date: a local function written in
 * Python (function/deploy_on_tags.py, the seed's Azure Function) on `churn-fn`, and the built-in deployModel
 * step (deploy.automation.yml) on `churn-step`. A version tagged deploy=true, stage=prod is deployed by both; one
 * without those tags by neither; a redelivered event deploys nothing twice.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeliveryAttemptView } from '@mlgrid/client';
import { createEndpoint, registerModel, score, writeModel } from '../churn/setup.js';
import { mlgrid } from '../lib/cli.js';
import { automationRuns, runSummary, waitForRuns, type AutomationRun } from '../lib/rest.js';
import { isEntry, runAsScript } from '../lib/run.js';
import { openSession, type ExampleOptions, type Session } from '../lib/session.js';
import { ExampleError, waitUntil } from '../lib/wait.js';
import { startWatcher, type GridEvent, type Watcher } from '../lib/watch.js';

export const FUNCTION_SOURCE = fileURLToPath(new URL('./function/deploy_on_tags.py', import.meta.url));
export const AUTOMATION_FILE = fileURLToPath(new URL('./deploy.automation.yml', import.meta.url));
export const AUTOMATION = 'deploy-on-tags';
const FUNCTION_NAME = 'deployOnTags';
const FN_SUBSCRIPTION = 'deploy-on-tags-fn';
const FUNCTIONS_API = '2022-03-01';

export interface DeployOnTagsResult {
  workspaceId: string;
  endpoints: { fn: string; step: string };
  functionId: string;
  /** The function subscription's delivery log. */
  functionAttempts: DeliveryAttemptView[];
  automationRuns: AutomationRun[];
  events: GridEvent[];
  scores: Record<string, { deployment: string | null; predictions: number[]; model: string }>;
}

export async function main(opts: ExampleOptions = {}): Promise<DeployOnTagsResult> {
  const s = await openSession(opts, {
    title: [
      'Deploy a model based on its tags',
      'ModelRegistered → a Python local function, and the built-in deployModel step (the seed: an Azure Function).',
    ],
    workspace: 'deploy-on-tags',
    functions: true,
  });
  try {
    return await run(s);
  } finally {
    await s.close();
  }
}

async function run(s: Session): Promise<DeployOnTagsResult> {
  const { out, client, rg, ws } = s;
  if (!s.functionsDir) {
    throw new ExampleError(
      "this example puts the Python function into the server's functions directory: set MLGRID_FUNCTIONS_DIR to " +
        "the running mlgrid's (mlgrid serve --functions-dir / MLGRID_FUNCTIONS_DIR; default <data-dir>/functions)",
    );
  }
  const endpoints = { fn: `churn-fn${s.suffix}`, step: `churn-step${s.suffix}` };
  const app = `deploy-on-tags${s.suffix}`;

  out.step('Two endpoints already serve churn:1 (registered without deploy tags)');
  const v1 = writeModel(join(s.scratch, 'models', 'churn-1'), {
    feature: 'tenure_months',
    threshold: 45.5,
    predictsChurnWhen: '<=',
  });
  const v1Id = await registerModel(s, '1', v1);
  for (const ep of Object.values(endpoints)) {
    await createEndpoint(s, ep, 'churn-v1', v1Id);
    out.ok(`endpoint ${ep}: deployment churn-v1 serves churn:1 (100% of traffic)`);
  }

  out.step('(a) The Python function, subscribed to ModelRegistered');
  const fnDir = join(s.functionsDir, app);
  mkdirSync(fnDir, { recursive: true });
  s.onCleanup(`the function's folder ${fnDir}`, async () => rmSync(fnDir, { recursive: true, force: true }));
  copyFileSync(FUNCTION_SOURCE, join(fnDir, 'deploy_on_tags.py'));
  out.info(`copied deploy_on_tags.py into the functions directory (${fnDir})`);
  // The function acts as its own principal: Contributor on this workspace only, its key in a file only the
  // server's user can read (not in the function's env, which Readers can see).
  const principal = `deploy-on-tags-fn${s.suffix}`;
  const p = await client.principals.create(principal, {
    principalType: 'ServicePrincipal',
    displayName: 'deploy_on_tags.py',
  });
  s.onCleanup(`principal ${principal}`, () => client.principals.delete(principal));
  await client.roleAssignments.create(s.wsId, { role: 'Contributor', principalId: p.properties.objectId });
  const keyFile = join(fnDir, 'deployer.key');
  writeFileSync(keyFile, `${p.properties.newKey!.key}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  out.info(`principal ${principal}: Contributor on the workspace; its key in deployer.key (mode 600)`);
  // prettier-ignore
  await mlgrid(s, [
    'function', 'create', '-g', rg, '--app', app, '-n', FUNCTION_NAME,
    '--command', 'python3 deploy_on_tags.py', '--timeout', '120',
    '--env', `DEPLOY_SERVER=${s.url}`, `DEPLOY_ENDPOINT=${endpoints.fn}`,
  ]);
  const functionId = `/subscriptions/${s.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Web/sites/${app}/functions/${FUNCTION_NAME}`;
  s.onCleanup(`function ${app}/${FUNCTION_NAME}`, () =>
    fetch(`${s.url}${functionId}?api-version=${FUNCTIONS_API}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${s.key}` },
    }),
  );
  // prettier-ignore
  await mlgrid(s, [
    'eventgrid', 'event-subscription', 'create', '--name', FN_SUBSCRIPTION,
    '--source-resource-id', s.wsId, '--endpoint-type', 'azurefunction', '--endpoint', functionId,
    '--included-event-types', 'Microsoft.MachineLearningServices.ModelRegistered',
  ]);
  s.onCleanup('the function subscription', () => client.eventSubscriptions.delete(s.wsId, FN_SUBSCRIPTION));
  out.ok(`ModelRegistered → AzureFunction ${app}/${FUNCTION_NAME} (keeps ${endpoints.fn} up to date)`);

  out.step('(b) The built-in deployModel step, from deploy.automation.yml');
  out.block(readFileSync(AUTOMATION_FILE, 'utf8').replace(/^(#.*\n)+\n?/, ''));
  await mlgrid(s, [
    'automation',
    'create',
    '-g',
    rg,
    '-w',
    ws,
    '-n',
    AUTOMATION,
    '-f',
    AUTOMATION_FILE,
    ...(s.suffix ? ['--set', `steps[0].rules[0].endpoint=${endpoints.step}`] : []),
  ]);
  s.onCleanup(`automation ${AUTOMATION}`, () =>
    mlgrid(s, ['automation', 'delete', '-g', rg, '-w', ws, '-n', AUTOMATION], { print: false }),
  );
  out.ok(`ModelRegistered → automation ${AUTOMATION} (keeps ${endpoints.step} up to date)`);

  const watcher = await startWatcher(out);
  try {
    await watcher.subscribe(client, s.wsId, 'example-watcher', ['ModelRegistered', 'ModelDeployed']);
    s.onCleanup('the watcher subscription', () =>
      client.eventSubscriptions.delete(s.wsId, 'example-watcher'),
    );
    return await scenario(s, watcher, endpoints, functionId);
  } finally {
    await watcher.close();
  }
}

async function scenario(
  s: Session,
  watcher: Watcher,
  endpoints: { fn: string; step: string },
  functionId: string,
): Promise<DeployOnTagsResult> {
  const { out, client, rg, ws } = s;
  const wait = s.timeout(120_000);
  const registered = (version: string) =>
    watcher.waitFor(
      `ModelRegistered for churn:${version}`,
      (e) => e.eventType.endsWith('ModelRegistered') && e.data.modelVersion === version,
      wait,
    );
  const deployedOn = (version: string, endpoint: string) => (e: GridEvent) =>
    e.eventType.endsWith('ModelDeployed') &&
    e.data.modelIds === `churn:${version}` &&
    e.data.serviceName === endpoint;

  out.step('Registering churn:2 tagged deploy=true, stage=prod');
  const v2 = writeModel(join(s.scratch, 'models', 'churn-2'), {
    feature: 'support_calls',
    threshold: 2.5,
    predictsChurnWhen: '>',
  });
  await registerModel(s, '2', v2, { deploy: 'true', stage: 'prod' });
  const e2 = await registered('2');
  for (const ep of Object.values(endpoints)) {
    await watcher.waitFor(`ModelDeployed of churn:2 on ${ep}`, deployedOn('2', ep), wait);
  }
  const attempt2 = await functionAttempt(s, e2.id, wait);
  out.info(`the function said: ${oneLine(attempt2.responseExcerpt)}`);
  const run2 = await runFor(s, e2.id, wait);
  out.info(`the automation run: ${runSummary(run2)}`);

  out.step('Registering churn:3 tagged stage=dev (no deploy tag)');
  const v3 = writeModel(join(s.scratch, 'models', 'churn-3'), {
    feature: 'monthly_charges',
    threshold: 82.5,
    predictsChurnWhen: '>',
  });
  await registerModel(s, '3', v3, { stage: 'dev' });
  const e3 = await registered('3');
  const attempt3 = await functionAttempt(s, e3.id, wait);
  out.info(`the function said: ${oneLine(attempt3.responseExcerpt)}`);
  const run3 = await runFor(s, e3.id, wait);
  out.info(`the automation run: ${runSummary(run3)}`);
  if (run3.properties.steps[0]?.output?.skipped !== 'no rule matched') {
    throw new ExampleError(`the deployModel step did not skip churn:3: ${runSummary(run3)}`);
  }
  await noDeploymentOf(s, endpoints, '3');
  out.ok('churn:3 was deployed nowhere');

  out.step("Redelivering churn:2's event to both (a replay): nothing is deployed twice");
  const since = e2.eventTime;
  const replayed = await client.eventSubscriptions.replay(s.wsId, FN_SUBSCRIPTION, since);
  await client.eventSubscriptions.replay(s.wsId, `automation-${AUTOMATION}`, since);
  out.info(
    `replayed the ${replayed.enqueued} ModelRegistered event(s) since churn:2's to the function and to the automation`,
  );
  const again = await functionAttempt(s, e2.id, wait, attempt2.id);
  out.info(`the function said: ${oneLine(again.responseExcerpt)}`);
  await waitUntil(
    "the automation's trigger to take the replayed events",
    () => client.eventSubscriptions.deliveries(s.wsId, `automation-${AUTOMATION}`, { status: 'pending' }),
    (page) => page.value.length === 0,
    wait,
  );
  const runs = await automationRuns(s, AUTOMATION);
  const forE2 = runs.filter((r) => r.properties.events?.some((e) => e.id === e2.id));
  out.info(`the automation has ${forE2.length} run for churn:2's event (a redelivered event id starts none)`);
  if (forE2.length !== 1) throw new ExampleError(`churn:2's event started ${forE2.length} automation runs`);
  for (const ep of Object.values(endpoints)) {
    const list = await client.onlineDeployments.list(rg, ws, ep);
    const ofV2 = list.filter((d) => d.properties.model.toLowerCase().endsWith('/models/churn/versions/2'));
    if (ofV2.length !== 1) throw new ExampleError(`${ep} has ${ofV2.length} deployments of churn:2`);
    const deployed = watcher.events.filter(deployedOn('2', ep)).length;
    if (deployed !== 1)
      throw new ExampleError(`ModelDeployed of churn:2 on ${ep} was raised ${deployed} times`);
  }
  out.ok('each endpoint has one deployment of churn:2, and ModelDeployed was raised once per endpoint');

  out.step('Scoring both endpoints');
  const scores: DeployOnTagsResult['scores'] = {};
  for (const ep of Object.values(endpoints)) {
    scores[ep] = await score(s, ep);
    out.info(
      `${ep}: answered by ${scores[ep].deployment} (${scores[ep].model}): ${JSON.stringify(scores[ep].predictions)}`,
    );
    if (scores[ep].deployment !== 'churn-v2') {
      throw new ExampleError(`${ep} was answered by ${scores[ep].deployment}, not churn-v2`);
    }
  }
  return {
    workspaceId: s.wsId,
    endpoints,
    functionId,
    functionAttempts: (await client.eventSubscriptions.deliveryAttempts(s.wsId, FN_SUBSCRIPTION)).value,
    automationRuns: await automationRuns(s, AUTOMATION),
    events: [...watcher.events],
    scores,
  };
}

/** The function's first successful attempt on `eventId` (after `afterId`); a failed one is reported. */
async function functionAttempt(s: Session, eventId: string, timeoutMs: number, afterId?: string) {
  let seenAfter = afterId === undefined;
  const attempts = await waitUntil(
    'the Python function to handle the event',
    async () =>
      (await s.client.eventSubscriptions.deliveryAttempts(s.wsId, FN_SUBSCRIPTION, { top: 1000 })).value,
    (list) => {
      seenAfter = afterId === undefined || list.some((a) => a.id === afterId);
      return pick(list).some((a) => a.outcome === 'Succeeded');
    },
    timeoutMs,
    {
      show: (list) =>
        pick(list)
          .map((a) => `${a.outcome}: ${oneLine(a.responseExcerpt)}`)
          .join(' | ') || 'no attempt yet',
    },
  );
  function pick(list: DeliveryAttemptView[]) {
    const from = afterId === undefined ? 0 : list.findIndex((a) => a.id === afterId) + 1;
    return (seenAfter ? list.slice(from) : []).filter((a) => a.eventIds.includes(eventId));
  }
  return pick(attempts).find((a) => a.outcome === 'Succeeded')!;
}

async function runFor(s: Session, eventId: string, timeoutMs: number): Promise<AutomationRun> {
  const runs = await waitForRuns(
    s,
    AUTOMATION,
    'the automation run for the event',
    (list) =>
      list.some(
        (r) => r.properties.events?.some((e) => e.id === eventId) && r.properties.status === 'Succeeded',
      ),
    timeoutMs,
  );
  return runs.find((r) => r.properties.events?.some((e) => e.id === eventId))!;
}

async function noDeploymentOf(s: Session, endpoints: { fn: string; step: string }, version: string) {
  for (const ep of Object.values(endpoints)) {
    const list = await s.client.onlineDeployments.list(s.rg, s.ws, ep);
    const hit = list.find((d) =>
      d.properties.model.toLowerCase().endsWith(`/models/churn/versions/${version}`),
    );
    if (hit) throw new ExampleError(`churn:${version} was deployed on ${ep} as ${hit.name}`);
  }
}

const oneLine = (s: string | undefined) => (s ?? '').trim().replace(/\s*\n\s*/g, ' / ');

if (isEntry(import.meta.url)) await runAsScript(main);
