/**
 * CSV/TSV files, streamed with csv-parse (memory bounded by one batch of rows): the header, a typing pass
 * (column types inferred from every value, with the row count), and batches of raw cells for the reader.
 */
import { createReadStream } from 'node:fs';
import { parse, type Options } from 'csv-parse';
import type { ColumnType } from '../core/data-asset.js';
import { parseIsoUtc } from '../core/validate.js';
import { DatasetError, type DatasetFile } from './files.js';
import type { Batch, FileColumns } from './tabular-types.js';

/** Cells read as missing (pandas' common defaults). */
const NA = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL']);
export const isNa = (s: string) => NA.has(s.trim());

const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOL_RE = /^(?:true|false)$/i;

export function parseNumber(s: string): number {
  const t = s.trim();
  return NUM_RE.test(t) ? Number(t) : NaN;
}

type Seen = ColumnType | 'empty';

function classify(v: string): ColumnType {
  const t = v.trim();
  if (INT_RE.test(t)) return 'integer';
  if (NUM_RE.test(t)) return 'number';
  if (BOOL_RE.test(t)) return 'boolean';
  if (!Number.isNaN(parseIsoUtc(t))) return 'timestamp';
  return 'string';
}

/** The type that holds values of both: integers widen to numbers, any other mix is a string column. */
export function mergeTypes(a: Seen, b: Seen): Seen {
  if (a === b || b === 'empty') return a;
  if (a === 'empty') return b;
  if ((a === 'integer' && b === 'number') || (a === 'number' && b === 'integer')) return 'number';
  return 'string';
}

async function* records(file: DatasetFile): AsyncGenerator<string[]> {
  const opts: Options = {
    delimiter: file.delimiter,
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
  };
  const input = createReadStream(file.path);
  const parser = parse(opts);
  input.on('error', (e) => parser.destroy(e));
  input.pipe(parser);
  try {
    for await (const rec of parser) yield rec as string[];
  } catch (e) {
    throw new DatasetError(`${file.path}: ${(e as Error).message}`, { cause: e });
  } finally {
    input.destroy();
    parser.destroy();
  }
}

/** Header names (Column1, Column2, … without a header line, as Azure names them); duplicates are refused. */
function names(file: DatasetFile, first: string[]): string[] {
  const out = file.header
    ? first.map((n, i) => (n === '' ? `Column${i + 1}` : n))
    : first.map((_, i) => `Column${i + 1}`);
  const seen = new Set<string>();
  for (const n of out) {
    if (seen.has(n))
      throw new DatasetError(`${file.path}: the column name '${n}' appears twice in the header`);
    seen.add(n);
  }
  return out;
}

/** One pass over the file: column names, types inferred from every non-missing value, data row count. */
export async function csvColumns(file: DatasetFile): Promise<FileColumns> {
  let header: string[] | undefined;
  let seen: Seen[] = [];
  let rowCount = 0;
  const take = (rec: string[]) => {
    rowCount++;
    for (let i = 0; i < seen.length; i++) {
      const v = rec[i];
      if (v === undefined || seen[i] === 'string' || isNa(v)) continue;
      seen[i] = mergeTypes(seen[i]!, classify(v));
    }
  };
  for await (const rec of records(file)) {
    if (header === undefined) {
      header = names(file, rec);
      seen = header.map(() => 'empty');
      if (file.header) continue;
    }
    take(rec);
  }
  const columns = (header ?? []).map((name, i) => ({
    name,
    type: (seen[i] === 'empty' ? 'string' : seen[i]) as ColumnType,
  }));
  return { columns, rowCount };
}

/** Batches of raw cells (strings; undefined where a short row has no field) for the requested columns. */
export async function* csvBatches(file: DatasetFile, wanted: string[], size: number): AsyncGenerator<Batch> {
  let index: (number | undefined)[] | undefined;
  let cols: (string | undefined)[][] = [];
  let length = 0;
  const flush = (): Batch => {
    const out: Batch = { length, columns: new Map(wanted.map((n, j) => [n, cols[j]!])) };
    cols = wanted.map(() => []);
    length = 0;
    return out;
  };
  cols = wanted.map(() => []);
  for await (const rec of records(file)) {
    if (index === undefined) {
      const header = names(file, rec);
      index = wanted.map((n) => {
        const i = header.indexOf(n);
        return i < 0 ? undefined : i;
      });
      if (file.header) continue;
    }
    for (let j = 0; j < wanted.length; j++) {
      const i = index[j];
      cols[j]!.push(i === undefined ? undefined : rec[i]);
    }
    if (++length >= size) yield flush();
  }
  if (length > 0) yield flush();
}
