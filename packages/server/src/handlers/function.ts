/**
 * `AzureFunction` destinations: the function named by the destination's `resourceId` runs as a local process
 * per delivery (docs/functions.md). A command gets the request body on stdin; a JavaScript/TypeScript module is
 * hosted by `harness/function-runner.mjs` in its own process, never in the server. Exit 0 = delivered; exit 65
 * = dead-lettered at once; anything else, a signal or the timeout = retried by the dispatcher's schedule.
 */
import { fileURLToPath } from 'node:url';
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import { functionId, functionPaths, resourceKey, type FunctionDoc } from '../core/function-app.js';
import { invocationEnv, invocationOutcome } from '../core/function-invocation.js';
import { inheritedEnv } from '../core/job-run.js';
import type { OutgoingRequest } from '../core/delivery-format.js';
import {
  handlerFailure,
  handlerSuccess,
  type DeliveryTarget,
  type DestinationHandler,
  type SendContext,
  type SendResult,
} from './destination.js';
import {
  checkRealPaths,
  killGroup,
  runProcess,
  type ProcessPlan,
  type ProcessSet,
} from './function-process.js';

const RUNNER = fileURLToPath(new URL('../../harness/function-runner.mjs', import.meta.url));
/** Function lookups are cached this long: a change made through another node is seen within it. */
const CACHE_MS = 2000;

export interface FunctionDirectory {
  /** The function at this id (any case), or undefined. */
  find(resourceId: string): Promise<FunctionDoc | undefined>;
}

export interface FunctionsConfig {
  /** The functions directory (MLGRID_FUNCTIONS_DIR, default `<data-dir>/functions`): all function code lives here. */
  dir: string;
  /**
   * The longest one attempt may take, waiting for a slot included: below the delivery lease, so that no other
   * claim sends the same events while the process still runs. A longer `timeoutSeconds` is cut to this.
   */
  maxAttemptMs: number;
}

export class FunctionHandler implements DestinationHandler {
  readonly endpointTypes = ['AzureFunction'] as const;
  private readonly targets = new Map<string, DeliveryTarget>();
  private readonly cache = new Map<string, { at: number; doc?: FunctionDoc }>();
  private readonly slots = new Map<string, Slots>();
  private readonly running: ProcessSet = new Set();
  private stopped = false;

  constructor(
    private readonly functions: FunctionDirectory,
    private readonly cfg: FunctionsConfig,
  ) {}

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const id = dest.properties.resourceId;
    if (!id) return undefined;
    const key = resourceKey(id);
    let t = this.targets.get(key);
    if (t === undefined) {
      // The function is the unit of the dispatcher's per-endpoint limit and probation.
      t = { origin: key, send: (req, ctx) => this.send(id, key, req, ctx) };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(key, t);
    }
    return t;
  }

  /** A function changed on this node: look it up again at the next delivery. */
  forget(id: string): void {
    this.cache.delete(resourceKey(id));
  }

  /** Ends every running invocation (their attempts fail and are retried) and refuses new ones. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const child of this.running) killGroup(child, 'SIGKILL');
  }

  private async send(id: string, key: string, req: OutgoingRequest, ctx: SendContext): Promise<SendResult> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    const deadline = Date.now() + this.cfg.maxAttemptMs;
    try {
      if (this.stopped) return handlerFailure('the server is stopping', 0);
      const doc = await this.lookup(key);
      if (!doc) return handlerFailure(`the function ${id} does not exist`, ms());
      const { spec, ref } = doc;
      if (spec.isDisabled) return handlerFailure(`the function ${functionId(ref)} is disabled`, ms());
      const paths = checkRealPaths(this.cfg.dir, ...planPaths(this.cfg.dir, doc));
      if (!paths.ok) return handlerFailure(paths.reason, ms());
      const slots = this.slotsOf(key);
      if (!(await slots.acquire(spec.maxConcurrency, deadline - 1000))) {
        return handlerFailure(`busy: ${spec.maxConcurrency} invocations of this function are running`, ms());
      }
      try {
        const timeoutMs = Math.max(1, Math.min(spec.timeoutSeconds * 1000, deadline - Date.now()));
        const env = invocationEnv(inheritedEnv(process.env), spec.env, {
          functionId: functionId(ref),
          subscriptionName: ctx.subscription.name,
          subscriptionId: ctx.subscription.id,
          bodies: ctx.batch.map((d) => d.event.body),
          eventIds: ctx.batch.map((d) => d.event.eventId),
          headers: req.headers,
        });
        const [file, ...args] =
          'module' in spec.handler ? [process.execPath, RUNNER, paths.module!] : spec.handler.command;
        const plan: ProcessPlan = { file: file!, args, cwd: paths.cwd, env, timeoutMs };
        const end = await runProcess(plan, req.body, this.running);
        const o = invocationOutcome(end);
        const durationMs = ms();
        if (o.kind === 'success') return handlerSuccess(durationMs, o.excerpt);
        if (o.kind === 'timeout') return { result: { kind: 'timeout' }, durationMs, excerpt: o.excerpt };
        return handlerFailure(o.excerpt, durationMs, o.retryable);
      } finally {
        slots.release();
      }
    } catch (err) {
      return handlerFailure(`function invocation failed: ${(err as Error).message}`, ms());
    }
  }

  private async lookup(key: string): Promise<FunctionDoc | undefined> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < CACHE_MS) return hit.doc;
    const doc = await this.functions.find(key);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, { at: now, ...(doc ? { doc } : {}) });
    return doc;
  }

  private slotsOf(key: string): Slots {
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = new Slots()));
    return s;
  }
}

/** The lexical working directory and module of a stored function (its PUT already checked them). */
function planPaths(root: string, doc: FunctionDoc): [string, string | undefined] {
  const p = functionPaths(root, doc.ref, doc.spec);
  return [p.cwd, p.module];
}

/** A counting semaphore whose limit is read at each acquire (a function's maxConcurrency may change). */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  /** False when no slot was free before `deadline` (epoch ms). */
  async acquire(limit: number, deadline: number): Promise<boolean> {
    while (this.busy >= limit) {
      const wait = deadline - Date.now();
      if (wait <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        const waiter = () => done();
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiting.push(waiter);
      });
    }
    this.busy++;
    return true;
  }

  release(): void {
    this.busy--;
    // Wake every waiter: each re-checks the limit, the losers wait again.
    for (const w of this.waiting.splice(0)) w();
  }
}
