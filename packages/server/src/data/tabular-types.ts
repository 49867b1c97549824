/** Types shared by the tabular reader's file formats. */
import type { ColumnType } from '../core/data-asset.js';

export interface Column {
  name: string;
  type: ColumnType;
}

export interface FileColumns {
  columns: Column[];
  rowCount: number;
}

/**
 * Rows of one file, column by column: raw cells as the format gives them (CSV: strings, undefined for a missing
 * field; Parquet: numbers, bigints, booleans, strings, null; timestamps already epoch ms).
 */
export interface Batch {
  length: number;
  columns: Map<string, ArrayLike<unknown>>;
}

/** Rows whose `column` (a timestamp column) is in [start, end) in epoch ms; open bounds are ±Infinity. */
export interface WindowMs {
  column: string;
  start: number;
  end: number;
}
