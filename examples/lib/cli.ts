/**
 * Runs an `mlgrid` CLI command the way a user types it — the real CLI program, in this process (no second
 * Node.js start) — against the session's server. The command is printed as the user would type it (without
 * the server and key, which come from MLGRID_SERVER / MLGRID_KEY in a shell).
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { runCli } from '../../packages/server/src/cli/program.js';
import type { Session } from './session.js';
import { ExampleError } from './wait.js';

/** Runs `mlgrid <args>`; returns its stdout, throws an ExampleError with its stderr when it fails. */
export async function mlgrid(s: Session, args: string[], opts: { print?: boolean } = {}): Promise<string> {
  const shown = args.map((a) =>
    a.startsWith(`${process.cwd()}/`) && existsSync(a) ? relative(process.cwd(), a) : a,
  );
  if (opts.print !== false) s.out.info(`$ mlgrid ${shown.map(quote).join(' ')}`);
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    [...args, '--server', s.url, '--key', s.key, '--subscription', s.subscriptionId],
    { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
  );
  if (code !== 0) {
    throw new ExampleError(
      `mlgrid ${shown.join(' ')} failed (exit ${code}): ${stderr.trim() || stdout.trim()}`,
    );
  }
  return stdout;
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
