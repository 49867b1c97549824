/** `mlgrid eventgrid ...`: az-compatible management commands that talk to an mlgrid server over HTTP(S). */
import type { Command } from 'commander';
import { registerEventSubscriptionCommands } from './eventgrid-event-subscription.js';
import { registerTopicCommands } from './eventgrid-topic.js';
import { processIo, type CliIo } from './output.js';

export type { CliIo } from './output.js';

/**
 * Adds the `eventgrid` group to `program`. Without `io` the commands write to the process and set
 * `process.exitCode` on failure, which is what `program.parseAsync()` in main.ts wants.
 */
export function registerEventGridCommands(program: Command, io: CliIo = processIo()): Command {
  const eventgrid = program
    .command('eventgrid')
    .description('Manage topics and event subscriptions (flags as in `az eventgrid`)');
  registerTopicCommands(eventgrid, io);
  registerEventSubscriptionCommands(eventgrid, io);
  return eventgrid;
}
