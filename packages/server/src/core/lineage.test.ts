import { EventGridDeserializer } from '@azure/eventgrid';
import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildDeliveryRequest, toOutputEvent } from './delivery-format.js';
import { runEvents } from './job-run.js';
import type { JobSpec } from './job.js';
import {
  bodyJobName,
  bodyNamesLineage,
  causalOrder,
  checkLineage,
  dataLineage,
  eventSource,
  inheritInto,
  LINEAGE_LIMITS,
  lineageEnv,
  lineageOf,
  mergeLineage,
  type LineageEvent,
} from './lineage.js';
import { modelDeployed, modelRegistered, runCompleted, workspaceResourceId } from './ml-events.js';

const WS = workspaceResourceId('s1', 'rg', 'ws');
const NOW = new Date('2026-02-03T04:05:06.007Z');
const L = { correlationId: 'drift-1', causationId: 'registered-1' };
const C = 'mlgrid.correlationId';
const K = 'mlgrid.causationId';

describe('ML events with and without lineage', () => {
  const registered = (lineage?: typeof L) =>
    modelRegistered({
      workspaceId: WS,
      id: 'e1',
      now: NOW,
      modelName: 'm',
      modelVersion: '1',
      modelTags: { a: 'b' },
      sequencer: 7,
      etag: 'x',
      ...(lineage ? { lineage } : {}),
    });
  const GOLDEN =
    '{"id":"e1","topic":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws",' +
    '"subject":"models/m:1","eventType":"Microsoft.MachineLearningServices.ModelRegistered",' +
    '"eventTime":"2026-02-03T04:05:06.007Z","data":{"modelName":"m","modelVersion":"1","modelTags":{"a":"b"},' +
    '"modelProperties":{},"sequencer":"00000000000000000007","etag":"x"%LINEAGE%},"dataVersion":"2","metadataVersion":"1"}';

  it('leaves an event without lineage byte for byte as it was', () => {
    expect(JSON.stringify(registered())).toBe(GOLDEN.replace('%LINEAGE%', ''));
    expect(JSON.stringify(registered(undefined))).not.toContain('correlationId');
  });

  it('appends the two ids at the end of data, every Azure field unchanged', async () => {
    const text = JSON.stringify(registered(L));
    expect(text).toBe(GOLDEN.replace('%LINEAGE%', ',"correlationId":"drift-1","causationId":"registered-1"'));
    const [parsed] = await new EventGridDeserializer().deserializeEventGridEvents(`[${text}]`);
    expect(parsed!.data).toMatchObject({ modelName: 'm', modelVersion: '1', correlationId: 'drift-1' });
  });

  it('carries a job’s lineage on its Run events, and none on a job without', () => {
    const spec = (properties: Record<string, string>) =>
      ({ experimentName: 'e', tags: {}, properties }) as unknown as JobSpec;
    const run = (properties: Record<string, string>) =>
      runEvents({
        workspaceId: WS,
        workspace: { runStatusChangedStatuses: ['Completed'] },
        jobName: 'j1',
        spec: spec(properties),
        status: 'Completed',
        sequencer: 3,
        etag: 't',
        now: NOW,
        newId: () => 'id',
      });
    const withLineage = run({ [C]: 'drift-1', [K]: 'drift-1' });
    expect(withLineage.map((e) => e.eventType)).toEqual([
      'Microsoft.MachineLearningServices.RunCompleted',
      'Microsoft.MachineLearningServices.RunStatusChanged',
    ]);
    for (const e of withLineage) {
      expect(e.data).toMatchObject({ runId: 'j1', correlationId: 'drift-1', causationId: 'drift-1' });
    }
    const plain = run({})[0]!;
    const direct = runCompleted({
      workspaceId: WS,
      id: 'id',
      now: NOW,
      experimentId: (plain.data as { experimentId: string }).experimentId,
      experimentName: 'e',
      runId: 'j1',
      runType: 'command',
      runTags: {},
      runProperties: {},
      sequencer: 3,
      etag: 't',
    });
    expect(JSON.stringify(plain)).toBe(JSON.stringify(direct));
  });
});

describe('CloudEvents delivery of lineage', () => {
  const deployed = (lineage?: typeof L) =>
    modelDeployed({
      workspaceId: WS,
      id: 'e2',
      now: NOW,
      serviceName: 'ep',
      serviceComputeType: 'Managed',
      modelIds: 'm:1',
      deploymentName: 'blue',
      ...(lineage ? { lineage } : {}),
    }) as unknown as Record<string, unknown>;

  it('surfaces the ids as the extensions correlationid and causationid, data unchanged', () => {
    const ce = toOutputEvent({ schema: 'EventGridSchema', event: deployed(L) }, 'CloudEventSchemaV1_0');
    expect(ce).toMatchObject({ correlationid: 'drift-1', causationid: 'registered-1', dataversion: '2' });
    expect(ce.data).toMatchObject({ correlationId: 'drift-1', causationId: 'registered-1' });
    const sdk = new CloudEvent(ce as never);
    expect(sdk.correlationid).toBe('drift-1');
    expect(sdk.causationid).toBe('registered-1');
  });

  it('adds nothing to an event without lineage; Event Grid delivery passes the stored body through', () => {
    const ce = toOutputEvent({ schema: 'EventGridSchema', event: deployed() }, 'CloudEventSchemaV1_0');
    expect(Object.keys(ce)).toEqual([
      'specversion',
      'id',
      'source',
      'type',
      'subject',
      'time',
      'data',
      'datacontenttype',
      'dataversion',
    ]);
    const ev = deployed(L);
    const req = buildDeliveryRequest({
      events: [{ schema: 'EventGridSchema', event: ev }],
      deliverySchema: 'EventGridSchema',
      batching: false,
      subscriptionName: 's',
      deliveryCount: 0,
    });
    expect(req.body).toBe(`[${JSON.stringify(ev)}]`);
  });

  it('needs both ids as non-empty strings', () => {
    expect(dataLineage({ correlationId: 'a' })).toBeUndefined();
    expect(dataLineage({ correlationId: 'a', causationId: 1 })).toBeUndefined();
    expect(dataLineage({ correlationId: '', causationId: 'b' })).toBeUndefined();
    expect(dataLineage('x')).toBeUndefined();
    expect(dataLineage({ correlationId: 'a', causationId: 'b' })).toEqual({
      correlationId: 'a',
      causationId: 'b',
    });
  });
});

describe('lineage on resources and in a job’s process', () => {
  it('reads lineage from properties; the root is the cause when none is named', () => {
    expect(lineageOf(undefined)).toBeUndefined();
    expect(lineageOf({ [C]: '' })).toBeUndefined();
    expect(lineageOf({ [C]: 'x' })).toEqual({ correlationId: 'x', causationId: 'x' });
    expect(lineageOf({ [C]: 'x', [K]: 'y' })).toEqual({ correlationId: 'x', causationId: 'y' });
  });

  it('refuses bad values by field', () => {
    expect(() => checkLineage({ [K]: 'y' }, 'properties.properties')).toThrow(
      expect.objectContaining({ target: 'properties.properties.mlgrid.correlationId' }),
    );
    expect(() => checkLineage({ [C]: 'a\nb' }, 'p')).toThrow(expect.objectContaining({ target: `p.${C}` }));
    expect(() => checkLineage({ [C]: 'x'.repeat(1025) }, 'p')).toThrow();
    expect(() => checkLineage({ [C]: 'x', [K]: 'y' }, 'p')).not.toThrow();
  });

  it('inherits into a body without overriding what it names, and leaves a malformed body alone', () => {
    const body = { properties: { modelUri: 'file:///m', properties: { a: 'b' }, jobName: 'train' } };
    expect(bodyNamesLineage(body)).toBe(false);
    expect(bodyJobName(body)).toBe('train');
    const out = inheritInto(body, L) as typeof body;
    expect(out.properties.properties).toEqual({ [C]: 'drift-1', [K]: 'registered-1', a: 'b' });
    expect(body.properties.properties).toEqual({ a: 'b' }); // not mutated
    const own = { properties: { properties: { [C]: 'mine' } } };
    expect(bodyNamesLineage(own)).toBe(true);
    expect((inheritInto(own, L) as typeof own).properties.properties[C]).toBe('mine');
    expect(inheritInto('nope', L)).toBe('nope');
    expect(inheritInto({ properties: { properties: [1] } }, L)).toEqual({ properties: { properties: [1] } });
    expect(inheritInto({ properties: {} }, L)).toEqual({
      properties: { properties: { [C]: 'drift-1', [K]: 'registered-1' } },
    });
  });

  it('gives a job’s process the chain and the job as the cause of what it makes', () => {
    expect(lineageEnv(undefined, '/j')).toEqual({});
    expect(lineageEnv(L, `${WS}/jobs/j1`)).toEqual({
      MLGRID_CORRELATION_ID: 'drift-1',
      MLGRID_CAUSATION_ID: `${WS}/jobs/j1`,
    });
  });

  it('names the object an event is about', () => {
    const ev = (eventType: string, data: object) => ({ topic: WS, eventType, data });
    expect(eventSource(ev('Microsoft.MachineLearningServices.RunCompleted', { runId: 'j' }))).toBe(
      `${WS}/jobs/j`,
    );
    expect(
      eventSource(
        ev('Microsoft.MachineLearningServices.ModelRegistered', { modelName: 'm', modelVersion: '2' }),
      ),
    ).toBe(`${WS}/models/m/versions/2`);
    expect(
      eventSource(
        ev('Microsoft.MachineLearningServices.ModelDeployed', { serviceName: 'ep', deploymentName: 'b' }),
      ),
    ).toBe(`${WS}/onlineEndpoints/ep/deployments/b`);
    expect(
      eventSource(ev('Microsoft.MachineLearningServices.ModelDeployed', { serviceName: 'ep' })),
    ).toBeUndefined();
    expect(eventSource(ev('Custom.Type', { runId: 'j' }))).toBeUndefined();
  });
});

describe('the index document', () => {
  const e = (id: string): LineageEvent => ({ id, type: 't', subject: 's', time: NOW.toISOString() });
  const m = (id: string, causationId = 'c') => ({
    kind: 'job' as const,
    id,
    causationId,
    time: NOW.toISOString(),
  });

  it('merges members and events once; a member joining again takes the newer cause', () => {
    const a = mergeLineage(undefined, 'x', { members: [m('/J')], events: [e('e1')] })!;
    expect(a).toEqual({ correlationId: 'x', members: [m('/J')], events: [e('e1')] });
    expect(mergeLineage(a, 'x', { members: [m('/j')], events: [e('e1')] })).toBeUndefined();
    const b = mergeLineage(a, 'x', { members: [m('/j', 'd')], events: [e('e2')] })!;
    expect(b.members).toEqual([{ ...m('/J'), causationId: 'd' }]);
    expect(b.events.map((x) => x.id)).toEqual(['e1', 'e2']);
    expect(a.events).toHaveLength(1); // not mutated
  });

  it('stops at its bounds and says so', () => {
    let doc = mergeLineage(undefined, 'x', {
      events: Array.from({ length: LINEAGE_LIMITS.events }, (_, i) => e(`e${i}`)),
    })!;
    expect(doc.truncated).toBeUndefined();
    doc = mergeLineage(doc, 'x', { events: [e('more')] })!;
    expect(doc.truncated).toBe(true);
    expect(doc.events).toHaveLength(LINEAGE_LIMITS.events);
    expect(mergeLineage(doc, 'x', { events: [e('more2')] })).toBeUndefined();
  });
});

describe('causal order', () => {
  const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString();

  it('puts each node after its cause and after the object that raised it, else by time', () => {
    const nodes = [
      { id: 'deployed', time: at(9), causationId: 'registered', source: '/ws/dep' },
      { id: '/ws/dep', time: at(8), causationId: 'registered' },
      { id: 'completed', time: at(5), causationId: 'drift', source: '/ws/JOBS/j' },
      // Registered while the job ran, caused by the job (not by an event): after the job, before RunCompleted.
      { id: '/ws/models/m/versions/1', time: at(3), causationId: '/ws/jobs/j' },
      { id: 'registered', time: at(3), causationId: '/ws/jobs/j', source: '/ws/models/m/versions/1' },
      { id: '/ws/jobs/j', time: at(1), causationId: 'drift' },
      { id: 'drift', time: at(0) },
    ];
    expect(causalOrder(nodes).map((n) => n.id)).toEqual([
      'drift',
      '/ws/jobs/j',
      '/ws/models/m/versions/1',
      'registered',
      'completed',
      '/ws/dep',
      'deployed',
    ]);
  });

  it('respects causes over clocks, ignores causes outside the set, and breaks a cycle by time', () => {
    const skewed = [
      { id: 'effect', time: at(0), causationId: 'cause' },
      { id: 'cause', time: at(5), causationId: 'elsewhere' },
    ];
    expect(causalOrder(skewed).map((n) => n.id)).toEqual(['cause', 'effect']);
    const cycle = [
      { id: 'a', time: at(2), causationId: 'b' },
      { id: 'b', time: at(1), causationId: 'a' },
      { id: 'c', time: at(3), causationId: 'a' },
    ];
    expect(causalOrder(cycle).map((n) => n.id)).toEqual(['b', 'a', 'c']);
  });
});
