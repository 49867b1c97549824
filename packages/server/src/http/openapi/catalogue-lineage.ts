/** mlgrid's lineage API (http/lineage-routes.ts, docs/lineage.md): correlation/causation chains of a workspace. */
import type { Schema } from './kit.js';
import { API_VERSION, json, type Operation } from './operation.js';

const WS =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}';
const base = {
  tag: 'Azure ML',
  security: 'admin' as const,
  description: 'mlgrid extension. Reader and up over the workspace.',
};

const node = (extra: Record<string, Schema>): Schema => ({
  type: 'object',
  required: ['order', 'id', 'time'],
  properties: {
    order: { type: 'integer', description: 'Position in the causal order, shared by events and objects.' },
    id: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    causationId: { type: 'string', description: 'What caused it: an event id, or the ARM id of a job.' },
    ...extra,
  },
});

const CHAIN: Schema = {
  type: 'object',
  required: ['correlationId', 'events', 'objects'],
  properties: {
    correlationId: { type: 'string', description: 'The id of the chain’s first event.' },
    events: {
      type: 'array',
      items: node({ type: { type: 'string' }, subject: { type: 'string' }, source: { type: 'string' } }),
    },
    objects: {
      type: 'array',
      items: node({
        kind: { enum: ['job', 'modelVersion', 'deployment', 'automationRun'] },
        name: { type: 'string' },
        status: { type: 'string' },
        version: { type: 'string' },
        endpoint: { type: 'string' },
      }),
    },
    truncated: { type: 'boolean' },
  },
};

export const LINEAGE_OPERATIONS: Operation[] = [
  {
    ...base,
    operationId: 'Lineage_Get',
    method: 'get',
    path: `${WS}/lineage/{correlationId}`,
    summary: 'A chain by correlation id: its events and objects in causal order',
    arm: { kind: 'lineage' },
    query: [API_VERSION('2022-10-01')],
    responses: { '200': json(CHAIN, 'The chain.') },
  },
  {
    ...base,
    operationId: 'Lineage_Find',
    method: 'get',
    path: `${WS}/lineage`,
    summary: 'The chain of a job, model version or online deployment (or by correlation id as a parameter)',
    arm: { kind: 'lineage' },
    query: [
      API_VERSION('2022-10-01'),
      {
        name: 'resourceId',
        description: 'A job, model version or online deployment id of this workspace.',
        schema: { type: 'string' },
      },
      {
        name: 'correlationId',
        description: 'For correlation ids that cannot be a path segment.',
        schema: { type: 'string' },
      },
    ],
    responses: { '200': json(CHAIN, 'The chain.') },
  },
];
