/**
 * Parquet files with hyparquet: the schema and row count from the footer, and batches one row group at a time
 * (memory bounded by a row group of the requested columns). Row groups whose timestamp statistics fall outside a
 * time window are skipped unread. Codecs: uncompressed and snappy (hyparquet), gzip and brotli (node:zlib), zstd
 * where node:zlib has it (Node ≥ 22.15); LZ4 is refused with a clear error.
 */
import * as zlib from 'node:zlib';
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetScan,
  parquetSchema,
  type AsyncBuffer,
  type Compressors,
  type FileMetaData,
  type ParquetParsers,
  type SchemaElement,
} from 'hyparquet';
import type { ColumnType } from '../core/data-asset.js';
import { DatasetError, type DatasetFile } from './files.js';
import type { Batch, Column, FileColumns, WindowMs } from './tabular-types.js';

const DAY_MS = 86_400_000;

/** Timestamps and dates as epoch ms numbers (not Date objects): what the reader hands out for them. */
const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (v: bigint) => Number(v),
  timestampFromMicroseconds: (v: bigint) => Number(v / 1000n) + Number(v % 1000n) / 1000,
  timestampFromNanoseconds: (v: bigint) => Number(v / 1_000_000n) + Number(v % 1_000_000n) / 1e6,
  dateFromDays: (d: number) => d * DAY_MS,
};

const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array) => Buffer }).zstdDecompressSync;
const COMPRESSORS: Compressors = {
  GZIP: (input) => new Uint8Array(zlib.gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(zlib.brotliDecompressSync(input)),
  ...(zstd ? { ZSTD: (input: Uint8Array) => new Uint8Array(zstd(input)) } : {}),
};

export interface ParquetHandle {
  file: AsyncBuffer;
  metadata: FileMetaData;
}

export async function openParquet(f: DatasetFile): Promise<ParquetHandle> {
  try {
    const file = await asyncBufferFromFile(f.path);
    const metadata = await parquetMetadataAsync(file, { parsers: PARSERS });
    return { file, metadata };
  } catch (e) {
    throw new DatasetError(`${f.path}: not a readable Parquet file (${(e as Error).message})`, { cause: e });
  }
}

function columnType(el: SchemaElement, nested: boolean): ColumnType {
  if (nested) return 'other';
  const lt = el.logical_type?.type;
  const ct = el.converted_type;
  if (
    lt === 'TIMESTAMP' ||
    lt === 'DATE' ||
    ct === 'DATE' ||
    ct?.startsWith('TIMESTAMP') ||
    el.type === 'INT96'
  ) {
    return 'timestamp';
  }
  if (lt === 'DECIMAL' || ct === 'DECIMAL' || lt === 'FLOAT16') return 'number';
  switch (el.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
      return 'integer';
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY':
      return 'string';
    default:
      return 'other';
  }
}

export function parquetColumns(h: ParquetHandle): FileColumns {
  const columns: Column[] = parquetSchema(h.metadata).children.map((c) => ({
    name: c.element.name,
    type: columnType(c.element, c.children.length > 0),
  }));
  return { columns, rowCount: Number(h.metadata.num_rows) };
}

/** Whether a row group may hold rows of the window, by its min/max statistics (no statistics: maybe). */
function mayMatch(h: ParquetHandle, group: number, w: WindowMs): boolean {
  const chunk = h.metadata.row_groups[group]?.columns.find(
    (c) => c.meta_data?.path_in_schema.join('.') === w.column,
  );
  const s = chunk?.meta_data?.statistics;
  const min = s?.min_value ?? s?.min;
  const max = s?.max_value ?? s?.max;
  if (typeof min !== 'number' || typeof max !== 'number') return true;
  return max >= w.start && min < w.end;
}

/** One batch per row group; a requested column the file lacks comes as nulls. */
export async function* parquetBatches(
  f: DatasetFile,
  h: ParquetHandle,
  wanted: string[],
  window?: WindowMs,
): AsyncGenerator<Batch> {
  const present = new Set(parquetSchema(h.metadata).children.map((c) => c.element.name));
  const read = wanted.filter((n) => present.has(n));
  let rowStart = 0;
  const groups = h.metadata.row_groups.map((g, i) => {
    const r = { index: i, rowStart, rowEnd: rowStart + Number(g.num_rows) };
    rowStart = r.rowEnd;
    return r;
  });
  try {
    const scan =
      read.length > 0
        ? await parquetScan({
            file: h.file,
            metadata: h.metadata,
            columns: read,
            parsers: PARSERS,
            compressors: COMPRESSORS,
          })
        : undefined;
    for (const g of groups) {
      if (g.rowEnd === g.rowStart) continue;
      if (window && present.has(window.column) && !mayMatch(h, g.index, window)) continue;
      const length = g.rowEnd - g.rowStart;
      const columns = new Map<string, ArrayLike<unknown>>();
      for (const n of wanted) {
        columns.set(
          n,
          scan && present.has(n)
            ? await scan.readColumn({ column: n, rowStart: g.rowStart, rowEnd: g.rowEnd })
            : new Array(length).fill(null),
        );
      }
      yield { length, columns };
    }
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(`${f.path}: ${(e as Error).message}`, { cause: e });
  }
}
