/**
 * Runs online deployments as local scoring processes: one harness process per deployment on this node
 * (`harness/score_server.py` or `.mjs` hosting the user's init()/run() script), started, health-checked, replaced
 * on update and stopped on delete. Its stdin is a pipe the harness watches, so it dies with the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { request } from 'undici';
import { MlgridError } from '../core/errors.js';

const HARNESS = fileURLToPath(new URL('../../harness/', import.meta.url));
const READY_RE = /^MLGRID_SCORING_READY (\d+)$/m;

export interface DeployerConfig {
  /** Where each deployment's log lives (`<dir>/<workspace guid>/<endpoint>/<deployment>/std_log.txt`). */
  dir: string;
  python: string;
  /** How long init() plus the first health check may take. */
  startTimeoutMs: number;
}

export const DEFAULT_DEPLOYER: Omit<DeployerConfig, 'dir'> = { python: 'python3', startTimeoutMs: 120_000 };

export interface LaunchSpec {
  kind: 'python' | 'node';
  codePath: string;
  scoringScript: string;
  /** AZUREML_MODEL_DIR, as Azure sets it for the script. */
  modelDir: string;
  env: Record<string, string>;
  logFile: string;
}

/** Why a start failed, as the deployment shows it (`properties.mlgrid.error`). */
export class DeployError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Running {
  child: ChildProcess;
  port: number;
}

export class Deployer {
  private readonly running = new Map<string, Running>();
  /** Starts in progress per deployment, so concurrent scoring requests share one lazy start. */
  private readonly starting = new Map<string, Promise<Running>>();

  constructor(
    private readonly cfg: DeployerConfig,
    private readonly log: Logger,
  ) {}

  logFile(workspaceGuid: string, endpoint: string, deployment: string): string {
    return join(this.cfg.dir, workspaceGuid, endpoint.toLowerCase(), deployment.toLowerCase(), 'std_log.txt');
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  /** Starts a new process for `key`; when it is healthy it replaces the old one (which is then stopped). */
  async start(key: string, spec: LaunchSpec): Promise<void> {
    const run = await this.launch(spec);
    const old = this.running.get(key);
    this.running.set(key, run);
    run.child.once('exit', (code, signal) => {
      if (this.running.get(key) === run) this.running.delete(key);
      this.log.warn({ deployment: key, code, signal }, 'scoring process exited');
    });
    if (old) stop(old.child);
  }

  /** The port of a running process, starting it first when this node runs none (`spec` says how). */
  async ensure(key: string, spec: () => Promise<LaunchSpec>): Promise<number> {
    const run = this.running.get(key);
    if (run) return run.port;
    let p = this.starting.get(key);
    if (!p) {
      p = spec()
        .then((s) => this.start(key, s))
        .then(() => this.running.get(key)!)
        .finally(() => this.starting.delete(key));
      this.starting.set(key, p);
    }
    return (await p).port;
  }

  stop(key: string): void {
    const run = this.running.get(key);
    this.running.delete(key);
    if (run) stop(run.child);
  }

  /** Stops every process whose key `keep` rejects (deployments deleted through another node). */
  retain(keep: (key: string) => boolean): void {
    for (const key of [...this.running.keys()]) if (!keep(key)) this.stop(key);
  }

  stopAll(): void {
    for (const key of [...this.running.keys()]) this.stop(key);
  }

  /** Forwards one scoring request; the script's status and body come back as they are. */
  async score(
    port: number,
    body: Buffer,
    contentType: string | undefined,
    timeoutMs: number,
  ): Promise<{ status: number; contentType: string; body: Buffer }> {
    try {
      const res = await request(`http://127.0.0.1:${port}/score`, {
        method: 'POST',
        body,
        headers: { 'content-type': contentType ?? 'application/json' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      return {
        status: res.statusCode,
        contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
        body: Buffer.from(await res.body.arrayBuffer()),
      };
    } catch (err) {
      const timedOut = /timeout/i.test((err as Error).name + (err as Error).message);
      throw new MlgridError(
        timedOut ? 'GatewayTimeout' : 'BadGateway',
        timedOut
          ? `The scoring script did not answer within ${timeoutMs} ms (requestSettings.requestTimeout).`
          : 'The scoring process did not answer; see the deployment logs.',
      );
    }
  }

  private async launch(spec: LaunchSpec): Promise<Running> {
    const script = join(spec.codePath, spec.scoringScript);
    if (!isFile(script)) {
      throw new DeployError('ScoringScriptNotFound', `Scoring script ${script} does not exist.`);
    }
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      const [cmd, harness] =
        spec.kind === 'python'
          ? [this.cfg.python, join(HARNESS, 'score_server.py')]
          : [process.execPath, join(HARNESS, 'score_server.mjs')];
      child = spawn(cmd, [harness, script], {
        cwd: spec.codePath,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...spec.env, AZUREML_MODEL_DIR: spec.modelDir },
        stdio: ['pipe', 'pipe', fd],
      });
    } finally {
      closeSync(fd);
    }
    try {
      const port = await this.waitReady(child, spec);
      await this.healthy(port);
      return { child, port };
    } catch (err) {
      stop(child);
      throw err;
    }
  }

  /** The harness prints its port once init() returned; stdout is also copied to the log. */
  private waitReady(child: ChildProcess, spec: LaunchSpec): Promise<number> {
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        reject(
          new DeployError(
            'DeploymentTimedOut',
            `The scoring script was not ready within ${this.cfg.startTimeoutMs} ms.`,
          ),
        );
      }, this.cfg.startTimeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        appendLog(spec.logFile, d);
        const m = READY_RE.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new DeployError('ProcessStartFailed', `Could not start the scoring host: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const tail = tailOf(spec.logFile, 20).trim();
        reject(
          new DeployError(
            'ScoringScriptFailed',
            `The scoring host exited (${signal ?? `code ${code}`}) before it was ready${tail ? `:\n${tail}` : '.'}`,
          ),
        );
      });
    });
  }

  private async healthy(port: number): Promise<void> {
    const res = await request(`http://127.0.0.1:${port}/`, { headersTimeout: 5000, bodyTimeout: 5000 }).catch(
      (err: Error) => {
        throw new DeployError('HealthCheckFailed', `Health check failed: ${err.message}`);
      },
    );
    await res.body.dump();
    if (res.statusCode !== 200) {
      throw new DeployError('HealthCheckFailed', `Health check answered ${res.statusCode}.`);
    }
  }
}

/** Closing stdin asks the harness to exit; SIGKILL after a grace period for a script that ignores it. */
function stop(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end();
  child.kill('SIGTERM');
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 3000).unref();
}

function appendLog(file: string, d: Buffer): void {
  try {
    appendFileSync(file, d);
  } catch {
    // A log write failing must not stop scoring.
  }
}

/** The last `lines` lines of a log (the whole file when short). */
export function tailOf(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
