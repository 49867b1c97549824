/** Event envelopes as they travel on the wire (Event Grid schema and CloudEvents 1.0 JSON format). */

export const INPUT_SCHEMAS = ['EventGridSchema', 'CloudEventSchemaV1_0', 'CustomInputSchema'] as const;
export type InputSchema = (typeof INPUT_SCHEMAS)[number];

export const DELIVERY_SCHEMAS = INPUT_SCHEMAS;
export type DeliverySchema = InputSchema;

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: unknown;
  dataVersion: string;
  metadataVersion: '1';
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  data_base64?: string;
  [extension: string]: unknown;
}

/** CloudEvents attribute names an extension may not take. */
export const CLOUD_EVENT_RESERVED = [
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'data',
  'data_base64',
] as const;
