/** Automations (http/automation-routes.ts, docs/automations.md): workspace resources, their runs, a manual trigger. */
import { arr, bool, ciEnum, int, nonBlank, nullable, obj, optStr, ref, str, type Schema } from './kit.js';
import { API_VERSION, DELETED, json, listOf, NO_CONTENT, type Operation } from './operation.js';

const WS =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}';
const AUTOMATIONS = `${WS}/automations`;
const AUTOMATION = `${AUTOMATIONS}/{automationName}`;
const base = {
  tag: 'Automations',
  security: 'admin' as const,
  query: [API_VERSION('2022-10-01')],
  description: 'mlgrid extension (the Logic Apps analogue): see docs/automations.md.',
};

const filter = {
  includedEventTypes: nullable(arr(str({ min: 1 }), { description: 'null or absent: every type.' })),
  subjectBeginsWith: optStr(),
  subjectEndsWith: optStr(),
  isSubjectCaseSensitive: nullable(bool()),
  enableAdvancedFilteringOnArrays: nullable(bool()),
  advancedFilters: nullable(arr({ type: 'object' }, { description: "Event Grid's advanced filters." })),
};

const Step = obj(
  {
    name: str({
      pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$',
      message: 'must be 1-64 letters, digits, hyphens or underscores, starting with a letter',
    }),
    type: nonBlank('sendEmail, submitJob, deployModel, httpRequest or publishEvent.'),
    retry: nullable(
      obj({
        maxAttempts: nullable(int(1, 20)),
        delaySeconds: nullable(int(0, 3600)),
        maxDelaySeconds: nullable(int(0, 86_400)),
      }),
    ),
    timeoutSeconds: nullable(int(1, 7 * 86_400)),
  },
  {
    required: ['name', 'type'],
    description: "The step kind's own fields go beside these; every string in them is a template.",
  },
);

const AutomationPut = obj(
  {
    properties: obj(
      {
        description: nullable(str({ max: 1024 })),
        enabled: nullable(bool('Default true; false removes the trigger subscription.')),
        trigger: nullable(obj({ source: optStr('Default: this workspace.'), ...filter })),
        condition: nullable(
          obj(filter, { description: 'Evaluated on each delivered event; false records a Skipped run.' }),
        ),
        steps: arr(Step, { min: 1, max: 20 }),
        stormControl: nullable(
          obj({
            key: optStr('Template; default {{subject}}.'),
            debounceSeconds: nullable(int(0, 86_400)),
            maxWaitSeconds: nullable(int(1, 7 * 86_400)),
            coalesce: nullable(bool('Default true.')),
            maxConcurrent: nullable(int(1, 100)),
            cooldownSeconds: nullable(int(0, 7 * 86_400)),
            whenBusy: nullable(ciEnum(['queue', 'drop'], 'Default queue.')),
          }),
        ),
      },
      { required: ['steps'] },
    ),
  },
  { required: ['properties'] },
);

const resource = (description: string): Schema =>
  obj(
    {
      id: str(),
      name: str(),
      type: str(),
      systemData: { type: 'object' },
      properties: { type: 'object', description },
    },
    { required: ['id', 'name', 'type', 'properties'] },
  );

export const AUTOMATION_SCHEMAS: Record<string, Schema> = {
  AutomationCreateOrUpdateParameters: AutomationPut,
  Automation: resource(
    'The definition with defaults filled in, eventSubscriptionId, runsQueued, runsInProgress.',
  ),
  AutomationRun: resource(
    'status, reason, key, events, steps (status, attempts, output, error, timings), lineage.',
  ),
  AutomationTriggerRequest: obj(
    {
      event: nullable(
        obj({
          id: optStr('Default: a new GUID. The same id twice starts one run.'),
          eventType: nonBlank(),
          subject: optStr(),
          eventTime: optStr(),
          topic: optStr('Default: the workspace.'),
          data: {},
          dataVersion: optStr(),
        }),
      ),
    },
    { description: 'One Event Grid event, bare or under `event`.' },
  ),
  AutomationTriggerResult: obj({
    eventId: str(),
    status: ciEnum(['queued', 'joined', 'skipped', 'duplicate']),
    runId: str(),
    reason: str(),
    runUrl: str(),
  }),
};

export const AUTOMATION_OPERATIONS: Operation[] = [
  {
    ...base,
    operationId: 'Automations_List',
    method: 'get',
    path: AUTOMATIONS,
    summary: "A workspace's automations",
    arm: { kind: 'automations' },
    responses: { '200': listOf('Automation') },
  },
  {
    ...base,
    operationId: 'Automations_CreateOrUpdate',
    method: 'put',
    path: AUTOMATION,
    summary: 'Create or replace an automation (and its trigger event subscription)',
    arm: { kind: 'automation' },
    body: { schema: 'AutomationCreateOrUpdateParameters', required: true },
    responses: { '200': json('Automation', 'Replaced.'), '201': json('Automation', 'Created.') },
  },
  {
    ...base,
    operationId: 'Automations_Get',
    method: 'get',
    path: AUTOMATION,
    summary: 'Get an automation (secret step fields shown as ***)',
    arm: { kind: 'automation' },
    responses: { '200': json('Automation', 'The automation.') },
  },
  {
    ...base,
    operationId: 'Automations_Delete',
    method: 'delete',
    path: AUTOMATION,
    summary: 'Delete an automation, its trigger subscription and its runs',
    arm: { kind: 'automation' },
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...base,
    operationId: 'Automations_Trigger',
    method: 'post',
    path: `${AUTOMATION}/run`,
    summary: 'Trigger an automation with an event (condition and storm control apply)',
    arm: { kind: 'automation', action: 'run' },
    body: { schema: 'AutomationTriggerRequest', required: true },
    responses: {
      '202': { ...json('AutomationTriggerResult', 'Accepted: the run it opened or joined.'), headers: {} },
    },
  },
  {
    ...base,
    operationId: 'AutomationRuns_List',
    method: 'get',
    path: `${AUTOMATION}/runs`,
    summary: 'Runs, newest first (waiting runs included)',
    arm: { kind: 'automationRuns' },
    query: [
      ...base.query,
      {
        name: 'status',
        description: 'Queued, Running, Succeeded, Failed, Skipped or Canceled.',
        schema: { type: 'string' },
      },
      { name: '$top', description: 'At most this many (1-1000, default 100).', schema: { type: 'integer' } },
    ],
    responses: { '200': listOf('AutomationRun') },
  },
  {
    ...base,
    operationId: 'AutomationRuns_Get',
    method: 'get',
    path: `${AUTOMATION}/runs/{runId}`,
    summary: 'A run: its record and its trigger events',
    arm: { kind: 'automationRun' },
    responses: { '200': json(ref('AutomationRun'), 'The run.') },
  },
  {
    ...base,
    operationId: 'AutomationRuns_Cancel',
    method: 'post',
    path: `${AUTOMATION}/runs/{runId}/cancel`,
    summary: 'Cancel a waiting or running run (a canceled run is returned as it is; 409 once it has ended)',
    arm: { kind: 'automationRun', action: 'cancel' },
    responses: { '200': json(ref('AutomationRun'), 'The run, canceled.') },
  },
];
