/** `mlgrid eventgrid topic create|show|list|update|delete` and `topic key list|regenerate` (az flag names). */
import { Command, Option } from 'commander';
import type { ArmList, TopicKeys, TopicOut } from '@mlgrid/protocol';
import { buildTopicCreate, buildTopicUpdate, parseKeyName, type TopicCreateFlags } from './eventgrid-args.js';
import { groupOption, locationOption } from './defaults.js';
import { action, addGlobalOptions } from './eventgrid-common.js';
import { topicPath, topicsPath } from './http-client.js';
import type { CliIo } from './output.js';

interface TopicFlags {
  name: string;
  resourceGroup: string;
}

function leaf(parent: Command, name: string, description: string, withName = true): Command {
  const cmd = new Command(name).description(description);
  if (withName) {
    cmd.requiredOption('-n, --name <name>', 'name of the topic');
    cmd.addOption(groupOption());
  }
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

export function registerTopicCommands(eventgrid: Command, io: CliIo): void {
  const topic = eventgrid.command('topic').description('Manage custom topics');

  leaf(topic, 'create', 'Create a topic')
    .addOption(locationOption())
    .addOption(
      new Option(
        '--input-schema <schema>',
        'schema of published events: eventgridschema, cloudeventschemav1_0 or customeventschema',
      ),
    )
    .option(
      '--input-mapping-fields <pairs...>',
      'custom schema field mappings: id|topic|eventtime|subject|eventtype|dataversion=<field>',
    )
    .option(
      '--input-mapping-default-values <pairs...>',
      'custom schema defaults: subject|eventtype|dataversion=<value>',
    )
    .option('--tags <tags...>', 'space-separated tags: key[=value] ...')
    .action(
      action<TopicFlags & TopicCreateFlags>(io, async (f, ctx) => {
        const body = buildTopicCreate(f);
        ctx.print(await ctx.client.put<TopicOut>(topicPath(ctx.subscription, f.resourceGroup, f.name), body));
      }),
    );

  leaf(topic, 'show', 'Show a topic').action(
    action<TopicFlags>(io, async (f, ctx) => {
      ctx.print(await ctx.client.get<TopicOut>(topicPath(ctx.subscription, f.resourceGroup, f.name)));
    }),
  );

  leaf(topic, 'list', 'List topics in a resource group or the whole subscription', false)
    .option('-g, --resource-group <group>', 'resource group (default: all)')
    .option('--odata-query <query>', 'OData $filter on the name')
    .action(
      action<{ resourceGroup?: string; odataQuery?: string }>(io, async (f, ctx) => {
        const path = topicsPath(ctx.subscription, f.resourceGroup);
        const list = await ctx.client.get<ArmList<TopicOut>>(path, { $filter: f.odataQuery });
        ctx.print(list?.value ?? []);
      }),
    );

  leaf(topic, 'update', 'Update a topic')
    .option('--tags <tags...>', 'space-separated tags: key[=value] ... ("" clears)')
    .action(
      action<TopicFlags & { tags?: string[] }>(io, async (f, ctx) => {
        const body = buildTopicUpdate(f);
        ctx.print(
          await ctx.client.patch<TopicOut>(topicPath(ctx.subscription, f.resourceGroup, f.name), body),
        );
      }),
    );

  leaf(topic, 'delete', 'Delete a topic').action(
    action<TopicFlags>(io, async (f, ctx) => {
      await ctx.client.delete(topicPath(ctx.subscription, f.resourceGroup, f.name));
    }),
  );

  const key = topic.command('key').description('Manage the shared access keys of a topic');
  leaf(key, 'list', 'List the keys of a topic').action(
    action<TopicFlags>(io, async (f, ctx) => {
      const path = `${topicPath(ctx.subscription, f.resourceGroup, f.name)}/listKeys`;
      ctx.print(await ctx.client.post<TopicKeys>(path));
    }),
  );

  leaf(key, 'regenerate', 'Regenerate a key of a topic')
    .requiredOption('--key-name <key>', 'key1 or key2')
    .action(
      action<TopicFlags & { keyName: string }>(io, async (f, ctx) => {
        const body = { keyName: parseKeyName(f.keyName) };
        const path = `${topicPath(ctx.subscription, f.resourceGroup, f.name)}/regenerateKey`;
        ctx.print(await ctx.client.post<TopicKeys>(path, body));
      }),
    );
}
