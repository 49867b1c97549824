/**
 * The seed's three examples (examples/*, docs: examples/README.md) end to end, each run through its exported
 * `main` against a real mlgrid started here — the way a user runs them against their own server — and judged by
 * what this test sees for itself, not by what the example reports:
 *
 * - email alerts: the mails arrive at this test's own SMTP server (smtp-server) and are parsed with mailparser;
 * - retrain on drift: this test's webhook (subscribed to the resource group before the example starts) receives
 *   DatasetDriftDetected → ModelRegistered → ModelDeployed once each; the API shows one retraining job, the new
 *   version with its tags and lineage, and the endpoint's traffic on it;
 * - deploy on tags (a Python local function and the deployModel step): a tagged version is deployed once on each
 *   endpoint, an untagged one nowhere, and a replay deploys nothing twice.
 *
 * The examples keep what they made (`keep: true`) so that it can be inspected here; the server and its data
 * directory go at the end.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as emailAlerts } from '../../../examples/email-alerts/run.js';
import { main as retrainOnDrift } from '../../../examples/retrain-on-drift/run.js';
import { main as deployOnTags } from '../../../examples/deploy-on-tags/run.js';
import { reporter } from '../../../examples/lib/report.js';
import type { ExampleOptions } from '../../../examples/lib/session.js';
import { startServer, type RunningServer } from '../src/server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const KEY = 'examples-test-admin-key-0123456789';
const RG = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/examples';
const ML = 'Microsoft.MachineLearningServices.';

interface GridEvent {
  id: string;
  eventType: string;
  subject: string;
  topic: string;
  data: Record<string, unknown>;
}

let server: RunningServer;
let smtp: SMTPServer;
let rx: Receiver;
const inbox: ParsedMail[] = [];
const dir = tempDir('mlgrid-examples-test-');
const functionsDir = join(dir.dir, 'functions');

async function arm<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}${path.includes('?') ? '&' : '?'}api-version=2022-10-01`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  expect(res.ok, `${method} ${path}: ${res.status} ${text}`).toBe(true);
  return (text ? JSON.parse(text) : {}) as T;
}

/** Events this test's own subscriber received, of one type (the prefix may be left out). */
function received(type: string): GridEvent[] {
  return rx
    .notifications()
    .flatMap((n) => JSON.parse(n.body) as GridEvent[])
    .filter((e) => e.eventType === (type.includes('.') ? type : ML + type));
}

/** Waits until the test's subscription has nothing left to deliver (so counts are final). */
async function drained(): Promise<void> {
  const path = `${RG}/providers/Microsoft.EventGrid/eventSubscriptions/examples-test/deliveries?status=pending`;
  const page = await until(
    () => arm<{ value: unknown[] }>('GET', path),
    (p) => p.value.length === 0,
  );
  expect(page.value).toEqual([]);
}

/** Runs an example with this test's server; its output is shown when it fails. */
async function run<T>(main: (o: ExampleOptions) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  try {
    return await main({
      out: reporter((l) => lines.push(l)),
      server: { url: server.url, key: KEY, functionsDir },
      env: {},
      keep: true,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- the example's output ---\n${lines.join('\n')}`);
  }
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((m) => (inbox.push(m), cb()))
        .catch(cb);
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  mkdirSync(functionsDir);
  server = await startServer(
    {
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir.dir, 'data'),
      store: { kind: 'sqlite', dataDir: join(dir.dir, 'data'), synchronous: 'NORMAL' },
      adminKey: KEY,
      logLevel: 'silent',
      delivery: { pollMs: 50 },
      automations: { pollMs: 100 },
      driftScheduler: { enabled: false },
      functions: { dir: functionsDir },
      smtp: {
        url: `smtp://127.0.0.1:${(smtp.server.address() as { port: number }).port}`,
        from: 'mlgrid <mlgrid@example.test>',
      },
    },
    pino({ level: 'silent' }),
  );
  // Every ML event of the examples' resource group reaches this test's own webhook.
  rx = await startReceiver();
  await arm('PUT', `${RG}/providers/Microsoft.EventGrid/eventSubscriptions/examples-test`, {
    properties: {
      destination: { endpointType: 'WebHook', properties: { endpointUrl: `${rx.url}/events` } },
      filter: {
        includedEventTypes: [
          'DatasetDriftDetected',
          'RunCompleted',
          'RunStatusChanged',
          'ModelRegistered',
          'ModelDeployed',
        ].map((t) => ML + t),
      },
    },
  });
});

afterAll(async () => {
  await server?.close();
  await rx?.close();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  dir.cleanup();
});

describe('examples/email-alerts', () => {
  it('mails once for the completed run and once for the failed one, and skips the cancelled one', async () => {
    const r = await run(emailAlerts);
    const mails = await until(
      async () => [...inbox],
      (m) => m.length >= 2,
    );
    expect(mails).toHaveLength(2);
    const bySubject = (job: string) => mails.find((m) => m.subject?.includes(`run ${job}`));
    const ok = bySubject(r.jobs.ok);
    const failed = bySubject(r.jobs.broken);
    expect(ok?.subject).toBe(`${ML}RunCompleted: run ${r.jobs.ok}`);
    expect(failed?.subject).toBe(`${ML}RunStatusChanged: run ${r.jobs.broken}`);
    for (const [m, job] of [
      [ok!, r.jobs.ok],
      [failed!, r.jobs.broken],
    ] as const) {
      expect(m.to && !Array.isArray(m.to) ? m.to.text : '').toBe('ml-team@example.com');
      expect(m.text).toContain(`Workspace: ${r.workspaceId}`); // {{topic}}
      expect(m.text).toContain(`Open the run: ${server.url}${r.workspaceId}/jobs/${job}`); // {{link}}
      expect(m.html).toContain(`<b>${job}</b>`);
      expect(m.headers.get('x-mlgrid-automation')).toBe('mail-on-run-end');
    }
    expect(failed!.text).toContain(`${ML}RunStatusChanged Failed`);
    expect(mails.some((m) => m.subject?.includes(r.jobs.cancelled))).toBe(false);

    const status = async (job: string) =>
      (await arm<{ properties: { status: string } }>('GET', `${r.workspaceId}/jobs/${job}`)).properties
        .status;
    expect([await status(r.jobs.ok), await status(r.jobs.broken), await status(r.jobs.cancelled)]).toEqual([
      'Completed',
      'Failed',
      'Canceled',
    ]);
    const runs = (
      await arm<{ value: { properties: { status: string; reason?: string } }[] }>(
        'GET',
        `${r.workspaceId}/automations/mail-on-run-end/runs`,
      )
    ).value;
    expect(runs.map((x) => x.properties.status).sort()).toEqual(['Skipped', 'Succeeded', 'Succeeded']);
  });
});

describe('examples/retrain-on-drift', () => {
  it('drift → one retraining job → churn:2 registered with its tags → deployed by them → ModelDeployed once', async () => {
    const r = await run(retrainOnDrift);
    const ws = r.workspaceId;
    await until(
      async () => received('ModelDeployed').filter((e) => e.topic === ws).length,
      (n) => n >= 2,
    );
    await drained();
    const of = (type: string) => received(type).filter((e) => e.topic === ws);

    const drift = of('DatasetDriftDetected');
    expect(drift).toHaveLength(1); // the normal day raised none
    expect(drift[0]!.data).toMatchObject({
      dataDriftName: 'churn-drift',
      startTime: '2025-02-02T00:00:00.000Z',
    });
    expect(Number(drift[0]!.data.driftCoefficient)).toBeGreaterThan(0.3);

    const jobs = (
      await arm<{
        value: { name: string; properties: { status: string; properties: Record<string, string> } }[];
      }>('GET', `${ws}/jobs`)
    ).value;
    const retrain = jobs.filter((j) => j.name !== 'train-baseline');
    expect(retrain).toHaveLength(1);
    expect(retrain[0]!.properties.status).toBe('Completed');
    expect(retrain[0]!.properties.properties['mlgrid.correlationId']).toBe(drift[0]!.id);

    const v2 = await arm<{
      properties: { tags: Record<string, string>; properties: Record<string, string> };
    }>('GET', `${ws}/models/churn/versions/2`);
    expect(v2.properties.tags).toEqual({ deploy: 'true', stage: 'prod', endpoint: r.endpoint });
    expect(v2.properties.properties['mlgrid.correlationId']).toBe(drift[0]!.id);
    expect(v2.properties.properties['mlgrid.causationId']).toBe(`${ws}/jobs/${retrain[0]!.name}`);
    expect(v2.properties.properties.feature).toBe('support_calls'); // learnt from the drifted day

    const registered = of('ModelRegistered').map((e) => `${e.data.modelName}:${e.data.modelVersion}`);
    expect(registered).toEqual(['churn:1', 'churn:2']);
    const deployed = of('ModelDeployed').map(
      (e) => `${e.data.modelIds}@${e.data.serviceName}/${e.data.deploymentName}`,
    );
    expect(deployed).toEqual([`churn:1@${r.endpoint}/churn-v1`, `churn:2@${r.endpoint}/churn-v2`]);
    expect(of('ModelDeployed')[1]!.data.correlationId).toBe(drift[0]!.id);

    const ep = await arm<{ properties: { traffic: Record<string, number> } }>(
      'GET',
      `${ws}/onlineEndpoints/${r.endpoint}`,
    );
    expect(ep.properties.traffic).toEqual({ 'churn-v1': 0, 'churn-v2': 100 });
    expect(r.scoreAfter.deployment).toBe('churn-v2');
    const chain = await arm<{ objects: { kind: string }[] }>('GET', `${ws}/lineage/${drift[0]!.id}`);
    expect(chain.objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['job', 'modelVersion', 'deployment']),
    );
  });
});

describe('examples/deploy-on-tags', () => {
  it('a Python function and the deployModel step deploy the tagged version once each, the untagged one nowhere', async () => {
    const r = await run(deployOnTags);
    const ws = r.workspaceId;
    await until(
      async () => received('ModelDeployed').filter((e) => e.topic === ws).length,
      (n) => n >= 4,
    );
    await drained();
    const deployed = received('ModelDeployed')
      .filter((e) => e.topic === ws)
      .map((e) => `${e.data.modelIds}@${e.data.serviceName}/${e.data.deploymentName}`)
      .sort();
    // churn:1 set up by the example, churn:2 by the function and by the step; never churn:3; nothing twice.
    expect(deployed).toEqual(
      [
        `churn:1@${r.endpoints.fn}/churn-v1`,
        `churn:1@${r.endpoints.step}/churn-v1`,
        `churn:2@${r.endpoints.fn}/churn-v2`,
        `churn:2@${r.endpoints.step}/churn-v2`,
      ].sort(),
    );
    for (const ep of Object.values(r.endpoints)) {
      const list = (
        await arm<{ value: { name: string; properties: { model: string } }[] }>(
          'GET',
          `${ws}/onlineEndpoints/${ep}/deployments`,
        )
      ).value;
      expect(list.map((d) => d.name).sort()).toEqual(['churn-v1', 'churn-v2']);
      const e = await arm<{ properties: { traffic: Record<string, number> } }>(
        'GET',
        `${ws}/onlineEndpoints/${ep}`,
      );
      expect(e.properties.traffic).toMatchObject({ 'churn-v2': 100 });
    }
    const fnDeployment = await arm<{
      tags: Record<string, string>;
      properties: { properties: Record<string, string> };
    }>('GET', `${ws}/onlineEndpoints/${r.endpoints.fn}/deployments/churn-v2`);
    expect(fnDeployment.tags).toEqual({ deployedBy: 'deploy_on_tags.py' }); // made by the Python function
    const e2 = received('ModelRegistered').find((e) => e.topic === ws && e.data.modelVersion === '2')!;
    expect(fnDeployment.properties.properties['mlgrid.causationId']).toBe(e2.id);

    // The function ran for churn:2 (deployed), churn:3 (nothing to deploy), and for the replayed churn:2 (nothing).
    const excerpts = r.functionAttempts
      .filter((a) => a.outcome === 'Succeeded')
      .map((a) => a.responseExcerpt ?? '');
    expect(excerpts.some((x) => x.includes('churn:2 is live on'))).toBe(true);
    expect(excerpts.some((x) => x.includes('churn:3: not tagged'))).toBe(true);
    expect(excerpts.some((x) => x.includes('churn:2 already runs on'))).toBe(true);
    const steps = r.automationRuns.map((x) => x.properties.steps[0]?.output ?? {});
    expect(steps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ deployment: 'churn-v2', reused: false }),
        expect.objectContaining({ skipped: 'no rule matched', model: 'churn:3' }),
      ]),
    );
    // churn:1 was registered before the automation existed; the replayed events started no run.
    expect(r.automationRuns.map((x) => x.properties.status)).toEqual(['Succeeded', 'Succeeded']);
  });
});
