/**
 * Data assets of a workspace (`…/workspaces/{ws}/data/{name}[/versions/{version}]`, api-version 2022-10-01): PUT
 * validation and the JSON `@azure/arm-machinelearning` deserializes into `DataContainer` / `DataVersionBase`
 * (polymorphic on `properties.dataType`), plus the MLTable file subset mlgrid reads. Data is local only:
 * `dataUri` is a `file://` URI (absolute paths are normalised to one). Whether the data exists, and what it holds,
 * is for the adapter (`data/tabular.ts`): this module does no I/O.
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import { stringMap } from './arm-fields.js';
import { posix } from 'node:path';
import { invalid } from './errors.js';
import { nextVersion, validateModelName, validateModelVersion } from './model.js';
import { array, isObject, object, oneOf, optBoolean, optString, string, type Json } from './validate.js';

/** Azure's `DataType` values (azure-ai-ml `AssetTypes.URI_FILE` …). */
export const DATA_TYPES = ['uri_file', 'uri_folder', 'mltable'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** The tabular files mlgrid reads, by extension (a `uri_file` must be one of them). */
export const TABULAR_EXTENSIONS = { '.csv': 'csv', '.tsv': 'csv', '.parquet': 'parquet' } as const;
export type TabularFormat = 'csv' | 'parquet';

/** Column types the reader infers: CSV by its values, Parquet by its schema; nested Parquet types are `other`. */
export type ColumnType = 'integer' | 'number' | 'boolean' | 'timestamp' | 'string' | 'other';

/** mlgrid's read-only record of what a version held when it was registered (`properties.mlgridSummary`). */
export interface DataSummary {
  fileCount: number;
  rowCount: number;
  sizeBytes: number;
  columns: { name: string; type: ColumnType }[];
}

export interface DataContainerSpec {
  dataType: DataType;
  description?: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  isArchived: boolean;
}

export interface DataVersionSpec {
  dataType: DataType;
  /** `file:///…`, normalised. */
  dataUri: string;
  description?: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  isAnonymous: boolean;
  isArchived: boolean;
  /** mltable only: the URIs the MLTable file refers to (given, or filled in at registration). */
  referencedUris?: string[];
}

/** What the service stores for a version: the spec and the summary taken at registration. */
export interface DataVersionDoc extends DataVersionSpec {
  summary: DataSummary;
}

/** Same rules as model names and versions (the REST spec's pattern for asset names). */
export const validateDataName = validateModelName;
export const validateDataVersion = validateModelVersion;

/** PUT (`DataContainer`): `properties.dataType` is required (the SDK's mapper marks it so). */
export function parseDataContainerPut(
  body: unknown,
  ctx: { name: string; current?: DataContainerSpec; hasVersions?: boolean },
): DataContainerSpec {
  validateDataName(ctx.name);
  const b = object(body, 'body');
  if (b.properties === undefined || b.properties === null) throw invalid('properties', 'is required');
  const p = object(b.properties, 'properties');
  const spec: DataContainerSpec = {
    dataType: parseDataType(p.dataType, 'properties.dataType'),
    tags: stringMap(p.tags, 'properties.tags'),
    properties: stringMap(p.properties, 'properties.properties'),
    isArchived: optBoolean(p.isArchived, 'properties.isArchived') ?? false,
  };
  const description = optString(p.description, 'properties.description');
  if (description !== undefined) spec.description = description;
  if (ctx.current && ctx.hasVersions && ctx.current.dataType !== spec.dataType) {
    throw invalid('properties.dataType', `cannot change from ${ctx.current.dataType}: the data has versions`);
  }
  return spec;
}

/**
 * PUT (`DataVersionBase`). Azure: "once you create a data asset version, it is immutable"; its update API changes
 * only the description, tags and archive flag. So with `current` (the version exists) everything else must be
 * restated unchanged, or the PUT is refused naming the field. `mlgridSummary` in the body is ignored (read-only).
 */
export function parseDataVersionPut(
  body: unknown,
  ctx: { name: string; version: string; current?: DataVersionSpec },
): DataVersionSpec {
  validateDataName(ctx.name);
  validateDataVersion(ctx.version);
  const b = object(body, 'body');
  if (b.properties === undefined || b.properties === null) throw invalid('properties', 'is required');
  const p = object(b.properties, 'properties');
  const dataType = parseDataType(p.dataType, 'properties.dataType');
  const spec: DataVersionSpec = {
    dataType,
    dataUri: parseDataUri(p.dataUri, 'properties.dataUri'),
    tags: stringMap(p.tags, 'properties.tags'),
    properties: stringMap(p.properties, 'properties.properties'),
    isAnonymous: optBoolean(p.isAnonymous, 'properties.isAnonymous') ?? false,
    isArchived: optBoolean(p.isArchived, 'properties.isArchived') ?? false,
  };
  const description = optString(p.description, 'properties.description');
  if (description !== undefined) spec.description = description;
  if (dataType === 'uri_file' && tabularFormatOf(spec.dataUri) === undefined) {
    throw invalid(
      'properties.dataUri',
      `a uri_file must be a ${Object.keys(TABULAR_EXTENSIONS).join(', ')} file (use uri_folder for a folder)`,
    );
  }
  if (p.referencedUris !== undefined && p.referencedUris !== null) {
    if (dataType !== 'mltable') throw invalid('properties.referencedUris', 'is for mltable data only');
    spec.referencedUris = array(p.referencedUris, 'properties.referencedUris').map((u, i) =>
      string(u, `properties.referencedUris[${i}]`),
    );
  }

  const cur = ctx.current;
  if (cur) {
    const same = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
    for (const key of ['dataType', 'dataUri', 'properties', 'isAnonymous'] as const) {
      if (!same(spec[key], cur[key])) {
        throw invalid(
          `properties.${key}`,
          'cannot be changed on a registered version; register a new version',
        );
      }
    }
    if (spec.referencedUris === undefined) {
      if (cur.referencedUris !== undefined) spec.referencedUris = [...cur.referencedUris];
    } else if (!same(spec.referencedUris, cur.referencedUris)) {
      throw invalid(
        'properties.referencedUris',
        'cannot be changed on a registered version; register a new version',
      );
    }
  }
  return spec;
}

/**
 * `dataUri`: a `file://` URI or an absolute path, normalised to `file:///…` without a trailing slash. Azure's
 * datastore and cloud URIs are refused: mlgrid reads local data only.
 */
export function parseDataUri(raw: unknown, path: string): string {
  if (raw === undefined || raw === null || raw === '') throw invalid(path, 'is required');
  const s = string(raw, path).trim();
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(s)?.[1]?.toLowerCase();
  if (scheme === 'azureml') {
    throw invalid(
      path,
      'azureml:// URIs (Azure datastores) are not supported: mlgrid registers local data only; ' +
        'give a file:// URI or an absolute path on the mlgrid host',
    );
  }
  let abs: string;
  if (scheme === 'file') {
    let url: URL;
    try {
      url = new URL(s);
      if (url.host !== '' && url.host !== 'localhost') throw new Error('remote host');
      abs = fileURLToPath(url);
    } catch {
      throw invalid(
        path,
        'a file URI must be file:// followed by an absolute local path (file:///data/x.csv)',
      );
    }
  } else if (scheme !== undefined) {
    throw invalid(
      path,
      `${scheme}:// is not supported: give a file:// URI or an absolute path on the mlgrid host`,
    );
  } else if (s.startsWith('/')) {
    abs = s;
  } else {
    throw invalid(path, 'must be a file:// URI or an absolute path (relative paths are resolved by the CLI)');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(abs)) throw invalid(path, 'must not contain control characters');
  const norm = posix.normalize(abs);
  const trimmed = norm.length > 1 ? norm.replace(/\/+$/, '') : norm;
  if (trimmed === '/') throw invalid(path, 'must not be the root folder');
  return pathToFileURL(trimmed).href;
}

/** The tabular format of a file name by its extension (case-insensitive), if mlgrid reads it. */
export function tabularFormatOf(name: string): TabularFormat | undefined {
  const m = /(\.[a-z0-9]+)$/i.exec(name);
  return m ? TABULAR_EXTENSIONS[m[1]!.toLowerCase() as keyof typeof TABULAR_EXTENSIONS] : undefined;
}

export { parseMlTable, type MlTablePath, type MlTableSpec } from './mltable.js';

// ---------------------------------------------------------------- render

export interface DataResourceOut {
  id: string;
  name: string;
  type: string;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Json;
}

interface Meta {
  /** The workspace's ARM resource id. */
  workspaceId: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export function renderDataContainer(
  spec: DataContainerSpec,
  meta: Meta & {
    /** The container's versions in creation order: the last one is `latestVersion`. */
    versions: readonly string[];
  },
): DataResourceOut {
  const properties: Json = {
    dataType: spec.dataType,
    tags: { ...spec.tags },
    properties: { ...spec.properties },
    isArchived: spec.isArchived,
    nextVersion: nextVersion(meta.versions),
  };
  if (spec.description !== undefined) properties.description = spec.description;
  const latest = meta.versions.at(-1);
  if (latest !== undefined) properties.latestVersion = latest;
  return {
    id: `${meta.workspaceId}/data/${meta.name}`,
    name: meta.name,
    type: 'Microsoft.MachineLearningServices/workspaces/data',
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

export function renderDataVersion(doc: DataVersionDoc, meta: Meta & { version: string }): DataResourceOut {
  const properties: Json = {
    dataType: doc.dataType,
    dataUri: doc.dataUri,
    tags: { ...doc.tags },
    properties: { ...doc.properties },
    isAnonymous: doc.isAnonymous,
    isArchived: doc.isArchived,
    mlgridSummary: structuredClone(doc.summary),
  };
  if (doc.description !== undefined) properties.description = doc.description;
  if (doc.referencedUris !== undefined) properties.referencedUris = [...doc.referencedUris];
  return {
    id: `${meta.workspaceId}/data/${meta.name}/versions/${meta.version}`,
    // Azure names a version resource by its version, the container's name being the parent segment.
    name: meta.version,
    type: 'Microsoft.MachineLearningServices/workspaces/data/versions',
    systemData: { createdAt: meta.createdAt, lastModifiedAt: meta.updatedAt },
    properties,
  };
}

/** Azure's `listViewType` on asset lists: archived assets are hidden unless asked for. */
export const LIST_VIEW_TYPES = ['ActiveOnly', 'ArchivedOnly', 'All'] as const;
export type ListViewType = (typeof LIST_VIEW_TYPES)[number];

export function parseListViewType(raw: unknown): ListViewType {
  return raw === undefined || raw === '' ? 'ActiveOnly' : oneOf(raw, 'listViewType', LIST_VIEW_TYPES);
}

export function inView(isArchived: boolean, view: ListViewType): boolean {
  return view === 'All' || (view === 'ArchivedOnly') === isArchived;
}

// ---------------------------------------------------------------- helpers

function parseDataType(raw: unknown, path: string): DataType {
  if (raw === undefined || raw === null || raw === '') {
    throw invalid(path, `is required: one of ${DATA_TYPES.join(', ')}`);
  }
  return oneOf(raw, path, DATA_TYPES);
}

/** Key-order-independent form for comparing stored and restated values. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  }
  return v;
}
