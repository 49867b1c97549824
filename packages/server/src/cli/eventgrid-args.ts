/**
 * Pure parsers for az-style `eventgrid` flag values: each turns one flag's text into its wire shape or throws a
 * usage error naming the flag. No I/O, so every rule is unit-testable.
 */
import {
  ADVANCED_FILTER_OPERATORS,
  DELIVERY_SCHEMAS,
  ENDPOINT_TYPES,
  NULL_OPERATORS,
  NUMBER_LIST_OPERATORS,
  NUMBER_RANGE_OPERATORS,
  NUMBER_SINGLE_OPERATORS,
} from '@mlgrid/protocol';
import type {
  AdvancedFilter,
  DeadLetterDestination,
  DeliveryAttributeMapping,
  DeliverySchema,
  EndpointType,
  InputSchema,
  JsonInputSchemaMapping,
} from '@mlgrid/protocol';
import { invalid, type MlgridError } from '../core/errors.js';
import { normalizeResourceId } from '../core/event-subscription.js';

// The server's normalization, so the CLI sends exactly the scope the server will store.
export { normalizeResourceId };

/** A CLI usage error: the message starts with the flag at fault, e.g. `--event-ttl: must be ...`. */
export function usage(flag: string, message: string): MlgridError {
  return invalid(flag, message, 'InvalidArgument');
}

function oneOf<T extends string>(list: readonly T[], v: string): v is T {
  return (list as readonly string[]).includes(v);
}

// Strict decimal syntax: Number() would also take '', '0x10' and 'Infinity', none of which is a JSON number.
const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseNumber(flag: string, text: string, context = ''): number {
  const n = NUMBER_RE.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n)) throw usage(flag, `'${text}' is not a number${context}`);
  return n;
}

export function parseIntFlag(flag: string, text: string, min: number, max: number): number {
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usage(flag, `'${text}' is not an integer between ${min} and ${max}`);
  }
  return n;
}

export function parseBool(flag: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw usage(flag, `'${text}' is not true or false`);
}

/** az `tags` syntax: `key[=value] ...`; a lone `""` clears (gives `{}`). Used by --tags and input mappings. */
export function parseKeyValues(
  flag: string,
  items: readonly string[],
  requireValue = false,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === '' || (requireValue && eq < 0)) throw usage(flag, `'${item}' is not in key=value form`);
    out[key] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return out;
}

/** Case-insensitive enum lookup returning Azure's spelling; `aliases` maps extra lower-case spellings. */
function canonical<T extends string>(
  flag: string,
  text: string,
  allowed: readonly T[],
  aliases: Record<string, T> = {},
): T {
  const t = text.trim().toLowerCase();
  const hit = allowed.find((a) => a.toLowerCase() === t) ?? aliases[t];
  if (hit === undefined) {
    const shown = [...allowed.map((a) => a.toLowerCase()), ...Object.keys(aliases)];
    throw usage(flag, `'${text}' is not one of ${[...new Set(shown)].join(', ')}`);
  }
  return hit;
}

// ---------------------------------------------------------------- repeatable multi-value flags

/**
 * Marks where an occurrence of a repeatable multi-value flag starts. Process arguments are C strings and
 * cannot contain NUL, so the mark can never collide with something the user typed.
 */
export const OCCURRENCE_MARK = '\u0000';

/**
 * Commander merges every occurrence of a variadic option into one flat list, but `--advanced-filter K OP V...`
 * must stay grouped per occurrence. So each occurrence `FLAG v1 v2` is rewritten to
 * `--long=MARK --long=v1 --long=v2` before commander parses: the mark starts a group in
 * {@link collectOccurrence}, and the `=` form makes commander take each value verbatim, so values commander
 * would read as options (a negative range `-10,-1`, a `-prefix`) survive. An occurrence ends at `--`, or at a
 * token `isOption` recognises (callers pass: any `--long` token or one of the command's short flags).
 *
 * @param grouped flag token (long or short alias) → the option's long flag
 * @param takesValue whether a token is another option whose next token is its value (passed through as is)
 */
export function markOccurrences(
  args: readonly string[],
  grouped: Readonly<Record<string, string>>,
  isOption: (token: string) => boolean,
  takesValue: (token: string) => boolean = () => false,
): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < args.length) {
    const arg = args[i++] ?? '';
    if (arg === '--') {
      out.push(arg, ...args.slice(i));
      break;
    }
    if (takesValue(arg) && i < args.length) {
      // e.g. `--subject-begins-with -draft`: commander gives `-draft` to that option, so must we.
      out.push(arg, args[i++] ?? '');
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    let long = grouped[eq > 0 ? arg.slice(0, eq) : arg];
    let first = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (long === undefined) {
      // A short alias with its first value glued on, e.g. `-dX-Token`.
      const short = Object.keys(grouped).find(
        (f) => /^-[^-]$/.test(f) && arg.length > 2 && arg.startsWith(f),
      );
      if (short !== undefined) [long, first] = [grouped[short], arg.slice(2)];
    }
    if (long === undefined) {
      out.push(arg);
      continue;
    }
    out.push(`${long}=${OCCURRENCE_MARK}`);
    if (first !== undefined) out.push(`${long}=${first}`);
    for (let next = args[i]; next !== undefined && next !== '--' && !isOption(next); next = args[++i]) {
      out.push(`${long}=${next}`);
    }
  }
  return out;
}

/** Commander argParser for a marked variadic option: builds one string[] per occurrence. */
export function collectOccurrence(value: string, previous: string[][] | undefined): string[][] {
  const groups = previous ?? [];
  if (value === OCCURRENCE_MARK) return [...groups, []];
  const last = groups.at(-1);
  if (last) last.push(value);
  else groups.push([value]); // unmarked input (the argv was not pre-split): treat it as a single occurrence
  return groups;
}

// ---------------------------------------------------------------- advanced filters (spec §3.5)

const OPERATOR_LIST = ADVANCED_FILTER_OPERATORS.join(', ');

/** One `--advanced-filter KEY OPERATOR [VALUE ...]` occurrence → the wire filter. */
export function parseAdvancedFilter(args: readonly string[], flag = '--advanced-filter'): AdvancedFilter {
  const [key, rawOp, ...values] = args;
  if (key === undefined || key === '' || rawOp === undefined) {
    throw usage(
      flag,
      'expects KEY OPERATOR [VALUE ...], e.g. --advanced-filter data.runType StringIn automl',
    );
  }
  const op = ADVANCED_FILTER_OPERATORS.find((o) => o.toLowerCase() === rawOp.toLowerCase());
  if (op === undefined)
    throw usage(flag, `unknown operator '${rawOp}' for key '${key}'; use one of ${OPERATOR_LIST}`);
  const ctx = ` (${key} ${op})`;
  const num = (v: string): number => parseNumber(flag, v, ctx);

  if (oneOf(NULL_OPERATORS, op)) {
    if (values.length > 0) throw usage(flag, `${op} takes no values but got ${values.length}${ctx}`);
    return { operatorType: op, key };
  }
  if (oneOf(NUMBER_SINGLE_OPERATORS, op) || op === 'BoolEquals') {
    const [only] = values;
    if (only === undefined || values.length !== 1) {
      throw usage(flag, `${op} takes exactly one value but got ${values.length}${ctx}`);
    }
    // az evaluates Python bool(text), so `BoolEquals false` would mean true; we read true/false literally.
    if (op === 'BoolEquals') return { operatorType: op, key, value: parseBool(flag, only) };
    return { operatorType: op, key, value: num(only) };
  }
  if (values.length === 0) throw usage(flag, `${op} needs at least one value${ctx}`);
  if (oneOf(NUMBER_LIST_OPERATORS, op)) return { operatorType: op, key, values: values.map(num) };
  if (oneOf(NUMBER_RANGE_OPERATORS, op)) {
    const ranges = values.map((v) => {
      const parts = v.split(',');
      if (parts.length !== 2) throw usage(flag, `range '${v}' is not in low,high form${ctx}`);
      return parts.map(num);
    });
    return { operatorType: op, key, values: ranges };
  }
  return { operatorType: op, key, values };
}

// ---------------------------------------------------------------- destinations (spec §4.6, §4.7, §7.2)

/** `--delivery-attribute-mapping NAME static VALUE [ISSECRET]` or `NAME dynamic SOURCEFIELD`. */
export function parseDeliveryAttributeMapping(
  args: readonly string[],
  flag = '--delivery-attribute-mapping',
): DeliveryAttributeMapping {
  const [name, type, ...rest] = args;
  const shape = 'NAME static VALUE [ISSECRET] or NAME dynamic SOURCEFIELD';
  if (name === undefined || name === '' || type === undefined) throw usage(flag, `expects ${shape}`);
  const [first, second] = rest;
  switch (type.toLowerCase()) {
    case 'static':
      if (first === undefined || rest.length > 2)
        throw usage(flag, `static mapping '${name}' expects VALUE [ISSECRET]`);
      // az applies Python bool() here too (any text is true); read true/false literally instead.
      return {
        name,
        type: 'Static',
        properties: { value: first, isSecret: second === undefined ? false : parseBool(flag, second) },
      };
    case 'dynamic':
      if (first === undefined || rest.length !== 1) {
        throw usage(flag, `dynamic mapping '${name}' expects exactly one SOURCEFIELD`);
      }
      return { name, type: 'Dynamic', properties: { sourceField: first } };
    default:
      throw usage(flag, `type must be static or dynamic, got '${type}' (expects ${shape})`);
  }
}

/** Azure's StorageBlob, or mlgrid's LocalDirectory extension (`file://...`). */

/** Splits `<id>/<marker>/<name>` the way az does (case-insensitive marker, exactly one occurrence). */
function splitChildId(flag: string, raw: string, marker: string, example: string): [string, string] {
  const id = normalizeResourceId(raw);
  const parts = id.split(new RegExp(marker, 'i'));
  const [parent, child] = parts;
  if (parts.length !== 2 || !parent || !child || child.includes('/')) {
    throw usage(flag, `expected ${example}, got '${raw}'`);
  }
  return [parent, child];
}

/** Blob container id → StorageBlob; `file://` URL → LocalDirectory. */
export function parseDeadLetterEndpoint(raw: string, flag = '--deadletter-endpoint'): DeadLetterDestination {
  if (/^file:/i.test(raw.trim())) return { endpointType: 'LocalDirectory', properties: { path: raw.trim() } };
  const [resourceId, blobContainerName] = splitChildId(
    flag,
    raw,
    '/blobServices/default/containers/',
    '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}' +
      '/blobServices/default/containers/{container} or a file:// URL',
  );
  return { endpointType: 'StorageBlob', properties: { resourceId, blobContainerName } };
}

/** az's storage queue endpoint: `<storage account id>/queueServices/default/queues/<queue>`. */
export function parseStorageQueueEndpoint(
  raw: string,
  flag = '--endpoint',
): { resourceId: string; queueName: string } {
  const [resourceId, queueName] = splitChildId(
    flag,
    raw,
    '/queueServices/default/queues/',
    '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}' +
      '/queueServices/default/queues/{queue}',
  );
  return { resourceId, queueName };
}

export function parseEndpointType(text: string, flag = '--endpoint-type'): EndpointType {
  return canonical(flag, text, ENDPOINT_TYPES);
}

export function parseDeliverySchema(text: string, flag = '--event-delivery-schema'): DeliverySchema {
  return canonical(flag, text, DELIVERY_SCHEMAS);
}

/** az spells the custom topic schema `customeventschema`; mlgrid's wire name is CustomInputSchema. */
export function parseInputSchema(text: string, flag = '--input-schema'): InputSchema {
  return canonical(flag, text, ['EventGridSchema', 'CloudEventSchemaV1_0'] as const, {
    customeventschema: 'CustomInputSchema',
    custominputschema: 'CustomInputSchema',
  });
}

const DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** `--expiration-date 2030-11-30` or `2030-11-30T11:59:59+00:00` → UTC ISO string. */
export function parseExpirationDate(text: string, flag = '--expiration-date'): string {
  const m = DATE_RE.exec(text.trim());
  const bad = () =>
    usage(flag, `'${text}' is not an ISO 8601 date or date-time (e.g. 2030-11-30T11:59:59+00:00)`);
  if (!m) throw bad();
  const [, y = '', mo = '', d = '', h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  // Date.parse silently rolls 02-30 over to 03-02, so check the calendar fields first.
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > daysInMonth) throw bad();
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw bad();
  // az documents the value as UTC, so a date-time without an offset is UTC rather than local time.
  const offset = /^[+-]\d{4}$/.test(zone) ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone.toUpperCase();
  return new Date(Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac}${offset}`)).toISOString();
}

// ---------------------------------------------------------------- topics

type MappingTarget = keyof JsonInputSchemaMapping['properties'];
const MAPPING_TARGETS: Record<string, MappingTarget> = {
  id: 'id',
  topic: 'topic',
  eventtime: 'eventTime',
  subject: 'subject',
  eventtype: 'eventType',
  dataversion: 'dataVersion',
};
const DEFAULTABLE_TARGETS = new Set<MappingTarget>(['subject', 'eventType', 'dataVersion']);

/** az `_get_input_schema_and_mapping`: which schema takes which mapping flags, then the Json mapping. */
export function buildInputSchemaMapping(
  schema: InputSchema,
  fields: readonly string[] | undefined,
  defaults: readonly string[] | undefined,
): JsonInputSchemaMapping | undefined {
  if (schema === 'EventGridSchema' && (fields || defaults)) {
    throw usage(
      '--input-mapping-fields',
      'and --input-mapping-default-values need a custom or CloudEvents schema',
    );
  }
  if (schema === 'CloudEventSchemaV1_0' && defaults) {
    throw usage('--input-mapping-default-values', 'is only valid with --input-schema customeventschema');
  }
  if (schema === 'CustomInputSchema' && !fields && !defaults) {
    throw usage(
      '--input-schema',
      'customeventschema needs --input-mapping-fields or --input-mapping-default-values',
    );
  }
  if (!fields && !defaults) return undefined;
  const properties: JsonInputSchemaMapping['properties'] = {};
  const apply = (flag: string, items: readonly string[], what: 'sourceField' | 'defaultValue') => {
    for (const [k, v] of Object.entries(parseKeyValues(flag, items, true))) {
      const target = MAPPING_TARGETS[k.toLowerCase()];
      const allowed =
        what === 'sourceField' ? Object.keys(MAPPING_TARGETS) : ['subject', 'eventtype', 'dataversion'];
      if (!target || (what === 'defaultValue' && !DEFAULTABLE_TARGETS.has(target))) {
        throw usage(flag, `unknown field '${k}'; use ${allowed.join(', ')}`);
      }
      properties[target] = { ...properties[target], [what]: v };
    }
  };
  apply('--input-mapping-fields', fields ?? [], 'sourceField');
  apply('--input-mapping-default-values', defaults ?? [], 'defaultValue');
  return { inputSchemaMappingType: 'Json', properties };
}

export interface TopicCreateFlags {
  location?: string;
  tags?: string[];
  inputSchema?: string;
  inputMappingFields?: string[];
  inputMappingDefaultValues?: string[];
}

export interface TopicCreateBody {
  location: string;
  tags?: Record<string, string>;
  properties: { inputSchema: InputSchema; inputSchemaMapping?: JsonInputSchemaMapping };
}

export function buildTopicCreate(f: TopicCreateFlags): TopicCreateBody {
  const inputSchema = parseInputSchema(f.inputSchema ?? 'eventgridschema');
  const inputSchemaMapping = buildInputSchemaMapping(
    inputSchema,
    f.inputMappingFields,
    f.inputMappingDefaultValues,
  );
  return {
    location: f.location ?? 'local',
    ...(f.tags && { tags: parseKeyValues('--tags', f.tags) }),
    properties: { inputSchema, ...(inputSchemaMapping && { inputSchemaMapping }) },
  };
}

export function buildTopicUpdate(f: { tags?: string[] }): { tags: Record<string, string> } {
  if (!f.tags)
    throw usage('--tags', 'nothing to update: pass --tags key[=value] ... (or --tags "" to clear)');
  return { tags: parseKeyValues('--tags', f.tags) };
}

export function parseKeyName(text: string, flag = '--key-name'): 'key1' | 'key2' {
  return canonical(flag, text, ['key1', 'key2'] as const);
}
