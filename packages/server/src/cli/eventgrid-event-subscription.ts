/**
 * `mlgrid eventgrid event-subscription create|show|list|update|delete` (az flag names, spec §7.3), plus mlgrid's
 * delivery|dead-letter|replay (eventgrid-delivery.ts).
 */
import { Command } from 'commander';
import type {
  ArmList,
  DeliveryAttributeMapping,
  EventSubscriptionDestination,
  EventSubscriptionOut,
} from '@mlgrid/protocol';
import { parseEndpointType } from './eventgrid-args.js';
import {
  buildEventSubscriptionCreate,
  buildEventSubscriptionPatch,
  resolveScope,
  updateNeeds,
  type CurrentEventSubscription,
  type EventSubscriptionFlags,
} from './event-subscription-args.js';
import { registerDeliveryCommands } from './eventgrid-delivery.js';
import { GroupedCommand, action, addGlobalOptions, boolOption, groupedOption } from './eventgrid-common.js';
import { eventSubscriptionPath, eventSubscriptionsPath, type ArmClient } from './http-client.js';
import type { CliIo } from './output.js';

const GROUPED_FLAGS = ['--advanced-filter', '--delivery-attribute-mapping'];

interface ScopeFlags {
  sourceResourceId?: string;
  topicName?: string;
  resourceGroup?: string;
}
type NamedFlags = ScopeFlags & { name: string };

function leaf(parent: Command, name: string, description: string, withName = true): Command {
  const cmd = new GroupedCommand(name, GROUPED_FLAGS).description(description);
  if (withName) cmd.requiredOption('-n, --name <name>', 'name of the event subscription');
  cmd
    .option('--source-resource-id <id>', 'ARM id of the source resource (default: the subscription)')
    .option('--topic-name <name>', 'shorthand: a custom topic in --resource-group as the source')
    .option('-g, --resource-group <group>', 'resource group of --topic-name');
  parent.addCommand(cmd);
  return cmd;
}

/** The flags create and update share (az spells them identically on both). */
function addSettingFlags(cmd: Command): Command {
  return addGlobalOptions(
    cmd
      .option('--endpoint <endpoint>', 'webhook URL, or the resource id of the destination')
      .option(
        '--endpoint-type <type>',
        'webhook (default), eventhub, storagequeue, hybridconnection, servicebusqueue, servicebustopic, azurefunction, mqtt (mlgrid)',
      )
      .option('--included-event-types <types...>', 'event types to deliver (default: all)')
      .option('--subject-begins-with <prefix>', 'subject prefix filter')
      .option('--subject-ends-with <suffix>', 'subject suffix filter')
      .addOption(boolOption('--subject-case-sensitive', 'compare subject filters case-sensitively'))
      .addOption(
        groupedOption(
          '--advanced-filter <key_op_values...>',
          'KEY OPERATOR [VALUE ...]; repeat for more filters (e.g. data.runType StringIn automl pipelinerun)',
        ),
      )
      .addOption(
        boolOption(
          '--enable-af-arr, --enable-advanced-filtering-on-arrays',
          'evaluate advanced filters on arrays',
        ),
      )
      .option('--max-delivery-attempts <n>', 'delivery attempts, 1-30 (default 30)')
      .option('--event-ttl <minutes>', 'event time to live in minutes, 1-1440 (default 1440)')
      .option('--deadletter-endpoint <id>', 'blob container resource id, or a file:// directory URL (mlgrid)')
      .option('--max-events-per-batch <n>', 'events per batch, 1-5000 (webhook, azurefunction)')
      .option(
        '--pref-batch-size-kb, --preferred-batch-size-in-kilobytes <kb>',
        'preferred batch size, 1-1024 KB',
      )
      .option(
        '--event-delivery-schema <schema>',
        'eventgridschema, custominputschema or cloudeventschemav1_0',
      )
      .option('--labels <labels...>', 'labels')
      .option('--expiration-date <date>', "expiry, UTC date or date-time (e.g. '2030-11-30T11:59:59+00:00')")
      .addOption(
        groupedOption(
          '-d, --delivery-attribute-mapping <mapping...>',
          'NAME static VALUE [ISSECRET] | NAME dynamic SOURCEFIELD; repeat for more headers',
        ),
      )
      .option(
        '--aad-tenant-id, --azure-active-directory-tenant-id <id>',
        'Entra tenant for webhook delivery tokens',
      )
      .option(
        '--aad-app-id, --azure-active-directory-application-id-or-uri <id>',
        'Entra application id or URI',
      )
      .option('--qttl, --storage-queue-msg-ttl <seconds>', 'storage queue message time to live (-1: never)')
      .option('--mqtt-topic <topic>', 'mqtt endpoints (mlgrid): the topic to publish to')
      .option('--mqtt-qos <qos>', 'mqtt endpoints (mlgrid): 0 or 1 (default 1)')
      .addOption(boolOption('--mqtt-retain', 'mqtt endpoints (mlgrid): publish retained (default false)')),
  );
}

/**
 * The current destination in a form that can be sent back: GET omits the webhook query string and the
 * static secret values, which a PATCH of the destination would otherwise wipe out.
 */
async function sendableDestination(
  client: ArmClient,
  path: string,
  dest: EventSubscriptionDestination,
  f: EventSubscriptionFlags,
): Promise<EventSubscriptionDestination> {
  if (f.endpointType !== undefined && parseEndpointType(f.endpointType) !== dest.endpointType) return dest;
  const properties = { ...dest.properties };
  if (dest.endpointType === 'WebHook' && f.endpoint === undefined) {
    const full = await client.post<{ endpointUrl?: string }>(`${path}/getFullUrl`);
    if (full?.endpointUrl) properties.endpointUrl = full.endpointUrl;
  }
  if (properties.deliveryAttributeMappings?.length && f.deliveryAttributeMapping === undefined) {
    const attrs = await client.post<ArmList<DeliveryAttributeMapping>>(`${path}/getDeliveryAttributes`);
    properties.deliveryAttributeMappings = attrs?.value ?? [];
  }
  return { ...dest, properties };
}

export function registerEventSubscriptionCommands(eventgrid: Command, io: CliIo): void {
  const group = eventgrid.command('event-subscription').description('Manage event subscriptions');

  addSettingFlags(leaf(group, 'create', 'Create an event subscription on a source resource')).action(
    action<NamedFlags & EventSubscriptionFlags>(io, async (f, ctx) => {
      const body = buildEventSubscriptionCreate(f);
      const path = eventSubscriptionPath(resolveScope(f, ctx.subscription), f.name);
      ctx.print(await ctx.client.put<EventSubscriptionOut>(path, body));
    }),
  );

  addGlobalOptions(
    leaf(group, 'show', 'Show an event subscription')
      .addOption(boolOption('--full-ed-url, --include-full-endpoint-url', 'include the full webhook URL'))
      .addOption(
        boolOption(
          '--include-attrib-secret, --include-static-delivery-attribute-secret',
          'include static delivery attribute secret values',
        ),
      ),
  ).action(
    action<NamedFlags & { includeFullEndpointUrl?: boolean; includeStaticDeliveryAttributeSecret?: boolean }>(
      io,
      async (f, ctx) => {
        const path = eventSubscriptionPath(resolveScope(f, ctx.subscription), f.name);
        const sub = await ctx.client.get<EventSubscriptionOut>(path);
        const dest = sub?.properties?.destination;
        // As az: the full URL only exists for webhooks, and storage queues take no delivery attributes.
        if (f.includeFullEndpointUrl && dest?.endpointType === 'WebHook') {
          const full = await ctx.client.post<{ endpointUrl?: string }>(`${path}/getFullUrl`);
          dest.properties = { ...dest.properties, endpointUrl: full?.endpointUrl };
        }
        if (f.includeStaticDeliveryAttributeSecret && dest && dest.endpointType !== 'StorageQueue') {
          const attrs = await ctx.client.post<ArmList<DeliveryAttributeMapping>>(
            `${path}/getDeliveryAttributes`,
          );
          dest.properties = { ...dest.properties, deliveryAttributeMappings: attrs?.value ?? [] };
        }
        ctx.print(sub);
      },
    ),
  );

  addGlobalOptions(
    leaf(group, 'list', 'List the event subscriptions of a source resource', false).option(
      '--odata-query <query>',
      'OData $filter on the name',
    ),
  ).action(
    action<ScopeFlags & { odataQuery?: string }>(io, async (f, ctx) => {
      const path = eventSubscriptionsPath(resolveScope(f, ctx.subscription));
      const list = await ctx.client.get<ArmList<EventSubscriptionOut>>(path, { $filter: f.odataQuery });
      ctx.print(list?.value ?? []);
    }),
  );

  addSettingFlags(
    leaf(group, 'update', 'Update an event subscription (only the given settings change)'),
  ).action(
    action<NamedFlags & EventSubscriptionFlags>(io, async (f, ctx) => {
      const path = eventSubscriptionPath(resolveScope(f, ctx.subscription), f.name);
      const needs = updateNeeds(f);
      const current: CurrentEventSubscription = {};
      if (needs.current) {
        const props = (await ctx.client.get<EventSubscriptionOut>(path))?.properties;
        if (props?.filter) current.filter = props.filter;
        if (props?.retryPolicy) current.retryPolicy = props.retryPolicy;
        if (needs.destination && props?.destination) {
          current.destination = await sendableDestination(ctx.client, path, props.destination, f);
        }
      }
      ctx.print(await ctx.client.patch<EventSubscriptionOut>(path, buildEventSubscriptionPatch(f, current)));
    }),
  );

  addGlobalOptions(leaf(group, 'delete', 'Delete an event subscription')).action(
    action<NamedFlags>(io, async (f, ctx) => {
      await ctx.client.delete(eventSubscriptionPath(resolveScope(f, ctx.subscription), f.name));
    }),
  );

  registerDeliveryCommands(group, io);
}
