/**
 * The command-line entry of each example (`npm run example:<name>`): runs its `main` with options from the
 * environment, prints the outcome, and exits 0 when the expected outcome happened, 1 (with the reason) when it
 * did not. Ctrl-C cleans up before exiting.
 */
import { pathToFileURL } from 'node:url';
import { reporter } from './report.js';
import { openSessions, optionsFromEnv, type ExampleOptions } from './session.js';
import { ExampleError } from './wait.js';

/** True when the module at `metaUrl` is the script node was started with. */
export function isEntry(metaUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(script).href === metaUrl;
}

export async function runAsScript(main: (opts: ExampleOptions) => Promise<unknown>): Promise<void> {
  const out = reporter();
  process.once('SIGINT', () => {
    out.fail('interrupted: cleaning up');
    void Promise.allSettled([...openSessions].map((s) => s.close())).then(() => process.exit(130));
  });
  let code = 0;
  try {
    await main({ ...optionsFromEnv(), out });
    out.ok(`done in ${out.elapsed()}`);
  } catch (err) {
    code = 1;
    const e = err as Error;
    if (err instanceof ExampleError || !(err instanceof Error)) out.fail(String(e?.message ?? err));
    else
      out.fail(
        process.env.MLGRID_EXAMPLES_DEBUG
          ? String(e.stack)
          : `${e.name}: ${e.message} (MLGRID_EXAMPLES_DEBUG=1 shows where)`,
      );
  } finally {
    await Promise.allSettled([...openSessions].map((s) => s.close()));
  }
  // Nothing of the example may keep the process alive (an SMTP socket, a keep-alive connection).
  process.exit(code);
}
