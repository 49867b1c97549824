/**
 * Local functions (docs/functions.md): Azure's WebApps function operations on
 * `Microsoft.Web/sites/{name}/functions/{functionName}`, with mlgrid's handler in `properties.config.mlgrid`.
 */
import { FUNCTION_LIMITS } from '../../core/function-app.js';
import { arr, bool, int, map, nullable, obj, optStr, str, type Schema } from './kit.js';
import { API_VERSION, DELETED, json, listOf, NO_CONTENT, type Operation } from './operation.js';

const SITE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Web/sites/{name}';
const FN = `${SITE}/functions/{functionName}`;
const base = { tag: 'Functions', security: 'admin' as const, query: [API_VERSION('2022-03-01')] };
const n = nullable;
const L = FUNCTION_LIMITS;

const MlgridFunctionConfig = obj(
  {
    command: n(
      arr(str({ max: L.argLength }), {
        min: 1,
        max: L.commandArgs,
        description:
          'The program and its arguments, run without a shell; the events arrive as JSON on stdin.',
      }),
    ),
    module: n(
      str({
        pattern: /\.(?:[mM]|[cC])?[jJtT][sS]$/,
        message: 'must be a .js, .mjs, .cjs, .ts, .mts or .cts file',
        description: 'A JavaScript/TypeScript module exporting handler(events, context); relative to cwd.',
      }),
    ),
    cwd: optStr(
      'Working directory, relative to the functions directory (default: the app name) or inside it.',
    ),
    env: n(
      map(n(str()), {
        max: L.envEntries,
        description: 'Extra environment variables; names starting with MLGRID_ or AEG_ are reserved.',
      }),
    ),
    timeoutSeconds: n(
      int(L.timeoutSeconds.min, L.timeoutSeconds.max, 'Default 30; the process group is killed.'),
    ),
    maxConcurrency: n(int(L.maxConcurrency.min, L.maxConcurrency.max, 'Processes at once (default 4).')),
  },
  { description: 'What mlgrid runs: exactly one of command and module.' },
);

const FunctionEnvelopePut = obj(
  {
    properties: obj(
      {
        config: obj(
          { mlgrid: MlgridFunctionConfig },
          { required: ['mlgrid'], description: "Azure's free-form function config; mlgrid reads `mlgrid`." },
        ),
        isDisabled: n(bool('A disabled function is not invoked; its deliveries are retried.')),
      },
      { required: ['config'] },
    ),
  },
  { required: ['properties'], description: "Azure's FunctionEnvelope." },
);

const FunctionEnvelope: Schema = obj({
  id: str(),
  name: str({ description: '`{app}/{function}`, as Azure names nested resources.' }),
  type: { const: 'Microsoft.Web/sites/functions' },
  properties: obj({
    function_app_id: str(),
    config: obj({ mlgrid: MlgridFunctionConfig }),
    language: str({ description: 'node (module), python (a python command) or custom.' }),
    isDisabled: bool(),
  }),
});

export const FUNCTION_SCHEMAS: Record<string, Schema> = {
  FunctionEnvelopeCreateParameters: FunctionEnvelopePut,
  FunctionEnvelope,
};

export const FUNCTION_OPERATIONS: Operation[] = [
  {
    ...base,
    operationId: 'WebApps_CreateFunction',
    method: 'put',
    path: FN,
    arm: { kind: 'function' },
    summary: 'Create or replace a local function',
    description: 'Owner or Contributor: a function runs a command on the server (docs/functions.md).',
    body: { schema: 'FunctionEnvelopeCreateParameters', required: true },
    responses: { '200': json('FunctionEnvelope', 'Replaced.'), '201': json('FunctionEnvelope', 'Created.') },
  },
  {
    ...base,
    operationId: 'WebApps_GetFunction',
    method: 'get',
    path: FN,
    arm: { kind: 'function' },
    summary: 'Get a local function',
    responses: { '200': json('FunctionEnvelope', 'The function.') },
  },
  {
    ...base,
    operationId: 'WebApps_DeleteFunction',
    method: 'delete',
    path: FN,
    arm: { kind: 'function' },
    summary: 'Delete a local function (its deliveries fail and are retried)',
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...base,
    operationId: 'WebApps_ListFunctions',
    method: 'get',
    path: `${SITE}/functions`,
    arm: { kind: 'functions' },
    summary: "List a function app's local functions",
    responses: { '200': listOf('FunctionEnvelope') },
  },
];
