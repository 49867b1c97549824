/**
 * A local SMTP server that accepts every mail sent to it, parses it (mailparser) and keeps it: the inbox of the
 * examples. It listens on 127.0.0.1 only and takes no credentials (nothing leaves the machine).
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  parsed: ParsedMail;
}

export interface SmtpCatcher {
  /** `smtp://127.0.0.1:<port>`: what MLGRID_SMTP_URL must be for mails to arrive here. */
  url: string;
  port: number;
  mails: CaughtMail[];
  /** Called for each mail as it arrives. */
  onMail?: (m: CaughtMail) => void;
  close(): Promise<void>;
}

/** Starts the catcher on `port` (0: any free port). */
export async function startSmtpCatcher(port = 0): Promise<SmtpCatcher> {
  const catcher: SmtpCatcher = {
    url: '',
    port: 0,
    mails: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'], // loopback only: plain SMTP, as a local relay would be
    logger: false,
    banner: 'mlgrid examples mail catcher',
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((parsed) => {
          const mail = toMail(parsed);
          catcher.mails.push(mail);
          catcher.onMail?.(mail);
          cb();
        })
        .catch((err: Error) => cb(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  catcher.port = (server.server.address() as { port: number }).port;
  catcher.url = `smtp://127.0.0.1:${catcher.port}`;
  return catcher;
}

function toMail(p: ParsedMail): CaughtMail {
  const addresses = (v: ParsedMail['to']): string[] =>
    (Array.isArray(v) ? v : v ? [v] : []).flatMap((a) => a.value.map((x) => x.address ?? ''));
  const headers: Record<string, string> = {};
  for (const [k, v] of p.headers) if (typeof v === 'string') headers[k] = v;
  return {
    from: p.from?.text ?? '',
    to: addresses(p.to),
    subject: p.subject ?? '',
    text: p.text ?? '',
    html: typeof p.html === 'string' ? p.html : '',
    headers,
    parsed: p,
  };
}
