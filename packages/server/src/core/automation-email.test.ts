import { describe, expect, it } from 'vitest';
import {
  checkEmailTemplates,
  classifySmtpError,
  defaultHtml,
  defaultText,
  messageIdFor,
  parseEmailStep,
  recipients,
  renderBody,
  summaryText,
} from './automation-email.js';
import { objectLink } from './automation-link.js';
import type { TriggerEvent } from './automation-step.js';
import { MlgridError } from './errors.js';

const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws';

function run(id: string, runId: string, status = 'Failed'): TriggerEvent {
  return {
    id,
    eventType: 'Microsoft.MachineLearningServices.RunStatusChanged',
    subject: `experiments/e1/runs/${runId}`,
    topic: WS,
    eventTime: '2024-05-01T10:00:00.000Z',
    data: { runId, runStatus: status, runTags: { team: 'a<b>' } },
  };
}

describe('parseEmailStep', () => {
  it('takes a single address or a list, and defaults digest to false', () => {
    const s = parseEmailStep({ to: 'a@x.test', subject: 'Run {{data.runId}}' }, 'steps[0]');
    expect(s).toMatchObject({ to: ['a@x.test'], cc: [], bcc: [], digest: false });
    expect(
      parseEmailStep({ to: ['a@x.test', '{{data.owner}}'], subject: 's', digest: true }, 'p').digest,
    ).toBe(true);
  });

  it('names the field at fault', () => {
    const bad = (raw: Record<string, unknown>) => {
      try {
        parseEmailStep(raw, 'steps[1]');
      } catch (err) {
        return (err as MlgridError).target;
      }
      return 'accepted';
    };
    expect(bad({ subject: 's' })).toBe('steps[1].to');
    expect(bad({ to: [], subject: 's' })).toBe('steps[1].to');
    expect(bad({ to: ['a@x.test', 3], subject: 's' })).toBe('steps[1].to[1]');
    expect(bad({ to: 'a@x.test' })).toBe('steps[1].subject');
    expect(bad({ to: 'a@x.test', subject: 's', digest: 'yes' })).toBe('steps[1].digest');
    expect(bad({ to: 'a@x.test', subject: '{{nope.x}}' })).toBe('steps[1].subject');
    // {{digest}} is the step's own placeholder, accepted in the bodies.
    expect(bad({ to: 'a@x.test', subject: 's', text: 'Hi\n{{digest}}', html: '<p>{{ digest }}</p>' })).toBe(
      'accepted',
    );
  });
});

describe('checkEmailTemplates', () => {
  it('is the engine check with {{digest}} allowed and steps limited to earlier ones', () => {
    const raw = {
      to: 'a@x.test',
      subject: '{{steps.train.status}}',
      text: '{{digest}}',
      html: '{{ digest }}',
    };
    expect(() => checkEmailTemplates(raw, 'steps[1]', new Set(['train']))).not.toThrow();
    expect(() => checkEmailTemplates(raw, 'steps[1]', new Set())).toThrow(/no earlier step is named 'train'/);
    expect(() => checkEmailTemplates({ subject: '{{digest}}' }, 'steps[1]', new Set())).toThrow(
      /unknown name/,
    );
  });
});

describe('recipients', () => {
  it('splits rendered lists, keeps display names, drops blanks and duplicates', () => {
    expect(recipients(['a@x.test, Bob <b@x.test>; ', 'a@x.test', ''])).toEqual([
      'a@x.test',
      'Bob <b@x.test>',
    ]);
  });
  it('refuses what is not an address', () => {
    expect(() => recipients(['a@x.test, not-an-address'])).toThrow(
      "'not-an-address' is not an e-mail address",
    );
  });
});

describe('messageIdFor', () => {
  it('is the same for the same key and differs between keys', () => {
    const a = messageIdFor('run-1/step-0', 'mlgrid <alerts@example.test>');
    expect(a).toBe(messageIdFor('run-1/step-0', 'mlgrid <alerts@example.test>'));
    expect(a).not.toBe(messageIdFor('run-2/step-0', 'mlgrid <alerts@example.test>'));
    expect(a).toMatch(/^<automation\.[0-9a-f]{32}@example\.test>$/);
    expect(messageIdFor('k', 'no address')).toMatch(/@mlgrid\.local>$/);
  });
});

describe('bodies', () => {
  const footer = { automation: 'alerts', runId: 'r-1' };

  it('summarises one event with its fields, data and link', () => {
    const text = defaultText([run('e1', 'job-1')], 'http://h:1', footer);
    expect(text).toContain('Microsoft.MachineLearningServices.RunStatusChanged');
    expect(text).toContain('runStatus: Failed');
    expect(text).toContain(`link     http://h:1${WS}/jobs/job-1`);
    expect(text).toContain("Sent by mlgrid automation 'alerts' (run r-1).");
  });

  it('lists every event of a digest, oldest first, numbered', () => {
    const text = summaryText([run('e1', 'job-1'), run('e2', 'job-2'), run('e3', 'job-3')], undefined);
    expect(text.startsWith('3 events (oldest first):')).toBe(true);
    expect(text.indexOf('1. Microsoft')).toBeLessThan(text.indexOf('2. Microsoft'));
    expect(text.indexOf('job-2')).toBeLessThan(text.indexOf('job-3'));
  });

  it('escapes event data in HTML and links the object', () => {
    const html = defaultHtml([run('e1', 'job-1')], 'http://h:1/', { ...footer, note: 'n<1>' });
    expect(html).toContain('{&quot;team&quot;:&quot;a&lt;b&gt;&quot;}');
    expect(html).not.toContain('a<b>');
    expect(html).toContain(`<a href="http://h:1${WS}/jobs/job-1">Open in mlgrid</a>`);
    expect(html).toContain('<em>n&lt;1&gt;</em>');
  });

  it('renders template pieces around {{digest}} and never renders the digest itself', () => {
    const seen: string[] = [];
    const render = (p: string) => (seen.push(p), p.replace('{{x}}', 'X'));
    expect(renderBody('a {{x}}\n{{digest}}\nb', render, 'D {{x}}', { append: true, separator: '\n' })).toBe(
      'a X\nD {{x}}\nb',
    );
    expect(seen).toEqual(['a {{x}}\n', '\nb']);
    expect(renderBody('only {{x}}', render, 'D', { append: true, separator: '\n\n' })).toBe('only X\n\nD');
    expect(renderBody('only {{x}}', render, 'D', { append: false, separator: '\n\n' })).toBe('only X');
  });
});

describe('objectLink', () => {
  const ev = (subject: string, data: unknown = {}, topic = WS): TriggerEvent => ({
    id: 'i',
    eventType: 't',
    subject,
    topic,
    eventTime: '2024-01-01T00:00:00Z',
    data,
  });
  it('points at the object the subject names', () => {
    expect(objectLink(ev('models/churn:3'), 'http://h')).toBe(`http://h${WS}/models/churn/versions/3`);
    expect(objectLink(ev('endpoints/ep1'), 'http://h')).toBe(`http://h${WS}/onlineEndpoints/ep1`);
    expect(objectLink(ev('datadrift/abc/run/r1', { dataDriftName: 'mon' }), 'http://h')).toBe(
      `http://h${WS}/dataDriftDetectors/mon`,
    );
    expect(
      objectLink(
        ev('anything', {}, '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t'),
        'http://h',
      ),
    ).toBe('http://h/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t');
    expect(objectLink(ev('models/churn:3'), undefined)).toBeUndefined();
    expect(objectLink(ev('x', {}, 'not-an-id'), 'http://h')).toBeUndefined();
  });
});

describe('classifySmtpError', () => {
  it('4xx is retryable, 5xx is not (503 is: a session problem)', () => {
    expect(classifySmtpError({ message: 'busy', responseCode: 451 }).retryable).toBe(true);
    expect(classifySmtpError({ message: 'no such user', responseCode: 550 }).retryable).toBe(false);
    expect(classifySmtpError({ message: 'Invalid login', code: 'EAUTH', responseCode: 535 }).retryable).toBe(
      false,
    );
    expect(classifySmtpError({ message: 'bad sequence', responseCode: 503 }).retryable).toBe(true);
  });
  it('connection failures are retryable; configuration problems are not', () => {
    expect(classifySmtpError({ message: 'refused', code: 'ECONNECTION' }).retryable).toBe(true);
    expect(classifySmtpError({ message: 'timeout', code: 'ETIMEDOUT' }).retryable).toBe(true);
    expect(classifySmtpError({ message: 'cert', code: 'ETLS' }).retryable).toBe(false);
    expect(classifySmtpError({ message: 'no creds', code: 'ENOAUTH' }).retryable).toBe(false);
  });
  it('keeps the message on one line', () => {
    expect(classifySmtpError({ message: 'a\r\nb', responseCode: 550 }).message).toBe(
      'SMTP server answered 550: a b',
    );
  });
});
