/**
 * The tabular reader over a data asset's files (CSV/TSV and Parquet): list them, describe them (columns with
 * types, row count), iterate rows, or read chosen columns into arrays (numbers as Float64Array with NaN for
 * missing, text as string[] with null), optionally only the rows whose timestamp column is in [start, end).
 * This is what drift monitors read baseline and target data with; see docs/data.md.
 */
import type { ColumnType, DataSummary } from '../core/data-asset.js';
import { parseIsoUtc } from '../core/validate.js';
import { csvBatches, csvColumns, isNa, mergeTypes, parseNumber } from './csv.js';
import { DatasetError, resolveFiles, type DatasetFile, type DatasetSource } from './files.js';
import { openParquet, parquetBatches, parquetColumns, type ParquetHandle } from './parquet.js';
import type { Batch, Column, FileColumns, WindowMs } from './tabular-types.js';

export { DatasetError, type DatasetFile, type DatasetSource } from './files.js';
export type { Column } from './tabular-types.js';

/** A column to read; `as` overrides the kind its type gives (e.g. integer codes read as categories). */
export interface ColumnRequest {
  name: string;
  as?: 'number' | 'string';
}

export type ColumnValues =
  | { name: string; kind: 'number'; values: Float64Array<ArrayBuffer> }
  | { name: string; kind: 'string'; values: (string | null)[] };

export interface ColumnsRead {
  /** Rows read (after the time window). */
  rowCount: number;
  columns: Map<string, ColumnValues>;
}

/** Rows whose `column` is in [start, end); either bound may be omitted. Strings are ISO-8601 (no zone = UTC). */
export interface TimeWindow {
  column: string;
  start?: Date | string | number;
  end?: Date | string | number;
}

export interface ReadOptions {
  where?: TimeWindow;
  /** Rows per CSV batch (default 8192); Parquet batches are row groups. */
  batchSize?: number;
}

export type RowValue = number | boolean | string | null | unknown;

/** The kind a column is read as by default: integer, number and timestamp (epoch ms) are numeric. */
export function defaultKind(type: ColumnType): 'number' | 'string' {
  return type === 'integer' || type === 'number' || type === 'timestamp' ? 'number' : 'string';
}

export class Dataset {
  private described?: Promise<{ perFile: FileColumns[]; columns: Column[] }>;
  private readonly parquet = new Map<string, Promise<ParquetHandle>>();

  private constructor(
    readonly files: DatasetFile[],
    /** mltable: the `paths:` entries as `file://` URIs. */
    readonly referencedUris: string[] | undefined,
    private readonly knownColumns: Column[] | undefined,
  ) {}

  /** Lists the source's files (they must exist). `columns`: a schema known already (e.g. a registration summary). */
  static async open(source: DatasetSource, opts: { columns?: Column[] } = {}): Promise<Dataset> {
    const { files, referencedUris } = await resolveFiles(source);
    return new Dataset(files, referencedUris, opts.columns);
  }

  /** Columns (union over the files by name, in order of first appearance) and rows: reads every CSV once. */
  async describe(): Promise<DataSummary> {
    const { perFile, columns } = await this.scan();
    return {
      fileCount: this.files.length,
      rowCount: perFile.reduce((n, f) => n + f.rowCount, 0),
      sizeBytes: this.files.reduce((n, f) => n + f.size, 0),
      columns: columns.map((c) => ({ name: c.name, type: c.type })),
    };
  }

  async columns(): Promise<Column[]> {
    return this.knownColumns ?? (await this.scan()).columns;
  }

  /** Reads whole columns of the rows in the window, file after file in listing order. */
  async readColumns(requests: (string | ColumnRequest)[], opts: ReadOptions = {}): Promise<ColumnsRead> {
    const schema = await this.columns();
    const reqs = requests.map((r) => (typeof r === 'string' ? { name: r } : r));
    const kinds = reqs.map((r) => r.as ?? defaultKind(this.column(schema, r.name).type));
    const nums = kinds.map((k) => (k === 'number' ? new Grow() : undefined));
    const strs = kinds.map((k) => (k === 'string' ? ([] as (string | null)[]) : undefined));
    let rowCount = 0;
    for await (const b of this.batches(
      reqs.map((r) => r.name),
      opts,
    )) {
      rowCount += b.length;
      reqs.forEach((r, j) => {
        const cells = b.columns.get(r.name)!;
        const type = this.column(schema, r.name).type;
        for (let i = 0; i < b.length; i++) {
          if (nums[j]) nums[j].push(toNumber(cells[i], type));
          else strs[j]!.push(toText(cells[i], type));
        }
      });
    }
    const columns = new Map<string, ColumnValues>();
    reqs.forEach((r, j) => {
      columns.set(
        r.name,
        nums[j]
          ? { name: r.name, kind: 'number', values: nums[j].done() }
          : { name: r.name, kind: 'string', values: strs[j]! },
      );
    });
    return { rowCount, columns };
  }

  /**
   * Rows as objects, typed by column type: integer/number → number, boolean → boolean, timestamp → ISO string,
   * string → string; missing → null. `columns` defaults to all.
   */
  async *rows(opts: ReadOptions & { columns?: string[] } = {}): AsyncGenerator<Record<string, RowValue>> {
    const schema = await this.columns();
    const names = opts.columns ?? schema.map((c) => c.name);
    const types = names.map((n) => this.column(schema, n).type);
    for await (const b of this.batches(names, opts)) {
      const cols = names.map((n) => b.columns.get(n)!);
      for (let i = 0; i < b.length; i++) {
        const row: Record<string, RowValue> = {};
        names.forEach((n, j) => {
          row[n] = toRowValue(cols[j]![i], types[j]!);
        });
        yield row;
      }
    }
  }

  /** Batches of raw cells of `names`, already cut to the window. */
  async *batches(names: string[], opts: ReadOptions = {}): AsyncGenerator<Batch> {
    const schema = await this.columns();
    for (const n of names) this.column(schema, n);
    const window = opts.where ? this.windowMs(schema, opts.where) : undefined;
    const wanted = window && !names.includes(window.column) ? [...names, window.column] : names;
    for (const f of this.files) {
      const source =
        f.format === 'csv'
          ? csvBatches(f, wanted, opts.batchSize ?? 8192)
          : parquetBatches(f, await this.handle(f), wanted, window);
      for await (const b of source) {
        const cut = window ? cutToWindow(b, window, names) : b;
        if (cut.length > 0) yield cut;
      }
    }
  }

  private column(schema: Column[], name: string): Column {
    const c = schema.find((x) => x.name === name);
    if (!c) {
      const all = schema.map((x) => x.name).join(', ');
      throw new DatasetError(`column '${name}' is not in the dataset (columns: ${all || 'none'})`);
    }
    return c;
  }

  private windowMs(schema: Column[], w: TimeWindow): WindowMs {
    const c = this.column(schema, w.column);
    if (c.type !== 'timestamp') {
      throw new DatasetError(`column '${w.column}' is ${c.type}, not a timestamp column`);
    }
    return {
      column: w.column,
      start: bound(w.start, 'start', -Infinity),
      end: bound(w.end, 'end', Infinity),
    };
  }

  private handle(f: DatasetFile): Promise<ParquetHandle> {
    let h = this.parquet.get(f.path);
    if (!h) {
      h = openParquet(f);
      this.parquet.set(f.path, h);
    }
    return h;
  }

  private scan() {
    this.described ??= (async () => {
      const perFile: FileColumns[] = [];
      for (const f of this.files) {
        perFile.push(f.format === 'csv' ? await csvColumns(f) : parquetColumns(await this.handle(f)));
      }
      const merged = new Map<string, ColumnType>();
      for (const fc of perFile) {
        for (const c of fc.columns) {
          const cur = merged.get(c.name);
          merged.set(c.name, cur === undefined ? c.type : mergeColumnTypes(cur, c.type));
        }
      }
      return { perFile, columns: [...merged].map(([name, type]) => ({ name, type })) };
    })();
    this.described.catch(() => (this.described = undefined)); // a failed scan may be retried
    return this.described;
  }
}

/** Lists and opens a dataset (see `Dataset`). */
export function openDataset(source: DatasetSource, opts: { columns?: Column[] } = {}): Promise<Dataset> {
  return Dataset.open(source, opts);
}

function mergeColumnTypes(a: ColumnType, b: ColumnType): ColumnType {
  if (a === 'other' || b === 'other') return a === b ? a : 'string';
  return mergeTypes(a, b) as ColumnType;
}

function bound(v: Date | string | number | undefined, which: string, open: number): number {
  if (v === undefined) return open;
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : parseIsoUtc(v);
  if (Number.isNaN(ms))
    throw new DatasetError(`where.${which} must be an ISO-8601 date-time, a Date or epoch ms`);
  return ms;
}

function cutToWindow(b: Batch, w: WindowMs, names: string[]): Batch {
  const ts = b.columns.get(w.column)!;
  const keep: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const t = toTimestamp(ts[i]);
    if (t >= w.start && t < w.end) keep.push(i);
  }
  const columns = new Map<string, ArrayLike<unknown>>();
  for (const n of names) {
    const src = b.columns.get(n)!;
    columns.set(
      n,
      keep.map((i) => src[i]),
    );
  }
  return { length: keep.length, columns };
}

// ---------------------------------------------------------------- cell conversions

/** epoch ms: Parquet timestamps arrive as numbers already, CSV as ISO-8601 text. NaN when missing or not one. */
function toTimestamp(cell: unknown): number {
  if (typeof cell === 'number') return cell;
  if (typeof cell === 'string') return isNa(cell) ? NaN : parseIsoUtc(cell);
  if (cell instanceof Date) return cell.getTime();
  return NaN;
}

export function toNumber(cell: unknown, type: ColumnType): number {
  if (cell === null || cell === undefined) return NaN;
  if (typeof cell === 'number') return cell;
  if (typeof cell === 'bigint') return Number(cell);
  if (typeof cell === 'boolean') return cell ? 1 : 0;
  if (typeof cell === 'string') {
    if (type === 'timestamp') return toTimestamp(cell);
    if (type === 'boolean') return /^\s*true\s*$/i.test(cell) ? 1 : /^\s*false\s*$/i.test(cell) ? 0 : NaN;
    return parseNumber(cell);
  }
  if (cell instanceof Date) return cell.getTime();
  return NaN;
}

export function toText(cell: unknown, type: ColumnType): string | null {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === 'string') return isNa(cell) ? null : cell;
  if (typeof cell === 'number') {
    if (Number.isNaN(cell)) return null;
    return type === 'timestamp' ? new Date(cell).toISOString() : String(cell);
  }
  if (typeof cell === 'boolean' || typeof cell === 'bigint') return String(cell);
  if (cell instanceof Date) return cell.toISOString();
  return JSON.stringify(cell, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function toRowValue(cell: unknown, type: ColumnType): RowValue {
  switch (type) {
    case 'integer':
    case 'number': {
      const n = toNumber(cell, type);
      return Number.isNaN(n) ? null : n;
    }
    case 'boolean': {
      const n = toNumber(cell, type);
      return Number.isNaN(n) ? null : n === 1;
    }
    case 'timestamp': {
      const t = toTimestamp(cell);
      return Number.isNaN(t) ? null : new Date(t).toISOString();
    }
    case 'string':
      return toText(cell, type);
    default:
      return cell ?? null;
  }
}

/** A Float64Array that grows by doubling. */
class Grow {
  private buf = new Float64Array(1024);
  private n = 0;
  push(v: number) {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  done(): Float64Array<ArrayBuffer> {
    return this.buf.slice(0, this.n);
  }
}
