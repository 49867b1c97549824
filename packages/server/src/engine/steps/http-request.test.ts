import { describe, expect, it } from 'vitest';
import { createEgressGuard } from '../../core/egress.js';
import { StepError, type StepContext } from '../../core/automation-step.js';
import { renderTemplate, renderValue } from '../../core/automation-template.js';
import { httpRequestStep, parseHttpRequest, redactHttpRequest } from './http-request.js';
import { parsePublishEvent, stableEventId } from './publish-event.js';

const target = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { target?: string }).target;
  }
  return undefined;
};

describe('httpRequest definition', () => {
  it('defaults to POST and keeps headers, body and expected statuses', () => {
    expect(
      parseHttpRequest(
        { url: 'https://h/x', expectedStatus: 202, headers: { 'x-a': '{{id}}' }, body: { a: 1 } },
        's',
      ),
    ).toEqual({
      method: 'POST',
      url: 'https://h/x',
      headers: { 'x-a': '{{id}}' },
      body: { a: 1 },
      expectedStatus: [202],
    });
  });
  it.each([
    [{}, 's.url'],
    [{ url: 'ftp://h' }, 's.url'],
    [{ url: 'https://h', method: 'TRACE' }, 's.method'],
    [{ url: 'https://h', headers: { 'bad header': 'v' } }, 's.headers.bad header'],
    [{ url: 'https://h', expectedStatus: [200, 99] }, 's.expectedStatus[1]'],
    [{ url: 'https://h', method: 'GET', body: 'x' }, 's.body'],
  ])('%j is refused naming %s', (raw, path) => {
    expect(target(() => parseHttpRequest(raw, 's'))).toBe(path);
  });
  it('masks secret headers, the password and query values', () => {
    expect(
      redactHttpRequest({
        url: 'https://u:pw@h/p?token=abc&x=1',
        headers: { Authorization: 'Bearer t', 'X-Api-Key': 'k', Accept: 'json' },
      }),
    ).toEqual({
      url: 'https://u:***@h/p?token=***&x=***',
      headers: { Authorization: '***', 'X-Api-Key': '***', Accept: 'json' },
    });
  });
});

describe('httpRequest egress', () => {
  it('refuses a denied address before connecting, not retryable', async () => {
    const kind = httpRequestStep({ guard: createEgressGuard() });
    const scope = { data: { host: '169.254.169.254' } };
    const ctx = {
      render: (t: string) => renderTemplate(t, scope),
      renderValue: (v: unknown) => renderValue(v, scope),
      idempotencyKey: 'r-s',
      lineage: { correlationId: 'c', causationId: 'c' },
      signal: new AbortController().signal,
    } as unknown as StepContext;
    const step = kind.parse({ url: 'http://{{data.host}}/latest/meta-data' }, 's');
    const err = await kind.execute(step, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/denied/) });
    await kind.close();
  });
});

describe('publishEvent definition', () => {
  it('fills defaults and derives a stable id per idempotency key', () => {
    expect(parsePublishEvent({ topic: 't', eventType: 'E' }, 's')).toEqual({
      topic: 't',
      eventType: 'E',
      subject: '{{subject}}',
      data: {},
      dataVersion: '1',
    });
    expect(target(() => parsePublishEvent({ eventType: 'E' }, 's'))).toBe('s.topic');
    expect(stableEventId('run-1-a')).toBe(stableEventId('run-1-a'));
    expect(stableEventId('run-1-a')).not.toBe(stableEventId('run-1-b'));
    expect(stableEventId('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
