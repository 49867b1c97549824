/**
 * Outgoing mail over SMTP (nodemailer), for the automations' sendEmail step. One connection per message (no
 * pool to drain at shutdown). The password is kept here only: never in a log line, an error or a run record.
 */
import nodemailer, { type Transporter } from 'nodemailer';

export interface SmtpConfig {
  /** `smtp://[user[:password]@]host[:port]` or `smtps://…` (TLS from the first byte). */
  url: string;
  /** The sender, `Name <address>` or `address`. */
  from: string;
  /** TLS from the first byte (default: true for smtps://); otherwise STARTTLS when the server offers it. */
  secure?: boolean;
  /** Check the server's certificate (default true; false for a local relay with a self-signed one). */
  tlsRejectUnauthorized?: boolean;
  /** Per connection, greeting and socket inactivity (default 30 s). */
  timeoutMs?: number;
}

export interface MailMessage {
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  messageId: string;
  headers: Record<string, string>;
}

export interface MailReceipt {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** The port the sendEmail step uses (a test may give it any SMTP server). */
export interface Mailer {
  readonly from: string;
  /** Throws nodemailer's error (with `code`, `responseCode`), the password masked in its message. */
  send(msg: MailMessage, signal?: AbortSignal): Promise<MailReceipt>;
  close(): void;
}

interface ParsedUrl {
  host: string;
  port?: number;
  secure: boolean;
  user?: string;
  pass?: string;
}

/** Throws an Error naming the problem, without echoing the URL (it may hold a password). */
export function parseSmtpUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('MLGRID_SMTP_URL: not a URL (expected smtp://user:password@host:port)');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    // Not echoed: in `user:password@host` (no scheme) the "scheme" is the user name.
    throw new Error('MLGRID_SMTP_URL: the scheme must be smtp:// or smtps://');
  }
  if (!u.hostname) throw new Error('MLGRID_SMTP_URL: no host');
  const out: ParsedUrl = { host: u.hostname.replace(/^\[|\]$/g, ''), secure: u.protocol === 'smtps:' };
  if (u.port) out.port = Number(u.port);
  if (u.username) out.user = decodeURIComponent(u.username);
  if (u.password) out.pass = decodeURIComponent(u.password);
  return out;
}

/** The URL as it may be shown: the password replaced by `***`. */
export function maskSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export class SmtpMailer implements Mailer {
  readonly from: string;
  private readonly transport: Transporter;
  private readonly pass?: string;

  constructor(cfg: SmtpConfig) {
    const p = parseSmtpUrl(cfg.url);
    const timeout = cfg.timeoutMs ?? 30_000;
    this.from = cfg.from;
    this.pass = p.pass;
    this.transport = nodemailer.createTransport({
      host: p.host,
      ...(p.port !== undefined ? { port: p.port } : {}),
      secure: cfg.secure ?? p.secure,
      ...(p.user !== undefined ? { auth: { user: p.user, pass: p.pass ?? '' } } : {}),
      tls: { rejectUnauthorized: cfg.tlsRejectUnauthorized ?? true },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
      debug: false,
    });
  }

  async send(msg: MailMessage, signal?: AbortSignal): Promise<MailReceipt> {
    try {
      const info = await this.transport.sendMail({
        from: this.from,
        to: msg.to,
        ...(msg.cc.length ? { cc: msg.cc } : {}),
        ...(msg.bcc.length ? { bcc: msg.bcc } : {}),
        ...(msg.replyTo !== undefined ? { replyTo: msg.replyTo } : {}),
        subject: msg.subject,
        ...(msg.text !== undefined ? { text: msg.text } : {}),
        ...(msg.html !== undefined ? { html: msg.html } : {}),
        messageId: msg.messageId,
        headers: msg.headers,
        ...(signal ? { signal } : {}),
      });
      return {
        messageId: String(info.messageId ?? msg.messageId),
        accepted: addresses(info.accepted),
        rejected: addresses(info.rejected),
      };
    } catch (err) {
      const e = err as Error;
      if (this.pass) e.message = e.message.replaceAll(this.pass, '***');
      throw e;
    }
  }

  close(): void {
    this.transport.close();
  }
}

function addresses(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? a)));
}
