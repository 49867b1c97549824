/**
 * The MLTable file (YAML) subset mlgrid reads for `mltable` data assets; pure parsing, resolution of the paths
 * against the file system is the adapter's (`data/files.ts`).
 */
import { parse as parseYaml } from 'yaml';
import type { TabularFormat } from './data-asset.js';
import { invalid } from './errors.js';
import { isObject } from './validate.js';

export type MlTablePath = { kind: 'file' | 'folder' | 'pattern'; value: string };

export interface MlTableSpec {
  paths: MlTablePath[];
  /** From `read_delimited` / `read_parquet`; without one, each file's format comes from its extension. */
  format?: TabularFormat;
  delimiter: string;
  /** false for `header: no_header` (columns are then Column1, Column2, … as Azure names them). */
  header: boolean;
}

const HEADER_MODES = [
  'all_files_same_headers',
  'all_files_different_headers',
  'from_first_file',
  'no_header',
] as const;
const DELIMITED_OPTIONS = new Set(['delimiter', 'header', 'encoding', 'support_multi_line']);

/**
 * The MLTable subset mlgrid reads: `paths` entries with one of `file`, `folder` or `pattern` (local, relative to
 * the MLTable's folder or absolute; a glob with `*`, `**`, `?`), and at most one transformation, `read_delimited`
 * (`delimiter`, `header`, `encoding: utf8`) or `read_parquet`. Anything else is refused by name, since silently
 * skipping a transformation would read other data than Azure does. `target` is the field errors name.
 */
export function parseMlTable(text: string, target: string): MlTableSpec {
  const fail = (msg: string) => invalid(target, `MLTable file: ${msg}`);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw fail(`not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isObject(doc)) throw fail('must be a YAML mapping with a paths: list');
  if (!Array.isArray(doc.paths) || doc.paths.length === 0) throw fail('paths: must be a non-empty list');
  const paths = doc.paths.map((entry, i): MlTablePath => {
    const keys = isObject(entry) ? Object.keys(entry) : [];
    const kind = keys.find(
      (k): k is MlTablePath['kind'] => k === 'file' || k === 'folder' || k === 'pattern',
    );
    if (!isObject(entry) || keys.length !== 1 || kind === undefined || typeof entry[kind] !== 'string') {
      throw fail(`paths[${i}] must have exactly one of file:, folder: or pattern: with a string value`);
    }
    const value = (entry[kind] as string).trim();
    const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(value)?.[1]?.toLowerCase();
    if (value === '' || (scheme !== undefined && scheme !== 'file')) {
      throw fail(
        `paths[${i}].${kind} must be a local path (relative, absolute or file://), not ${value || 'empty'}`,
      );
    }
    return { kind, value };
  });
  const spec: MlTableSpec = { paths, delimiter: ',', header: true };
  const transformations = doc.transformations ?? [];
  if (!Array.isArray(transformations)) throw fail('transformations: must be a list');
  transformations.forEach((t, i) => {
    const [name, opts] =
      typeof t === 'string'
        ? [t, {}]
        : isObject(t) && Object.keys(t).length === 1
          ? Object.entries(t)[0]!
          : [];
    if (name !== 'read_delimited' && name !== 'read_parquet') {
      throw fail(
        `transformations[${i}] ${typeof name === 'string' ? `'${name}' ` : ''}is not supported ` +
          '(mlgrid reads read_delimited and read_parquet only)',
      );
    }
    if (spec.format !== undefined)
      throw fail('only one read_delimited or read_parquet transformation is allowed');
    const o = opts === null || opts === undefined ? {} : opts;
    if (!isObject(o)) throw fail(`transformations[${i}].${name} options must be a mapping`);
    if (name === 'read_parquet') {
      if (Object.keys(o).length > 0)
        throw fail(`transformations[${i}].read_parquet takes no options in mlgrid`);
      spec.format = 'parquet';
      return;
    }
    spec.format = 'csv';
    for (const k of Object.keys(o)) {
      if (!DELIMITED_OPTIONS.has(k)) throw fail(`read_delimited option '${k}' is not supported`);
    }
    if (o.delimiter !== undefined) {
      if (typeof o.delimiter !== 'string' || [...o.delimiter].length !== 1) {
        throw fail('read_delimited delimiter must be one character');
      }
      spec.delimiter = o.delimiter;
    }
    if (o.header !== undefined) {
      if (!HEADER_MODES.includes(o.header as (typeof HEADER_MODES)[number])) {
        throw fail(`read_delimited header must be one of ${HEADER_MODES.join(', ')}`);
      }
      spec.header = o.header !== 'no_header';
    }
    if (o.encoding !== undefined && String(o.encoding).toLowerCase().replace('-', '') !== 'utf8') {
      throw fail('read_delimited encoding must be utf8');
    }
  });
  return spec;
}
