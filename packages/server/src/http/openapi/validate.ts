/**
 * Request-body validation against the catalogue's schemas (ajv, compiled once at start): the schema published in
 * `/openapi.json` is the one that rejects the request. The first error becomes the standard 400 with `target` as
 * a JSON path (`properties.filter.advancedFilters[2].values`). The core parsers still run afterwards for the
 * semantic rules.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { invalid, MlgridError, type ErrorCode } from '../../core/errors.js';
import type { PublishContentKind } from '../../core/publish.js';
import { findArmOperation, OPERATIONS, SCHEMAS } from './catalogue.js';
import { MESSAGE, type Schema } from './kit.js';

const BASE = 'mlgrid:openapi';

function compiler(): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    strictTypes: false,
    allowUnionTypes: true,
    // `format` is documentation: the parsers accept more date-time spellings than RFC 3339.
    validateFormats: false,
    verbose: true,
  });
  ajv.addKeyword('components');
  ajv.addKeyword(MESSAGE);
  ajv.addKeyword('x-ms-skip-url-encoding');
  ajv.addSchema({ $id: BASE, components: { schemas: SCHEMAS } });
  return ajv;
}

const ajv = compiler();
const validators = new Map<string, ValidateFunction>();

/** The validator of a component schema; every one the catalogue names is compiled at module load. */
export function validatorFor(name: string): ValidateFunction {
  let v = validators.get(name);
  if (!v) {
    if (!SCHEMAS[name]) throw new Error(`no schema named ${name}`);
    v = ajv.compile({ $ref: `${BASE}#/components/schemas/${name}` });
    validators.set(name, v);
  }
  return v;
}
for (const op of OPERATIONS) if (op.body) validatorFor(op.body.schema);
for (const name of ['CloudEvent', 'CloudEventBatch', 'CustomEvents']) validatorFor(name);

/** A 400 for the first schema error, or undefined when `body` is valid. `root` names the body itself. */
export function schemaError(
  name: string,
  body: unknown,
  opts: { root?: string; code?: ErrorCode } = {},
): MlgridError | undefined {
  const v = validatorFor(name);
  if (v(body)) return undefined;
  const { path, message } = describe(v.errors ?? []);
  return invalid(jsonPath(path, opts.root ?? 'body'), message, opts.code);
}

const byOperationId = new Map(OPERATIONS.map((op) => [op.operationId, op]));

/** Routes outside the ARM catch-all (access control, job reports): the named operation's body schema. */
export function validateOperationBody(operationId: string, body: unknown): void {
  const op = byOperationId.get(operationId);
  if (!op?.body) throw new Error(`no operation ${operationId} with a body in the catalogue`);
  if (body === undefined && !op.body.required) return;
  const err = schemaError(op.body.schema, body);
  if (err) throw err;
}

/** ARM catch-all: validate the body of `kind[:action] METHOD` if the catalogue gives it a schema. */
export function validateArmBody(t: { kind: string; action?: string }, method: string, body: unknown): void {
  const op = findArmOperation(t.kind, t.action, method);
  if (!op?.body || op.validated === false) return;
  if (body === undefined && !op.body.required) return;
  const err = schemaError(op.body.schema, body);
  if (err) throw err;
}

/**
 * Publish: the schema follows the topic's input schema and the Content-Type. A Content-Type the topic cannot
 * take is left to the publish parser (415).
 */
export function validatePublishBody(inputSchema: string, kind: PublishContentKind, body: unknown): void {
  const ce = inputSchema === 'CloudEventSchemaV1_0';
  if (!ce && kind !== 'json') return;
  const name =
    kind === 'cloudevents'
      ? 'CloudEvent'
      : ce
        ? 'CloudEventBatch'
        : inputSchema === 'CustomInputSchema'
          ? 'CustomEvents'
          : 'EventGridEvents';
  const v = validatorFor(name);
  if (v(body)) return;
  const errors = v.errors ?? [];
  const { path, message } = describe(errors);
  // The parser numbers a single CloudEvent as event [0], as in a batch.
  const target =
    kind === 'cloudevents' && path !== '' ? jsonPath(`/0${path}`, 'body') : jsonPath(path, 'body');
  if (errors[0]?.keyword === 'maxItems' && errors[0].instancePath === '') {
    throw new MlgridError('TooManyEvents', `body: ${message}`, target);
  }
  throw invalid(target, message, 'InvalidEvent');
}

// ---------------------------------------------------------------- error rendering

/** The error to report: the outermost one for combinators that carry their own message, else the first. */
function describe(errors: ErrorObject[]): { path: string; message: string } {
  const first = errors[0];
  const last = errors[errors.length - 1];
  if (!first || !last) return { path: '', message: 'is invalid' };
  const own = (e: ErrorObject) => (e.parentSchema as Schema | undefined)?.[MESSAGE] as string | undefined;
  if (last.keyword === 'propertyNames') {
    const name = String(last.params.propertyName);
    return { path: `${last.instancePath}/${escape(name)}`, message: own(last) ?? own(first) ?? text(first) };
  }
  if ((last.keyword === 'anyOf' || last.keyword === 'oneOf') && own(last)) {
    return { path: last.instancePath, message: own(last)! };
  }
  if (first.keyword === 'required') {
    return {
      path: `${first.instancePath}/${escape(String(first.params.missingProperty))}`,
      message: 'is required',
    };
  }
  if (first.keyword === 'additionalProperties') {
    const name = String(first.params.additionalProperty);
    return { path: `${first.instancePath}/${escape(name)}`, message: 'is not a known property' };
  }
  return { path: first.instancePath, message: text(first) };
}

const TYPE_TEXT: Record<string, string> = {
  object: 'must be a JSON object',
  array: 'must be an array',
  string: 'must be a string',
  boolean: 'must be true or false',
  integer: 'must be an integer',
  number: 'must be a number',
  null: 'must be null',
};

function text(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Schema;
  switch (e.keyword) {
    case 'type': {
      const types = String(p.type)
        .split(',')
        .filter((t) => t !== 'null');
      return types.length === 1 ? TYPE_TEXT[types[0]!]! : `must be one of the types ${types.join(', ')}`;
    }
    case 'pattern':
      return (parent[MESSAGE] as string | undefined) ?? `must match ${String(p.pattern)}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} characters`;
    case 'maxLength':
      return `must have at most ${p.limit} characters`;
    case 'minimum':
    case 'maximum':
      return parent.minimum !== undefined && parent.maximum !== undefined
        ? `must be between ${parent.minimum} and ${parent.maximum}`
        : `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${p.limit}`;
    case 'minItems':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} entries`;
    case 'maxItems':
    case 'maxProperties':
      return `must have at most ${p.limit} entries`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    default:
      return e.message ?? 'is invalid';
  }
}

function escape(seg: string): string {
  return seg.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** JSON Pointer → the parsers' path spelling: `/properties/values/2/x` → `properties.values[2].x`. */
export function jsonPath(pointer: string, root: string): string {
  if (pointer === '') return root;
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}
