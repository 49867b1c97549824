/**
 * Automation templates (docs/automations.md#templates): `{{path}}` placeholders filled from a run's scope
 * (`eventType`, `subject`, `data.x.y`, `steps.<name>.<field>`, `link`, `runId`, `events.length`, …). Pure.
 * Missing values render as ''; objects and arrays as JSON; the HTML variant escapes what it inserts (never the
 * template's own text). A JSON value whose whole text is one placeholder takes the value itself, typed. Azure ML's
 * `${{…}}` expressions are not placeholders.
 */
import { invalid } from './errors.js';

/** `{{path}}`, but not Azure ML's own `${{inputs.x}}` (job commands), which is left as it is. */
const PLACEHOLDER = /(?<!\$)\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const PATH = /^[A-Za-z_$][\w$-]*(?:\.[\w$-]+)*$/;

/** The names a template may start with; `steps` and `data` take a path below them. */
export const TEMPLATE_ROOTS = [
  'id',
  'eventType',
  'subject',
  'topic',
  'eventTime',
  'dataVersion',
  'data',
  'event',
  'events',
  'steps',
  'link',
  'runId',
  'automation',
  'workspace',
  'lineage',
  'baseUrl',
] as const;
const ROOTS: ReadonlySet<string> = new Set(TEMPLATE_ROOTS);

export type TemplateScope = Record<string, unknown>;

/**
 * Checks a template's placeholders at create time: known roots, well-formed paths, and `steps.<name>` only for
 * steps that run before (`earlierSteps`). Throws `invalid(path, …)`; returns the template.
 */
export function checkTemplate(template: string, path: string, earlierSteps?: ReadonlySet<string>): string {
  const opens = template.split('{{').length - 1;
  const closes = template.split('}}').length - 1;
  if (opens !== closes) throw invalid(path, "has an unbalanced '{{' or '}}'");
  for (const m of template.matchAll(PLACEHOLDER)) checkPath(m[1]!, path, earlierSteps);
  return template;
}

/** `checkTemplate` over every string inside a JSON value (a body or `data` template). */
export function checkValueTemplates(value: unknown, path: string, earlierSteps?: ReadonlySet<string>): void {
  if (typeof value === 'string') checkTemplate(value, path, earlierSteps);
  else if (Array.isArray(value))
    value.forEach((v, i) => checkValueTemplates(v, `${path}[${i}]`, earlierSteps));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) checkValueTemplates(v, `${path}.${k}`, earlierSteps);
  }
}

function checkPath(expr: string, path: string, earlierSteps?: ReadonlySet<string>): void {
  if (!PATH.test(expr)) throw invalid(path, `'{{${expr}}}' is not a path such as data.runId`);
  const [root, second] = expr.split('.');
  if (!ROOTS.has(root!)) {
    throw invalid(path, `'{{${expr}}}': unknown name '${root}'; use one of ${TEMPLATE_ROOTS.join(', ')}`);
  }
  if (root === 'steps') {
    if (second === undefined) throw invalid(path, `'{{${expr}}}' must name a step: steps.<name>.<field>`);
    if (earlierSteps && !earlierSteps.has(second)) {
      throw invalid(path, `'{{${expr}}}': no earlier step is named '${second}'`);
    }
  }
}

/** The value at a dotted path (`data.items.0.name`), or undefined. */
export function lookup(scope: TemplateScope, expr: string): unknown {
  let cur: unknown = scope;
  for (const seg of expr.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      if (seg === 'length') cur = cur.length;
      else cur = /^\d+$/.test(seg) ? cur[Number(seg)] : undefined;
    } else if (typeof cur === 'object') {
      cur = Object.prototype.hasOwnProperty.call(cur, seg)
        ? (cur as Record<string, unknown>)[seg]
        : undefined;
    } else return undefined;
  }
  return cur;
}

/** A value as text: strings as they are, objects and arrays as JSON, nothing as ''. */
export function toText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML[c]!);
}

export function renderTemplate(
  template: string,
  scope: TemplateScope,
  opts: { html?: boolean } = {},
): string {
  return template.replace(PLACEHOLDER, (_, expr: string) => {
    const text = toText(lookup(scope, expr));
    return opts.html ? escapeHtml(text) : text;
  });
}

/**
 * Renders every string in a JSON value. A string that is exactly one placeholder becomes the value it names
 * (a number stays a number, an object an object; a missing one null), so JSON bodies keep their types.
 */
export function renderValue(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const v = lookup(scope, whole[1]!);
      return v === undefined ? null : structuredClone(v);
    }
    return renderTemplate(value, scope);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, scope)]));
  }
  return value;
}
