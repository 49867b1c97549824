/**
 * `mlgrid connection ...`: the brokers queue destinations are delivered to (admin key). The password is sent,
 * never printed: the server answers with it masked, and a failure's message has it redacted.
 */
import { Command, Option } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { CONNECTION_KINDS, CONNECTIONS_PATH } from '../core/connection.js';
import { action, addGlobalOptions } from './eventgrid-common.js';
import type { CliIo } from './output.js';

const connectionPath = (name: string) => `${CONNECTIONS_PATH}/${encodeURIComponent(name)}`;

function leaf(parent: Command, name: string, description: string): Command {
  const cmd = new Command(name).description(description);
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

interface CreateFlags {
  name: string;
  resourceId: string;
  kind: string;
  url: string;
  username?: string;
  password?: string;
  description?: string;
}

export function registerConnectionCommands(program: Command, io: CliIo): void {
  const connection = program
    .command('connection')
    .description('Broker connections for queue destinations (RabbitMQ, NATS, Redis, MQTT; admin key)');
  const named = (c: Command) => c.requiredOption('-n, --name <name>', 'connection name');

  named(leaf(connection, 'create', 'Register (or replace) the broker for an Azure namespace/account id'))
    .requiredOption(
      '--resource-id <id>',
      'the namespace/account resource id destinations name, e.g. /subscriptions/…/providers/Microsoft.ServiceBus/namespaces/ns1',
    )
    .addOption(new Option('--kind <kind>', 'broker kind').choices(CONNECTION_KINDS).makeOptionMandatory())
    .requiredOption('--url <url>', 'broker URL, e.g. amqp://host:5672 (credentials may be in it)')
    .option('--username <user>', 'user name (instead of putting it in the URL)')
    .option('--password <password>', 'password (env MLGRID_CONNECTION_PASSWORD); never printed')
    .option('--description <text>', 'free text')
    .action(
      action<CreateFlags>(io, async (f, ctx) => {
        const password = f.password ?? process.env.MLGRID_CONNECTION_PASSWORD;
        const secrets = [password, passwordIn(f.url)].filter((s): s is string => !!s && s.length > 0);
        try {
          const out = await ctx.client.put(connectionPath(f.name), {
            properties: {
              resourceId: f.resourceId,
              kind: f.kind,
              url: f.url,
              username: f.username,
              password,
              description: f.description,
            },
          });
          ctx.print(out);
        } catch (err) {
          throw redacted(err, secrets);
        }
      }),
    );
  named(leaf(connection, 'show', 'Show a connection (password masked)')).action(
    action<{ name: string }>(io, async (f, ctx) => ctx.print(await ctx.client.get(connectionPath(f.name)))),
  );
  leaf(connection, 'list', 'List connections (passwords masked)').action(
    action(io, async (_f, ctx) => {
      ctx.print((await ctx.client.get<ArmList<unknown>>(CONNECTIONS_PATH))?.value ?? []);
    }),
  );
  named(
    leaf(connection, 'delete', 'Delete a connection (its destinations fail until one is registered)'),
  ).action(
    action<{ name: string }>(io, async (f, ctx) => {
      await ctx.client.delete(connectionPath(f.name));
    }),
  );
}

function passwordIn(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** The error with every secret replaced by `***` (in case anything on the way quoted the request). */
function redacted(err: unknown, secrets: string[]): unknown {
  if (!(err instanceof Error) || secrets.length === 0) return err;
  const scrub = (s: string) =>
    secrets.reduce((t, x) => t.split(x).join('***').split(encodeURIComponent(x)).join('***'), s);
  const message = scrub(err.message);
  if (message === err.message) return err;
  err.message = message;
  return err;
}
