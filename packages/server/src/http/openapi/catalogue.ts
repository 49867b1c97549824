/**
 * The route catalogue: every operation mlgrid serves, with the schemas that validate its body. The OpenAPI
 * document is rendered from it and the ARM catch-all finds a body's validator in it (`findArmOperation`).
 */
import { ACCESS_OPERATIONS, ACCESS_SCHEMAS } from './catalogue-access.js';
import { ARTIFACT_OPERATIONS, ARTIFACT_SCHEMAS } from './catalogue-artifacts.js';
import { AUTOMATION_OPERATIONS, AUTOMATION_SCHEMAS } from './catalogue-automations.js';
import { CONNECTION_OPERATIONS, CONNECTION_SCHEMAS } from './catalogue-connections.js';
import { EVENTGRID_OPERATIONS } from './catalogue-eventgrid.js';
import { FUNCTION_OPERATIONS, FUNCTION_SCHEMAS } from './catalogue-functions.js';
import { LINEAGE_OPERATIONS } from './catalogue-lineage.js';
import { ML_OPERATIONS } from './catalogue-ml.js';
import { armKey, json, type Operation } from './operation.js';
import { EVENTGRID_SCHEMAS } from './schemas-eventgrid.js';
import { ML_SCHEMAS } from './schemas-ml.js';
import type { Schema } from './kit.js';

const inboxName = 'An inbox name: 1-64 letters, digits or hyphens.';

const OTHER_OPERATIONS: Operation[] = [
  {
    operationId: 'Health_Get',
    method: 'get',
    path: '/health',
    summary: 'Liveness',
    tag: 'Server',
    security: 'none',
    responses: { '200': json({ type: 'object', properties: { status: { const: 'ok' } } }, 'Up.') },
  },
  {
    operationId: 'Metrics_Get',
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (no auth: names and counts, no secrets)',
    description: 'Served when metrics are enabled.',
    tag: 'Server',
    security: 'none',
    responses: {
      '200': {
        description: 'Prometheus text exposition.',
        contentType: 'text/plain',
        schema: { type: 'string' },
      },
    },
  },
  {
    operationId: 'OpenApi_Get',
    method: 'get',
    path: '/openapi.json',
    summary: 'This document (no auth)',
    description:
      'Generated from the route catalogue; the request-body schemas are the ones that validate requests.',
    tag: 'Server',
    security: 'none',
    responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1.') },
  },
  {
    operationId: 'EventSubscriptionValidation_Get',
    method: 'get',
    path: '/eventSubscriptionValidation',
    summary: 'The validationUrl of the manual webhook handshake',
    description: 'Whoever holds the link may confirm the endpoint, as in Azure.',
    tag: 'Event Grid',
    security: 'none',
    query: [
      { name: 'id', description: 'From the link.', schema: { type: 'string' }, required: true },
      { name: 'code', description: 'From the link.', schema: { type: 'string' }, required: true },
    ],
    responses: {
      '200': { description: 'Validated.', contentType: 'text/plain', schema: { type: 'string' } },
    },
  },
  {
    operationId: 'Inbox_Receive',
    method: 'post',
    path: '/inbox/{inboxName}',
    summary: 'Built-in webhook receiver: answers handshakes, keeps the last 200 deliveries',
    description: inboxName,
    tag: 'Inbox',
    security: 'none',
    responses: { '200': json({ type: 'object' }, '{} or {validationResponse}.') },
  },
  {
    operationId: 'Inbox_Options',
    method: 'options',
    path: '/inbox/{inboxName}',
    summary: 'The CloudEvents webhook handshake (WebHook-Allowed-Origin)',
    tag: 'Inbox',
    security: 'none',
    responses: {
      '200': { description: 'Allowed.', headers: { 'webhook-allowed-origin': 'The requesting origin.' } },
    },
  },
  {
    operationId: 'Inbox_List',
    method: 'get',
    path: '/inbox/{inboxName}',
    summary: 'What an inbox received',
    tag: 'Inbox',
    security: 'admin',
    responses: {
      '200': json(
        { type: 'object', properties: { value: { type: 'array', items: { type: 'object' } } } },
        'Newest last.',
      ),
    },
  },
];

export const OPERATIONS: readonly Operation[] = [
  ...EVENTGRID_OPERATIONS,
  ...ML_OPERATIONS,
  ...AUTOMATION_OPERATIONS,
  ...LINEAGE_OPERATIONS,
  ...ACCESS_OPERATIONS,
  ...ARTIFACT_OPERATIONS,
  ...FUNCTION_OPERATIONS,
  ...CONNECTION_OPERATIONS,
  ...OTHER_OPERATIONS,
];

export const ERROR_SCHEMA: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable code (core/errors.ts), e.g. InvalidRequestContent.' },
        message: { type: 'string' },
        target: {
          type: 'string',
          description: 'The field at fault as a JSON path: properties.filter.advancedFilters[2].values.',
        },
        details: {
          type: 'array',
          items: {
            type: 'object',
            properties: { code: { type: 'string' }, message: { type: 'string' }, target: { type: 'string' } },
          },
        },
      },
    },
  },
};

export const SCHEMAS: Readonly<Record<string, Schema>> = {
  ...EVENTGRID_SCHEMAS,
  ...ML_SCHEMAS,
  ...AUTOMATION_SCHEMAS,
  ...ACCESS_SCHEMAS,
  ...ARTIFACT_SCHEMAS,
  ...FUNCTION_SCHEMAS,
  ...CONNECTION_SCHEMAS,
  ErrorResponse: ERROR_SCHEMA,
};

const byArmKey = new Map<string, Operation>();
for (const op of OPERATIONS) {
  if (op.arm) {
    const key = armKey(op.arm.kind, op.arm.action, op.method);
    // Two path forms of one target (topic lists, topic-form subscriptions) share a key and a body schema.
    if (!byArmKey.has(key)) byArmKey.set(key, op);
  }
}

export function findArmOperation(
  kind: string,
  action: string | undefined,
  method: string,
): Operation | undefined {
  return byArmKey.get(armKey(kind, action, method));
}
