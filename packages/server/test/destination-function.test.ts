/**
 * AzureFunction destinations end to end: subscriptions made with `@azure/arm-eventgrid` name local functions by
 * resource id; Python commands and JavaScript/TypeScript modules receive the batches as local processes, with
 * retries, dead-lettering and timeouts from the real dispatcher (time scaled).
 */
import { EventGridManagementClient, type EventSubscription } from '@azure/arm-eventgrid';
import { EventGridDeserializer } from '@azure/eventgrid';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS } from './fixtures/functions/handlers.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

const SUB_ID = 'fn-sub';
const RG = 'fn-rg';
const TOPIC = `/subscriptions/${SUB_ID}/resourceGroups/${RG}/providers/Microsoft.EventGrid/topics/fn-topic`;
const APP = `/subscriptions/${SUB_ID}/resourceGroups/${RG}/providers/Microsoft.Web/sites/ml-app`;
const PYTHON = '/usr/bin/python3';

interface Attempt {
  outcome: string;
  deliveryCount: number;
  eventIds: string[];
  responseExcerpt?: string;
}
interface Seen {
  env: Record<string, string | null>;
  body: string;
  cwd: string;
}

describe('AzureFunction destinations (local functions)', () => {
  const tmp = tempDir('mlgrid-fn-');
  const fnDir = join(tmp.dir, 'functions');
  const out = (name: string) => join(tmp.dir, 'out', name);
  let s: TestServer;
  let client: EventGridManagementClient;
  const saved = { key: process.env.MLGRID_KEY, db: process.env.DATABASE_URL };

  beforeAll(async () => {
    // Secrets in the server's environment must not reach a function's process.
    process.env.MLGRID_KEY = 'leak-probe-key';
    process.env.DATABASE_URL = 'postgres://u:leak-probe@127.0.0.1/x';
    mkdirSync(join(fnDir, 'ml-app'), { recursive: true });
    for (const [file, text] of Object.entries(HANDLERS)) writeFileSync(join(fnDir, 'ml-app', file), text);
    for (const d of ['py', 'js', 'ts', 'slow', 'spans']) mkdirSync(out(d), { recursive: true });
    // A folder inside the functions directory that is a link to one outside it.
    mkdirSync(join(tmp.dir, 'outside'));
    writeFileSync(join(tmp.dir, 'outside', 'handler.py'), HANDLERS['handler.py']!);
    symlinkSync(join(tmp.dir, 'outside'), join(fnDir, 'escape'));
    s = await startTestServer('sqlite', { dataDir: tmp.dir, delivery: { timeScale: 0.001, pollMs: 20 } });
    client = new EventGridManagementClient({ getToken: async () => null }, SUB_ID, {
      endpoint: s.url,
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    // The SDK sends bearer tokens only over HTTPS; this test talks HTTP and sends the admin key itself.
    client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
    client.pipeline.addPolicy({
      name: 'mlgridAdminKey',
      sendRequest: (req, next) => {
        req.headers.set('authorization', `Bearer ${ADMIN_KEY}`);
        return next(req);
      },
    });
    expect((await s.arm('PUT', TOPIC, { location: 'local' })).status).toBe(201);

    const fn = async (name: string, mlgrid: Record<string, unknown>) => {
      const r = await s.arm('PUT', `${APP}/functions/${name}`, { properties: { config: { mlgrid } } });
      expect(r.status, await r.clone().text()).toBe(201);
    };
    await fn('py', { command: [PYTHON, 'handler.py'], env: { STAGE: 'prod', OUT_DIR: out('py') } });
    await fn('js', { module: 'handler.mjs', env: { STAGE: 'dev', OUT_DIR: out('js') } });
    await fn('ts', { module: 'handler.ts', env: { OUT_DIR: out('ts') } });
    await fn('fail-retry', { command: [PYTHON, 'fail.py'], env: { FAIL_CODE: '1' } });
    await fn('fail-data', { command: [PYTHON, 'fail.py'], env: { FAIL_CODE: '65' } });
    await fn('reject', { module: 'reject.mjs' });
    await fn('slow', { command: [PYTHON, 'slow.py'], env: { OUT_DIR: out('slow') }, timeoutSeconds: 1 });
    await fn('one-at-a-time', {
      command: [PYTHON, 'spans.py'],
      env: { OUT_DIR: out('spans') },
      maxConcurrency: 1,
    });
    await fn('missing-program', { command: ['no-such-program-mlgrid'] });
    await fn('escape', { command: [PYTHON, 'handler.py'], cwd: 'escape', env: { OUT_DIR: out('escape') } });
  });
  afterAll(async () => {
    await s?.stop();
    tmp.cleanup();
    for (const [k, v] of [
      ['MLGRID_KEY', saved.key],
      ['DATABASE_URL', saved.db],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** A subscription created by the Azure SDK, to the function `fn`, for subjects below `prefix/`. */
  const subscribe = (name: string, fn: string, extra: Partial<EventSubscription> = {}) =>
    client.eventSubscriptions.beginCreateOrUpdateAndWait(TOPIC, name, {
      destination: {
        endpointType: 'AzureFunction',
        resourceId: `${APP}/functions/${fn}`,
        maxEventsPerBatch: 10,
      },
      filter: { subjectBeginsWith: `${name}/` },
      ...extra,
    });
  const publish = async (events: object[]) => {
    const r = await fetch(`${s.url}/topics/fn-topic/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(events),
    });
    expect(r.status).toBe(200);
  };
  const ev = (
    id: string,
    subject: string,
    eventType = 'Microsoft.MachineLearningServices.ModelRegistered',
  ) => ({
    id,
    subject,
    eventType,
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    data: { modelName: 'churn', modelVersion: id },
  });
  const esPath = (name: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${name}`;
  const attempts = async (name: string): Promise<Attempt[]> =>
    (await (await s.arm('GET', `${esPath(name)}/deliveryAttempts`)).json()).value;
  const deadLetters = async (name: string) =>
    (await (await s.arm('GET', `${esPath(name)}/deadLetters`)).json()).value;
  const files = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));

  it('delivers a batch to a Python command handler on stdin, with the env vars and no server secrets', async () => {
    const created = await subscribe('python', 'py', {
      destination: {
        endpointType: 'AzureFunction',
        resourceId: `${APP}/functions/py`,
        maxEventsPerBatch: 10,
        deliveryAttributeMappings: [{ name: 'x-model-stage', type: 'Static', value: 'prod' }],
      },
    });
    expect(created.destination).toMatchObject({
      endpointType: 'AzureFunction',
      resourceId: `${APP}/functions/py`,
    });
    await publish([
      ev('py-1', 'python/models/churn/1'),
      ev('py-2', 'python/models/churn/2', 'Microsoft.MachineLearningServices.ModelDeployed'),
      ev('py-3', 'python/models/churn/3'),
    ]);
    const seen: Seen[] = await until(
      async () => files(out('py')),
      (f) => f.length >= 1,
    );
    expect(seen).toHaveLength(1); // one process for the batch of three
    const events = await new EventGridDeserializer().deserializeEventGridEvents(seen[0]!.body);
    expect(events.map((e) => e.id)).toEqual(['py-1', 'py-2', 'py-3']);
    expect(events[0]).toMatchObject({ topic: TOPIC, subject: 'python/models/churn/1', dataVersion: '2' });
    expect(seen[0]!.cwd).toBe(join(fnDir, 'ml-app'));
    expect(seen[0]!.env).toMatchObject({
      MLGRID_FUNCTION_ID: `${APP}/functions/py`,
      MLGRID_SUBSCRIPTION_NAME: 'python',
      MLGRID_EVENT_SUBSCRIPTION_ID: esPath('python'),
      MLGRID_EVENT_TYPE: 'Microsoft.MachineLearningServices.ModelRegistered',
      MLGRID_EVENT_TYPES:
        'Microsoft.MachineLearningServices.ModelRegistered,Microsoft.MachineLearningServices.ModelDeployed',
      MLGRID_EVENT_IDS: 'py-1,py-2,py-3',
      MLGRID_EVENT_COUNT: '3',
      MLGRID_DELIVERY_COUNT: '0',
      MLGRID_CONTENT_TYPE: 'application/json; charset=utf-8',
      MLGRID_HEADER_X_MODEL_STAGE: 'prod',
      AEG_EVENT_TYPE: 'Notification',
      AEG_SUBSCRIPTION_NAME: 'PYTHON',
      AEG_DELIVERY_COUNT: '0',
      STAGE: 'prod',
      DATABASE_URL: null,
    });
    expect(seen[0]!.env.MLGRID_KEY).toBeUndefined();
    const log = await until(
      () => attempts('python'),
      (a) => a.length >= 1,
    );
    expect(log).toMatchObject([
      { outcome: 'Succeeded', eventIds: ['py-1', 'py-2', 'py-3'], responseExcerpt: 'handled 3 events' },
    ]);
  });

  it('runs JavaScript and TypeScript module handlers in their own processes', async () => {
    await subscribe('jsmod', 'js');
    await subscribe('tsmod', 'ts', { eventDeliverySchema: 'CloudEventSchemaV1_0' });
    await publish([ev('js-1', 'jsmod/a'), ev('js-2', 'jsmod/b'), ev('ts-1', 'tsmod/a')]);
    const js = await until(
      async () => files(out('js')),
      (f) => f.length >= 1,
    );
    expect(js).toHaveLength(1);
    expect(js[0].events.map((e: { id: string }) => e.id)).toEqual(['js-1', 'js-2']);
    expect(js[0].stage).toBe('dev');
    expect(js[0].context).toMatchObject({
      functionId: `${APP}/functions/js`,
      subscriptionName: 'jsmod',
      eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
      eventIds: ['js-1', 'js-2'],
      deliveryCount: 0,
      headers: { 'aeg-subscription-name': 'JSMOD' },
    });
    const ts = await until(
      async () => files(out('ts')),
      (f) => f.length >= 1,
    );
    // An unbatched CloudEvents delivery is one structured event; the handler still gets an array.
    expect(ts[0].events).toMatchObject([
      {
        specversion: '1.0',
        id: 'ts-1',
        type: 'Microsoft.MachineLearningServices.ModelRegistered',
        source: TOPIC,
      },
    ]);
    const jsLog = await until(
      () => attempts('jsmod'),
      (a) => a.length >= 1,
    );
    expect(jsLog[0]).toMatchObject({ outcome: 'Succeeded', responseExcerpt: '{"handled":["js-1","js-2"]}' });
    const tsLog = await until(
      () => attempts('tsmod'),
      (a) => a.length >= 1,
    );
    expect(tsLog[0]).toMatchObject({ outcome: 'Succeeded', responseExcerpt: 'ts handled 1' });
  });

  it('retries a failing handler (exit 1) with its stderr tail in the delivery log, then dead-letters', async () => {
    await subscribe('fail1', 'fail-retry', {
      retryPolicy: { maxDeliveryAttempts: 3, eventTimeToLiveInMinutes: 60 },
    });
    await publish([ev('f1-1', 'fail1/x')]);
    const dead = await until(
      () => deadLetters('fail1'),
      (l) => l.length >= 1,
    );
    expect(dead[0]).toMatchObject({
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 3,
      lastDeliveryOutcome: 'GenericError',
    });
    const log = await attempts('fail1');
    expect(log.map((a) => [a.outcome, a.deliveryCount])).toEqual([
      ['GenericError', 0],
      ['GenericError', 1],
      ['GenericError', 2],
    ]);
    const excerpt = log[0]!.responseExcerpt!;
    expect(excerpt.length).toBeLessThanOrEqual(512);
    expect(excerpt).toMatch(/^exit 1: …/); // the traceback is longer than the log keeps: its end is kept
    expect(excerpt).toMatch(/RuntimeError: model registry unreachable$/);
  });

  it('dead-letters at once on exit 65 (data error), from a command or a module', async () => {
    await subscribe('fail65', 'fail-data', {
      retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 60 },
    });
    await subscribe('reject', 'reject', {
      retryPolicy: { maxDeliveryAttempts: 10, eventTimeToLiveInMinutes: 60 },
    });
    await publish([ev('f65-1', 'fail65/x'), ev('rej-1', 'reject/x')]);
    for (const [name, tail] of [
      ['fail65', 'RuntimeError: model registry unreachable'],
      ['reject', 'Error: no modelId in the event'],
    ] as const) {
      const dead = await until(
        () => deadLetters(name),
        (l) => l.length >= 1,
      );
      expect(dead[0]).toMatchObject({
        deadLetterReason: 'UndeliverableDueToHandlerError',
        deliveryAttempts: 1,
      });
      const log = await attempts(name);
      expect(log).toHaveLength(1);
      expect(log[0]!.responseExcerpt).toMatch(/^exit 65 \(data error: not retried\): /);
      expect(log[0]!.responseExcerpt).toContain(tail);
    }
  });

  it('kills a handler past its timeout with everything it started, and retries it', async () => {
    await subscribe('slow', 'slow', {
      retryPolicy: { maxDeliveryAttempts: 2, eventTimeToLiveInMinutes: 60 },
    });
    await publish([ev('slow-1', 'slow/x')]);
    const dead = await until(
      () => deadLetters('slow'),
      (l) => l.length >= 1,
    );
    expect(dead[0]).toMatchObject({
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 2,
      lastDeliveryOutcome: 'TimedOut',
    });
    const log = await attempts('slow');
    expect(log.map((a) => a.outcome)).toEqual(['TimedOut', 'TimedOut']);
    expect(log[0]!.responseExcerpt).toBe('timed out after 1 s (process group killed)');
    const pids: number[][] = files(out('slow'));
    expect(pids).toHaveLength(2);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The handler and the `sleep 60` it started are gone (the group was signalled).
    const still = await until(
      async () => pids.flat().filter(alive),
      (l) => l.length === 0,
      5000,
    );
    expect(still).toEqual([]);
  });

  it('runs at most maxConcurrency processes of a function at once', async () => {
    // No batching: the dispatcher sends the three events as three requests at the same time.
    await subscribe('serial', 'one-at-a-time', {
      destination: { endpointType: 'AzureFunction', resourceId: `${APP}/functions/one-at-a-time` },
    });
    await publish([ev('s-1', 'serial/a'), ev('s-2', 'serial/b'), ev('s-3', 'serial/c')]);
    const spans: [number, number][] = await until(
      async () => files(out('spans')),
      (f) => f.length >= 3,
    );
    expect(spans).toHaveLength(3);
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it('refuses a destination naming no function, on create and on update, as Azure does', async () => {
    const refused = { statusCode: 400, message: expect.stringMatching(/Destination endpoint not found/) };
    await expect(subscribe('nowhere', 'no-such-function')).rejects.toMatchObject(refused);
    const put = await s.arm('PUT', esPath('nowhere'), {
      properties: {
        destination: { endpointType: 'AzureFunction', properties: { resourceId: `${APP}/functions/nope` } },
      },
    });
    expect(put.status).toBe(400);
    expect((await put.json()).error).toMatchObject({
      code: 'InvalidRequestContent',
      target: 'properties.destination.properties.resourceId',
      message: expect.stringContaining(`no function '${APP}/functions/nope' exists`),
    });
    expect((await s.arm('GET', esPath('nowhere'))).status).toBe(404); // nothing was stored

    // ARM ids are case-insensitive; an update to a missing function leaves the subscription as it was.
    await subscribe('moving', 'PY', {
      destination: { endpointType: 'AzureFunction', resourceId: `${APP.toUpperCase()}/functions/PY` },
    });
    await expect(
      client.eventSubscriptions.beginUpdateAndWait(TOPIC, 'moving', {
        destination: { endpointType: 'AzureFunction', resourceId: `${APP}/functions/gone` },
      }),
    ).rejects.toMatchObject(refused);
    const kept = await client.eventSubscriptions.get(TOPIC, 'moving');
    expect(kept.destination).toMatchObject({ resourceId: `${APP.toUpperCase()}/functions/PY` });
    await client.eventSubscriptions.beginDeleteAndWait(TOPIC, 'moving');
  });

  it('retries what cannot run: a deleted function, a missing program, a folder leading outside', async () => {
    const retry = { retryPolicy: { maxDeliveryAttempts: 2, eventTimeToLiveInMinutes: 60 } };
    // A function deleted after the subscription was made: deliveries retry (it may come back), then dead-letter.
    const ghost = `${APP}/functions/ghost`;
    expect(
      (await s.arm('PUT', ghost, { properties: { config: { mlgrid: { command: [PYTHON, 'x.py'] } } } }))
        .status,
    ).toBe(201);
    await subscribe('ghost', 'ghost', retry);
    expect((await s.arm('DELETE', ghost)).status).toBe(200);
    await subscribe('noprog', 'missing-program', retry);
    await subscribe('escape', 'escape', retry);
    await publish([ev('g-1', 'ghost/x'), ev('n-1', 'noprog/x'), ev('e-1', 'escape/x')]);
    for (const [name, excerpt] of [
      ['ghost', `the function ${APP}/functions/ghost does not exist`],
      ['noprog', 'could not start: no-such-program-mlgrid: not found (ENOENT)'],
      ['escape', `${join(fnDir, 'escape')} leads outside the functions directory`],
    ] as const) {
      const dead = await until(
        () => deadLetters(name),
        (l) => l.length >= 1,
      );
      expect(dead[0]).toMatchObject({ deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 2 });
      expect((await attempts(name)).map((a) => a.responseExcerpt)).toEqual([excerpt, excerpt]);
    }
    expect(existsSync(out('escape'))).toBe(false); // the linked-to handler never ran
  });
});
