import { describe, expect, it } from 'vitest';
import {
  EXCERPT_CHARS,
  envName,
  eventTypeOf,
  invocationEnv,
  invocationOutcome,
  tail,
  type ProcessEnd,
} from './function-invocation.js';

const eg = (id: string, eventType: string) => JSON.stringify({ id, eventType, subject: 's', data: {} });
const ce = (id: string, type: string) => JSON.stringify({ specversion: '1.0', id, type, source: '/x' });

describe('invocationEnv', () => {
  const info = {
    functionId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/functions/f',
    subscriptionName: 'sub1',
    subscriptionId: '/x/providers/Microsoft.EventGrid/eventSubscriptions/sub1',
    bodies: [eg('1', 'A.B'), ce('2', 'C.D'), eg('3', 'A.B')],
    eventIds: ['1', '2', '3'],
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'SUB1',
      'aeg-delivery-count': '2',
      'x-model-stage': 'prod',
    },
  };

  it("sets mlgrid's variables, the aeg-* headers as AEG_*, others as MLGRID_HEADER_*", () => {
    const env = invocationEnv({ PATH: '/bin', UNSET: undefined }, { OWN: 'x' }, info);
    expect(env).toMatchObject({
      PATH: '/bin',
      OWN: 'x',
      MLGRID_FUNCTION_ID: info.functionId,
      MLGRID_SUBSCRIPTION_NAME: 'sub1',
      MLGRID_EVENT_SUBSCRIPTION_ID: info.subscriptionId,
      MLGRID_EVENT_TYPE: 'A.B',
      MLGRID_EVENT_TYPES: 'A.B,C.D',
      MLGRID_EVENT_COUNT: '3',
      MLGRID_EVENT_IDS: '1,2,3',
      MLGRID_DELIVERY_COUNT: '2',
      MLGRID_CONTENT_TYPE: 'application/json; charset=utf-8',
      AEG_EVENT_TYPE: 'Notification',
      AEG_SUBSCRIPTION_NAME: 'SUB1',
      AEG_DELIVERY_COUNT: '2',
      MLGRID_HEADER_X_MODEL_STAGE: 'prod',
    });
    expect(JSON.parse(env.MLGRID_DELIVERY_HEADERS!)).toEqual(info.headers);
    expect('UNSET' in env).toBe(false);
  });

  it('caps the id list at an id boundary', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `${'x'.repeat(30)}-${i}`);
    const env = invocationEnv({}, {}, { ...info, eventIds: ids, bodies: ids.map((i) => eg(i, 'T')) });
    expect(env.MLGRID_EVENT_IDS!.length).toBeLessThanOrEqual(32 * 1024);
    const listed = env.MLGRID_EVENT_IDS!.split(',');
    expect(listed).toEqual(ids.slice(0, listed.length));
    expect(env.MLGRID_EVENT_COUNT).toBe('2000');
  });

  it('reads the type of Event Grid and CloudEvents bodies', () => {
    expect(eventTypeOf(eg('1', 'X'))).toBe('X');
    expect(eventTypeOf(ce('1', 'Y'))).toBe('Y');
    expect(eventTypeOf('not json')).toBe('');
    expect(envName('webhook-id')).toBe('WEBHOOK_ID');
  });
});

describe('invocationOutcome', () => {
  const end = (e: Partial<ProcessEnd>): ProcessEnd => ({
    exitCode: 0,
    signal: null,
    timedOut: false,
    timeoutMs: 30_000,
    stdout: '',
    stderr: '',
    ...e,
  });

  it('exit 0 succeeds with the end of stdout as the excerpt', () => {
    expect(invocationOutcome(end({ stdout: 'deployed m1\n' }))).toEqual({
      kind: 'success',
      excerpt: 'deployed m1',
    });
    expect(invocationOutcome(end({}))).toEqual({ kind: 'success' });
  });

  it('another exit code is retried, with the last lines of stderr', () => {
    const trace =
      Array.from({ length: 100 }, (_, i) => `  frame ${i}`).join('\n') + '\nValueError: bad model\n';
    const o = invocationOutcome(end({ exitCode: 1, stderr: trace, stdout: 'ignored' }));
    expect(o.kind).toBe('failure');
    expect(o).toMatchObject({ retryable: true });
    expect(o.excerpt!.length).toBeLessThanOrEqual(EXCERPT_CHARS);
    expect(o.excerpt).toMatch(/^exit 1: … {2}frame \d+\n/);
    expect(o.excerpt).toMatch(/ValueError: bad model$/);
  });

  it('exit 65 dead-letters at once', () => {
    expect(invocationOutcome(end({ exitCode: 65, stderr: 'no modelId' }))).toEqual({
      kind: 'failure',
      retryable: false,
      excerpt: 'exit 65 (data error: not retried): no modelId',
    });
  });

  it('a timeout, a signal and a start failure are retried', () => {
    expect(
      invocationOutcome(end({ exitCode: null, signal: 'SIGTERM', timedOut: true, timeoutMs: 1000 })),
    ).toEqual({
      kind: 'timeout',
      excerpt: 'timed out after 1 s (process group killed)',
    });
    expect(invocationOutcome(end({ exitCode: null, signal: 'SIGSEGV', stdout: 'x' }))).toEqual({
      kind: 'failure',
      retryable: true,
      excerpt: 'killed by SIGSEGV: x',
    });
    expect(invocationOutcome(end({ exitCode: null, startError: 'python9: ENOENT' }))).toEqual({
      kind: 'failure',
      retryable: true,
      excerpt: 'could not start: python9: ENOENT',
    });
  });
});

describe('tail', () => {
  it('keeps the end, cut at a line start', () => {
    expect(tail('  short  \n', 100)).toBe('short');
    expect(tail('line one\nline two\nline three', 16)).toBe('…line three');
    expect(tail('x'.repeat(50), 10)).toBe(`…${'x'.repeat(9)}`);
  });
});
