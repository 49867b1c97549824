/** Azure Resource Manager shapes mlgrid mirrors (api-version 2022-06-15 of Microsoft.EventGrid). */

export interface ArmErrorBody {
  error: { code: string; message: string; target?: string; details: ArmErrorDetail[] };
}
export interface ArmErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export interface SystemData {
  createdBy?: string;
  createdByType?: string;
  createdAt?: string;
  lastModifiedBy?: string;
  lastModifiedByType?: string;
  lastModifiedAt?: string;
}

export interface ArmList<T> {
  value: T[];
  nextLink?: string;
}

export const PROVISIONING_STATES = [
  'Creating',
  'Updating',
  'Deleting',
  'Succeeded',
  'Canceled',
  'Failed',
  'AwaitingManualAction',
] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];

export interface InputSchemaMappingField {
  sourceField?: string;
}
export interface InputSchemaMappingFieldWithDefault {
  sourceField?: string;
  defaultValue?: string;
}
/** `inputSchemaMapping` of a CustomInputSchema topic: where the Event Grid envelope fields come from. */
export interface JsonInputSchemaMapping {
  inputSchemaMappingType: 'Json';
  properties: {
    id?: InputSchemaMappingField;
    topic?: InputSchemaMappingField;
    eventTime?: InputSchemaMappingField;
    eventType?: InputSchemaMappingFieldWithDefault;
    subject?: InputSchemaMappingFieldWithDefault;
    dataVersion?: InputSchemaMappingFieldWithDefault;
  };
}

export interface TopicOut {
  id: string;
  name: string;
  type: 'Microsoft.EventGrid/topics';
  location: string;
  tags?: Record<string, string>;
  systemData?: SystemData;
  properties: {
    provisioningState: ProvisioningState;
    endpoint: string;
    inputSchema: string;
    inputSchemaMapping?: JsonInputSchemaMapping;
    publicNetworkAccess: 'Enabled' | 'Disabled';
    disableLocalAuth: boolean;
    metricResourceId: string;
  };
}

export interface TopicKeys {
  key1: string;
  key2: string;
}
