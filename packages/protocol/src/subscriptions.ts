/** Event subscription resource bodies, as `@azure/arm-eventgrid` 14.x sends and expects them. */
import type { DeliverySchema } from './events.js';
import type { EventSubscriptionFilter } from './filters.js';
import type { ProvisioningState, SystemData } from './arm.js';

export const ENDPOINT_TYPES = [
  'WebHook',
  'EventHub',
  'StorageQueue',
  'HybridConnection',
  'ServiceBusQueue',
  'ServiceBusTopic',
  'AzureFunction',
  // mlgrid extensions (Azure clients read them as the base destination type):
  /** An MQTT broker registered as a connection; properties `resourceId` (the connection) and `topic`. */
  'Mqtt',
  /** An mlgrid automation (`…/workspaces/{ws}/automations/{name}`), the Logic Apps analogue. */
  'Automation',
] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];

/** Destinations that may batch (Azure allows batching only for these). */
export const BATCHING_ENDPOINT_TYPES: readonly EndpointType[] = ['WebHook', 'AzureFunction'];

/** A secret Static value is write-only: responses carry `isSecret: true` without `value`. */
export type DeliveryAttributeMapping =
  | { name: string; type: 'Static'; properties: { value?: string; isSecret?: boolean } }
  | { name: string; type: 'Dynamic'; properties: { sourceField: string } };

export interface DestinationProperties {
  /** WebHook only; write-only (GET returns endpointBaseUrl). */
  endpointUrl?: string;
  endpointBaseUrl?: string;
  resourceId?: string;
  queueName?: string;
  queueMessageTimeToLiveInSeconds?: number;
  /** Mqtt (mlgrid): the topic to publish to (no wildcards). */
  topic?: string;
  /** Mqtt (mlgrid): 0 or 1 (default 1: the broker's PUBACK decides success). */
  qos?: 0 | 1;
  /** Mqtt (mlgrid): publish with the retain flag (default false). */
  retain?: boolean;
  maxEventsPerBatch?: number;
  preferredBatchSizeInKilobytes?: number;
  azureActiveDirectoryTenantId?: string;
  azureActiveDirectoryApplicationIdOrUri?: string;
  deliveryAttributeMappings?: DeliveryAttributeMapping[];
}

export interface EventSubscriptionDestination {
  endpointType: EndpointType;
  properties: DestinationProperties;
}

export type DeadLetterDestination =
  | { endpointType: 'StorageBlob'; properties: { resourceId?: string; blobContainerName?: string } }
  /** mlgrid extension: Azure's blob layout written into a local directory (`file://` URL). */
  | { endpointType: 'LocalDirectory'; properties: { path: string } };

export interface RetryPolicy {
  maxDeliveryAttempts: number;
  eventTimeToLiveInMinutes: number;
}

export const RETRY_LIMITS = {
  maxDeliveryAttempts: { min: 1, max: 30, default: 30 },
  eventTimeToLiveInMinutes: { min: 1, max: 1440, default: 1440 },
  maxEventsPerBatch: { min: 1, max: 5000 },
  preferredBatchSizeInKilobytes: { min: 1, max: 1024 },
  deliveryAttributeMappings: { max: 10, maxValueBytes: 4096 },
} as const;

/** What a client PUTs (`properties` of an EventSubscription). */
export interface EventSubscriptionPropertiesIn {
  destination?: EventSubscriptionDestination;
  filter?: EventSubscriptionFilter;
  labels?: string[];
  expirationTimeUtc?: string;
  eventDeliverySchema?: DeliverySchema;
  retryPolicy?: Partial<RetryPolicy>;
  deadLetterDestination?: DeadLetterDestination;
  /** mlgrid extension: Standard Webhooks signing of every delivery. */
  signing?: { enabled: boolean };
}

/** The PATCH body (`EventSubscriptionUpdateParameters`): flat, every field optional. */
export type EventSubscriptionPatch = EventSubscriptionPropertiesIn;

export interface EventSubscriptionOut {
  id: string;
  name: string;
  type: 'Microsoft.EventGrid/eventSubscriptions';
  systemData?: SystemData;
  properties: {
    topic: string;
    provisioningState: ProvisioningState;
    destination?: EventSubscriptionDestination;
    filter: EventSubscriptionFilter;
    labels: string[];
    expirationTimeUtc?: string;
    eventDeliverySchema: DeliverySchema;
    retryPolicy: RetryPolicy;
    deadLetterDestination?: DeadLetterDestination;
    /** mlgrid extension; the secrets only through getSigningSecrets. */
    signing?: { enabled: true };
  };
}
