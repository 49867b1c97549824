/**
 * The `sendEmail` step: one mail over SMTP per run, with subject and body templates filled from the event, text
 * and HTML parts, and optionally a digest listing every event the run covers (the automation's storm-control
 * window collects them). docs/automation-steps.md#sendemail.
 *
 * Deps: `{ mailer?: Mailer }` — an `SmtpMailer` built from `ServerConfig.smtp` (MLGRID_SMTP_URL…), or undefined
 * when SMTP is not configured: the step then fails (not retryable) saying so. The caller closes the mailer.
 */
import {
  checkEmailTemplates,
  classifySmtpError,
  coalescedNote,
  defaultHtml,
  defaultText,
  messageIdFor,
  oneLine,
  parseEmailStep,
  recipients,
  renderBody,
  summaryHtml,
  summaryText,
  type EmailStepSpec,
  type SmtpFailure,
} from '../../core/automation-email.js';
import { StepError, type StepContext, type StepKind } from '../../core/automation-step.js';
import type { Mailer } from '../../services/mailer.js';

export interface SendEmailDeps {
  /** undefined: SMTP is not configured (MLGRID_SMTP_URL unset). */
  mailer?: Mailer;
}

export function sendEmailStep(deps: SendEmailDeps): StepKind<EmailStepSpec> {
  return {
    type: 'sendEmail',
    parse: parseEmailStep,
    checkTemplates: checkEmailTemplates,
    async execute(step, ctx) {
      const mailer = deps.mailer;
      if (!mailer) {
        throw new StepError(
          'SMTP is not configured on this server: set MLGRID_SMTP_URL and MLGRID_SMTP_FROM',
          false,
        );
      }
      const address = (list: string[], field: string) => {
        try {
          return recipients(list.map((t) => ctx.render(t)));
        } catch (err) {
          throw new StepError(`${field}: ${(err as Error).message}`, false);
        }
      };
      const to = address(step.to, 'to');
      if (to.length === 0) throw new StepError('to: the templates rendered no recipient', false);
      const cc = address(step.cc, 'cc');
      const bcc = address(step.bcc, 'bcc');
      const subject = oneLine(ctx.render(step.subject));
      const { text, html } = bodies(step, ctx);
      const messageId = messageIdFor(ctx.idempotencyKey, mailer.from);
      try {
        const r = await mailer.send(
          {
            to,
            cc,
            bcc,
            ...(step.replyTo !== undefined ? { replyTo: oneLine(ctx.render(step.replyTo)) } : {}),
            subject,
            ...(text !== undefined ? { text } : {}),
            ...(html !== undefined ? { html } : {}),
            messageId,
            headers: headers(ctx),
          },
          ctx.signal,
        );
        const events = step.digest ? ctx.events.length : 1;
        return {
          output: { messageId: r.messageId, accepted: r.accepted, rejected: r.rejected, events },
          summary: `mailed ${r.accepted.length} recipient(s)${events > 1 ? ` a digest of ${events} events` : ''}`,
        };
      } catch (err) {
        const c = classifySmtpError(err as SmtpFailure);
        throw new StepError(c.message, c.retryable, { cause: err });
      }
    },
  };
}

/**
 * The parts to send: the templates given (text, HTML or both), else a default summary in both. With `digest`,
 * `{{digest}}` in a template stands for the summary of every event of the run (appended when the template does
 * not place it and the run covers several events).
 */
function bodies(step: EmailStepSpec, ctx: StepContext): { text?: string; html?: string } {
  const events = step.digest ? ctx.events : [ctx.event];
  if (step.text === undefined && step.html === undefined) {
    const footer = {
      automation: ctx.automation.name,
      runId: ctx.runId,
      ...(!step.digest && ctx.events.length > 1 ? { note: coalescedNote(ctx.events.length) } : {}),
    };
    return { text: defaultText(events, ctx.baseUrl, footer), html: defaultHtml(events, ctx.baseUrl, footer) };
  }
  const append = step.digest && ctx.events.length > 1;
  const out: { text?: string; html?: string } = {};
  if (step.text !== undefined) {
    out.text = renderBody(step.text, (p) => ctx.render(p), summaryText(events, ctx.baseUrl), {
      append,
      separator: '\n\n',
    });
  }
  if (step.html !== undefined) {
    out.html = renderBody(step.html, (p) => ctx.render(p, { html: true }), summaryHtml(events, ctx.baseUrl), {
      append,
      separator: '\n',
    });
  }
  return out;
}

/** Where the mail came from, for filters and for following the lineage; `Auto-Submitted` stops auto-replies. */
function headers(ctx: StepContext): Record<string, string> {
  return {
    'Auto-Submitted': 'auto-generated',
    'X-MLGrid-Automation': oneLine(ctx.automation.name),
    'X-MLGrid-Run-Id': oneLine(ctx.runId),
    'X-MLGrid-Correlation-Id': oneLine(ctx.lineage.correlationId),
    'X-MLGrid-Causation-Id': oneLine(ctx.lineage.causationId),
  };
}
