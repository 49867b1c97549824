/** Entry point of the `mlgrid` binary. */
import { runCli } from './program.js';
import { registerServe } from './serve.js';

const code = await runCli(
  process.argv.slice(2),
  { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) },
  registerServe,
);
process.exitCode = code;
