/**
 * One drift-monitor run over columns already read: Azure's column typing (reference drift.md §1.3, §8.2),
 * per-feature metrics (core/drift) and the drift coefficient (domain classifier). Pure and synchronous; the
 * service reads the data, may run the classifier phase on threads (services/drift-compute.ts) and stores the
 * result. The baseline is prepared once (sorted numeric columns, category counts) and may be cached and
 * reused across runs of a monitor.
 *
 * Choices where Azure is silent:
 * - Typing is decided on the baseline: a string column is categorical when its distinct non-null values are
 *   < 100 and < 5 % of the baseline's rows; otherwise it is skipped (`highCardinality`). Booleans are strings.
 * - A numeric column with > 15 % missing values on either side is left out of the coefficient
 *   (`tooManyNulls`) but still profiled (its metrics are reported with `inCoefficient: false`).
 * - Timestamps and nested columns are never features (`timestampColumn`, `unsupportedType`).
 */
import type { ColumnType } from './data-asset.js';
import {
  categoricalDrift,
  datasetVerdict,
  numericDrift,
  prepareNumeric,
  type DatasetVerdict,
  type SortedSample,
  type VerdictColumn,
} from './drift/index.js';
import {
  driftClassifier,
  type ClassifierColumn,
  type ClassifierTable,
  type DriftClassifierOptions,
  type DriftClassifierResult,
} from './drift/classifier.js';
import { DRIFT_LIMITS } from './drift-monitor.js';

export const TYPING = { maxCategories: 100, maxCategoryShare: 0.05, maxNumericNullShare: 0.15 } as const;

/** The reader's column shapes (data/tabular.ts ColumnValues), restated so the core needs no adapter import. */
export type ReadColumn =
  | { name: string; kind: 'number'; values: Float64Array }
  | { name: string; kind: 'string'; values: (string | null)[] };

export interface ReadSide {
  rowCount: number;
  columns: Map<string, ReadColumn>;
}

export interface SkippedColumn {
  name: string;
  reason:
    | 'missingInBaseline'
    | 'missingInTarget'
    | 'timestampColumn'
    | 'unsupportedType'
    | 'typeMismatch'
    | 'highCardinality'
    | 'tooManyNulls'
    | 'noValues';
  detail: string;
}

/** A run failure with a stable code (stored on the result; raises DatasetDriftDetectionFailed where enabled). */
export class DriftRunError extends Error {
  constructor(
    readonly code: 'TooFewRows' | 'NoFeatures' | 'DataUnreadable' | 'RunFailed',
    message: string,
  ) {
    super(message);
    this.name = 'DriftRunError';
  }
}

/** Which columns to read, from the two schemas (before any data is read). */
export function planColumns(
  features: readonly string[],
  baseline: readonly { name: string; type: ColumnType }[],
  target: readonly { name: string; type: ColumnType }[],
  timestampColumn: string,
): { read: { name: string; as: 'number' | 'string' }[]; skipped: SkippedColumn[] } {
  const b = new Map(baseline.map((c) => [c.name, c.type]));
  const t = new Map(target.map((c) => [c.name, c.type]));
  const names = features.length ? features : baseline.map((c) => c.name).filter((n) => t.has(n));
  const read: { name: string; as: 'number' | 'string' }[] = [];
  const skipped: SkippedColumn[] = [];
  const kindOf = (type: ColumnType) =>
    type === 'integer' || type === 'number'
      ? 'number'
      : type === 'string' || type === 'boolean'
        ? 'string'
        : undefined;
  for (const name of names) {
    if (name === timestampColumn && !features.length) continue;
    const bt = b.get(name);
    const tt = t.get(name);
    if (bt === undefined)
      skipped.push({ name, reason: 'missingInBaseline', detail: 'not a baseline column' });
    else if (tt === undefined)
      skipped.push({ name, reason: 'missingInTarget', detail: 'not a target column' });
    else if (bt === 'timestamp' || tt === 'timestamp')
      skipped.push({ name, reason: 'timestampColumn', detail: 'timestamps are not features' });
    else if (kindOf(bt) === undefined || kindOf(tt) === undefined)
      skipped.push({ name, reason: 'unsupportedType', detail: `type ${bt}/${tt} cannot be compared` });
    else if (kindOf(bt) !== kindOf(tt))
      skipped.push({ name, reason: 'typeMismatch', detail: `baseline ${bt}, target ${tt}` });
    else read.push({ name, as: kindOf(bt)! });
  }
  return { read, skipped };
}

type PreparedColumn =
  | { name: string; kind: 'numeric'; values: Float64Array; sorted: SortedSample; nullShare: number }
  | { name: string; kind: 'categorical'; values: (string | null)[]; unique: number };

/** The baseline ready for many runs: typed columns, numeric ones sorted once. */
export interface PreparedBaseline {
  rows: number;
  columns: PreparedColumn[];
  skipped: SkippedColumn[];
}

export function prepareBaseline(read: ReadSide, plan: { skipped: SkippedColumn[] }): PreparedBaseline {
  const skipped = [...plan.skipped];
  const columns: PreparedColumn[] = [];
  for (const col of read.columns.values()) {
    if (col.kind === 'number') {
      const sorted = prepareNumeric(col.values);
      if (sorted.sorted.length === 0) {
        skipped.push({ name: col.name, reason: 'noValues', detail: 'no finite value in the baseline' });
        continue;
      }
      const nullShare = read.rowCount ? (sorted.missing + sorted.infinite) / read.rowCount : 0;
      columns.push({ name: col.name, kind: 'numeric', values: col.values, sorted, nullShare });
    } else {
      const distinct = new Set<string>();
      for (const v of col.values) if (v !== null) distinct.add(v);
      const limit = Math.min(TYPING.maxCategories, TYPING.maxCategoryShare * read.rowCount);
      if (distinct.size >= limit) {
        skipped.push({
          name: col.name,
          reason: 'highCardinality',
          detail: `${distinct.size} distinct values: categorical needs < ${TYPING.maxCategories} and < 5% of ${read.rowCount} rows`,
        });
        continue;
      }
      columns.push({ name: col.name, kind: 'categorical', values: col.values, unique: distinct.size });
    }
  }
  return { rows: read.rowCount, columns, skipped };
}

export interface FeatureResult {
  name: string;
  kind: 'numeric' | 'categorical';
  inCoefficient: boolean;
  /** Share of the classifier's split gain (0 when not in the coefficient). */
  contribution: number;
  metrics: ReturnType<typeof numericDrift> | ReturnType<typeof categoricalDrift>;
}

export interface DriftComputation {
  driftCoefficient: number;
  mcc: number;
  auc: number;
  rows: { baseline: number; target: number; baselineUsed: number; targetUsed: number };
  features: FeatureResult[];
  skipped: SkippedColumn[];
  /** Evidently-compatible per-column tests and dataset verdict (share of drifted columns ≥ 0.5), informative. */
  evidently: DatasetVerdict;
}

/** A run up to the classifier: per-feature metrics done, the classifier's two tables ready. */
export interface DriftPrepared {
  baseline: ClassifierTable;
  target: ClassifierTable;
  features: FeatureResult[];
  skipped: SkippedColumn[];
  verdicts: VerdictColumn[];
}

/**
 * A run in three phases, so that the classifier (most of the CPU) can run on several threads
 * (services/drift-compute.ts) while this module stays pure and synchronous: `prepareDrift` (typing,
 * per-feature metrics), the classifier on `prepared.baseline` / `prepared.target`, `finishDrift`.
 */
export function prepareDrift(baseline: PreparedBaseline, target: ReadSide): DriftPrepared {
  for (const [side, n] of [
    ['baseline', baseline.rows],
    ['target', target.rowCount],
  ] as const) {
    if (n < DRIFT_LIMITS.minRows)
      throw new DriftRunError(
        'TooFewRows',
        `the ${side} has ${n} rows; a drift run needs at least ${DRIFT_LIMITS.minRows}`,
      );
  }
  const skipped = [...baseline.skipped];
  const features: FeatureResult[] = [];
  const bCols: ClassifierColumn[] = [];
  const tCols: ClassifierColumn[] = [];
  const verdicts: VerdictColumn[] = [];
  for (const col of baseline.columns) {
    const t = target.columns.get(col.name);
    if (!t) continue;
    if (col.kind === 'numeric' && t.kind === 'number') {
      const ts = prepareNumeric(t.values);
      if (ts.sorted.length === 0) {
        skipped.push({ name: col.name, reason: 'noValues', detail: 'no finite value in the target period' });
        continue;
      }
      const tNull = (ts.missing + ts.infinite) / target.rowCount;
      const worst = Math.max(col.nullShare, tNull);
      const inCoefficient = worst <= TYPING.maxNumericNullShare;
      if (!inCoefficient) {
        skipped.push({
          name: col.name,
          reason: 'tooManyNulls',
          detail: `${(worst * 100).toFixed(1)}% missing (> 15%): profiled, not in the coefficient`,
        });
      } else {
        bCols.push({ name: col.name, kind: 'numeric', values: col.values });
        tCols.push({ name: col.name, kind: 'numeric', values: t.values });
      }
      features.push({
        name: col.name,
        kind: 'numeric',
        inCoefficient,
        contribution: 0,
        metrics: numericDrift(col.sorted, ts),
      });
      verdicts.push({ name: col.name, type: 'numeric', baseline: col.sorted, target: ts });
    } else if (col.kind === 'categorical' && t.kind === 'string') {
      const codes = new Map<string | null, number>();
      const code = (v: string | null) => {
        let c = codes.get(v);
        if (c === undefined) codes.set(v, (c = codes.size)); // null is its own category (Azure)
        return c;
      };
      bCols.push({ name: col.name, kind: 'categorical', codes: Float64Array.from(col.values, code) });
      tCols.push({ name: col.name, kind: 'categorical', codes: Float64Array.from(t.values, code) });
      features.push({
        name: col.name,
        kind: 'categorical',
        inCoefficient: true,
        contribution: 0,
        metrics: categoricalDrift(col.values, t.values),
      });
      verdicts.push({ name: col.name, type: 'categorical', baseline: col.values, target: t.values });
    }
  }
  if (bCols.length === 0)
    throw new DriftRunError('NoFeatures', 'no feature can be compared (see skipped columns)');
  return {
    baseline: { rows: baseline.rows, columns: bCols },
    target: { rows: target.rowCount, columns: tCols },
    features,
    skipped,
    verdicts,
  };
}

/** The run's result from its prepared phase and the classifier's result on `prepared`'s tables. */
export function finishDrift(prepared: DriftPrepared, c: DriftClassifierResult): DriftComputation {
  const share = new Map(c.contributions.map((x) => [x.name, x.contribution]));
  const features = prepared.features.map((f) => ({ ...f, contribution: share.get(f.name) ?? 0 }));
  return {
    driftCoefficient: c.driftCoefficient,
    mcc: c.mcc,
    auc: c.auc,
    rows: c.rows,
    features,
    skipped: prepared.skipped,
    evidently: datasetVerdict(prepared.verdicts),
  };
}

/** One run in the calling thread, the classifier's folds one after the other. */
export function computeDrift(
  baseline: PreparedBaseline,
  target: ReadSide,
  options: DriftClassifierOptions = {},
): DriftComputation {
  const p = prepareDrift(baseline, target);
  return finishDrift(p, driftClassifier(p.baseline, p.target, options));
}
