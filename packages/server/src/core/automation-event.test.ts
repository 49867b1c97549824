import { describe, expect, it } from 'vitest';
import { carriedCorrelationId, lineageOf, parseManualEvent, triggerFromStored } from './automation-event.js';
import { endRun, renderClaimedRun, retryDelayMs, skippedRun, startedRun } from './automation-run.js';

const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws';

describe('triggerFromStored', () => {
  it('reads Event Grid events (and mapped custom ones) with their envelope for the condition', () => {
    const eg = {
      id: '1',
      topic: WS,
      subject: 'models/m:1',
      eventType: 'T',
      eventTime: '2026-01-01T00:00:00Z',
      data: { a: 1 },
      dataVersion: '2',
    };
    const t = triggerFromStored('EventGridSchema', JSON.stringify(eg));
    expect(t.event).toEqual({
      id: '1',
      topic: WS,
      subject: 'models/m:1',
      eventType: 'T',
      eventTime: '2026-01-01T00:00:00Z',
      dataVersion: '2',
      data: { a: 1 },
    });
    expect(t.filterable).toMatchObject({
      schema: 'EventGridSchema',
      eventType: 'T',
      subject: 'models/m:1',
      envelope: eg,
    });
    expect(triggerFromStored('CustomInputSchema', JSON.stringify(eg)).filterable.schema).toBe(
      'CustomInputSchema',
    );
  });

  it('reads CloudEvents', () => {
    const ce = {
      specversion: '1.0',
      id: 'c1',
      source: '/x',
      type: 'T',
      time: '2026-01-01T00:00:00Z',
      data: { b: 2 },
      correlationid: 'root',
    };
    const t = triggerFromStored('CloudEventSchemaV1_0', JSON.stringify(ce));
    expect(t.event).toEqual({
      id: 'c1',
      eventType: 'T',
      subject: '',
      topic: '/x',
      eventTime: '2026-01-01T00:00:00Z',
      data: { b: 2 },
    });
    expect(carriedCorrelationId(t.filterable.envelope)).toBe('root');
  });

  it('refuses a body that is not an object', () => {
    expect(() => triggerFromStored('EventGridSchema', '[1]')).toThrow();
  });
});

describe('lineage', () => {
  it('takes the carried correlation id (data, CloudEvents extension, or ML properties), else the event id', () => {
    expect(carriedCorrelationId({ data: { correlationId: 'c0' } })).toBe('c0');
    expect(carriedCorrelationId({ data: { modelProperties: { 'mlgrid.correlationId': 'c1' } } })).toBe('c1');
    expect(carriedCorrelationId({ data: { runProperties: { 'mlgrid.correlationId': 'c2' } } })).toBe('c2');
    expect(carriedCorrelationId({ data: { correlationId: '' } })).toBeUndefined();
    const e = { id: 'e9', eventType: 'T', subject: '', eventTime: '' };
    expect(lineageOf(e, 'c0')).toEqual({ correlationId: 'c0', causationId: 'e9' });
    expect(lineageOf(e, undefined)).toEqual({ correlationId: 'e9', causationId: 'e9' });
  });
});

describe('parseManualEvent', () => {
  const d = { id: 'generated', topic: WS, now: new Date('2026-02-03T04:05:06Z') };
  it('fills id, topic, time, subject and data', () => {
    const t = parseManualEvent({ eventType: 'T' }, d);
    expect(t.event).toMatchObject({
      id: 'generated',
      topic: WS,
      eventType: 'T',
      subject: '',
      data: {},
      eventTime: '2026-02-03T04:05:06.000Z',
    });
    expect(parseManualEvent({ event: { id: 'x', eventType: 'T', data: { a: 1 } } }, d).event).toMatchObject({
      id: 'x',
      data: { a: 1 },
    });
  });
  it.each([
    [[], 'body'],
    [{ subject: 's' }, 'body.eventType'],
    [{ event: { eventType: 3 } }, 'event.eventType'],
    [{ eventType: 'T', eventTime: 'soon' }, 'body.eventTime'],
  ])('%j is refused naming %s', (body, target) => {
    expect(() => parseManualEvent(body, d)).toThrow(expect.objectContaining({ target }));
  });
});

describe('run records', () => {
  const ev = { id: 'e1', eventType: 'T', subject: 's', eventTime: 't' };
  const steps = [
    {
      name: 'a',
      type: 'x',
      fields: {},
      retry: { maxAttempts: 3, delaySeconds: 10, maxDelaySeconds: 25 },
      timeoutSeconds: 5,
    },
    {
      name: 'b',
      type: 'x',
      fields: {},
      retry: { maxAttempts: 3, delaySeconds: 10, maxDelaySeconds: 25 },
      timeoutSeconds: 5,
    },
  ];
  it('starts with every step pending and ends with the ones not reached skipped', () => {
    const r = startedRun({
      runId: 'r',
      key: 'k',
      events: [ev],
      eventIds: ['e1'],
      lineage: { correlationId: 'c', causationId: 'e1' },
      steps,
      queuedAt: 0,
      now: 1000,
    });
    expect(r.steps.map((s) => s.status)).toEqual(['Pending', 'Pending']);
    const done = endRun(
      { ...r, steps: [{ ...r.steps[0]!, status: 'Failed' }, r.steps[1]!] },
      'Failed',
      4000,
      'step a: boom',
    );
    expect(done).toMatchObject({ status: 'Failed', reason: 'step a: boom', durationMs: 3000 });
    expect(done.steps.map((s) => s.status)).toEqual(['Failed', 'Skipped']);
    expect(
      skippedRun({ runId: 's', key: 'k', event: ev, reason: 'condition is false', now: 0 }),
    ).toMatchObject({ status: 'Skipped', eventIds: ['e1'], steps: [] });
  });
  it('backs off by doubling, capped, and scaled', () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(steps[0]!.retry, a, 1))).toEqual([
      10_000, 20_000, 25_000, 25_000,
    ]);
    expect(retryDelayMs(steps[0]!.retry, 2, 0.001)).toBe(20);
  });
});

describe('renderClaimedRun', () => {
  it('shows a claimed run whose record is not written yet as Running, with its times', () => {
    const out = renderClaimedRun('/a', {
      runId: 'r1',
      key: 'k',
      eventIds: ['e1', 'e2'],
      queuedAt: Date.UTC(2026, 0, 1),
      startedAt: Date.UTC(2026, 0, 1, 0, 0, 5),
      owner: 'node-1',
      leaseUntil: 0,
    });
    expect(out).toEqual({
      id: '/a/runs/r1',
      name: 'r1',
      type: expect.any(String),
      properties: {
        runId: 'r1',
        status: 'Running',
        key: 'k',
        eventCount: 2,
        queuedAt: '2026-01-01T00:00:00.000Z',
        startedAt: '2026-01-01T00:00:05.000Z',
        steps: [],
      },
    });
  });
});
