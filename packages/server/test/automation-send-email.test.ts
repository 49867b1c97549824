/**
 * The sendEmail step kind executed directly with a hand-built StepContext (the real templating) against a real
 * SMTP server (smtp-server on port 0, with authentication), each mail parsed with mailparser.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepContext, TriggerEvent } from '../src/core/automation-step.js';
import { sendEmailStep } from '../src/engine/steps/send-email.js';
import { maskSmtpUrl, parseSmtpUrl, SmtpMailer } from '../src/services/mailer.js';
import { stepContext, stepFailure as failure } from './helpers/step-context.js';

const REF = { subscriptionId: 's', resourceGroup: 'rg', workspace: 'ws-mail' };
const WS = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/${REF.workspace}`;
/** mlgrid's public URL as the links show it (no server is needed to send mail). */
const BASE = 'http://mlgrid.test:4710';
const context = (events: TriggerEvent[], over: Partial<StepContext> = {}) =>
  stepContext(REF, BASE, events, over);

// ---------------------------------------------------------------- sendEmail

describe('sendEmail over SMTP', () => {
  const PASSWORD = 's3cret-Pa55';
  const inbox: ParsedMail[] = [];
  let smtp: SMTPServer;
  let url: string;
  const runEvent = (n: number, status = 'Failed'): TriggerEvent => ({
    id: `ev-${n}`,
    eventType: 'Microsoft.MachineLearningServices.RunStatusChanged',
    subject: `experiments/exp-1/runs/job-${n}`,
    topic: WS,
    eventTime: `2024-05-01T10:00:0${n}.000Z`,
    data: { runId: `job-${n}`, experimentName: 'churn', runStatus: status, runTags: {} },
  });

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'mlgrid' && auth.password === PASSWORD) cb(null, { user: 'mlgrid' });
        else cb(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      },
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('busy@')) {
          return cb(Object.assign(new Error('Mailbox busy, try later'), { responseCode: 451 }));
        }
        if (address.address.startsWith('nobody@')) {
          return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
        }
        cb();
      },
      onData(stream, _session, cb) {
        simpleParser(stream)
          .then((m) => (inbox.push(m), cb()))
          .catch(cb);
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as { port: number }).port;
    url = `smtp://mlgrid:${PASSWORD}@127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((r) => smtp.close(() => r())));

  const step = (mailer: SmtpMailer | undefined) => sendEmailStep(mailer ? { mailer } : {});
  const mailer = (password = PASSWORD) =>
    new SmtpMailer({ url: url.replace(PASSWORD, password), from: 'mlgrid alerts <alerts@mlgrid.test>' });

  it('fills subject and bodies from the event, sends text and HTML parts, keeps credentials out', async () => {
    const m = mailer();
    const kind = step(m);
    const spec = kind.parse(
      {
        to: ['ops@example.test', '{{data.experimentName}}-owner@example.test'],
        cc: 'lead@example.test',
        subject: '{{eventType}} on {{topic}}: {{data.runId}} {{data.runStatus}}',
        text: 'Run {{data.runId}} is {{data.runStatus}}.\nOpen: {{link}}',
        html: '<p>Run <b>{{data.runId}}</b> is {{data.runStatus}}: <a href="{{link}}">open</a></p>',
      },
      'steps[0]',
    );
    const ev = runEvent(1);
    ev.data = { ...(ev.data as object), runStatus: 'Failed <fatal>' };
    const ctx = context([ev]);
    const before = inbox.length;
    const r = await kind.execute(spec, ctx);
    m.close();
    expect(inbox.length).toBe(before + 1);
    const mail = inbox.at(-1)!;
    expect(mail.subject).toBe(
      `Microsoft.MachineLearningServices.RunStatusChanged on ${WS}: job-1 Failed <fatal>`,
    );
    expect(mail.text?.trimEnd()).toBe(`Run job-1 is Failed <fatal>.\nOpen: ${BASE}${WS}/jobs/job-1`);
    expect(mail.html).toContain('<b>job-1</b> is Failed &lt;fatal&gt;');
    expect(mail.html).toContain(`href="${BASE}${WS}/jobs/job-1"`);
    expect(mail.from?.value[0]).toMatchObject({ name: 'mlgrid alerts', address: 'alerts@mlgrid.test' });
    expect((mail.to as { value: { address: string }[] }).value.map((a) => a.address)).toEqual([
      'ops@example.test',
      'churn-owner@example.test',
    ]);
    expect(mail.headers.get('x-mlgrid-correlation-id')).toBe('corr-0001');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(r.output).toMatchObject({
      messageId: mail.messageId,
      accepted: ['ops@example.test', 'churn-owner@example.test', 'lead@example.test'],
      rejected: [],
    });
    expect(JSON.stringify(r)).not.toContain(PASSWORD);
  });

  it('derives the Message-ID from the idempotency key: a repeated step sends a recognisable copy', async () => {
    const m = mailer();
    const kind = step(m);
    const spec = kind.parse({ to: 'ops@example.test', subject: 'x' }, 'steps[0]');
    const ctx = context([runEvent(2)]);
    const a = await kind.execute(spec, ctx);
    const b = await kind.execute(spec, ctx);
    const c = await kind.execute(spec, context([runEvent(2)]));
    m.close();
    expect(a.output!.messageId).toBe(b.output!.messageId);
    expect(c.output!.messageId).not.toBe(a.output!.messageId);
    expect(inbox.at(-2)!.messageId).toBe(inbox.at(-3)!.messageId);
  });

  it('writes readable default bodies (text and HTML) with a link to the object', async () => {
    const m = mailer();
    const kind = step(m);
    await kind.execute(
      kind.parse({ to: 'ops@example.test', subject: 'Run {{data.runId}}' }, 's'),
      context([runEvent(3)]),
    );
    m.close();
    const mail = inbox.at(-1)!;
    expect(mail.text).toContain('Microsoft.MachineLearningServices.RunStatusChanged');
    expect(mail.text).toContain('runStatus: Failed');
    expect(mail.text).toContain(`${BASE}${WS}/jobs/job-3`);
    expect(mail.html).toContain(`<a href="${BASE}${WS}/jobs/job-3">Open in mlgrid</a>`);
  });

  it('digest: one mail for the three events a run covers, a section per event, oldest first', async () => {
    const m = mailer();
    const kind = step(m);
    const spec = kind.parse(
      {
        to: 'ops@example.test',
        subject: '{{events.length}} failed runs, latest {{data.runId}}',
        text: 'Failures in {{data.experimentName}}:\n\n{{digest}}\n\n(end)',
        html: '<h1>Failures</h1>',
        digest: true,
      },
      's',
    );
    const before = inbox.length;
    const r = await kind.execute(spec, context([runEvent(4), runEvent(5), runEvent(6)]));
    m.close();
    expect(inbox.length).toBe(before + 1);
    const mail = inbox.at(-1)!;
    expect(mail.subject).toBe('3 failed runs, latest job-6');
    const text = mail.text!;
    expect(text.startsWith('Failures in churn:\n\n3 events (oldest first):')).toBe(true);
    expect(text.trimEnd().endsWith('(end)')).toBe(true);
    expect(text.indexOf('1. Microsoft')).toBeLessThan(text.indexOf('job-4'));
    expect(text.indexOf('job-4')).toBeLessThan(text.indexOf('job-5'));
    expect(text.indexOf('job-5')).toBeLessThan(text.indexOf('job-6'));
    // The HTML template has no {{digest}}: the digest is appended, one list item per event.
    expect(String(mail.html).startsWith('<h1>Failures</h1>')).toBe(true);
    expect(String(mail.html).match(/<li>/g)).toHaveLength(3);
    expect(r.output).toMatchObject({ events: 3 });
  });

  it('SMTP 4xx is a retryable failure, 5xx is not; a bad password is not retried and not shown', async () => {
    const m = mailer();
    const kind = step(m);
    const busy = await failure(
      kind.execute(kind.parse({ to: 'busy@example.test', subject: 'x' }, 's'), context([runEvent(7)])),
    );
    expect(busy.retryable).toBe(true);
    expect(busy.message).toMatch(/SMTP server answered 451/);
    const gone = await failure(
      kind.execute(kind.parse({ to: 'nobody@example.test', subject: 'x' }, 's'), context([runEvent(7)])),
    );
    expect(gone.retryable).toBe(false);
    expect(gone.message).toMatch(/SMTP server answered 550/);
    m.close();

    const wrong = mailer('wrong-password');
    const k2 = step(wrong);
    const auth = await failure(
      k2.execute(k2.parse({ to: 'ops@example.test', subject: 'x' }, 's'), context([runEvent(7)])),
    );
    wrong.close();
    expect(auth.retryable).toBe(false);
    expect(auth.message).toMatch(/535/);
    expect(auth.message).not.toContain('wrong-password');
  });

  it('a server that cannot be reached is retryable; no SMTP configured is not', async () => {
    const dead = new SmtpMailer({ url: 'smtp://127.0.0.1:1', from: 'a@mlgrid.test', timeoutMs: 2000 });
    const k = step(dead);
    const e = await failure(
      k.execute(k.parse({ to: 'ops@example.test', subject: 'x' }, 's'), context([runEvent(8)])),
    );
    dead.close();
    expect(e.retryable).toBe(true);
    const none = step(undefined);
    const n = await failure(
      none.execute(none.parse({ to: 'ops@example.test', subject: 'x' }, 's'), context([runEvent(8)])),
    );
    expect(n.retryable).toBe(false);
    expect(n.message).toMatch(/MLGRID_SMTP_URL/);
  });
});

describe('SMTP settings', () => {
  it('reads the URL (credentials URL-decoded) and shows it with the password masked', () => {
    expect(parseSmtpUrl('smtps://me%40corp:p%3Ass@mail.example.test:2465')).toEqual({
      host: 'mail.example.test',
      port: 2465,
      secure: true,
      user: 'me@corp',
      pass: 'p:ss',
    });
    expect(parseSmtpUrl('smtp://127.0.0.1')).toEqual({ host: '127.0.0.1', secure: false });
    expect(maskSmtpUrl('smtp://me:secret@h:25')).toBe('smtp://me:***@h:25');
  });

  it('refuses other schemes without echoing the URL', () => {
    const message = (url: string) => {
      try {
        parseSmtpUrl(url);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(message('http://me:secret@h')).toBe('MLGRID_SMTP_URL: the scheme must be smtp:// or smtps://');
    expect(message('me:secret@h')).toBe('MLGRID_SMTP_URL: the scheme must be smtp:// or smtps://');
    expect(message('not a url')).toMatch(/^MLGRID_SMTP_URL: not a URL/);
  });
});
