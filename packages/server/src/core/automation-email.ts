/**
 * The sendEmail step's pure parts: its definition, recipient lists, the default bodies and the digest (one mail
 * listing every event a run covers), the idempotent Message-ID, and how an SMTP failure is classed for retries.
 */
import { createHash } from 'node:crypto';
import type { TriggerEvent } from './automation-step.js';
import { objectLink } from './automation-link.js';
import { checkTemplate, checkValueTemplates, escapeHtml } from './automation-template.js';
import { invalid } from './errors.js';
import { array, optBoolean, optString, string } from './validate.js';

export interface EmailStepSpec {
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  /** One mail for all the events a run covers (the automation's storm-control window collects them). */
  digest: boolean;
}

const MAX_RECIPIENT_TEMPLATES = 50;

export function parseEmailStep(raw: Record<string, unknown>, path: string): EmailStepSpec {
  const list = (key: 'to' | 'cc' | 'bcc', required: boolean): string[] => {
    const v = raw[key];
    if (v === undefined || v === null) {
      if (required) throw invalid(`${path}.${key}`, 'is required (one or more addresses or templates)');
      return [];
    }
    const items = typeof v === 'string' ? [v] : array(v, `${path}.${key}`);
    if (items.length > MAX_RECIPIENT_TEMPLATES) {
      throw invalid(`${path}.${key}`, `must have at most ${MAX_RECIPIENT_TEMPLATES} entries`);
    }
    const out = items.map((x, i) =>
      checkTemplate(string(x, `${path}.${key}[${i}]`, { min: 1, max: 1000 }), `${path}.${key}[${i}]`),
    );
    if (required && out.length === 0) throw invalid(`${path}.${key}`, 'must name at least one recipient');
    return out;
  };
  const spec: EmailStepSpec = {
    to: list('to', true),
    cc: list('cc', false),
    bcc: list('bcc', false),
    subject: checkTemplate(string(raw.subject, `${path}.subject`, { min: 1, max: 1000 }), `${path}.subject`),
    digest: optBoolean(raw.digest, `${path}.digest`) ?? false,
  };
  for (const key of ['text', 'html', 'replyTo'] as const) {
    const v = optString(raw[key], `${path}.${key}`, { max: 200_000 });
    if (v === undefined) continue;
    checkTemplate(v.replace(DIGEST_RE, ''), `${path}.${key}`); // {{digest}} is the step's own placeholder
    spec[key] = v;
  }
  return spec;
}

/** The engine's placeholder check, `{{digest}}` (this step's own) aside. */
export function checkEmailTemplates(
  raw: Record<string, unknown>,
  path: string,
  earlierSteps: ReadonlySet<string>,
): void {
  const fields = { ...raw };
  for (const k of ['text', 'html'] as const) {
    if (typeof fields[k] === 'string') fields[k] = fields[k].replace(DIGEST_RE, '');
  }
  checkValueTemplates(fields, path, earlierSteps);
}

/** `Name <a@b>` or `a@b`; templates may render to comma- or semicolon-separated lists. */
const ADDRESS_RE = /^(?:[^<>@\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@,;]+@[^\s<>@,;]+)$/;

/** Rendered recipient templates → addresses; throws a message naming the entry that is not an address. */
export function recipients(rendered: string[]): string[] {
  const out: string[] = [];
  for (const r of rendered) {
    for (const part of r.split(/[,;]/)) {
      const a = part.trim();
      if (a === '') continue;
      if (!ADDRESS_RE.test(a)) throw new Error(`'${a}' is not an e-mail address`);
      out.push(a);
    }
  }
  return [...new Set(out)];
}

/**
 * A Message-ID derived from the step's idempotency key: the same step of the same run always sends the same id,
 * so a mail repeated after a crash or a retry is recognisable (and collapsed by clients that thread by id).
 */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'mlgrid.local';
  return `<automation.${hash}@${domain}>`;
}

/** A header value on one line (a template may pull a newline in from event data). */
export function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').trim();
}

// ---------------------------------------------------------------- bodies

const MAX_VALUE = 500;

/** The readable summary of one or more events (oldest first), as text. */
export function summaryText(events: TriggerEvent[], baseUrl: string | undefined): string {
  if (events.length === 1) return eventText(events[0]!, baseUrl);
  const sections = events.map((e, i) => `${i + 1}. ${indent(eventText(e, baseUrl), 3).trimStart()}`);
  return `${events.length} events (oldest first):\n\n${sections.join('\n\n')}`;
}

export function summaryHtml(events: TriggerEvent[], baseUrl: string | undefined): string {
  if (events.length === 1) return eventHtml(events[0]!, baseUrl);
  const items = events.map((e) => `<li>${eventHtml(e, baseUrl)}</li>`).join('\n');
  return `<p>${events.length} events (oldest first):</p>\n<ol>\n${items}\n</ol>`;
}

export interface MailFooter {
  automation: string;
  runId: string;
  /** A line shown above the summary (e.g. that the run covers more events than shown). */
  note?: string;
}

export function defaultText(events: TriggerEvent[], baseUrl: string | undefined, f: MailFooter): string {
  const note = f.note ? `${f.note}\n\n` : '';
  return `${note}${summaryText(events, baseUrl)}\n\n-- \n${footerText(f)}\n`;
}

export function defaultHtml(events: TriggerEvent[], baseUrl: string | undefined, f: MailFooter): string {
  const note = f.note ? `<p><em>${escapeHtml(f.note)}</em></p>\n` : '';
  return (
    `<!doctype html>\n<html><body style="font-family:sans-serif">\n${note}${summaryHtml(events, baseUrl)}\n` +
    `<hr><p style="color:#666;font-size:small">${escapeHtml(footerText(f))}</p>\n</body></html>\n`
  );
}

/** When the run covers several events but mails only about the latest one. */
export function coalescedNote(count: number): string {
  return `This run covers ${count} events; the latest is shown (set digest: true to list them all).`;
}

function footerText(f: MailFooter): string {
  return `Sent by mlgrid automation '${f.automation}' (run ${f.runId}).`;
}

function eventText(e: TriggerEvent, baseUrl: string | undefined): string {
  const link = objectLink(e, baseUrl);
  const rows: [string, string | undefined][] = [
    ['subject', e.subject],
    ['time', e.eventTime],
    ['source', e.topic],
    ['event id', e.id],
    ['link', link],
  ];
  const head = rows
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `  ${k.padEnd(9)}${v}`)
    .join('\n');
  const data = dataRows(e.data);
  const details = data.length ? `\n\n${data.map(([k, v]) => `  ${k}: ${v}`).join('\n')}` : '';
  return `${e.eventType}\n${head}${details}`;
}

function eventHtml(e: TriggerEvent, baseUrl: string | undefined): string {
  const link = objectLink(e, baseUrl);
  const rows: [string, string | undefined][] = [
    ['subject', e.subject],
    ['time', e.eventTime],
    ['source', e.topic],
    ['event id', e.id],
    ...dataRows(e.data),
  ];
  const trs = rows
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v!)}</td></tr>`)
    .join('');
  const open = link ? `<p><a href="${escapeHtml(link)}">Open in mlgrid</a></p>` : '';
  return `<h3>${escapeHtml(e.eventType)}</h3>\n<table>${trs}</table>\n${open}`;
}

/** The event's data, one row per top-level field; objects as JSON, long values cut. */
function dataRows(data: unknown): [string, string][] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return data === undefined || data === null ? [] : [['data', clip(JSON.stringify(data))]];
  }
  return Object.entries(data as Record<string, unknown>).map(([k, v]) => [
    k,
    clip(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v))),
  ]);
}

function clip(s: string): string {
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}…` : s;
}

function indent(s: string, n: number): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

// ---------------------------------------------------------------- templates with a digest

const DIGEST_RE = /\{\{\s*digest\s*\}\}/g;

/**
 * Renders a body template in which `{{digest}}` stands for the summary of every event the run covers. The
 * template is split around the placeholder and each piece rendered on its own, so event data inside the digest
 * is never read as a template. With `append`, a template without the placeholder gets the digest at its end.
 */
export function renderBody(
  template: string,
  render: (piece: string) => string,
  digest: string,
  opts: { append: boolean; separator: string },
): string {
  const pieces = template.split(DIGEST_RE);
  const body = pieces.map(render).join(digest);
  return pieces.length === 1 && opts.append ? `${body}${opts.separator}${digest}` : body;
}

// ---------------------------------------------------------------- SMTP failures

/** What nodemailer attaches to its errors (the fields mlgrid reads). */
export interface SmtpFailure {
  message: string;
  code?: string;
  responseCode?: number;
}

/** Connection-level codes: the server was not reached or the connection dropped; worth another try. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'EPROXY', 'EABORT']);

/**
 * SMTP replies by class (RFC 5321): 4xx is transient → retryable; 5xx is permanent → not retryable, except 503
 * (bad sequence of commands: the session, not the message, was wrong). Without a reply code: connection
 * failures are retryable, configuration and authentication problems (EAUTH, ETLS, ECONFIG…) are not.
 */
export function classifySmtpError(err: SmtpFailure): { retryable: boolean; message: string } {
  const rc = err.responseCode;
  if (typeof rc === 'number' && rc >= 400 && rc < 600) {
    const retryable = rc < 500 || rc === 503;
    return { retryable, message: `SMTP server answered ${rc}: ${oneLine(err.message)}` };
  }
  const retryable = err.code !== undefined && TRANSIENT_CODES.has(err.code);
  return { retryable, message: `SMTP ${err.code ?? 'error'}: ${oneLine(err.message)}` };
}
