/** Builds the `mlgrid` program and runs it against an injectable CliIo: the entry point for tests and main.ts. */
import { Command, CommanderError } from 'commander';
import { formatCliError } from './eventgrid-common.js';
import { registerEventGridCommands } from './eventgrid.js';
import { registerConfigure } from './configure.js';
import { registerAutomationCommands } from './automation.js';
import { registerFunctionCommands } from './function.js';
import { registerMlCommands } from './ml.js';
import { registerPrincipalCommands } from './principal.js';
import { registerConnectionCommands } from './connection.js';
import { registerRoleCommands } from './role.js';
import { processIo, type CliIo } from './output.js';

export type { CliIo } from './output.js';

export function buildProgram(io?: CliIo, extra?: (p: Command) => void): Command {
  const program = new Command('mlgrid').description('Self-hosted, Azure-Event-Grid-compatible event grid');
  registerEventGridCommands(program, io);
  registerMlCommands(program, io ?? processIo());
  registerRoleCommands(program, io ?? processIo());
  registerPrincipalCommands(program, io ?? processIo());
  registerFunctionCommands(program, io ?? processIo());
  registerConnectionCommands(program, io ?? processIo());
  registerAutomationCommands(program, io ?? processIo());
  registerConfigure(program, io ?? processIo());
  extra?.(program);
  return program;
}

function eachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) eachCommand(sub, fn);
}

/**
 * Runs `argv` (user arguments only, without node and script) and resolves to the exit code instead of
 * exiting: 0 on success or help, 1 on any failure. Output goes only to `io`.
 */
export async function runCli(argv: string[], io: CliIo, extra?: (p: Command) => void): Promise<number> {
  let exitCode = 0;
  const runIo: CliIo = {
    ...io,
    setExitCode: (code) => {
      exitCode = code;
      io.setExitCode?.(code);
    },
  };
  const program = buildProgram(runIo, extra);
  // Settings do not reach commands attached with addCommand, so apply them to every node.
  eachCommand(program, (c) =>
    c.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) }),
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.stderr(formatCliError(err));
    return 1;
  }
  return exitCode;
}
