/**
 * The submitJob step's pure parts: its definition, filling an Azure job body template from the event (values
 * put into the shell command are quoted for /bin/sh), the job name derived from the idempotency key, and the
 * lineage the job carries. Pure.
 */
import { createHash } from 'node:crypto';
import { LINEAGE_PROPERTIES, type Lineage } from './automation-step.js';
import { checkTemplate, checkValueTemplates } from './automation-template.js';
import { invalid, MlgridError } from './errors.js';
import { parseJobPut } from './job.js';
import { isObject, object, optBoolean, optString, type Json } from './validate.js';

export interface SubmitJobSpec {
  /** An Azure job body (`{properties: {jobType: "Command", command, …}}`) with `{{…}}` in string values. */
  job: Json;
  /** Template; by default derived from the idempotency key. */
  name?: string;
  /** Wait for the job to finish; the step fails when the job does not complete. */
  wait: boolean;
}

/** mlgrid's own keys in the job's `properties.properties` (beside the lineage). */
export const AUTOMATION_PROPERTIES = {
  automation: 'mlgrid.automation',
  runId: 'mlgrid.automationRunId',
} as const;

/** Azure's own placeholders in a command (`${{inputs.x}}`) stay as they are; mlgrid's are `{{…}}`. */
const TOKEN_RE = /\$\{\{[\s\S]*?\}\}|\{\{[\s\S]*?\}\}/g;
const AZURE_RE = /\$\{\{[\s\S]*?\}\}/g;
/** Stands for an event value when checking a template: an absolute path passes as a folder, a URI, or text. */
const SENTINEL = '/mlgrid-template-value';

export function parseSubmitJobStep(raw: Record<string, unknown>, path: string): SubmitJobSpec {
  const job = object(raw.job, `${path}.job`);
  const p = object(job.properties, `${path}.job.properties`);
  const jobType = optString(p.jobType, `${path}.job.properties.jobType`);
  if (jobType !== undefined && !hasTemplate(jobType) && jobType.toLowerCase() !== 'command') {
    throw invalid(
      `${path}.job.properties.jobType`,
      `${jobType} jobs are not supported: mlgrid runs Command jobs. Express a pipeline as one Command job whose ` +
        'script runs the stages in order (see docs/automation-steps.md)',
    );
  }
  checkPlaceholders(job, `${path}.job`);
  validateTemplate(job, `${path}.job`);
  const spec: SubmitJobSpec = {
    job: structuredClone(job),
    wait: optBoolean(raw.wait, `${path}.wait`) ?? false,
  };
  const name = optString(raw.name, `${path}.name`, { min: 1, max: 255 });
  if (name !== undefined) spec.name = checkTemplate(name, `${path}.name`);
  return spec;
}

/** The engine's placeholder check, Azure's `${{inputs.x}}` / `${{outputs.x}}` (the job's own) aside. */
export function checkJobTemplates(
  raw: Record<string, unknown>,
  path: string,
  earlierSteps: ReadonlySet<string>,
): void {
  const strip = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.replace(AZURE_RE, '')
      : Array.isArray(v)
        ? v.map(strip)
        : isObject(v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))
          : v;
  checkValueTemplates(strip(raw), path, earlierSteps);
}

/** Every mlgrid placeholder names something a run has (Azure's `${{…}}` are the job's own). */
function checkPlaceholders(v: unknown, path: string): void {
  if (typeof v === 'string') checkTemplate(v.replace(AZURE_RE, ''), path);
  else if (Array.isArray(v)) v.forEach((x, i) => checkPlaceholders(x, `${path}[${i}]`));
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) checkPlaceholders(x, `${path}.${k}`);
}

/**
 * Checks the template as a job body, with every `{{…}}` standing for a value: what is wrong whatever the event
 * (a missing command, an unknown input in the command) is refused at create time; fields filled from the event
 * are checked when the job is submitted.
 */
function validateTemplate(job: Json, path: string): void {
  const probe = fillJobTemplate(job, () => SENTINEL);
  try {
    parseJobPut(probe, { name: 'template' });
  } catch (err) {
    if (!(err instanceof MlgridError)) throw err;
    const target = err.target;
    if (target !== undefined && fromEvent(job, target)) return; // decided by the event
    const message = err.details[0]?.message ?? err.message;
    throw invalid(target ? `${path}.${target}` : path, message);
  }
}

/** The field at fault is filled from the event (a binding's `uri` may be given as `path`, the YAML name). */
function fromEvent(job: Json, target: string): boolean {
  const v = at(job, target) ?? (target.endsWith('.uri') ? at(job, `${target.slice(0, -4)}.path`) : undefined);
  return typeof v === 'string' && hasTemplate(v);
}

function at(v: unknown, dotted: string): unknown {
  let cur = v;
  for (const k of dotted.split('.')) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

export function hasTemplate(s: string): boolean {
  return [...s.matchAll(TOKEN_RE)].some((m) => !m[0].startsWith('$'));
}

/**
 * The job body with every string value rendered (keys are not). In `properties.command` each `{{…}}` is rendered
 * on its own and single-quoted for /bin/sh, so an event value is one argument whatever characters it holds;
 * environment variables and inputs are passed without a shell and are rendered as they are.
 */
export function fillJobTemplate(job: Json, render: (template: string) => string): Json {
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string')
      return path === 'properties.command' ? renderShell(v, render) : renderKeeping(v, render);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (isObject(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, path ? `${path}.${k}` : k)]));
    }
    return v;
  };
  return walk(job, '') as Json;
}

/** Renders mlgrid's `{{…}}` and keeps Azure's `${{…}}` untouched. */
function renderKeeping(s: string, render: (t: string) => string): string {
  if (!hasTemplate(s)) return s;
  if (!s.includes('${{')) return render(s);
  return s.replace(TOKEN_RE, (tok) => (tok.startsWith('$') ? tok : render(tok)));
}

function renderShell(s: string, render: (t: string) => string): string {
  return s.replace(TOKEN_RE, (tok) => (tok.startsWith('$') ? tok : shellQuote(render(tok))));
}

/** One /bin/sh word: single quotes, with `'` written as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `<automation>-<hash of the idempotency key>`: the same step of the same run always names the same job, so a
 * repeated step finds the job it created instead of starting a second one.
 */
export function jobNameFor(automation: string, idempotencyKey: string): string {
  const slug =
    automation
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^[-_]+/, '')
      .slice(0, 60) || 'automation';
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16);
  return `${slug}-${hash}`;
}

/** Adds the run's lineage and origin to `properties.properties` and the lineage to the environment. */
export function withLineage(
  job: Json,
  lineage: Lineage,
  origin: { automation: string; runId: string },
): Json {
  const body = structuredClone(job);
  const p = isObject(body.properties) ? body.properties : (body.properties = {});
  const props = isObject(p.properties) ? p.properties : (p.properties = {});
  props[LINEAGE_PROPERTIES.correlationId] = lineage.correlationId;
  props[LINEAGE_PROPERTIES.causationId] = lineage.causationId;
  props[AUTOMATION_PROPERTIES.automation] = origin.automation;
  props[AUTOMATION_PROPERTIES.runId] = origin.runId;
  // The job's process gets MLGRID_CORRELATION_ID / MLGRID_CAUSATION_ID from the server (core/lineage.ts).
  return body;
}
