/** Renders the route catalogue as an OpenAPI 3.1 document (JSON Schema 2020-12 dialect). */
import { OPERATIONS, SCHEMAS } from './catalogue.js';
import { ref, type Schema } from './kit.js';
import type { Operation, Reply, Security } from './operation.js';

const PATH_PARAMS: Record<string, string> = {
  subscriptionId: 'Any id: mlgrid does not check Azure subscriptions.',
  resourceGroupName: 'Resource group name.',
  topicName: 'Topic name: 3-50 letters, digits and hyphens.',
  eventSubscriptionName: 'Event subscription name: 3-64 letters, digits and hyphens.',
  scope:
    'A resource id without its leading slash (slashes not encoded): a topic, a resource group, an Azure subscription or an ML workspace, e.g. subscriptions/{s}/resourceGroups/{rg}.',
  workspaceName: 'Workspace name: 3-33 letters, digits, hyphens or underscores, starting alphanumeric.',
  name: 'Asset name: 1-255 letters, digits, hyphens or underscores, starting alphanumeric.',
  version: 'Asset version.',
  id: 'Job name: 1-255 letters, digits, hyphens or underscores, starting alphanumeric.',
  endpointName: 'Endpoint name: 3-32 letters, digits and hyphens, starting with a letter.',
  deploymentName: 'Deployment name: 3-32 letters, digits and hyphens, starting with a letter.',
  inboxName: 'Inbox name: 1-64 letters, digits or hyphens.',
  roleAssignmentName: 'A GUID.',
  roleDefinitionId: 'A built-in role GUID.',
  principalName: 'Principal name: 1-64 letters, digits, dots, hyphens or underscores.',
  keyId: 'A key id from the keys list.',
  uploadId: 'An upload id of your choosing.',
  sha256: "The artifact's sha256 (hex).",
  filePath: 'A relative file path; slashes are not encoded.',
};

const SECURITY: Record<Security, Record<string, string[]>[]> = {
  admin: [{ adminKey: [] }],
  publish: [{ topicKey: [] }, { topicKeyQuery: [] }, { sasToken: [] }, { adminKey: [] }],
  endpointKey: [{ endpointKey: [] }],
  adminOrJobToken: [{ adminKey: [] }, { jobToken: [] }],
  none: [],
};

const SECURITY_SCHEMES = {
  adminKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin key printed at first start (the Azure SDKs send it as their token).',
  },
  topicKey: { type: 'apiKey', in: 'header', name: 'aeg-sas-key', description: "One of the topic's keys." },
  topicKeyQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'aeg-sas-key',
    description: "One of the topic's keys.",
  },
  sasToken: {
    type: 'apiKey',
    in: 'header',
    name: 'aeg-sas-token',
    description:
      'A SAS token (r=…&e=…&s=…) signed with a topic key; also accepted as Authorization: SharedAccessSignature <token>.',
  },
  endpointKey: { type: 'http', scheme: 'bearer', description: "One of the online endpoint's keys." },
  jobToken: {
    type: 'http',
    scheme: 'bearer',
    description: "A local job's own token (MLGRID_JOB_TOKEN), good for that job only.",
  },
};

function parameters(op: Operation): Schema[] {
  const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const path = names.map((name) => ({
    name,
    in: 'path',
    required: true,
    description: PATH_PARAMS[name] ?? name,
    schema: { type: 'string' },
    ...(name === 'scope' || name === 'filePath' ? { 'x-ms-skip-url-encoding': true } : {}),
  }));
  const query = (op.query ?? []).map((q) => ({
    name: q.name,
    in: 'query',
    required: q.required ?? false,
    description: q.description,
    schema: q.schema,
  }));
  return [...path, ...query];
}

function content(schema: string | Schema | undefined, type = 'application/json'): Schema | undefined {
  if (schema === undefined) return undefined;
  return { [type]: { schema: typeof schema === 'string' ? ref(schema) : schema } };
}

function response(r: Reply): Schema {
  const c = content(r.schema, r.contentType);
  return {
    description: r.description,
    ...(c ? { content: c } : {}),
    ...(r.headers
      ? {
          headers: Object.fromEntries(
            Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]),
          ),
        }
      : {}),
  };
}

function operation(op: Operation): Schema {
  const responses: Schema = Object.fromEntries(
    Object.entries(op.responses).map(([k, r]) => [k, response(r)]),
  );
  if (op.body) responses['400'] = { $ref: '#/components/responses/BadRequest' };
  responses.default = { $ref: '#/components/responses/Error' };
  const body = op.body && {
    required: op.body.required,
    content: op.body.contentTypes
      ? Object.fromEntries(
          Object.entries(op.body.contentTypes).map(([t, s]) => [
            t,
            { schema: typeof s === 'string' ? ref(s) : s },
          ]),
        )
      : content(op.body.schema),
  };
  const note =
    op.validated === false ? "The body is checked by the route's own parser; the schema documents it." : '';
  const description = [op.description, note].filter(Boolean).join(' ');
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(description ? { description } : {}),
    tags: [op.tag],
    parameters: parameters(op),
    ...(body ? { requestBody: body } : {}),
    responses,
    security: SECURITY[op.security],
  };
}

function paths(): Schema {
  const out: Record<string, Schema> = {};
  for (const op of OPERATIONS) (out[op.path] ??= {})[op.method] = operation(op);
  return out;
}

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('ErrorResponse') } },
});

/** Everything but `servers`, built once. */
const BODY = {
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'mlgrid',
    version: '0.1.0',
    description:
      "Azure Event Grid and Azure ML wire-compatible event grid. Request bodies are validated against the schemas in this document before the server's own checks; a rejected body answers 400 with error.target naming the field. Schemas are lenient where Azure is: unknown fields are ignored, null means absent, enums are case-insensitive (patterns; the values are listed as examples).",
    license: { name: 'MIT', identifier: 'MIT' },
  },
  tags: [
    { name: 'Event Grid', description: 'Topics, event subscriptions, publish (Microsoft.EventGrid).' },
    {
      name: 'Azure ML',
      description: 'Workspaces, models, jobs, data, online endpoints (Microsoft.MachineLearningServices).',
    },
    {
      name: 'Access control',
      description: 'Role assignments (Microsoft.Authorization) and mlgrid principals.',
    },
    { name: 'Artifacts', description: 'mlgrid artifact store below a workspace.' },
    { name: 'Functions', description: 'Local functions: Azure Functions ids, run as local processes.' },
    { name: 'Inbox', description: 'The built-in webhook receiver.' },
    { name: 'Server', description: 'Health, metrics, this document.' },
  ],
  paths: paths(),
  components: {
    schemas: SCHEMAS,
    responses: {
      BadRequest: error('The body (or a parameter) is invalid; error.target names the field.'),
      Error: error("Azure's error envelope."),
    },
    securitySchemes: SECURITY_SCHEMES,
  },
};

/** The document, `servers` set to the base URL the client reached. */
export function openApiDocument(baseUrl: string): Schema {
  const { openapi, jsonSchemaDialect, info, ...rest } = BODY;
  return { openapi, jsonSchemaDialect, info, servers: [{ url: baseUrl }], ...rest };
}
