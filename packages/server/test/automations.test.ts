/**
 * Automations over real HTTP on SQLite and PostgreSQL: CRUD with 400s naming the field, the trigger subscription
 * kept in step, runs recorded, a redelivered event starting one run, storm control (a burst of 20 → one run,
 * maxConcurrent), the condition, retries, httpRequest to a real receiver, publishEvent reaching a subscription.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  event,
  finished,
  fixture,
  scriptedReceiver,
  status,
  type Json,
  type Scripted,
} from './automations-kit.js';
import { skipWithoutPostgres } from './helpers/postgres.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/until.js';

const pgSkip = await skipWithoutPostgres('automations');

describe.each([
  { backend: 'sqlite' as const, skip: false },
  { backend: 'postgres' as const, skip: pgSkip },
])('automations on $backend', ({ backend, skip }) => {
  let s: TestServer;
  let f: Awaited<ReturnType<typeof fixture>>;
  let rx: Scripted;
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(backend, {
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false },
      automations: { pollMs: 50, leaseMs: 5000, maxRuns: 5, pruneEveryMs: 100 },
    });
    f = await fixture(s, backend);
    rx = await scriptedReceiver();
  });
  afterAll(async () => {
    await rx?.close();
    await s?.stop();
  });
  // Every automation listens to the same topic: each test's automations go with it.
  afterEach(async () => {
    if (skip) return;
    for (const a of ((await (await s.arm('GET', `${f.ws}/automations`)).json()) as Json).value) {
      await s.arm('DELETE', a.id);
    }
    rx.reply = () => ({ status: 200 });
    rx.releaseAll();
  });
  const http = (extra: Json = {}) => ({
    name: 'call',
    type: 'httpRequest',
    url: `${rx.url}/{{automation.name}}/{{data.dataDriftId}}`,
    body: {
      event: '{{eventType}}',
      monitor: '{{data.dataDriftId}}',
      n: '{{events.length}}',
      run: '{{runId}}',
    },
    ...extra,
  });

  it.skipIf(skip)('creates, shows, lists and deletes, keeping the trigger subscription in step', async () => {
    const created = await s.arm('PUT', f.auto('crud'), {
      properties: {
        trigger: { source: f.topic, includedEventTypes: ['A.B'] },
        steps: [http({ headers: { authorization: 'Bearer s3cret', 'x-plain': 'v' } })],
      },
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Json;
    expect(body).toMatchObject({
      name: 'crud',
      type: 'Microsoft.MachineLearningServices/workspaces/automations',
      properties: {
        enabled: true,
        provisioningState: 'Succeeded',
        trigger: { source: f.topic, includedEventTypes: ['A.B'] },
      },
    });
    expect(body.properties.steps[0].headers).toEqual({ authorization: '***', 'x-plain': 'v' });
    expect(JSON.stringify(body)).not.toContain('s3cret');
    const esId = body.properties.eventSubscriptionId as string;
    expect(esId).toBe(`${f.topic}/providers/Microsoft.EventGrid/eventSubscriptions/automation-crud`);
    const es = (await (await s.arm('GET', esId)).json()) as Json;
    expect(es.properties.destination).toEqual({
      endpointType: 'Automation',
      properties: { resourceId: f.auto('crud') },
    });
    expect(es.properties.filter.includedEventTypes).toEqual(['A.B']);

    // GET → PUT round trip keeps the masked secret; a changed filter reaches the subscription.
    const again = await s.arm('PUT', f.auto('crud'), {
      properties: { ...body.properties, trigger: { source: f.topic, includedEventTypes: ['C.D'] } },
    });
    expect(again.status).toBe(200);
    const stored = await s.store.getResource(f.auto('crud').toLowerCase());
    expect(JSON.stringify(stored!.spec)).toContain('Bearer s3cret');
    expect(((await (await s.arm('GET', esId)).json()) as Json).properties.filter.includedEventTypes).toEqual([
      'C.D',
    ]);
    expect(
      ((await (await s.arm('GET', `${f.ws}/automations`)).json()) as Json).value.map((a: Json) => a.name),
    ).toContain('crud');

    // Disabled: no subscription; enabled again: back.
    await s.arm('PUT', f.auto('crud'), { properties: { ...body.properties, enabled: false } });
    expect((await s.arm('GET', esId)).status).toBe(404);
    await s.arm('PUT', f.auto('crud'), { properties: body.properties });
    expect((await s.arm('GET', esId)).status).toBe(200);

    expect((await s.arm('DELETE', f.auto('crud'))).status).toBe(200);
    expect((await s.arm('GET', esId)).status).toBe(404);
    expect((await s.arm('GET', f.auto('crud'))).status).toBe(404);
    expect((await s.arm('DELETE', f.auto('crud'))).status).toBe(204);
  });

  it.skipIf(skip)('refuses bad definitions with 400 naming the field, and changes nothing', async () => {
    const cases: [Json, string][] = [
      [{}, 'properties.steps'],
      [{ steps: [] }, 'properties.steps'],
      [{ steps: [{ name: 'a', type: 'sendFax' }] }, 'properties.steps[0].type'],
      [{ steps: [http({ url: 'ftp://x' })] }, 'properties.steps[0].url'],
      [{ steps: [http({ url: '{{nope}}' })] }, 'properties.steps[0].url'],
      [{ steps: [http(), http()] }, 'properties.steps[1].name'],
      [{ steps: [http()], stormControl: { debounceSeconds: -1 } }, 'properties.stormControl.debounceSeconds'],
      [
        { steps: [http()], condition: { advancedFilters: [{ operatorType: 'NumberIn', key: 'data.x' }] } },
        'properties.condition.advancedFilters[0].values',
      ],
      [
        { steps: [http()], trigger: { source: f.topic.replace(/src-\w+$/, 'missing') } },
        'properties.trigger.source',
      ],
      [{ steps: [{ name: 'p', type: 'publishEvent' }] }, 'properties.steps[0].topic'],
    ];
    for (const [properties, target] of cases) {
      const r = await s.arm('PUT', f.auto('bad'), { properties });
      const b = (await r.json()) as Json;
      expect({ status: r.status, target: b.error.target }, JSON.stringify(b)).toEqual({
        status: 400,
        target,
      });
    }
    expect((await s.arm('GET', f.auto('bad'))).status).toBe(404);
    expect(
      (await s.arm('GET', `${f.topic}/providers/Microsoft.EventGrid/eventSubscriptions/automation-bad`))
        .status,
    ).toBe(404);
  });

  it.skipIf(skip)(
    'records a run per event with each step, and a redelivered event starts no second run',
    async () => {
      await f.put('record', {
        steps: [http(), http({ name: 'second', body: { prev: '{{steps.call.status}}' } })],
      });
      const e = event({ dataDriftId: 'rec' });
      await f.publish([e]);
      await f.publish([e]); // the same event id again: a second delivery of it
      const runs = await f.runsUntil('record', (r) => r.length > 0 && r.every(finished));
      await new Promise((r) => setTimeout(r, 300)); // room for a wrong second run to show up
      expect((await f.runs('record')).length).toBe(1);
      const run = (await (await s.arm('GET', `${f.auto('record')}/runs/${runs[0]!.name}`)).json()) as Json;
      expect(run.properties).toMatchObject({ status: 'Succeeded', eventCount: 1, key: e.subject });
      expect(run.properties.steps.map((x: Json) => [x.name, x.status, x.attempts])).toEqual([
        ['call', 'Succeeded', 1],
        ['second', 'Succeeded', 1],
      ]);
      expect(run.properties.steps[0].output.status).toBe(200);
      expect(run.properties.triggerEvents[0].id).toBe(e.id);
      expect(run.properties.lineage).toEqual({ correlationId: e.id, causationId: e.id });
      const hits = rx.hits.filter((h) => h.url === '/record/rec');
      expect(hits.length).toBe(2);
      expect(JSON.parse(hits[0]!.body)).toEqual({
        event: e.eventType,
        monitor: 'rec',
        n: 1,
        run: runs[0]!.name,
      });
      expect(JSON.parse(hits[1]!.body)).toEqual({ prev: 200 });
      expect(hits[0]!.headers['idempotency-key']).toBe(`${runs[0]!.name}-call`);
      // Both deliveries succeeded; the second was recognised.
      const es = `${f.topic}/providers/Microsoft.EventGrid/eventSubscriptions/automation-record`;
      const attempts = await until(
        async () => ((await (await s.arm('GET', `${es}/deliveryAttempts`)).json()) as Json).value as Json[],
        (v) => v.length >= 2,
      );
      expect(attempts.map((a) => a.outcome)).toEqual(['Succeeded', 'Succeeded']);
      expect(attempts.map((a) => a.responseExcerpt).join(' ')).toMatch(/duplicate/);
    },
  );

  it.skipIf(skip)(
    'a burst of 20 drift events for one monitor starts exactly one run (debounce)',
    async () => {
      await f.put('burst', {
        steps: [http()],
        stormControl: { key: '{{data.dataDriftId}}', debounceSeconds: 1500 }, // 1.5 s at timeScale 0.001
      });
      const before = rx.hits.length;
      for (let i = 0; i < 20; i++) await f.publish([event({ dataDriftId: 'mon-1' })]);
      await f.publish([event({ dataDriftId: 'mon-2' })]);
      const runs = await f.runsUntil('burst', (r) => r.length === 2 && r.every(finished));
      const byKey = Object.fromEntries(runs.map((r) => [r.properties.key, r.properties]));
      expect(byKey['mon-1']).toMatchObject({ status: 'Succeeded', eventCount: 20 });
      expect(byKey['mon-2']).toMatchObject({ status: 'Succeeded', eventCount: 1 });
      await new Promise((r) => setTimeout(r, 300));
      expect(rx.hits.slice(before).filter((h) => h.url === '/burst/mon-1').length).toBe(1);
      expect((await f.runs('burst')).length).toBe(2);
    },
  );

  it.skipIf(skip)('runs one run per key at a time (maxConcurrent 1), keys in parallel', async () => {
    rx.maxInFlight = 0;
    rx.reply = (h) => (h.url.startsWith('/serial/slow') ? 'hold' : { status: 200 });
    await f.put('serial', {
      steps: [http()],
      stormControl: { key: '{{data.dataDriftId}}', coalesce: false },
    });
    for (let i = 0; i < 3; i++) await f.publish([event({ dataDriftId: 'slow-a' })]);
    await f.publish([event({ dataDriftId: 'slow-b' })]);
    await until(
      async () => rx.inFlight,
      (n) => n === 2,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.inFlight).toBe(2); // one of slow-a, one of slow-b
    expect((await f.runs('serial', '?status=Queued')).length).toBe(2);
    for (let i = 0; i < 3; i++) {
      rx.releaseAll();
      await new Promise((r) => setTimeout(r, 150));
    }
    rx.reply = () => ({ status: 200 });
    rx.releaseAll();
    const runs = await f.runsUntil(
      'serial',
      (r) => r.length === 4 && r.every((x) => status(x) === 'Succeeded'),
    );
    expect(runs.length).toBe(4);
    expect(rx.maxInFlight).toBe(2);
  });

  it.skipIf(skip)('a false condition records a Skipped run and calls nothing', async () => {
    await f.put('cond', {
      steps: [http()],
      condition: {
        advancedFilters: [{ operatorType: 'NumberGreaterThan', key: 'data.coefficient', value: 0.5 }],
      },
    });
    await f.publish([event({ dataDriftId: 'cond-low', coefficient: 0.1 })]);
    await f.publish([event({ dataDriftId: 'cond-high', coefficient: 0.9 })]);
    const runs = await f.runsUntil('cond', (r) => r.length === 2 && r.every(finished));
    const byKey = Object.fromEntries(runs.map((r) => [r.properties.key.split('/')[1], r.properties]));
    expect(
      Object.values(byKey)
        .map((p) => (p as { status: string }).status)
        .sort(),
    ).toEqual(['Skipped', 'Succeeded']);
    expect(runs.find((r) => status(r) === 'Skipped')!.properties.reason).toBe('condition is false');
    expect(rx.hits.some((h) => h.url === '/cond/cond-low')).toBe(false);
    expect(rx.hits.some((h) => h.url === '/cond/cond-high')).toBe(true);
  });

  it.skipIf(skip)('retries 5xx with backoff, fails at once on 4xx (later steps skipped)', async () => {
    rx.reply = (h) => {
      if (h.url === '/retry/flaky')
        return rx.hits.filter((x) => x.url === '/retry/flaky').length < 3 ? { status: 503 } : { status: 200 };
      if (h.url === '/retry/refused') return { status: 400, body: 'no' };
      return { status: 200 };
    };
    await f.put('retry', {
      steps: [http({ retry: { maxAttempts: 4, delaySeconds: 1 } }), http({ name: 'after' })],
    });
    await f.publish([event({ dataDriftId: 'flaky' })]);
    await f.publish([event({ dataDriftId: 'refused' })]);
    const runs = await f.runsUntil('retry', (r) => r.length === 2 && r.every(finished));
    const ok = runs.find((r) => status(r) === 'Succeeded')!;
    const bad = runs.find((r) => status(r) === 'Failed')!;
    expect(ok.properties.steps[0]).toMatchObject({ status: 'Succeeded', attempts: 3 });
    expect(bad.properties.steps.map((x: Json) => [x.status, x.attempts])).toEqual([
      ['Failed', 1],
      ['Skipped', 0],
    ]);
    expect(bad.properties.steps[0].error).toMatchObject({ retryable: false });
    expect(bad.properties.reason).toMatch(/answered 400/);
    rx.reply = () => ({ status: 200 });
  });

  it.skipIf(skip)(
    'publishEvent reaches a subscription of a custom topic, with lineage; manual trigger',
    async () => {
      const out = `/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/out-${backend}`;
      await s.arm('PUT', out, { location: 'local' });
      const hook: Receiver = await startReceiver();
      try {
        const sub = await s.arm('PUT', `${out}/providers/Microsoft.EventGrid/eventSubscriptions/watch`, {
          properties: { destination: { endpointType: 'WebHook', properties: { endpointUrl: hook.url } } },
        });
        expect(sub.status).toBe(201);
        await f.put('relay', {
          steps: [
            {
              name: 'announce',
              type: 'publishEvent',
              topic: `out-${backend}`,
              eventType: 'Contoso.Retrain.Requested',
              subject: 'monitors/{{data.dataDriftId}}',
              data: { monitor: '{{data.dataDriftId}}', events: '{{events.length}}' },
            },
          ],
        });
        const trigger = await s.arm('POST', `${f.auto('relay')}/run`, {
          id: 'manual-1',
          eventType: 'Manual.Test',
          subject: 'x',
          data: { dataDriftId: 'm9', correlationId: 'chain-0' },
        });
        expect(trigger.status).toBe(202);
        const t = (await trigger.json()) as Json;
        expect(t).toMatchObject({ eventId: 'manual-1', status: 'queued' });
        await hook.waitFor(() => hook.eventIds().length === 1);
        const got = JSON.parse(hook.notifications()[0]!.body)[0] as Json;
        expect(got).toMatchObject({
          eventType: 'Contoso.Retrain.Requested',
          subject: 'monitors/m9',
          topic: out,
          data: { monitor: 'm9', events: 1, correlationId: 'chain-0', causationId: 'manual-1' },
        });
        const run = (await f.runsUntil('relay', (r) => r.length === 1 && finished(r[0]!)))[0]!;
        expect(run.properties.steps[0].output.eventId).toBe(got.id);
        // The same manual event id again: recognised, no second run.
        const dup = (await (
          await s.arm('POST', `${f.auto('relay')}/run`, {
            event: { id: 'manual-1', eventType: 'Manual.Test' },
          })
        ).json()) as Json;
        expect(dup).toMatchObject({ status: 'duplicate', runId: t.runId });
        expect((await s.arm('POST', `${f.auto('relay')}/run`, { subject: 'no type' })).status).toBe(400);
      } finally {
        await hook.close();
      }
    },
  );

  it.skipIf(skip)("runs on the workspace's own events by default, with a link to the object", async () => {
    await f.put('registered', {
      trigger: { includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'] },
      steps: [
        http({
          url: `${rx.url}/registered/{{data.modelName}}`,
          body: {
            model: '{{data.modelName}}:{{data.modelVersion}}',
            link: '{{link}}',
            tags: '{{data.modelTags}}',
          },
        }),
      ],
    });
    const mv = await s.arm('PUT', `${f.ws}/models/churn/versions/1`, {
      properties: { modelUri: 'file:///models/churn/1', tags: { stage: 'prod' } },
    });
    expect(mv.status).toBe(201);
    await f.runsUntil('registered', (r) => r.length === 1 && finished(r[0]!));
    const hit = rx.hits.find((h) => h.url === '/registered/churn')!;
    expect(JSON.parse(hit.body)).toEqual({
      model: 'churn:1',
      link: `${s.url}${f.ws}/models/churn/versions/1`,
      tags: { stage: 'prod' },
    });
  });

  it.skipIf(skip)(
    'keeps the newest maxRuns finished runs, deleting older ones with their events',
    async () => {
      await f.put('pruned', { steps: [http()] });
      for (let i = 0; i < 8; i++) {
        const r = await s.arm('POST', `${f.auto('pruned')}/run`, {
          eventType: 'T',
          subject: `s${i}`,
          data: { dataDriftId: `p${i}` },
        });
        expect(r.status).toBe(202);
      }
      await until(
        async () => rx.hits.filter((h) => h.url.startsWith('/pruned/')).length,
        (n) => n === 8,
      );
      const runs = await f.runsUntil('pruned', (r) => r.length === 5 && r.every(finished));
      expect(runs.map((r) => r.properties.key)).toEqual(['s7', 's6', 's5', 's4', 's3']);
      const marks = await s.store.listResources({
        kind: 'automationEvent',
        parentKey: f.auto('pruned').toLowerCase(),
      });
      expect(marks.length).toBe(5);
    },
  );
});
