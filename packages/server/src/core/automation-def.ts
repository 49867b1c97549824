/**
 * Automation definitions (docs/automations.md#definition): validate a PUT body into a normalized definition, and
 * render it back. Pure; the step kinds check their own fields (`StepKind.parse`). Every error names the field.
 */
import type { EventSubscriptionFilter } from '@mlgrid/protocol';
import type { StepKind } from './automation-step.js';
import { checkTemplate, checkValueTemplates } from './automation-template.js';
import { invalid } from './errors.js';
import { normalizeResourceId } from './event-subscription.js';
import { validateFilter } from './filter.js';
import { array, boolean, integer, object, oneOf, optString, string, type Json } from './validate.js';

export interface StepDef {
  name: string;
  type: string;
  /** The step kind's own fields, as given (every string in them is a template). */
  fields: Json;
  retry: { maxAttempts: number; delaySeconds: number; maxDelaySeconds: number };
  timeoutSeconds: number;
}

export interface StormControlDef {
  /** Template of the key runs are grouped by. */
  key: string;
  debounceSeconds: number;
  maxWaitSeconds?: number;
  coalesce: boolean;
  maxConcurrent: number;
  cooldownSeconds: number;
  whenBusy: 'queue' | 'drop';
}

export interface AutomationDef {
  description?: string;
  enabled: boolean;
  /** The event subscription: its source (a resource id) and its Event Grid filter. */
  trigger: { source: string; filter: EventSubscriptionFilter };
  /** Evaluated on each delivered event; false records a Skipped run. */
  condition?: EventSubscriptionFilter;
  steps: StepDef[];
  stormControl: StormControlDef;
}

export type StepKinds = ReadonlyMap<string, StepKind>;

export const AUTOMATION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,51}$/;
const STEP_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_STEPS = 20;
const DAY = 86_400;
/** Fields the engine reads from a step; everything else belongs to the step kind. */
const ENGINE_FIELDS = new Set(['name', 'type', 'retry', 'timeoutSeconds']);
const SOURCE_RE =
  /^\/subscriptions\/[^/]+(?:\/resourceGroups\/[^/]+(?:\/providers\/(?:Microsoft\.MachineLearningServices\/workspaces|Microsoft\.EventGrid\/topics)\/[^/]+)?)?$/i;

export const DEFAULT_STEP_TIMEOUT_S = 600;

export function validateAutomationName(name: string): string {
  if (!AUTOMATION_NAME_RE.test(name)) {
    throw invalid(
      'name',
      'must be 1-52 letters, digits, hyphens or underscores, starting with a letter or digit',
      'InvalidResourceName',
    );
  }
  return name;
}

/** The name of the event subscription an automation keeps on its source. */
export function triggerSubscriptionName(name: string): string {
  return `automation-${name.replace(/_/g, '-')}`;
}

export function parseAutomationPut(
  body: unknown,
  ctx: { workspaceId: string; kinds: StepKinds },
): AutomationDef {
  const props = object(object(body, 'body').properties, 'properties');
  const trigger = parseTrigger(props.trigger, 'properties.trigger', ctx.workspaceId);
  const condition = absent(props.condition)
    ? undefined
    : validateFilter(props.condition, 'properties.condition');
  const steps = parseSteps(props.steps, 'properties.steps', ctx.kinds);
  const stormControl = parseStormControl(props.stormControl, 'properties.stormControl');
  const enabled = absent(props.enabled) ? true : boolean(props.enabled, 'properties.enabled');
  const description = optString(props.description, 'properties.description', { max: 1024 });
  return {
    ...(description !== undefined ? { description } : {}),
    enabled,
    trigger,
    ...(condition ? { condition } : {}),
    steps,
    stormControl,
  };
}

function absent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

function parseTrigger(raw: unknown, path: string, workspaceId: string): AutomationDef['trigger'] {
  const t = absent(raw) ? {} : object(raw, path);
  let source = workspaceId;
  if (!absent(t.source)) {
    source = normalizeResourceId(string(t.source, `${path}.source`));
    if (!SOURCE_RE.test(source)) {
      throw invalid(
        `${path}.source`,
        'must be the id of a workspace, a custom topic, a resource group or a subscription',
      );
    }
  }
  const { source: _s, ...filter } = t;
  return { source, filter: validateFilter(filter, path) };
}

function parseSteps(raw: unknown, path: string, kinds: StepKinds): StepDef[] {
  if (absent(raw)) throw invalid(path, 'is required: an automation has at least one step');
  const list = array(raw, path);
  if (list.length === 0) throw invalid(path, 'must have at least one step');
  if (list.length > MAX_STEPS) throw invalid(path, `must have at most ${MAX_STEPS} steps`);
  const earlier = new Set<string>();
  return list.map((item, i) => {
    const sp = `${path}[${i}]`;
    const s = object(item, sp);
    const name = string(s.name, `${sp}.name`);
    if (!STEP_NAME_RE.test(name)) {
      throw invalid(
        `${sp}.name`,
        'must be 1-64 letters, digits, hyphens or underscores, starting with a letter',
      );
    }
    if (earlier.has(name)) throw invalid(`${sp}.name`, `duplicates an earlier step named '${name}'`);
    const type = string(s.type, `${sp}.type`);
    const kind =
      kinds.get(type) ?? [...kinds.values()].find((k) => k.type.toLowerCase() === type.toLowerCase());
    if (!kind) throw invalid(`${sp}.type`, `must be one of ${[...kinds.keys()].join(', ')}`);
    const fields: Json = {};
    for (const [k, v] of Object.entries(s)) if (!ENGINE_FIELDS.has(k)) fields[k] = v;
    if (kind.checkTemplates) kind.checkTemplates(structuredClone(fields), sp, earlier);
    else checkValueTemplates(fields, sp, earlier);
    kind.parse(structuredClone(fields), sp);
    const step: StepDef = {
      name,
      type: kind.type,
      fields,
      retry: parseRetry(s.retry, `${sp}.retry`),
      timeoutSeconds: absent(s.timeoutSeconds)
        ? (kind.defaultTimeoutSeconds ?? DEFAULT_STEP_TIMEOUT_S)
        : integer(s.timeoutSeconds, `${sp}.timeoutSeconds`, 1, 7 * DAY),
    };
    earlier.add(name);
    return step;
  });
}

function parseRetry(raw: unknown, path: string): StepDef['retry'] {
  const r = absent(raw) ? {} : object(raw, path);
  const maxAttempts = absent(r.maxAttempts) ? 3 : integer(r.maxAttempts, `${path}.maxAttempts`, 1, 20);
  const delaySeconds = absent(r.delaySeconds) ? 10 : integer(r.delaySeconds, `${path}.delaySeconds`, 0, 3600);
  const maxDelaySeconds = absent(r.maxDelaySeconds)
    ? Math.max(600, delaySeconds)
    : integer(r.maxDelaySeconds, `${path}.maxDelaySeconds`, delaySeconds, DAY);
  return { maxAttempts, delaySeconds, maxDelaySeconds };
}

function parseStormControl(raw: unknown, path: string): StormControlDef {
  const s = absent(raw) ? {} : object(raw, path);
  const key = absent(s.key)
    ? '{{subject}}'
    : checkTemplate(string(s.key, `${path}.key`, { max: 1024 }), `${path}.key`, new Set());
  const seconds = (k: string, min: number, max: number): number | undefined =>
    absent(s[k]) ? undefined : integer(s[k], `${path}.${k}`, min, max);
  const debounceSeconds = seconds('debounceSeconds', 0, DAY) ?? 0;
  const maxWaitSeconds = seconds('maxWaitSeconds', 1, 7 * DAY);
  if (maxWaitSeconds !== undefined && debounceSeconds === 0) {
    throw invalid(`${path}.maxWaitSeconds`, 'only applies with debounceSeconds');
  }
  return {
    key,
    debounceSeconds,
    ...(maxWaitSeconds !== undefined ? { maxWaitSeconds } : {}),
    coalesce: absent(s.coalesce) ? true : boolean(s.coalesce, `${path}.coalesce`),
    maxConcurrent: seconds('maxConcurrent', 1, 100) ?? 1,
    cooldownSeconds: seconds('cooldownSeconds', 0, 7 * DAY) ?? 0,
    whenBusy: absent(s.whenBusy)
      ? 'queue'
      : oneOf(s.whenBusy, `${path}.whenBusy`, ['queue', 'drop'] as const),
  };
}

/** The definition as GET shows it: defaults filled in, the step kinds' secrets withheld. */
export function renderDefinition(def: AutomationDef, kinds: StepKinds): Json {
  return {
    ...(def.description !== undefined ? { description: def.description } : {}),
    enabled: def.enabled,
    trigger: { source: def.trigger.source, ...structuredClone(def.trigger.filter) },
    ...(def.condition ? { condition: structuredClone(def.condition) } : {}),
    steps: def.steps.map((s) => {
      const kind = kinds.get(s.type);
      const fields = kind?.redact ? kind.redact(structuredClone(s.fields)) : structuredClone(s.fields);
      return {
        name: s.name,
        type: s.type,
        ...fields,
        retry: { ...s.retry },
        timeoutSeconds: s.timeoutSeconds,
      };
    }),
    stormControl: { ...def.stormControl },
  };
}

/**
 * A definition read back with GET and sent again holds the masked values (`***`) the step kinds' `redact` shows:
 * where a step (same name and type) still shows exactly what the stored one redacts to, the stored value is kept.
 */
export function keepSecrets(
  def: AutomationDef,
  previous: AutomationDef | undefined,
  kinds: StepKinds,
): AutomationDef {
  if (!previous) return def;
  const steps = def.steps.map((s) => {
    const old = previous.steps.find((p) => p.name === s.name && p.type === s.type);
    const kind = kinds.get(s.type);
    if (!old || !kind?.redact) return s;
    const shown = kind.redact(structuredClone(old.fields));
    return { ...s, fields: restore(s.fields, old.fields, shown) as Json };
  });
  return { ...def, steps };
}

function restore(given: unknown, stored: unknown, shown: unknown): unknown {
  if (typeof given === 'string') {
    return typeof stored === 'string' && given === shown && given !== stored ? stored : given;
  }
  const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isMap(given) && isMap(stored) && isMap(shown)) {
    return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, restore(v, stored[k], shown[k])]));
  }
  return given;
}
