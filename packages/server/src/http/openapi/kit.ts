/**
 * Builders for the JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) that both document and validate request
 * bodies. They mirror the core parsers' leniency: optional fields also take `null` (the parsers read it as
 * absent), unknown fields are allowed, and enums are case-insensitive (`oneOf` in core/validate.ts).
 */
export type Schema = { [key: string]: unknown };

/** `x-message`: the 400 message when this schema's `pattern` (or `anyOf`, `propertyNames`) fails. */
export const MESSAGE = 'x-message';

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** Adds `null` to a schema's type (a `$ref` is wrapped). */
export function nullable(s: Schema): Schema {
  if (s.$ref !== undefined) return { anyOf: [s, { type: 'null' }] };
  const t = s.type;
  if (t === undefined) return s;
  const types = Array.isArray(t) ? t : [t];
  return types.includes('null') ? s : { ...s, type: [...types, 'null'] };
}

interface Common {
  description?: string;
}

export function str(
  o: Common & {
    min?: number;
    max?: number;
    pattern?: RegExp | string;
    message?: string;
    format?: string;
  } = {},
): Schema {
  const pattern = o.pattern instanceof RegExp ? o.pattern.source : o.pattern;
  return clean({
    type: 'string',
    minLength: o.min,
    maxLength: o.max,
    pattern,
    [MESSAGE]: pattern !== undefined ? o.message : undefined,
    format: o.format,
    description: o.description,
  });
}

/** A string with something other than whitespace in it (the parsers' `required`). */
export const nonBlank = (description?: string): Schema =>
  str({ pattern: '\\S', message: 'must not be empty', description });

export function int(min: number, max: number, description?: string): Schema {
  return clean({ type: 'integer', minimum: min, maximum: max, description });
}

export const bool = (description?: string): Schema => clean({ type: 'boolean', description });

export function obj(
  properties: Record<string, Schema>,
  o: Common & { required?: string[]; closed?: boolean; nullable?: boolean } = {},
): Schema {
  return clean({
    type: o.nullable ? ['object', 'null'] : 'object',
    description: o.description,
    required: o.required?.length ? o.required : undefined,
    properties,
    // Unknown fields pass unless the parser refuses them: ARM ignores them and the SDKs send some.
    additionalProperties: o.closed ? false : undefined,
  });
}

export function arr(items: Schema, o: Common & { min?: number; max?: number } = {}): Schema {
  return clean({ type: 'array', items, minItems: o.min, maxItems: o.max, description: o.description });
}

/** A JSON object used as a dictionary. */
export function map(values: Schema, o: Common & { max?: number; keys?: Schema } = {}): Schema {
  return clean({
    type: 'object',
    description: o.description,
    maxProperties: o.max,
    propertyNames: o.keys,
    additionalProperties: values,
  });
}

/** Case-insensitive enum (Azure's rule): a pattern that documents the values as `examples`. */
export function ciEnum(values: readonly string[], description?: string, o: { trim?: boolean } = {}): Schema {
  const alt = values.map((v) =>
    [...v]
      .map((c) => {
        const lo = c.toLowerCase();
        const up = c.toUpperCase();
        if (lo !== up) return `[${up}${lo}]`;
        return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
      })
      .join(''),
  );
  const shown = values.filter((v) => v !== '');
  return clean({
    type: 'string',
    pattern: o.trim ? `^\\s*(?:${alt.join('|')})\\s*$` : `^(?:${alt.join('|')})$`,
    [MESSAGE]: `must be one of ${shown.join(', ')}`,
    examples: [...shown],
    description: `${description ? `${description} ` : ''}One of ${shown.join(', ')} (any case).`,
  });
}

export const any = (description?: string): Schema => clean({ description });

function clean(s: Schema): Schema {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined));
}

/** An optional (nullable) string, as the parsers' `optString` reads it. */
export function optStr(description?: string): Schema {
  return nullable(str({ description }));
}
