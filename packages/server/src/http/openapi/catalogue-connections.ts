/**
 * Broker connections (http/connection-routes.ts): the brokers queue destinations are delivered to, registered
 * for the Azure namespace/account resource ids the destinations name. Admin key only; passwords are write-only.
 */
import { CONNECTION_KINDS } from '../../core/connection.js';
import { ciEnum, nonBlank, nullable, obj, str, type Schema } from './kit.js';
import { DELETED, json, NO_CONTENT, type Operation } from './operation.js';

const CONNECTIONS = '/providers/Microsoft.MLGrid/connections';
const CONNECTION = `${CONNECTIONS}/{connectionName}`;
const base = { tag: 'Broker connections', security: 'admin' as const };

export const CONNECTION_SCHEMAS: Record<string, Schema> = {
  ConnectionCreateParameters: obj(
    {
      properties: obj(
        {
          resourceId: str({
            min: 1,
            max: 1024,
            pattern: '^/',
            message: 'must be an Azure resource id starting with /subscriptions/',
            description:
              'The Azure namespace/account id destinations name, e.g. /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ServiceBus/namespaces/{ns}; one connection per id.',
          }),
          kind: ciEnum(CONNECTION_KINDS, 'amqp (RabbitMQ), nats (JetStream), redis or mqtt.'),
          url: nonBlank(
            'amqp(s)://, nats:// or tls://, redis(s)://, mqtt(s)://host:port; user info allowed (rendered masked).',
          ),
          username: nullable(str({ max: 256 })),
          password: nullable(str({ max: 1024, description: 'Write-only; "***" keeps the stored one.' })),
          description: nullable(str({ max: 1024 })),
        },
        { required: ['resourceId', 'kind', 'url'] },
      ),
    },
    { required: ['properties'] },
  ),
};

export const CONNECTION_OPERATIONS: Operation[] = [
  {
    ...base,
    operationId: 'Connections_List',
    method: 'get',
    path: CONNECTIONS,
    summary: 'Broker connections (passwords masked)',
    access: { kind: 'connections' },
    responses: {
      '200': json({ type: 'object', properties: { value: { type: 'array' } } }, 'The connections.'),
    },
  },
  {
    ...base,
    operationId: 'Connections_CreateOrUpdate',
    method: 'put',
    path: CONNECTION,
    summary: 'Register a broker for an Azure namespace/account resource id',
    access: { kind: 'connection' },
    body: { schema: 'ConnectionCreateParameters', required: true },
    responses: { '200': json({ type: 'object' }, 'Replaced.'), '201': json({ type: 'object' }, 'Created.') },
  },
  {
    ...base,
    operationId: 'Connections_Get',
    method: 'get',
    path: CONNECTION,
    summary: 'Get a broker connection (password masked)',
    access: { kind: 'connection' },
    responses: { '200': json({ type: 'object' }, 'The connection.') },
  },
  {
    ...base,
    operationId: 'Connections_Delete',
    method: 'delete',
    path: CONNECTION,
    summary: 'Delete a broker connection',
    access: { kind: 'connection' },
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
];
