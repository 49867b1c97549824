/**
 * Which files a data asset is: a `uri_file` is itself, a `uri_folder` every CSV/TSV/Parquet file below it, an
 * `mltable` what its MLTable file's `paths:` name. Folders are walked recursively, skipping names that start
 * with `.` or `_` (Spark's `_SUCCESS`, `_delta_log`, editor files), and listed sorted by path (code-unit order,
 * so the same on every machine).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MlgridError } from '../core/errors.js';
import {
  parseMlTable,
  tabularFormatOf,
  TABULAR_EXTENSIONS,
  type DataType,
  type MlTableSpec,
  type TabularFormat,
} from '../core/data-asset.js';

/** A dataset could not be listed or read: the message names the file and what is wrong with it. */
export class DatasetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetError';
  }
}

export interface DatasetFile {
  /** Absolute path. */
  path: string;
  format: TabularFormat;
  /** CSV only. */
  delimiter: string;
  /** CSV only: false when the first line is data (MLTable `header: no_header`). */
  header: boolean;
  size: number;
}

export interface DatasetSource {
  type: DataType;
  /** `file:///…` (or an absolute path). */
  uri: string;
}

export interface ResolvedFiles {
  files: DatasetFile[];
  /** mltable: the `paths:` entries as `file://` URIs (Azure's `referencedUris`). */
  referencedUris?: string[];
}

/** Upper bound on the files of one dataset, so a mistaken `/` does not walk the whole disk. */
export const MAX_FILES = 10_000;
const EXTS = Object.keys(TABULAR_EXTENSIONS).join(', ');

export async function resolveFiles(source: DatasetSource): Promise<ResolvedFiles> {
  const root = source.uri.startsWith('file:') ? fileURLToPath(source.uri) : source.uri;
  const st = await statOrFail(root, `${source.type} path`);
  if (source.type === 'uri_file') {
    if (!st.isFile()) throw new DatasetError(`${root} is not a file (a uri_folder is registered as such)`);
    const format = tabularFormatOf(root);
    if (!format) throw new DatasetError(`${root} is not a ${EXTS} file`);
    return { files: [fileOf(root, format, st.size)] };
  }
  if (!st.isDirectory()) throw new DatasetError(`${root} is not a folder (a ${source.type} is a folder)`);
  if (source.type === 'uri_folder') {
    const files: DatasetFile[] = [];
    for (const p of await walk(root)) {
      const format = tabularFormatOf(p);
      if (format) files.push(fileOf(p, format, (await stat(p)).size));
    }
    return { files };
  }
  return resolveMlTable(root);
}

async function resolveMlTable(root: string): Promise<ResolvedFiles> {
  const mlPath = join(root, 'MLTable');
  let text: string;
  try {
    text = await readFile(mlPath, 'utf8');
  } catch {
    throw new DatasetError(`${root} has no MLTable file (an mltable is a folder with an MLTable file)`);
  }
  let spec: MlTableSpec;
  try {
    spec = parseMlTable(text, 'MLTable');
  } catch (e) {
    throw new DatasetError(
      `${mlPath}: ${e instanceof MlgridError ? e.message.replace(/^MLTable: /, '') : e}`,
    );
  }
  const seen = new Set<string>();
  const files: DatasetFile[] = [];
  const referencedUris: string[] = [];
  const add = async (p: string, explicit: boolean) => {
    if (seen.has(p)) return;
    const format = spec.format ?? tabularFormatOf(p);
    if (!format) {
      // A file named outright must be readable; files found in folders are taken when they are tabular.
      if (explicit)
        throw new DatasetError(
          `${mlPath}: ${p} is not a ${EXTS} file and no read_* transformation says how to read it`,
        );
      return;
    }
    seen.add(p);
    files.push({
      ...fileOf(p, format, (await stat(p)).size),
      delimiter: spec.delimiter,
      header: spec.header,
    });
  };
  for (const entry of spec.paths) {
    const value = entry.value.startsWith('file:') ? fileURLToPath(entry.value) : entry.value;
    const abs = isAbsolute(value) ? resolve(value) : resolve(root, value);
    referencedUris.push(pathToFileURL(abs).href);
    if (entry.kind === 'pattern') {
      const { base, re } = globToRegExp(abs);
      const st = await stat(base).catch(() => undefined);
      const matched = st?.isDirectory() ? (await walk(base)).filter((p) => re.test(p)) : [];
      if (matched.length === 0) throw new DatasetError(`${mlPath}: pattern ${entry.value} matches no file`);
      for (const p of matched) await add(p, false);
      continue;
    }
    const st = await statOrFail(abs, `MLTable ${entry.kind}`);
    if (entry.kind === 'file') {
      if (!st.isFile()) throw new DatasetError(`${mlPath}: ${abs} is not a file`);
      await add(abs, true);
    } else {
      if (!st.isDirectory()) throw new DatasetError(`${mlPath}: ${abs} is not a folder`);
      for (const p of await walk(abs)) await add(p, false);
    }
  }
  return { files, referencedUris };
}

/**
 * A glob over absolute paths: `**` any number of folders, `*` and `?` within one name. `base` is the folder
 * before the first wildcard, where the walk starts.
 */
export function globToRegExp(pattern: string): { base: string; re: RegExp } {
  const parts = pattern.split('/');
  const firstWild = parts.findIndex((p) => /[*?[]/.test(p));
  const base = firstWild < 0 ? pattern : parts.slice(0, firstWild).join('/') || '/';
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:[^/]+/)*' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return { base, re: new RegExp(`^${re}$`) };
}

/** Every file below `dir` (recursively), skipping hidden and `_` names, sorted; at most MAX_FILES. */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile()) {
        out.push(p);
        if (out.length > MAX_FILES) throw new DatasetError(`${dir} holds more than ${MAX_FILES} files`);
      }
    }
  };
  await visit(dir);
  const key = (p: string) => relative(dir, p).split(sep).join('/');
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

async function statOrFail(p: string, what: string) {
  try {
    return await stat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DatasetError(
        `${what} ${p} does not exist on the mlgrid host (data must exist when registered)`,
      );
    }
    throw new DatasetError(`${what} ${p} cannot be read (${code ?? (e as Error).message})`);
  }
}

function fileOf(path: string, format: TabularFormat, size: number): DatasetFile {
  return { path, format, delimiter: /\.tsv$/i.test(path) ? '\t' : ',', header: true, size };
}
