/** What the service-calling steps (submitJob, deployModel) share: failure classes and an abortable pause. */
import { StepError } from '../../core/automation-step.js';
import { MlgridError } from '../../core/errors.js';

/** Runs a service call; its failure becomes a StepError (see `asStepError`). */
export async function serviceCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asStepError(err, what);
  }
}

/**
 * A refusal by a service (4xx: a bad body, an unknown workspace or model, a conflict) would be refused again, so
 * it fails the run; a 5xx or an unexpected error (the store unreachable) is tried again.
 */
export function asStepError(err: unknown, what: string): StepError {
  if (err instanceof StepError) return err;
  if (err instanceof MlgridError) {
    return new StepError(`${what}: ${err.message}`, err.status >= 500, { cause: err });
  }
  return new StepError(`${what}: ${(err as Error).message}`, true, { cause: err });
}

export function isNotFound(err: unknown, what: string): boolean {
  return (
    err instanceof MlgridError && err.code === 'ResourceNotFound' && err.message.startsWith(`The ${what} `)
  );
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
