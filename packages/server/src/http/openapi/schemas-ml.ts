/**
 * Azure ML request and response schemas (api-version 2022-10-01 shapes, `@azure/arm-machinelearning` 2.x),
 * written to accept whatever core/workspace.ts, core/model.ts, core/job.ts and core/online-endpoint.ts accept.
 * Data assets follow Azure's spec and stay lenient (their parser decides).
 */
import { TAG_LIMITS } from '../../core/arm-fields.js';
import { INPUT_TYPES, JOB_STATUSES, JOB_TYPES, OUTPUT_TYPES } from '../../core/job.js';
import { METRIC_LIMITS } from '../../core/job-report.js';
import { MODEL_TYPES } from '../../core/model.js';
import { RUN_STATUSES } from '../../core/workspace.js';
import {
  any,
  arr,
  bool,
  ciEnum,
  int,
  map,
  MESSAGE,
  nonBlank,
  nullable,
  obj,
  optStr,
  ref,
  str,
  type Schema,
} from './kit.js';

const n = nullable;
const assetMap = (description?: string) =>
  n(
    map(n(str()), {
      keys: { minLength: 1, [MESSAGE]: 'keys must not be empty' },
      description: `${description ?? 'String values'}; a null value means "no such key".`,
    }),
  );
const resourceProps = {
  tags: n(ref('Tags')),
};

const Sku = obj(
  {
    name: nonBlank(),
    tier: n(ciEnum(['Free', 'Basic', 'Standard', 'Premium'])),
    size: optStr(),
    family: optStr(),
    capacity: n(int(0, 2 ** 31 - 1)),
  },
  { required: ['name'] },
);

const Identity = obj(
  {
    type: str({
      description:
        'None, SystemAssigned, UserAssigned or SystemAssigned,UserAssigned (any case, spaces ignored).',
    }),
    userAssignedIdentities: n(
      map(n({ type: 'object' }), { description: 'ARM ids of user-assigned identities.' }),
    ),
  },
  { required: ['type'] },
);

const Settings = obj(
  {
    runStatusChangedStatuses: n(
      arr(ciEnum(RUN_STATUSES), { description: 'Default ["Failed"]; null restores it.' }),
    ),
    failureEvents: n(bool('Raise the MLGrid.* failure events; default false.')),
  },
  {
    closed: true,
    description: "mlgrid's per-workspace settings (plain REST; the SDKs drop unknown fields).",
  },
);

const workspaceProps = {
  friendlyName: optStr(),
  description: optStr(),
  applicationInsights: optStr(),
  containerRegistry: optStr(),
  storageAccount: optStr('Immutable once set.'),
  keyVault: optStr('Immutable once set.'),
  publicNetworkAccess: n(ciEnum(['Enabled', 'Disabled'])),
  mlgridSettings: n(ref('MlgridWorkspaceSettings')),
};

const WorkspacePut = obj(
  {
    location: nonBlank('Immutable once created.'),
    ...resourceProps,
    identity: n(ref('ManagedServiceIdentity')),
    sku: n(ref('Sku')),
    properties: n(obj({ ...workspaceProps, hbiWorkspace: n(bool()) })),
  },
  { required: ['location'] },
);

const WorkspacePatch = obj(
  {
    ...resourceProps,
    identity: n(ref('ManagedServiceIdentity')),
    sku: n(ref('Sku')),
    location: optStr('May only restate the current location.'),
    properties: n(obj(workspaceProps)),
  },
  { description: 'WorkspaceUpdateParameters; null clears a field (merge-patch).' },
);

const assetProps = {
  description: optStr(),
  tags: assetMap(),
  properties: assetMap(),
  isArchived: n(bool()),
};

const ModelContainerPut = obj({ properties: n(obj(assetProps)) });

const modelTypes = [...MODEL_TYPES, 'CustomModel', 'MLFlowModel', 'TritonModel', ''];
const ModelVersionPut = obj(
  {
    properties: obj(
      {
        ...assetProps,
        modelUri: str({ description: 'file://<absolute path>, mlgrid://artifacts/<sha256> or azureml://…' }),
        modelType: n(ciEnum(modelTypes, 'Default custom_model.')),
        jobName: optStr(),
        isAnonymous: n(bool()),
        flavors: n(map(n(obj({ data: assetMap() })))),
      },
      {
        required: ['modelUri'],
        description: 'Only description, tags and isArchived may change on a registered version.',
      },
    ),
  },
  { required: ['properties'] },
);

const binding = (kind: 'input' | 'output') =>
  obj(
    {
      [kind === 'input' ? 'jobInputType' : 'jobOutputType']: n(
        ciEnum(kind === 'input' ? INPUT_TYPES : OUTPUT_TYPES, 'Default uri_folder.'),
      ),
      uri: optStr('file://, an absolute path, or any other URI passed as is.'),
      path: optStr('The az ml YAML spelling of uri.'),
      ...(kind === 'input' ? { value: optStr('literal inputs.') } : {}),
      mode: optStr(),
      description: optStr(),
    },
    { nullable: true },
  );
const bindingNames = {
  pattern: '^[A-Za-z_][A-Za-z0-9_]{0,254}$',
  [MESSAGE]: 'names are letters, digits and underscores, not starting with a digit',
};

const JobPut = obj(
  {
    properties: {
      ...obj(
        {
          jobType: ciEnum(JOB_TYPES, 'mlgrid runs Command jobs.'),
          command: nonBlank('May use ${{inputs.x}} / ${{outputs.x}}.'),
          environmentId: nonBlank('Stored; the command runs on the host.'),
          environmentVariables: assetMap(),
          codeId: optStr('An absolute local folder or file:// URL.'),
          experimentName: n(str({ max: 255 })),
          displayName: optStr(),
          computeId: optStr(),
          inputs: n(map(binding('input'), { keys: bindingNames })),
          outputs: n(map(binding('output'), { keys: bindingNames })),
          isAnonymous: n(bool()),
          ...assetProps,
        },
        {
          required: ['jobType'],
          description: 'A job that exists may change only tags, description, displayName and isArchived.',
        },
      ),
      if: { properties: { jobType: ciEnum(['Command']) }, required: ['jobType'] },
      then: { required: ['command', 'environmentId'] },
    },
  },
  { required: ['properties'] },
);

const dataTypes = ['uri_file', 'uri_folder', 'mltable'];
const DataContainerPut = obj(
  { properties: obj({ ...assetProps, dataType: ciEnum(dataTypes) }, { required: ['dataType'] }) },
  { required: ['properties'] },
);
const DataVersionPut = obj(
  {
    properties: obj(
      {
        ...assetProps,
        dataType: n(ciEnum(dataTypes, 'Required (checked by the server once the workspace is found).')),
        dataUri: optStr('Required: a file:// URI or an absolute local path; a uri_file is a tabular file.'),
        isAnonymous: n(bool()),
        referencedUris: n(arr(str(), { description: 'mltable only.' })),
      },
      { description: 'Only description, tags and isArchived may change.' },
    ),
  },
  { required: ['properties'] },
);

const StatusReport = obj(
  {
    status: ciEnum(
      JOB_STATUSES.filter((s) => s !== 'NotStarted'),
      'The skipped statuses are passed through in order.',
      { trim: true },
    ),
    exitCode: n(int(-(2 ** 31), 2 ** 31, 'With Completed, Failed or Canceled.')),
    failureReason: n(str({ max: 4096, description: 'With Failed.' })),
  },
  { required: ['status'], description: "mlgrid: an external job's code reports its status." },
);
const MetricsRequest = obj(
  {
    metrics: arr(
      obj(
        {
          name: str({ description: `1-${METRIC_LIMITS.nameChars} printable characters.` }),
          value: { type: 'number' },
          step: n(int(0, Number.MAX_SAFE_INTEGER)),
          time: n(str({ format: 'date-time', description: 'ISO-8601; default now.' })),
        },
        { required: ['name', 'value'] },
      ),
      { min: 1, max: METRIC_LIMITS.perRequest },
    ),
  },
  { required: ['metrics'], description: "mlgrid: metrics logged by the job's code." },
);

const endpointProps = {
  description: optStr(),
  traffic: n(map(int(0, 100), { description: 'Deployment name → percent; the values sum to 0 or 100.' })),
};
const OnlineEndpointPut = obj(
  {
    location: optStr('Default: local.'),
    ...resourceProps,
    kind: optStr(),
    identity: n({ type: 'object' }),
    properties: obj(
      { ...endpointProps, authMode: ciEnum(['Key', 'AMLToken', 'AADToken']), properties: assetMap() },
      { required: ['authMode'] },
    ),
  },
  { required: ['properties'] },
);
const OnlineEndpointPatch = obj(
  { ...resourceProps, identity: n({ type: 'object' }), properties: n(obj(endpointProps)) },
  { description: "Azure's tags and identity; mlgrid also takes properties.traffic and description." },
);
const deploymentSku = n(
  obj({ name: optStr(), capacity: n(int(1, 1000)), tier: optStr(), size: optStr(), family: optStr() }),
);
const OnlineDeploymentPut = obj(
  {
    location: optStr('Default: local.'),
    ...resourceProps,
    kind: optStr(),
    sku: deploymentSku,
    properties: obj(
      {
        endpointComputeType: n(ciEnum(['Managed', 'Kubernetes', 'AzureMLCompute'], 'mlgrid runs Managed.')),
        model: optStr('Model version id or azureml:{name}:{version}.'),
        codeConfiguration: n(
          obj({
            codeId: optStr('Absolute local folder or file:// URL.'),
            scoringScript: optStr('.py, .js or .mjs inside the code folder.'),
          }),
        ),
        environmentId: optStr(),
        environmentVariables: assetMap(),
        description: optStr(),
        properties: assetMap(),
        instanceType: optStr(),
        requestSettings: n(obj({ requestTimeout: optStr('ISO-8601 duration, at most PT3M; default PT5S.') })),
        appInsightsEnabled: n(bool()),
      },
      { description: 'model and codeConfiguration are required by mlgrid (checked by the server).' },
    ),
  },
  { required: ['properties'] },
);

const resource = (properties: Schema = { type: 'object' }, extra: Record<string, Schema> = {}) =>
  obj(
    {
      id: str(),
      name: str(),
      type: str(),
      ...extra,
      systemData: obj({
        createdAt: str({ format: 'date-time' }),
        lastModifiedAt: str({ format: 'date-time' }),
      }),
      properties,
    },
    { required: ['id', 'name', 'type', 'properties'] },
  );
const tracked = { location: str(), tags: map(str(), { max: TAG_LIMITS.max }) };

const dataRef = (description: string) =>
  n({
    anyOf: [obj({ name: str(), version: { type: ['string', 'number'] } }), str()],
    description,
  });
const DriftPut = obj(
  {
    ...resourceProps,
    properties: obj(
      {
        baselineData: dataRef('{name, version}, "name:version" or a data version ARM id.'),
        targetData: dataRef('As baselineData; its rows are windowed by timestampColumn.'),
        timestampColumn: optStr('A timestamp column of the target data.'),
        frequency: n(ciEnum(['Day', 'Week', 'Month'], 'Immutable after creation.')),
        latencyHours: n(int(0, 24 * 366, 'Default 0; immutable after creation.')),
        features: n(arr(str(), { max: 200, description: 'Default: every common column.' })),
        threshold: n({ type: 'number', minimum: 0, maximum: 1, description: 'Default 0.2.' }),
        scheduleEnabled: n(bool('Default false.')),
        startTime: optStr('Scheduled runs start with the period containing it.'),
        alertSettings: n({ type: 'object' }),
        description: optStr(),
      },
      { description: 'Required fields are checked by the server.' },
    ),
  },
  { required: ['properties'] },
);

export const ML_SCHEMAS: Record<string, Schema> = {
  DataDriftDetectorCreateOrUpdateParameters: DriftPut,
  DataDriftRunRequest: obj({ targetDate: optStr(), startTime: optStr(), endTime: optStr() }),
  DataDriftBackfillRequest: obj({ startDate: optStr(), endDate: optStr('Inclusive.') }),
  DataDriftDetector: resource(),
  DataDriftResult: resource({ type: 'object', description: 'driftCoefficient, auc, features, skipped, …' }),
  DataDriftBackfill: resource({ type: 'object', description: 'status, total, completed, results.' }),
  Sku,
  ManagedServiceIdentity: Identity,
  MlgridWorkspaceSettings: Settings,
  WorkspaceCreateOrUpdateParameters: WorkspacePut,
  WorkspaceUpdateParameters: WorkspacePatch,
  ModelContainerCreateOrUpdateParameters: ModelContainerPut,
  ModelVersionCreateOrUpdateParameters: ModelVersionPut,
  JobCreateOrUpdateParameters: JobPut,
  DataContainerCreateOrUpdateParameters: DataContainerPut,
  DataVersionCreateOrUpdateParameters: DataVersionPut,
  OnlineEndpointCreateOrUpdateParameters: OnlineEndpointPut,
  OnlineEndpointUpdateParameters: OnlineEndpointPatch,
  RegenerateEndpointKeysRequest: obj(
    { keyType: ciEnum(['Primary', 'Secondary']), keyValue: optStr() },
    { required: ['keyType'] },
  ),
  OnlineDeploymentCreateOrUpdateParameters: OnlineDeploymentPut,
  OnlineDeploymentUpdateParameters: obj(
    { ...resourceProps, sku: deploymentSku },
    { description: "Azure's tags and sku." },
  ),
  JobStatusReport: StatusReport,
  JobMetricsRequest: MetricsRequest,
  DeploymentLogsRequest: obj({
    containerType: n(ciEnum(['StorageInitializer', 'InferenceServer'])),
    tail: n(int(0, 1_000_000)),
  }),
  Workspace: resource({ type: 'object' }, tracked),
  ModelContainer: resource(),
  ModelVersion: resource(),
  Job: resource({ type: 'object', description: "JobBase; mlgrid's run details under mlgridRun." }),
  DataContainer: resource(),
  DataVersion: resource(),
  OnlineEndpoint: resource({ type: 'object' }, tracked),
  OnlineDeployment: resource({ type: 'object' }, tracked),
  EndpointAuthKeys: obj({ primaryKey: str(), secondaryKey: str() }),
  ScoringRequest: any('Any JSON: passed to the scoring script as is.'),
};
