/** Waiting for outcomes with a deadline, and the error an example fails with when one does not come. */

/** The expected outcome did not happen: the runner prints the message and exits 1. */
export class ExampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExampleError';
  }
}

/**
 * Polls `fn` every `everyMs` until `ok` holds; throws an ExampleError naming `what` (and the last value seen,
 * when `show` is given) after `timeoutMs`.
 */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  opts: { everyMs?: number; show?: (v: T) => string } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) {
      const last = opts.show ? ` (last seen: ${opts.show(v)})` : '';
      throw new ExampleError(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s${last}`);
    }
    await sleep(opts.everyMs ?? 250);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
