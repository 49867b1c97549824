/**
 * The deployModel step's pure parts: its definition (ordered tag rules), which rule a model version matches, the
 * deterministic deployment name, and the traffic split after a canary. Pure.
 */
import { createHash } from 'node:crypto';
import { invalid } from './errors.js';
import { array, integer, isObject, object, optBoolean, optObject, optString, string } from './validate.js';
import { requiredString } from './arm-fields.js';
import { checkTemplate } from './automation-template.js';

/** A tag or property condition: any of these values (case-insensitive), or `*` for "present with any value". */
export type ValueMatch = { any: true } | { oneOf: string[] };

export interface RuleCondition {
  tags: Record<string, ValueMatch>;
  properties: Record<string, ValueMatch>;
  /** Glob on the model name (`*` matches any run of characters), case-insensitive. */
  modelName?: string;
}

export interface DeployRule {
  when: RuleCondition;
  /** Templates (rendered per run). */
  endpoint: string;
  deploymentName?: string;
  /** The share of the endpoint's traffic the new deployment gets; the rest stays on the others. */
  trafficPercent: number;
  /** Where the scoring code comes from: given here, or copied from a deployment of the endpoint. */
  codeConfiguration?: { codeId: string; scoringScript: string };
  from?: string;
  environmentId?: string;
  environmentVariables: Record<string, string>;
  instanceType?: string;
  createEndpointIfMissing: boolean;
  rollbackOnFailure: boolean;
}

export interface DeployModelSpec {
  /** Templates; by default the ModelRegistered event's `data.modelName` / `data.modelVersion`. */
  model: { name: string; version: string };
  rules: DeployRule[];
}

const MAX_RULES = 50;

export function parseDeployModelStep(raw: Record<string, unknown>, path: string): DeployModelSpec {
  const m = optObject(raw.model, `${path}.model`);
  const rulesRaw = array(raw.rules, `${path}.rules`);
  if (rulesRaw.length === 0) throw invalid(`${path}.rules`, 'must have at least one rule');
  if (rulesRaw.length > MAX_RULES) throw invalid(`${path}.rules`, `must have at most ${MAX_RULES} rules`);
  const spec: DeployModelSpec = {
    model: {
      name: optString(m?.name, `${path}.model.name`, { min: 1 }) ?? '{{data.modelName}}',
      version: optString(m?.version, `${path}.model.version`, { min: 1 }) ?? '{{data.modelVersion}}',
    },
    rules: rulesRaw.map((r, i) => parseRule(r, `${path}.rules[${i}]`)),
  };
  checkTemplate(spec.model.name, `${path}.model.name`);
  checkTemplate(spec.model.version, `${path}.model.version`);
  spec.rules.forEach((r, i) => checkRuleTemplates(r, `${path}.rules[${i}]`));
  return spec;
}

function checkRuleTemplates(r: DeployRule, path: string): void {
  for (const key of ['endpoint', 'deploymentName', 'from', 'environmentId', 'instanceType'] as const) {
    if (r[key] !== undefined) checkTemplate(r[key], `${path}.${key}`);
  }
  if (r.codeConfiguration) {
    checkTemplate(r.codeConfiguration.codeId, `${path}.codeConfiguration.codeId`);
    checkTemplate(r.codeConfiguration.scoringScript, `${path}.codeConfiguration.scoringScript`);
  }
  for (const [k, v] of Object.entries(r.environmentVariables)) {
    checkTemplate(v, `${path}.environmentVariables.${k}`);
  }
}

function parseRule(raw: unknown, path: string): DeployRule {
  const r = object(raw, path);
  const when = optObject(r.when, `${path}.when`) ?? {};
  const rule: DeployRule = {
    when: {
      tags: valueMatches(when.tags, `${path}.when.tags`),
      properties: valueMatches(when.properties, `${path}.when.properties`),
    },
    endpoint: requiredString(r.endpoint, `${path}.endpoint`),
    trafficPercent:
      r.trafficPercent === undefined || r.trafficPercent === null
        ? 100
        : integer(r.trafficPercent, `${path}.trafficPercent`, 0, 100),
    environmentVariables: {},
    createEndpointIfMissing:
      optBoolean(r.createEndpointIfMissing, `${path}.createEndpointIfMissing`) ?? false,
    rollbackOnFailure: optBoolean(r.rollbackOnFailure, `${path}.rollbackOnFailure`) ?? true,
  };
  const modelName = optString(when.modelName, `${path}.when.modelName`, { min: 1 });
  if (modelName !== undefined) rule.when.modelName = modelName;
  for (const key of ['deploymentName', 'from', 'environmentId', 'instanceType'] as const) {
    const v = optString(r[key], `${path}.${key}`, { min: 1 });
    if (v !== undefined) rule[key] = v;
  }
  const code = optObject(r.codeConfiguration, `${path}.codeConfiguration`);
  if (code) {
    rule.codeConfiguration = {
      codeId: requiredString(code.codeId, `${path}.codeConfiguration.codeId`),
      scoringScript: requiredString(code.scoringScript, `${path}.codeConfiguration.scoringScript`),
    };
  }
  if (rule.codeConfiguration && rule.from !== undefined) {
    throw invalid(`${path}.from`, 'give either codeConfiguration or from, not both');
  }
  const env = optObject(r.environmentVariables, `${path}.environmentVariables`) ?? {};
  for (const [k, v] of Object.entries(env)) {
    rule.environmentVariables[k] = string(v, `${path}.environmentVariables.${k}`);
  }
  return rule;
}

/** `{key: "v" | ["v1","v2"] | "*"}`; numbers and booleans compare as their text (YAML's `deploy: true`). */
function valueMatches(raw: unknown, path: string): Record<string, ValueMatch> {
  if (raw === undefined || raw === null) return {};
  const out: Record<string, ValueMatch> = {};
  for (const [k, v] of Object.entries(object(raw, path))) {
    const values = (Array.isArray(v) ? v : [v]).map((x, i) =>
      scalar(x, Array.isArray(v) ? `${path}.${k}[${i}]` : `${path}.${k}`),
    );
    if (values.length === 0) throw invalid(`${path}.${k}`, 'must list at least one value');
    out[k] = values.includes('*') ? { any: true } : { oneOf: values };
  }
  return out;
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(path, 'must be a string (or a list of strings)');
}

// ---------------------------------------------------------------- matching

export interface ModelFacts {
  name: string;
  tags: Record<string, unknown>;
  properties: Record<string, unknown>;
}

/** The index of the first rule the model matches, or -1. */
export function matchRule(rules: readonly DeployRule[], model: ModelFacts): number {
  return rules.findIndex((r) => matches(r.when, model));
}

export function matches(when: RuleCondition, model: ModelFacts): boolean {
  if (when.modelName !== undefined && !glob(when.modelName).test(model.name)) return false;
  return bagMatches(when.tags, model.tags) && bagMatches(when.properties, model.properties);
}

function bagMatches(want: Record<string, ValueMatch>, have: Record<string, unknown>): boolean {
  const lower = new Map(Object.entries(have).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [k, m] of Object.entries(want)) {
    const v = lower.get(k.toLowerCase());
    if (v === undefined || v === null) return false;
    if ('any' in m) continue;
    const text = (typeof v === 'string' ? v : JSON.stringify(v)).toLowerCase();
    if (!m.oneOf.some((x) => x.toLowerCase() === text)) return false;
  }
  return true;
}

function glob(pattern: string): RegExp {
  const re = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${re}$`, 'i');
}

/** Tags and properties of a ModelRegistered event's data (empty when absent or not objects). */
export function bagOf(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

// ---------------------------------------------------------------- names and traffic

/** Azure's deployment name rule: 3-32 letters, digits and hyphens, starting with a letter, ending alphanumeric. */
export const DEPLOYMENT_NAME_RE = /^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$/;

/**
 * `<model>-v<version>` (e.g. `churn-v3`), lower-cased. When the name had to be changed to fit Azure's rule
 * (other characters, too long) a short hash of the real name and version is added, so two models never share it.
 */
export function defaultDeploymentName(model: string, version: string): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
  let m = slug(model) || 'model';
  if (!/^[a-z]/.test(m)) m = `m-${m}`;
  const v = slug(version) || '0';
  const base = `${m}-v${v}`;
  if (base.length <= 32 && m === model.toLowerCase() && v === version.toLowerCase()) return base;
  const hash = createHash('sha256').update(`${model}\n${version}`).digest('hex').slice(0, 6);
  const head = base.slice(0, 32 - hash.length - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

/**
 * The split after a deployment gets `percent`: the other deployments keep their proportions in the rest
 * (largest remainder, so whole percents still sum to 100). Applying it twice gives the same split, so a repeated
 * step changes nothing. When no other deployment takes traffic the new one gets all of it (a split must sum to
 * 100 or 0), unless `percent` is 0.
 */
export function canaryTraffic(
  current: Record<string, number>,
  name: string,
  percent: number,
): Record<string, number> {
  const key = name.toLowerCase();
  const others = Object.entries(current).filter(([n]) => n.toLowerCase() !== key);
  const sum = others.reduce((a, [, v]) => a + v, 0);
  if (sum === 0) return { ...Object.fromEntries(others), [key]: percent === 0 ? 0 : 100 };
  const rest = 100 - percent;
  const shares = others.map(([n, v]) => {
    const exact = (v * rest) / sum;
    return { n, floor: Math.floor(exact), frac: exact - Math.floor(exact) };
  });
  let left = rest - shares.reduce((a, s) => a + s.floor, 0);
  const order = [...shares].sort((a, b) => b.frac - a.frac || a.n.localeCompare(b.n));
  for (const s of order) {
    if (left <= 0) break;
    s.floor++;
    left--;
  }
  return { ...Object.fromEntries(shares.map((s) => [s.n, s.floor])), [key]: percent };
}

export function sameTraffic(a: Record<string, number>, b: Record<string, number>): boolean {
  const norm = (t: Record<string, number>) =>
    Object.entries(t)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k.toLowerCase()}=${v}`)
      .sort()
      .join(',');
  return norm(a) === norm(b);
}
