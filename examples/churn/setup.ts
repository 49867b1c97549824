/**
 * Setting up the churn model's serving side for an example: a model folder, a registered version, an online
 * endpoint with a first deployment running `score/score.py`, and scoring it. All through the SDK.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Session } from '../lib/session.js';
import { ExampleError } from '../lib/wait.js';

/** The folder with the scoring script (a deployment's `codeConfiguration.codeId`). */
export const SCORE_DIR = fileURLToPath(new URL('./score/', import.meta.url)).replace(/\/$/, '');
/** The folder with train.py and data/ (the retraining job's `codeId`). */
export const CHURN_DIR = fileURLToPath(new URL('./', import.meta.url)).replace(/\/$/, '');
export const MODEL = 'churn';

/** A decision stump as train.py writes it. */
export interface Stump {
  feature: 'tenure_months' | 'monthly_charges' | 'support_calls';
  threshold: number;
  predictsChurnWhen: '>' | '<=';
}

/** Three customers: a new one with high charges and many calls, a loyal one, one in between. */
export const SAMPLE = {
  data: [
    { tenure_months: 3, monthly_charges: 104.5, support_calls: 4, contract: 'month-to-month' },
    { tenure_months: 60, monthly_charges: 45.0, support_calls: 0, contract: 'two-year' },
    { tenure_months: 30, monthly_charges: 79.9, support_calls: 2, contract: 'one-year' },
  ],
};

/** Writes `<dir>/model.json` (a model trained elsewhere, e.g. in a notebook) and returns the folder. */
export function writeModel(dir: string, stump: Stump): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ type: 'decision-stump', ...stump }, null, 2));
  return dir;
}

export async function registerModel(
  s: Session,
  version: string,
  folder: string,
  tags: Record<string, string> = {},
): Promise<string> {
  const out = await s.client.models.register(s.rg, s.ws, MODEL, version, {
    properties: { modelUri: `file://${folder}`, modelType: 'custom_model', tags },
  });
  return out.id;
}

/** Creates `endpoint` (key auth) with a deployment of `modelId` taking all traffic; waits until it serves. */
export async function createEndpoint(
  s: Session,
  endpoint: string,
  deployment: string,
  modelId: string,
): Promise<void> {
  const { client, rg, ws } = s;
  await client.onlineEndpoints.createOrUpdate(rg, ws, endpoint, {
    location: 'local',
    properties: { authMode: 'Key' },
  });
  s.onCleanup(`endpoint ${endpoint}`, () => client.onlineEndpoints.delete(rg, ws, endpoint));
  await client.onlineDeployments.createOrUpdate(rg, ws, endpoint, deployment, {
    location: 'local',
    properties: {
      endpointComputeType: 'Managed',
      model: modelId,
      codeConfiguration: { codeId: SCORE_DIR, scoringScript: 'score.py' },
      environmentId: 'azureml:examples-python:1',
    },
  });
  const d = await client.onlineDeployments.waitFor(rg, ws, endpoint, deployment, {
    timeoutMs: s.timeout(120_000),
    intervalMs: 200,
  });
  if (d.properties.provisioningState !== 'Succeeded') {
    throw new ExampleError(
      `deployment ${endpoint}/${deployment} failed: ${d.properties.mlgrid?.error?.message ?? 'unknown'}`,
    );
  }
  await client.onlineEndpoints.setTraffic(rg, ws, endpoint, { [deployment]: 100 });
}

/** Scores SAMPLE on the endpoint; returns the answer and the deployment that gave it. */
export async function score(
  s: Session,
  endpoint: string,
): Promise<{ deployment: string | null; predictions: number[]; model: string }> {
  const { client, rg, ws } = s;
  const ep = await client.onlineEndpoints.get(rg, ws, endpoint);
  const { primaryKey } = await client.onlineEndpoints.listKeys(rg, ws, endpoint);
  const r = await client.onlineEndpoints.score(ep.properties.scoringUri, SAMPLE, { key: primaryKey });
  const body = JSON.parse(r.body) as { predictions: number[]; model: string };
  return { deployment: r.deployment, ...body };
}
