/**
 * Where an example runs: against the mlgrid named by MLGRID_URL (or MLGRID_SERVER) and MLGRID_KEY, or — on a fresh
 * clone with nothing running — an embedded mlgrid started here on a free port with a temporary data directory,
 * SQLite, and SMTP pointed at a local mail catcher. Either way the example talks to it over HTTP only (the SDK
 * and the CLI), exactly as it would to any mlgrid. Everything created is removed at the end: the temporary
 * directory (embedded), or the example's own resources (a running mlgrid; keep them with MLGRID_EXAMPLES_KEEP=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MlgridClient } from '@mlgrid/client';
import { startServer, type RunningServer } from 'mlgrid';
import { reporter, type Reporter } from './report.js';
import { startSmtpCatcher, type SmtpCatcher } from './smtp-catcher.js';
import { ExampleError } from './wait.js';

export interface ExampleOptions {
  out?: Reporter;
  /**
   * A running mlgrid to use. Default: MLGRID_URL (or MLGRID_SERVER) + MLGRID_KEY from `env` when both are set,
   * else an embedded one.
   */
  server?: ExternalServer;
  /** Read for MLGRID_URL, MLGRID_KEY, MLGRID_FUNCTIONS_DIR, MLGRID_EXAMPLES_*; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Multiplies every wait of the example (default 1; MLGRID_EXAMPLES_TIMEOUT_SCALE). */
  timeoutScale?: number;
  /** Leave what the example created on a running mlgrid (default false; MLGRID_EXAMPLES_KEEP=1). */
  keep?: boolean;
}

export interface ExternalServer {
  url: string;
  key: string;
  /** The server's functions directory, when the example needs to place a function's code there. */
  functionsDir?: string;
  /** The port of an SMTP catcher to start here, when the server's MLGRID_SMTP_URL points at it. */
  smtpPort?: number;
}

export interface Session {
  out: Reporter;
  client: MlgridClient;
  url: string;
  key: string;
  embedded: boolean;
  subscriptionId: string;
  rg: string;
  ws: string;
  wsId: string;
  /** Appended to server-wide names (endpoints) on a shared mlgrid, so runs never collide ('' when embedded). */
  suffix: string;
  /** A private scratch folder for the run (removed at the end). */
  scratch: string;
  functionsDir?: string;
  /** The mail catcher, when mails sent by mlgrid arrive here. */
  smtp?: SmtpCatcher;
  /** A wait of `ms` scaled by the run's timeout scale. */
  timeout(ms: number): number;
  /** Undo `fn` at the end (on a running mlgrid; the embedded one goes away as a whole). */
  onCleanup(what: string, fn: () => Promise<unknown>): void;
  close(): Promise<void>;
}

export interface SessionNeeds {
  /** The example's title and one line about it, printed first. */
  title: [string, string];
  /** The workspace name (a suffix is added on a running mlgrid). */
  workspace: string;
  /** Mails are part of the example. */
  smtp?: boolean;
  /** The example places a local function's code in the functions directory. */
  functions?: boolean;
  /** Statuses that raise RunStatusChanged in the workspace (default Azure's: Failed). */
  runStatusChangedStatuses?: string[];
}

export const RESOURCE_GROUP = 'examples';
/** Sessions not closed yet, so that Ctrl-C still cleans up (see run.ts). */
export const openSessions = new Set<Session>();
const SMTP_FROM = 'mlgrid examples <mlgrid@localhost>';

/** Options from the environment, for the command-line entry points. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ExampleOptions {
  const scale = Number(env.MLGRID_EXAMPLES_TIMEOUT_SCALE ?? '1');
  return {
    env,
    timeoutScale: Number.isFinite(scale) && scale > 0 ? scale : 1,
    keep: env.MLGRID_EXAMPLES_KEEP === '1',
  };
}

function externalFrom(env: NodeJS.ProcessEnv): ExternalServer | undefined {
  const url = env.MLGRID_URL || env.MLGRID_SERVER;
  const key = env.MLGRID_KEY;
  if (!url || !key) return undefined;
  const port = Number(env.MLGRID_EXAMPLES_SMTP_PORT);
  return {
    url,
    key,
    ...(env.MLGRID_FUNCTIONS_DIR ? { functionsDir: env.MLGRID_FUNCTIONS_DIR } : {}),
    ...(Number.isInteger(port) && port > 0 ? { smtpPort: port } : {}),
  };
}

export async function openSession(opts: ExampleOptions, needs: SessionNeeds): Promise<Session> {
  const out = opts.out ?? reporter();
  out.title(...needs.title);
  const env = opts.env ?? process.env;
  const scale = opts.timeoutScale ?? 1;
  const external = opts.server ?? externalFrom(env);
  const scratch = mkdtempSync(join(tmpdir(), `mlgrid-example-${needs.workspace}-`));
  const cleanups: { what: string; fn: () => Promise<unknown> }[] = [];
  let server: RunningServer | undefined;
  let smtp: SmtpCatcher | undefined;
  let functionsDir: string | undefined;
  let url: string;
  let key: string;
  try {
    if (external) {
      url = external.url.replace(/\/+$/, '');
      key = external.key;
      functionsDir = external.functionsDir;
      await reachable(url);
      if (needs.smtp && external.smtpPort) smtp = await startSmtpCatcher(external.smtpPort);
      out.info(`using the mlgrid at ${url}`);
    } else {
      if (needs.smtp) smtp = await startSmtpCatcher(0);
      functionsDir = join(scratch, 'functions');
      mkdirSync(functionsDir);
      key = randomBytes(24).toString('base64url');
      server = await startServer(
        {
          host: '127.0.0.1',
          port: 0,
          dataDir: join(scratch, 'mlgrid'),
          store: { kind: 'sqlite', dataDir: join(scratch, 'mlgrid') },
          adminKey: key,
          logLevel: 'error',
          functions: { dir: functionsDir },
          driftScheduler: { enabled: false }, // the examples run their monitors on demand
          ...(smtp ? { smtp: { url: smtp.url, from: SMTP_FROM } } : {}),
        },
        pino({ level: 'error' }, pino.destination(2)),
      );
      url = server.url;
      out.info(`started an embedded mlgrid at ${url} (data in ${scratch})`);
      if (smtp) out.info(`mail goes to a local SMTP catcher at ${smtp.url}`);
    }
  } catch (err) {
    await server?.close().catch(() => {});
    await smtp?.close().catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  const client = new MlgridClient({ baseUrl: url, key });
  const suffix = external ? `-${randomBytes(3).toString('hex')}` : '';
  const ws = `${needs.workspace}${suffix}`;
  const rg = RESOURCE_GROUP;
  const session: Session = {
    out,
    client,
    url,
    key,
    embedded: !external,
    subscriptionId: client.subscriptionId,
    rg,
    ws,
    wsId: client.workspaceId(rg, ws),
    suffix,
    scratch,
    ...(functionsDir ? { functionsDir } : {}),
    ...(smtp ? { smtp } : {}),
    timeout: (ms) => Math.round(ms * scale),
    onCleanup: (what, fn) => cleanups.push({ what, fn }),
    async close() {
      if (!openSessions.delete(session)) return; // closed already
      if (external && !opts.keep) {
        for (const c of cleanups.reverse()) {
          await c.fn().catch((err: Error) => out.info(`(could not remove ${c.what}: ${err.message})`));
        }
      } else if (external) {
        out.info(`kept the workspace ${ws} and what the example created in it (MLGRID_EXAMPLES_KEEP=1)`);
      }
      await server?.close();
      await smtp?.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
  openSessions.add(session);
  try {
    const settings = needs.runStatusChangedStatuses
      ? { mlgridSettings: { runStatusChangedStatuses: needs.runStatusChangedStatuses } }
      : {};
    await client.workspaces.create(rg, ws, { location: 'local', properties: { ...settings } });
    session.onCleanup(`workspace ${ws}`, () => client.workspaces.delete(rg, ws));
  } catch (err) {
    await session.close();
    throw err;
  }
  return session;
}

/** A clear message when nothing (or not mlgrid) answers at the URL given. */
async function reachable(url: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ExampleError(
      `no mlgrid answers at ${url} (${cause}): start one, or unset MLGRID_URL to use an embedded one`,
    );
  }
  await res.body?.cancel();
  if (!res.ok) throw new ExampleError(`${url}/health answered ${res.status}: is this an mlgrid server?`);
}
