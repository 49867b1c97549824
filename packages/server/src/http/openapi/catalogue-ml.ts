/** Azure ML operations (api-version 2022-10-01): workspaces, models, jobs, data assets, online endpoints. */
import type { ArmOp, Operation, Reply } from './operation.js';
import { API_VERSION, DELETED, json, listOf, NO_CONTENT } from './operation.js';

const V = [API_VERSION('2022-10-01')];
const RG = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}';
const WS = `${RG}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}`;
const tag = 'Azure ML';
const admin = { tag, security: 'admin' as const, query: V };

interface Family {
  /** Azure's operation group, e.g. `ModelVersions`. */
  group: string;
  /** What it is, for summaries. */
  noun: string;
  item: string;
  list: string;
  itemOp: ArmOp;
  listOp: ArmOp;
  response: string;
  put: string;
  patch?: string;
  delete?: Reply;
  putDescription?: string;
}

/** Create/get/[update]/delete on the item path and a list on the collection path, as Azure names them. */
function family(f: Family): Operation[] {
  const base = { ...admin, path: f.item, arm: f.itemOp };
  const ops: Operation[] = [
    {
      ...base,
      operationId: `${f.group}_CreateOrUpdate`,
      method: 'put',
      summary: `Create or replace a ${f.noun}`,
      ...(f.putDescription ? { description: f.putDescription } : {}),
      body: { schema: f.put, required: true },
      responses: { '200': json(f.response, 'Replaced.'), '201': json(f.response, 'Created.') },
    },
    {
      ...base,
      operationId: `${f.group}_Get`,
      method: 'get',
      summary: `Get a ${f.noun}`,
      responses: { '200': json(f.response, `The ${f.noun}.`) },
    },
    {
      ...base,
      operationId: `${f.group}_Delete`,
      method: 'delete',
      summary: `Delete a ${f.noun}`,
      responses: { '200': f.delete ?? DELETED, '204': NO_CONTENT },
    },
    {
      ...admin,
      operationId: `${f.group}_List`,
      method: 'get',
      path: f.list,
      summary: `List ${f.noun}s`,
      arm: f.listOp,
      responses: { '200': listOf(f.response) },
    },
  ];
  if (f.patch) {
    ops.push({
      ...base,
      operationId: `${f.group}_Update`,
      method: 'patch',
      summary: `Update a ${f.noun}`,
      body: { schema: f.patch, required: true },
      responses: { '200': json(f.response, `The updated ${f.noun}.`) },
    });
  }
  return ops;
}

const workspaces = family({
  group: 'Workspaces',
  noun: 'workspace',
  item: WS,
  list: `${RG}/providers/Microsoft.MachineLearningServices/workspaces`,
  itemOp: { kind: 'workspace' },
  listOp: { kind: 'workspaces' },
  response: 'Workspace',
  put: 'WorkspaceCreateOrUpdateParameters',
  patch: 'WorkspaceUpdateParameters',
  delete: { description: 'Deleted with its assets, jobs (canceled) and event subscriptions.' },
}).map((op) =>
  op.operationId === 'Workspaces_List' ? { ...op, operationId: 'Workspaces_ListByResourceGroup' } : op,
);

const MODEL = `${WS}/models/{name}`;
const DATA = `${WS}/data/{name}`;
const JOB = `${WS}/jobs/{id}`;
const ENDPOINT = `${WS}/onlineEndpoints/{endpointName}`;
const DEPLOYMENT = `${ENDPOINT}/deployments/{deploymentName}`;

const jobActions: Operation[] = [
  {
    ...admin,
    operationId: 'Jobs_Cancel',
    method: 'post',
    path: `${JOB}/cancel`,
    summary: 'Cancel a job',
    description:
      'A long-running operation: 202 with Location (…/operationResults/cancel) until the job is final.',
    arm: { kind: 'job', action: 'cancel' },
    responses: {
      '200': { description: 'The job is final.' },
      '202': {
        description: 'Cancel in progress; poll Location.',
        headers: { location: 'Where to poll.', 'retry-after': 'Seconds.' },
      },
    },
  },
  {
    ...admin,
    operationId: 'Jobs_CancelOperationResult',
    method: 'get',
    path: `${JOB}/operationResults/cancel`,
    summary: "Where a cancel's poller looks (mlgrid)",
    arm: { kind: 'job', action: 'cancelResult' },
    responses: { '200': { description: 'Canceled.' }, '202': { description: 'Still canceling.' } },
  },
  {
    ...admin,
    operationId: 'Jobs_GetLogs',
    method: 'get',
    path: `${JOB}/logs`,
    summary: "The job's output (mlgrid)",
    arm: { kind: 'job', action: 'logs' },
    query: [
      ...V,
      {
        name: 'tail',
        description: 'Last N lines (0-1000000).',
        schema: { type: 'integer', minimum: 0, maximum: 1_000_000 },
      },
      {
        name: 'offset',
        description: 'From this byte on (not with tail).',
        schema: { type: 'integer', minimum: 0 },
      },
    ],
    responses: {
      '200': { description: 'The log text.', contentType: 'text/plain', schema: { type: 'string' } },
    },
  },
];

const reports = {
  ...admin,
  security: 'adminOrJobToken' as const,
  description: "mlgrid extension. Also accepts the job's own token (MLGRID_JOB_TOKEN).",
  // Served by http/job-report-routes.ts ahead of the ARM catch-all; it validates with these schemas too.
};
const jobReports: Operation[] = [
  {
    ...reports,
    operationId: 'Jobs_ReportStatus',
    method: 'post',
    path: `${JOB}/reportStatus`,
    summary: "Report an external job's status",
    arm: { kind: 'job', action: 'reportStatus' },
    body: { schema: 'JobStatusReport', required: true },
    responses: { '200': json('Job', 'The job.') },
  },
  {
    ...reports,
    operationId: 'Jobs_LogMetrics',
    method: 'post',
    path: `${JOB}/metrics`,
    summary: 'Log metrics of a job',
    arm: { kind: 'job', action: 'metrics' },
    body: { schema: 'JobMetricsRequest', required: true },
    responses: { '200': json({ type: 'object' }, 'Logged.') },
  },
  {
    ...reports,
    operationId: 'Jobs_GetMetrics',
    method: 'get',
    path: `${JOB}/metrics`,
    summary: "A job's metric series",
    arm: { kind: 'job', action: 'metrics' },
    query: [
      ...V,
      { name: 'name', description: 'One metric only.', schema: { type: 'string', minLength: 1 } },
    ],
    responses: { '200': json({ type: 'object' }, 'The series.') },
  },
];

const endpointActions: Operation[] = [
  {
    ...admin,
    operationId: 'OnlineEndpoints_ListKeys',
    method: 'post',
    path: `${ENDPOINT}/listKeys`,
    summary: "The endpoint's scoring keys",
    arm: { kind: 'onlineEndpoint', action: 'listKeys' },
    responses: { '200': json('EndpointAuthKeys', 'primaryKey and secondaryKey.') },
  },
  {
    ...admin,
    operationId: 'OnlineEndpoints_RegenerateKeys',
    method: 'post',
    path: `${ENDPOINT}/regenerateKeys`,
    summary: 'Replace one scoring key',
    arm: { kind: 'onlineEndpoint', action: 'regenerateKeys' },
    body: { schema: 'RegenerateEndpointKeysRequest', required: true },
    responses: { '200': { description: 'Regenerated.' }, '202': { description: 'Accepted.' } },
  },
  {
    ...admin,
    operationId: 'OnlineDeployments_GetLogs',
    method: 'post',
    path: `${DEPLOYMENT}/getLogs`,
    summary: "The deployment's scoring process output",
    arm: { kind: 'onlineDeployment', action: 'logs' },
    body: { schema: 'DeploymentLogsRequest', required: false },
    responses: {
      '200': json({ type: 'object', properties: { content: { type: 'string' } } }, 'The log text.'),
    },
  },
];

const scoring: Operation = {
  operationId: 'OnlineEndpoints_Score',
  method: 'post',
  path: '/endpoints/{endpointName}/score',
  summary: "Score: the request goes to a deployment by the endpoint's traffic split",
  description:
    "The scoring URI of an online endpoint (properties.scoringUri). Auth: Bearer with one of the endpoint's keys (authMode Key). Any JSON in and out, as the scoring script decides.",
  tag,
  security: 'endpointKey',
  validated: false,
  body: { schema: 'ScoringRequest', required: false },
  responses: { '200': json({}, "The scoring script's answer.") },
};

const DRIFT = `${WS}/dataDriftDetectors/{name}`;
const driftActions: Operation[] = [
  {
    ...admin,
    operationId: 'DataDriftDetectors_Run',
    method: 'post',
    path: `${DRIFT}/run`,
    summary: 'Run the monitor on one period, synchronously (mlgrid)',
    description:
      'Body {targetDate} (the period containing it) or {startTime, endTime}. Stores the result (replacing an older one of the period) and raises DatasetDriftDetected when driftCoefficient > threshold.',
    arm: { kind: 'dataDriftDetector', action: 'run' },
    body: { schema: 'DataDriftRunRequest', required: true },
    responses: { '200': json('DataDriftResult', 'The stored result (status Succeeded or Failed).') },
  },
  {
    ...admin,
    operationId: 'DataDriftDetectors_Backfill',
    method: 'post',
    path: `${DRIFT}/backfill`,
    summary: 'Run every period from startDate to endDate (inclusive, at most 31), in order (mlgrid)',
    arm: { kind: 'dataDriftDetector', action: 'backfill' },
    body: { schema: 'DataDriftBackfillRequest', required: true },
    responses: {
      '202': {
        ...json('DataDriftBackfill', 'Accepted; poll the Location header.'),
        headers: { location: 'The backfill operation to poll.' },
      },
    },
  },
  {
    ...admin,
    operationId: 'DataDriftDetectors_GetBackfill',
    method: 'get',
    path: `${DRIFT}/backfills/{operationId}`,
    summary: 'A backfill: status, periods completed, their coefficients (mlgrid)',
    arm: { kind: 'dataDriftDetector', action: 'backfillStatus' },
    responses: { '200': json('DataDriftBackfill', 'The operation.') },
  },
  {
    ...admin,
    operationId: 'DataDriftDetectors_ListResults',
    method: 'get',
    path: `${DRIFT}/results`,
    summary: 'Results over periods, oldest first (mlgrid)',
    query: [
      ...V,
      {
        name: 'startTime',
        description: 'Keep results overlapping [startTime, endTime).',
        schema: { type: 'string' },
      },
      { name: 'endTime', description: 'See startTime.', schema: { type: 'string' } },
    ],
    arm: { kind: 'dataDriftDetector', action: 'results' },
    responses: { '200': listOf('DataDriftResult') },
  },
];

export const ML_OPERATIONS: Operation[] = [
  ...workspaces,
  {
    ...admin,
    operationId: 'Workspaces_ListBySubscription',
    method: 'get',
    path: '/subscriptions/{subscriptionId}/providers/Microsoft.MachineLearningServices/workspaces',
    summary: 'List the workspaces of an Azure subscription id',
    arm: { kind: 'workspaces' },
    responses: { '200': listOf('Workspace') },
  },
  ...family({
    group: 'ModelContainers',
    noun: 'model container',
    item: MODEL,
    list: `${WS}/models`,
    itemOp: { kind: 'modelContainer' },
    listOp: { kind: 'modelContainers' },
    response: 'ModelContainer',
    put: 'ModelContainerCreateOrUpdateParameters',
  }),
  ...family({
    group: 'ModelVersions',
    noun: 'model version',
    item: `${MODEL}/versions/{version}`,
    list: `${MODEL}/versions`,
    itemOp: { kind: 'modelVersion' },
    listOp: { kind: 'modelVersions' },
    response: 'ModelVersion',
    put: 'ModelVersionCreateOrUpdateParameters',
    putDescription: 'Registering a version raises ModelRegistered in the same transaction.',
  }),
  ...family({
    group: 'Jobs',
    noun: 'job',
    item: JOB,
    list: `${WS}/jobs`,
    itemOp: { kind: 'job' },
    listOp: { kind: 'jobs' },
    response: 'Job',
    put: 'JobCreateOrUpdateParameters',
    putDescription: 'Command jobs run as local processes (docs/jobs.md).',
  }),
  ...jobActions,
  ...jobReports,
  ...family({
    group: 'DataContainers',
    noun: 'data container',
    item: DATA,
    list: `${WS}/data`,
    itemOp: { kind: 'dataContainer' },
    listOp: { kind: 'dataContainers' },
    response: 'DataContainer',
    put: 'DataContainerCreateOrUpdateParameters',
  }),
  ...family({
    group: 'DataVersions',
    noun: 'data version',
    item: `${DATA}/versions/{version}`,
    list: `${DATA}/versions`,
    itemOp: { kind: 'dataVersion' },
    listOp: { kind: 'dataVersions' },
    response: 'DataVersion',
    put: 'DataVersionCreateOrUpdateParameters',
  }),
  ...family({
    group: 'OnlineEndpoints',
    noun: 'online endpoint',
    item: ENDPOINT,
    list: `${WS}/onlineEndpoints`,
    itemOp: { kind: 'onlineEndpoint' },
    listOp: { kind: 'onlineEndpoints' },
    response: 'OnlineEndpoint',
    put: 'OnlineEndpointCreateOrUpdateParameters',
    patch: 'OnlineEndpointUpdateParameters',
  }),
  ...family({
    group: 'OnlineDeployments',
    noun: 'online deployment',
    item: DEPLOYMENT,
    list: `${ENDPOINT}/deployments`,
    itemOp: { kind: 'onlineDeployment' },
    listOp: { kind: 'onlineDeployments' },
    response: 'OnlineDeployment',
    put: 'OnlineDeploymentCreateOrUpdateParameters',
    patch: 'OnlineDeploymentUpdateParameters',
    putDescription: 'mlgrid runs the scoring script as a local process.',
  }),
  ...endpointActions,
  scoring,
  ...family({
    group: 'DataDriftDetectors',
    noun: 'data drift detector',
    item: DRIFT,
    list: `${WS}/dataDriftDetectors`,
    itemOp: { kind: 'dataDriftDetector' },
    listOp: { kind: 'dataDriftDetectors' },
    response: 'DataDriftDetector',
    put: 'DataDriftDetectorCreateOrUpdateParameters',
    putDescription: 'mlgrid extension (Azure v1 monitors had no ARM API): see docs/drift-monitors.md.',
  }),
  ...driftActions,
];
